#!/usr/bin/env bash
# `migrate run --switchover --keep-old-as-standby`: after the switchover the old primary follows
# the new one (no rewind), clean-up keeps the migration snapshots for the fallback window, and
# `migrate fallback` (the far `pg switchover` in the other direction, on the target host where the
# new primary's data directory is) brings every acknowledged commit back to the old primary. plan
# refuses the flag without a local clean-stop fence. `migrate finish` refuses after a fallback, and, for a second migration
# whose old primary still follows, ends the window: old server stopped, fallback slot dropped,
# snapshots destroyed on both sides.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

zfs_fixture_start
SRC_POOL=pgfs_$PGM_TEST_ID
DST_POOL=pgfd_$PGM_TEST_ID
make_pool "$SRC_POOL" 512M
make_pool "$DST_POOL" 512M
pg_primary_on_dataset "$SRC_POOL/pg"
pgbench_init "$P1" 1
acks_table "$P1"
PORTFILE="$PGM_TEST_ROOT/writer-port"
echo "$P1" > "$PORTFILE"
writers_start "$PORTFILE"
sshd_fixture_start
HOST="$SSH_USER@127.0.0.1"
export PGMIGRATE_STATE_DIR="$PGM_TEST_ROOT/state"
STATE="$PGMIGRATE_STATE_DIR/migrations"
state_of() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ''))" "$STATE/$1.json" "$2" 2>/dev/null || true; }
ID="f$PGM_TEST_ID"
P2=$(pg_free_port)
SSH=(--port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE")
COMMON=(--source "$SRC_POOL/pg" --target "$HOST:$DST_POOL/pg" --primary "$PRIMARY" --standby-port "$P2" "${SSH[@]}")
TDIR="$(zfs get -H -o value mountpoint "$DST_POOL")/pg/data"
on_cleanup "pg_stop '$TDIR' immediate"

expect_fail 2 "keep-old-as-standby needs the clean-stop fence of an old primary on this host" \
  "$PGMIGRATE" migrate plan "${COMMON[@]}" --stop-cmd "ssh db1 systemctl stop postgresql" --start-cmd "ssh db1 systemctl start postgresql" --keep-old-as-standby
pass "plan refuses --keep-old-as-standby without a local clean-stop fence"

"$PGMIGRATE" migrate run "${COMMON[@]}" --primary-pgdata "$PRIMARY_DIR" --id "$ID" --rounds 1 --delta-target 1M --max-lag 1M \
  --chunk-size 1M --progress none --switchover --keep-old-as-standby --timeout 90s \
  --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" 2> "$PGM_TEST_ROOT/run.log" || { cat "$PGM_TEST_ROOT/run.log"; fail "migrate run"; }
cat "$PGM_TEST_ROOT/run.log"
[ "$(state_of "$ID" state)" = "done" ] || fail "the migration is not done"
[ "$(state_of "$ID" fallback_slot)" = "pgmigrate_${ID}_fallback" ] || fail "the state does not record the fallback slot"
grep -q "the old primary follows the new one through slot 'pgmigrate_${ID}_fallback'" "$PGM_TEST_ROOT/run.log" || fail "clean-up does not say the fallback window is open"
assert_in_recovery "$P1"
[ "$(pg_q "$P1" "SELECT received_tli FROM pg_stat_wal_receiver")" = "2" ] || fail "the old primary does not receive timeline 2"
for s in base final; do
  zfs list -H -o name "$SRC_POOL/pg@pgmigrate-$ID-$s" >/dev/null 2>&1 || fail "clean-up destroyed the source's @pgmigrate-$ID-$s"
  zfs list -H -o name "$DST_POOL/pg@pgmigrate-$ID-$s" >/dev/null 2>&1 || fail "clean-up destroyed the target's @pgmigrate-$ID-$s"
done
writers_progress 20 "the new primary"
pass "migrate run --keep-old-as-standby: the old primary follows timeline 2, snapshots kept"

# The fallback: one more switchover, back to the old primary (`migrate fallback`).
"$PGMIGRATE" pg lag --primary "$(pg_conninfo "$P2")" --standby "$PRIMARY" --slot "pgmigrate_${ID}_fallback" --wait 2M --timeout 60s \
  > /dev/null || fail "the old primary does not keep up"
# migrate fallback: the far pg switchover on the target host, where the new primary's data is.
"$PGMIGRATE" migrate fallback "$ID" --primary "$PRIMARY" --timeout 90s "${SSH[@]}" > "$PGM_TEST_ROOT/back.txt" \
  || { cat "$PGM_TEST_ROOT/back.txt"; fail "migrate fallback"; }
echo "$P1" > "$PORTFILE"  # (no hooks through migrate fallback: the writers retry until moved)
cat "$PGM_TEST_ROOT/back.txt"
grep -q "standby promoted: timeline 2 -> 3" "$PGM_TEST_ROOT/back.txt" || fail "fallback did not promote the old primary"
[ "$(state_of "$ID" state)" = "fallen-back" ] || fail "the state does not record the fallback"
expect_fail 2 "has no fallback window open" "$PGMIGRATE" migrate fallback "$ID" --primary "$PRIMARY" "${SSH[@]}"
writers_progress 20 "the old primary after the fallback"
writers_stop
writers_check "$P1" || fail "acknowledged commits lost"
assert_refuses_writes "$P2"
pass "fallback after migrate: zero acknowledged commits lost in either direction"

# After a fallback there is no window left to close.
expect_fail 2 "has no fallback window open" "$PGMIGRATE" migrate finish "$ID" "${SSH[@]}"
pass "migrate finish refuses after a fallback"

# migrate finish: a second migration of the same (now primary again) source, kept as a standby,
# then its fallback window ended: the old server stopped, its slot gone from the new primary, the
# migration's snapshots destroyed on both sides; the new primary untouched.
ID2="h$PGM_TEST_ID"
P3=$(pg_free_port)
T2DIR="$(zfs get -H -o value mountpoint "$DST_POOL")/pg2/data"
on_cleanup "pg_stop '$T2DIR' immediate"
"$PGMIGRATE" migrate run --source "$SRC_POOL/pg" --target "$HOST:$DST_POOL/pg2" --primary "$PRIMARY" --standby-port "$P3" "${SSH[@]}" \
  --primary-pgdata "$PRIMARY_DIR" --id "$ID2" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M --progress none \
  --switchover --keep-old-as-standby --timeout 90s 2> "$PGM_TEST_ROOT/run2.log" || { cat "$PGM_TEST_ROOT/run2.log"; fail "second migrate run"; }
assert_in_recovery "$P1"
"$PGMIGRATE" migrate finish "$ID2" "${SSH[@]}" > "$PGM_TEST_ROOT/finish.txt" || { cat "$PGM_TEST_ROOT/finish.txt"; fail "migrate finish"; }
cat "$PGM_TEST_ROOT/finish.txt"
! pg_q "$P1" "SELECT 1" >/dev/null 2>&1 || fail "finish left the old server running"
[ "$(pg_q "$P3" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgmigrate_${ID2}_fallback'")" = "0" ] || fail "finish left the fallback slot"
! zfs list -H -t snapshot -o name -r "$SRC_POOL/pg" | grep -q "pgmigrate-$ID2-" || fail "finish left source snapshots"
! zfs list -H -t snapshot -o name -r "$DST_POOL/pg2" | grep -q "pgmigrate-$ID2-" || fail "finish left target snapshots"
[ -z "$(state_of "$ID2" fallback_slot)" ] || fail "the state still records a fallback window"
assert_accepts_writes "$P3"
expect_fail 2 "has no fallback window" "$PGMIGRATE" migrate finish "$ID2" "${SSH[@]}"
pass "migrate finish: old server stopped, fallback slot dropped, snapshots destroyed on both sides; again: refused"
