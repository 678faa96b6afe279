#!/usr/bin/env bash
# Switchovers that must roll back: a stop that times out (by --stop-cmd, and by pg_ctl while the
# standby's WAL receiver is frozen), and a standby that cannot reach the final position (frozen
# receiver under the connections fence; replay paused under the stop fence). Each must leave the
# old primary writable and the standby unpromoted. A real switchover afterwards must still lose
# no acknowledged commit, including those made on the old primary between the attempts.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"

pg_migration_setup
pass "standby streams"
START_CMD="runuser -u postgres -- '$PG_BIN/pg_ctl' -D '$PRIMARY_DIR' -l '$PRIMARY_DIR/server.log' -w -t 60 start"
STOP_CMD="runuser -u postgres -- '$PG_BIN/pg_ctl' -D '$PRIMARY_DIR' -m fast -w -t 60 stop"

receiver_pid() { pg_q "$P2" "SELECT pid FROM pg_stat_wal_receiver"; }
# After a rollback: the old primary takes writes from new sessions, the standby is still one, the
# writers make progress on the old primary, and the standby catches up again.
assert_rolled_back() {
  local what=$1 log=$2 n
  grep -q "result: rolled back" "$log" || { cat "$log"; fail "$what: no rollback reported"; }
  grep -Eq "^write-unavailability window: [0-9.]+s" "$log" || fail "$what: no window reported"
  assert_accepts_writes "$P1"
  assert_in_recovery "$P2"
  writers_progress 10 "$what: the old primary"
  "$PGMIGRATE" -q pg lag --primary "$PRIMARY" --standby "$STANDBY" --wait 2M --timeout 90s || fail "$what: standby does not catch up again"
  pass "$what: rolled back, old primary writable, standby not promoted"
}

# 1. --stop-cmd that never finishes within --stop-timeout.
set +e
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --stop-cmd "sleep 60" --start-cmd "$START_CMD" \
  --stop-timeout 2s --timeout 60s > "$PGM_TEST_ROOT/r1.txt" 2> "$PGM_TEST_ROOT/r1.err"
rc=$?
set -e
cat "$PGM_TEST_ROOT/r1.txt" "$PGM_TEST_ROOT/r1.err"
[ $rc -ne 0 ] || fail "stop-cmd timeout: switchover succeeded"
grep -q "rolled back" "$PGM_TEST_ROOT/r1.err" || fail "stop-cmd timeout: error does not say it rolled back"
assert_rolled_back "stop-cmd that times out" "$PGM_TEST_ROOT/r1.txt"

# 2. pg_ctl stop that times out: the frozen WAL receiver never confirms the shutdown checkpoint,
#    so the walsender holds the shutdown up.
rpid=$(receiver_pid)
[ -n "$rpid" ] || fail "no WAL receiver on the standby"
kill -STOP "$rpid"
on_cleanup "kill -CONT $rpid"
set +e
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR" \
  --stop-timeout 3s --timeout 60s > "$PGM_TEST_ROOT/r2.txt" 2> "$PGM_TEST_ROOT/r2.err"
rc=$?
set -e
kill -CONT "$rpid"
cat "$PGM_TEST_ROOT/r2.txt" "$PGM_TEST_ROOT/r2.err"
[ $rc -ne 0 ] || fail "pg_ctl stop timeout: switchover succeeded"
assert_rolled_back "pg_ctl stop that times out" "$PGM_TEST_ROOT/r2.txt"

# 3. Connections fence, but the standby's receiver is frozen: it cannot reach the final position.
rpid=$(receiver_pid)
kill -STOP "$rpid"
on_cleanup "kill -CONT $rpid"
set +e
"$PGMIGRATE" pg switchover --fence connections --primary "$PRIMARY" --standby "$STANDBY" \
  --timeout 8s > "$PGM_TEST_ROOT/r3.txt" 2> "$PGM_TEST_ROOT/r3.err"
rc=$?
set -e
kill -CONT "$rpid"
cat "$PGM_TEST_ROOT/r3.txt" "$PGM_TEST_ROOT/r3.err"
[ $rc -ne 0 ] || fail "unreachable final position: switchover succeeded"
grep -q "did not reach the final position" "$PGM_TEST_ROOT/r3.err" || fail "unreachable final position: unclear error"
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_database WHERE NOT datallowconn AND datname <> 'template0'")" = "0" ] \
  || fail "connections were not re-allowed on every database"
assert_rolled_back "standby that cannot reach the final position (connections fence)" "$PGM_TEST_ROOT/r3.txt"

# 4. Stop fence, but replay is paused on the standby as the old primary stops.
set +e
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" \
  --stop-cmd "psql '$STANDBY' -XAtq -c 'SELECT pg_wal_replay_pause()' && $STOP_CMD" --start-cmd "$START_CMD" \
  --timeout 30s > "$PGM_TEST_ROOT/r4.txt" 2> "$PGM_TEST_ROOT/r4.err"
rc=$?
set -e
cat "$PGM_TEST_ROOT/r4.txt" "$PGM_TEST_ROOT/r4.err"
[ $rc -ne 0 ] || fail "paused replay: switchover succeeded"
pg_q "$P2" "SELECT pg_wal_replay_resume()" >/dev/null
assert_rolled_back "standby whose replay stops short of the final position (stop fence)" "$PGM_TEST_ROOT/r4.txt"

# After all that, a real switchover still loses nothing.
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR" --timeout 90s \
  --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" > "$PGM_TEST_ROOT/final.txt" || { cat "$PGM_TEST_ROOT/final.txt"; fail "final switchover"; }
grep -q "result: promoted" "$PGM_TEST_ROOT/final.txt" || fail "final switchover not promoted"
writers_progress 10 "the new primary"
writers_stop
pgbench_stop
writers_check "$P2" || fail "acknowledged commits lost across rollbacks and switchover"
pgbench_check "$P2" || fail "pgbench balances"
assert_refuses_writes "$P1"
pass "switchover after four rollbacks: zero acknowledged commits lost"
