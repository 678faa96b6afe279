#!/usr/bin/env bash
# `migrate` of a primary that replicates to more than the migration (issue 17's cluster
# features): a logical slot with test_decoding, a synchronous standby (a third server, named in
# synchronous_standby_names, acknowledging every commit of the writers and pgbench), and WAL
# archiving to a directory per server.
#   - plan names all three, and says the new standby is not one synchronous_standby_names
#     selects; with --switchover it refuses the logical slot in one line naming the slot and
#     --abandon-logical-slots, changing nothing;
#   - a run to ready: the new standby streams as application_name pgmigrate_ID, asynchronously,
#     while the sync standby stays sync (the primary's commits never wait for the new one);
#   - run --switchover --abandon-logical-slots under load: zero acknowledged commits lost (each
#     of them was also acknowledged by the sync standby); the new primary starts with
#     synchronous_standby_names empty (its writers would otherwise wait for sync1, which still
#     follows the old primary) and archives its new timeline's history file through the
#     archive_command it copied.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

pg_migration_pools
pg_primary_on_dataset "$SRC_POOL/pg"
on_cleanup "pg_stop '$PRIMARY_DIR' immediate"

# Each server archives into a directory named after its own data directory, so the source's and
# the target's archives never mix although they share one archive_command.
ARCH="$PGM_TEST_ROOT/archive"
mkdir -p "$ARCH" && chown postgres "$ARCH"
cat > "$ARCH/archive.sh" <<SH
#!/bin/sh
d="$ARCH/\$(pwd | tr / _)"
mkdir -p "\$d" && test ! -f "\$d/\$2" && cp "\$1" "\$d/\$2"
SH
chmod 755 "$ARCH/archive.sh"
cat >> "$PRIMARY_DIR/postgresql.conf" <<CONF
wal_level = logical
archive_mode = on
archive_command = '$ARCH/archive.sh %p %f'
synchronous_standby_names = 'FIRST 1 (sync1)'
CONF
pg_stop "$PRIMARY_DIR"
pg_start "$PRIMARY_DIR"

# The synchronous standby, outside the pools (it is not part of the move).
SYNC_DIR="$PGM_TEST_ROOT/sync1"
P3=$(pg_free_port)
mkdir -p "$SYNC_DIR" && chown postgres "$SYNC_DIR" && chmod 700 "$SYNC_DIR"
pg_as "$PG_BIN/pg_basebackup" -d "$(pg_conninfo "$P1")" -D "$SYNC_DIR" -R -X stream >/dev/null || fail "pg_basebackup of the sync standby"
cat >> "$SYNC_DIR/postgresql.auto.conf" <<CONF
port = $P3
primary_conninfo = 'host=127.0.0.1 port=$P1 user=postgres application_name=sync1'
archive_mode = off
CONF
on_cleanup "pg_stop '$SYNC_DIR' immediate"
pg_start "$SYNC_DIR"
for _ in $(seq 1 100); do [ "$(pg_q "$P1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'sync1'")" = "sync" ] && break; sleep 0.1; done
[ "$(pg_q "$P1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'sync1'")" = "sync" ] || fail "sync1 is not a synchronous standby"
pg_q "$P1" "SELECT pg_create_logical_replication_slot('cdc_test', 'test_decoding')" >/dev/null
pg_migration_load 1

sshd_fixture_start
on_cleanup "pkill -f '_serve recv --target $DST_POOL/'"
ID="rp$PGM_TEST_ID"
P2=$(pg_free_port)
M=(--source "$SRC_POOL/pg" --target "$SSH_USER@127.0.0.1:$DST_POOL/pg" --primary "$PRIMARY" --standby-port "$P2"
  --primary-pgdata "$PRIMARY_DIR" --id "$ID" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M --progress none
  --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE")

# 1. plan names what else replicates; with --switchover it refuses the logical slot.
"$PGMIGRATE" migrate plan "${M[@]}" > "$PGM_TEST_ROOT/plan.txt" || { cat "$PGM_TEST_ROOT/plan.txt"; fail "plan"; }
cat "$PGM_TEST_ROOT/plan.txt"
grep -q "note: logical slot 'cdc_test' (test_decoding, database postgres, no consumer connected): it stays on the old primary" \
  "$PGM_TEST_ROOT/plan.txt" || fail "plan does not name the logical slot"
grep -q "synchronous_standby_names = 'FIRST 1 (sync1)'; standbys sync1@127.0.0.1 (sync). The new standby (application_name pgmigrate_$ID) is not selected by it" \
  "$PGM_TEST_ROOT/plan.txt" || fail "plan does not describe synchronous replication"
grep -q "WAL archiving (archive_mode=on" "$PGM_TEST_ROOT/plan.txt" || fail "plan does not mention archiving"
expect_fail 2 "logical replication slots that a switchover leaves behind: cdc_test; .*pass --abandon-logical-slots" \
  "$PGMIGRATE" migrate plan "${M[@]}" --switchover
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'physical'")" = "0" ] || fail "plan created a slot"
pass "plan names the logical slot, the sync standby and archiving, and refuses to switch over past the logical slot"

# 2. To ready: the new standby streams asynchronously under its own name; sync1 stays sync.
on_cleanup "pg_stop '$(zfs get -H -o value mountpoint "$DST_POOL")/pg/data' immediate"
"$PGMIGRATE" migrate run "${M[@]}" 2> "$PGM_TEST_ROOT/run1.log" || { cat "$PGM_TEST_ROOT/run1.log"; fail "run to ready"; }
[ "$(pg_q "$P1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pgmigrate_$ID'")" = "async" ] \
  || { pg_q "$P1" "SELECT application_name, sync_state FROM pg_stat_replication"; fail "the new standby is not an async walsender named pgmigrate_$ID"; }
[ "$(pg_q "$P1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'sync1'")" = "sync" ] || fail "sync1 lost its sync role"
writers_progress 20 "the primary, with the new standby attached"
pass "ready: the new standby streams as pgmigrate_$ID (async), sync1 stays the synchronous standby"

# 3. The switchover, accepting the logical slot's loss.
"$PGMIGRATE" migrate run "${M[@]}" --switchover --abandon-logical-slots --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" \
  2> "$PGM_TEST_ROOT/run2.log" || { cat "$PGM_TEST_ROOT/run2.log"; fail "run --switchover"; }
[ "$(pg_q "$P2" "SHOW synchronous_standby_names")" = "" ] || fail "the new primary kept the old synchronous_standby_names"
assert_switched_over "$P2" "$P1"
NEW_ARCH="$ARCH/$(zfs get -H -o value mountpoint "$DST_POOL" | tr / _)_pg_data"
TL=$(pg_q "$P2" "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")
pg_q "$P2" "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 300); do [ -f "$NEW_ARCH/$TL.history" ] && break; sleep 0.1; done
[ -f "$NEW_ARCH/$TL.history" ] || { ls -la "$ARCH" "$NEW_ARCH" 2>&1; fail "the new primary did not archive its timeline history ($TL.history)"; }
[ "$(pg_q "$P2" "SELECT failed_count FROM pg_stat_archiver")" = "0" ] || fail "the new primary's archiver failed"
pass "switchover with a sync standby and a logical slot: zero acknowledged commits lost; the new primary archives timeline $TL"
