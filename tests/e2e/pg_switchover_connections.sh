#!/usr/bin/env bash
# The whole migration with the libpq-only fence: `pg switchover --fence connections` refuses new
# sessions on every database and terminates client backends of an old primary that keeps running.
# Every acknowledged commit must be on the new primary, pgbench's balances must agree with its
# history, the old primary must refuse writes (it refuses every session) and keep running, and the
# slot must have been dropped through the fence's own session.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"

pg_migration_setup
pass "standby streams from a snapshot sent in the short-retention order"
sleep 3
before=$(writers_acked)
[ "$before" -gt 20 ] || fail "writers acknowledged only $before commits before the switchover"

"$PGMIGRATE" pg switchover --fence connections --primary "$PRIMARY" --standby "$STANDBY" \
  --timeout 90s --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'; env | grep ^PGM_ > '$PGM_TEST_ROOT/hook.env'" \
  | tee "$PGM_TEST_ROOT/switchover.txt" || fail "switchover"
grep -Eq "^write-unavailability window: [0-9]+\.[0-9]+s" "$PGM_TEST_ROOT/switchover.txt" || fail "no window reported"
grep -q "result: promoted" "$PGM_TEST_ROOT/switchover.txt" || fail "no promotion reported"
grep -q "dropped slot 'pgmigrate' on the old primary" "$PGM_TEST_ROOT/switchover.txt" || fail "slot not dropped"
grep -q "background workers" "$PGM_TEST_ROOT/switchover.txt" || fail "the output does not say what the fence leaves running"
grep -q "^PGM_NEW_PRIMARY_PORT=$P2\$" "$PGM_TEST_ROOT/hook.env" || fail "post-hook env lacks the new port"
grep -q "^PGM_NEW_TIMELINE=2\$" "$PGM_TEST_ROOT/hook.env" || fail "post-hook env lacks the new timeline"

assert_switched_over "$P2" "$P1"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PRIMARY_DIR" status >/dev/null || fail "the old primary should still run (this fence does not stop it)"
refusal=$(psql "$(pg_conninfo "$P1")" -XAtq -c "SELECT 1" 2>&1 || true)
grep -q "not currently accepting connections" <<< "$refusal" || fail "old primary should refuse sessions, said: $refusal"
pass "fence connections: zero acknowledged commits lost, old primary refuses sessions, slot dropped, window reported"
