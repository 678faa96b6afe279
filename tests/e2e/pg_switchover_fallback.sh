#!/usr/bin/env bash
# A way back after promotion: `pg switchover --keep-old-as-standby` with the clean-stop fence
# turns the old primary into a streaming standby of the new one (its own slot there, no rewind:
# its shutdown checkpoint is where the new timeline begins) and proves it follows the new
# timeline. Writes go on on the new primary and reach the old one; then a fallback is one more
# switchover in the other direction. Under pgbench and writers that record every acknowledged
# commit: none lost in either direction.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"

pg_migration_setup
pass "standby streams"

expect_fail 2 "keep-old-as-standby needs --fence stop with --primary-pgdata or --primary-cluster" \
  "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --fence connections --keep-old-as-standby
assert_accepts_writes "$P1"
pass "--keep-old-as-standby without a local clean stop is refused before anything changes"

# 1. Switchover; the old primary becomes the new one's standby.
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR" --timeout 90s \
  --keep-old-as-standby --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" > "$PGM_TEST_ROOT/sw.txt" \
  || { cat "$PGM_TEST_ROOT/sw.txt"; tail -5 "$PRIMARY_DIR/pgmigrate-postgres.log" >&2 || true; fail "switchover"; }
cat "$PGM_TEST_ROOT/sw.txt"
grep -q "result: promoted; the old primary follows it as a standby" "$PGM_TEST_ROOT/sw.txt" || fail "no fallback reported"
assert_in_recovery "$P1"
[ "$(pg_q "$P1" "SELECT received_tli FROM pg_stat_wal_receiver")" = "2" ] || fail "the old primary does not receive timeline 2"
[ "$(pg_q "$P2" "SELECT active FROM pg_replication_slots WHERE slot_name = 'pgmigrate_fallback'")" = "t" ] \
  || fail "the old primary does not stream through its slot on the new primary"
[ "$(pg_q "$P1" "SELECT setting FROM pg_settings WHERE name = 'recovery_target_timeline'")" = "latest" ] || fail "recovery_target_timeline"
[ -z "$(ls -A "$PRIMARY_DIR/pg_replslot")" ] || fail "the old primary kept its copy of the migration slot"
writers_progress 20 "the new primary"
pg_q "$P2" "INSERT INTO acks (writer, seq) VALUES (97, 1)" >/dev/null
for _ in $(seq 1 100); do [ "$(pg_q "$P1" "SELECT count(*) FROM acks WHERE writer = 97")" = "1" ] && break; sleep 0.1; done
[ "$(pg_q "$P1" "SELECT count(*) FROM acks WHERE writer = 97")" = "1" ] || fail "a write on the new primary did not reach the old one"
pass "the old primary follows the new timeline (no rewind) and replays its writes"

# 2. Fallback: the same switchover, back.
"$PGMIGRATE" pg lag --primary "$STANDBY" --standby "$PRIMARY" --slot pgmigrate_fallback --wait 2M --timeout 60s > /dev/null || fail "the old primary does not keep up"
"$PGMIGRATE" pg switchover --primary "$STANDBY" --standby "$PRIMARY" --slot pgmigrate_fallback --primary-pgdata "$STANDBY_DIR" \
  --timeout 90s --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" > "$PGM_TEST_ROOT/back.txt" \
  || { cat "$PGM_TEST_ROOT/back.txt"; fail "fallback switchover"; }
cat "$PGM_TEST_ROOT/back.txt"
grep -q "result: promoted" "$PGM_TEST_ROOT/back.txt" || fail "fallback not promoted"
grep -q "standby promoted: timeline 2 -> 3" "$PGM_TEST_ROOT/back.txt" || fail "fallback did not move to timeline 3"
assert_switched_over "$P1" "$P2"
[ "$(pg_q "$P1" "SELECT count(*) FROM acks WHERE writer = 97")" = "1" ] || fail "the write made on the new primary is gone after the fallback"
pass "fallback to the old primary: zero acknowledged commits lost in either direction"
