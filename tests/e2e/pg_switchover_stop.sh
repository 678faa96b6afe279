#!/usr/bin/env bash
# The whole migration with the default fence: a primary on a zfs-fuse dataset under pgbench load
# and three writers that record every acknowledged commit; full send without a slot, slot,
# incremental send, standby, catch-up, then `pg switchover --fence stop` with pg_ctl. Every
# acknowledged commit must be on the new primary, pgbench's balances must agree with its history,
# the old primary must refuse writes and the window must be reported.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"

pg_migration_setup
pass "standby streams from a snapshot sent in the short-retention order"

"$PGMIGRATE" pg slot status --primary "$PRIMARY" > "$PGM_TEST_ROOT/slot.txt" || fail "slot status"
grep -q "active *yes" "$PGM_TEST_ROOT/slot.txt" || { cat "$PGM_TEST_ROOT/slot.txt"; fail "slot not active"; }
"$PGMIGRATE" pg lag --primary "$PRIMARY" --standby "$STANDBY" || fail "pg lag"

sleep 3  # let the writers commit under replication for a while
before=$(writers_acked)
[ "$before" -gt 20 ] || fail "writers acknowledged only $before commits before the switchover"

"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR" \
  --timeout 90s --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" | tee "$PGM_TEST_ROOT/switchover.txt" \
  || fail "switchover"
grep -Eq "^write-unavailability window: [0-9]+\.[0-9]+s" "$PGM_TEST_ROOT/switchover.txt" || fail "no window reported"
grep -q "result: promoted" "$PGM_TEST_ROOT/switchover.txt" || fail "no promotion reported"
[ "$(cat "$PORTFILE")" = "$P2" ] || fail "post-hook did not get the new endpoint"

# Writers carry on against the new primary.
assert_switched_over "$P2" "$P1"
grep -q "shut down" <("$PG_BIN/pg_controldata" -D "$PRIMARY_DIR") || fail "old primary not cleanly shut down"
pass "fence stop: zero acknowledged commits lost, old primary refuses writes, window reported"
