#!/usr/bin/env bash
# `migrate abort` never stops or destroys a primary (issue 20). A small primary (pgbench scale 1)
# is moved over a real sshd four times. Abort of the first, ready with its standby streaming,
# still stops and destroys that standby. The others' targets are promoted without the state
# file's `switched` flag, and abort must refuse (exit 2, one line), change nothing, and leave the
# new primary running (or startable) with every write:
#   b. promoted by hand (pg_ctl promote: what a run killed right after promotion leaves behind):
#      refused while it runs (it says pg_is_in_recovery() = false), and again once its postmaster
#      was SIGKILLed (decided from pg_control and standby.signal); it restarts with every write;
#   a. switched over by hand with `pgmigrate pg switchover`, as the "ready" hint suggests;
#   c. `migrate run --switchover` sits in its post-hook (promoted, not yet recorded) when abort
#      starts: abort stops the run, reads the state again and refuses. (Its --pre-fence-hook ran
#      first, told the old primary's port.)
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

zfs_fixture_start
SRC_POOL=pgas_$PGM_TEST_ID
DST_POOL=pgad_$PGM_TEST_ID
make_pool "$SRC_POOL" 512M
make_pool "$DST_POOL" 768M
pg_primary_on_dataset "$SRC_POOL/pg"
pgbench_init "$P1" 1
acks_table "$P1"
sshd_fixture_start
HOST="$SSH_USER@127.0.0.1"
# This test's migrations only: other e2e tests may keep theirs in the default directory.
export PGMIGRATE_STATE_DIR="$PGM_TEST_ROOT/state"
STATE="$PGMIGRATE_STATE_DIR/migrations"
SSH_OPTS=(--port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE")

state_of() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ''))" "$STATE/$1.json" "$2" 2>/dev/null || true; }
mig() {  # ID NAME PORT: sets M to the run options (target $DST_POOL/NAME, standby on PORT)
  M=(--source "$SRC_POOL/pg" --target "$HOST:$DST_POOL/$2" --primary "$PRIMARY" --standby-port "$3" --primary-pgdata "$PRIMARY_DIR"
    --id "$1" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M --progress none "${SSH_OPTS[@]}")
}
target_dir() { echo "$(zfs get -H -o value mountpoint "$DST_POOL/$1")/data"; }
# to_ready ID NAME PORT: `migrate run` without --switchover, until it stops ready with the standby streaming.
to_ready() {
  mig "$1" "$2" "$3"
  on_cleanup "pg_stop '$(zfs get -H -o value mountpoint "$DST_POOL")/$2/data' immediate"
  "$PGMIGRATE" migrate run "${M[@]}" 2> "$PGM_TEST_ROOT/$1.log" || { cat "$PGM_TEST_ROOT/$1.log"; fail "migrate run $1"; }
  [ "$(state_of "$1" state)" = "ready" ] || { cat "$PGM_TEST_ROOT/$1.log"; fail "migration $1 did not stop ready"; }
  [ "$(pg_q "$3" "SELECT pg_is_in_recovery()")" = "t" ] || fail "the standby of $1 is not in recovery"
}
# assert_kept ID NAME PORT ROWS: abort changed nothing: the target dataset, its server running as
# a primary with the ROWS rows written to kept since promotion (and taking one more), the state
# file, the migration's snapshots on the source.
assert_kept() {
  zfs list "$DST_POOL/$2" >/dev/null 2>&1 || fail "abort destroyed $DST_POOL/$2"
  [ "$(pg_q "$3" "SELECT pg_is_in_recovery()")" = "f" ] || fail "the new primary of $1 is not running as a primary"
  [ "$(pg_q "$3" "SELECT count(*) FROM kept")" = "$4" ] || fail "the new primary of $1 lost rows"
  pg_q "$3" "INSERT INTO kept VALUES ($4 + 1)" >/dev/null || fail "the new primary of $1 does not accept writes"
  [ -e "$STATE/$1.json" ] || fail "abort removed the state of $1"
  zfs list -H -o name "$SRC_POOL/pg@pgmigrate-$1-final" >/dev/null 2>&1 || fail "abort destroyed the source snapshots of $1"
}

# A streaming standby is still aborted: stopped, destroyed, slot and snapshots gone.
S="s$PGM_TEST_ID"
PS=$(pg_free_port)
to_ready "$S" s "$PS"
"$PGMIGRATE" migrate abort "$S" --primary "$PRIMARY" "${SSH_OPTS[@]}" > "$PGM_TEST_ROOT/abort-s.txt" \
  || { cat "$PGM_TEST_ROOT/abort-s.txt"; fail "abort of a migration with a streaming standby"; }
grep -q "stopped the standby" "$PGM_TEST_ROOT/abort-s.txt" || { cat "$PGM_TEST_ROOT/abort-s.txt"; fail "abort did not stop the standby"; }
zfs list "$DST_POOL/s" >/dev/null 2>&1 && fail "abort left $DST_POOL/s"
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgmigrate_$S'")" = "0" ] || fail "abort left the slot of $S"
! zfs list -H -t snapshot -o name -r "$SRC_POOL/pg" | grep -q "pgmigrate-$S-" || fail "abort left snapshots of $S"
pass "abort of a ready migration still stops and destroys its standby: $(tr '\n' ';' < "$PGM_TEST_ROOT/abort-s.txt")"

# b. Promoted by hand: the state says ready, the target is a primary.
B="b$PGM_TEST_ID"
PB=$(pg_free_port)
to_ready "$B" b "$PB"
BDIR=$(target_dir b)
pg_as "$PG_BIN/pg_ctl" -D "$BDIR" -w -t 60 promote >/dev/null
[ "$(pg_q "$PB" "SELECT pg_is_in_recovery()")" = "f" ] || fail "pg_ctl promote did not promote the target of $B"
[ "$(state_of "$B" switched)" != "True" ] || fail "the state of $B records a switchover"
pg_q "$PB" "CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)" >/dev/null
expect_fail 2 "the server on $DST_POOL/b \(.*\) is a primary \(timeline 2 began .*running, pg_is_in_recovery\(\) = false.*refusing to stop or destroy it; if the switchover happened, the migration is done" "$PGMIGRATE" migrate abort "$B" --primary "$PRIMARY" "${SSH_OPTS[@]}"
assert_kept "$B" b "$PB" 1
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgmigrate_$B'")" = "1" ] || fail "abort dropped the slot of $B"
pass "b. abort of a migration whose target was promoted by hand (state not saved) is refused while the server runs"

# The same directory with its postmaster killed: nothing runs there to ask, pg_control says
# "in production" and the stale postmaster.pid names a dead process.
PM=$(head -1 "$BDIR/postmaster.pid")
kill -9 "$PM"
for _ in $(seq 1 100); do kill -0 "$PM" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$PM" 2>/dev/null || fail "the postmaster of $B did not die"
for _ in $(seq 1 100); do pg_q "$PB" "SELECT 1" >/dev/null 2>&1 || break; sleep 0.1; done
! pg_q "$PB" "SELECT 1" >/dev/null 2>&1 || fail "the server of $B still answers"
[ -e "$BDIR/postmaster.pid" ] || fail "the killed server of $B left no postmaster.pid"
expect_fail 2 "the server on $DST_POOL/b \(.*\) is a primary \(timeline 2 began .*not running; control state 'in production', no standby.signal\)" "$PGMIGRATE" migrate abort "$B" --primary "$PRIMARY" "${SSH_OPTS[@]}"
pg_start "$BDIR"
assert_kept "$B" b "$PB" 2
pg_stop "$BDIR"
pass "b. ... and refused from pg_control once its postmaster was killed; it restarts with every write"

# a. Switched over by hand with `pg switchover`, as the ready hint says.
A="a$PGM_TEST_ID"
PA=$(pg_free_port)
to_ready "$A" a "$PA"
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$(pg_conninfo "$PA")" --slot "pgmigrate_$A" --primary-pgdata "$PRIMARY_DIR" \
  --timeout 90s > "$PGM_TEST_ROOT/switchover.txt" || { cat "$PGM_TEST_ROOT/switchover.txt"; fail "pg switchover"; }
[ "$(pg_q "$PA" "SELECT pg_is_in_recovery()")" = "f" ] || fail "pg switchover did not promote the target of $A"
assert_refuses_writes "$P1"
pg_q "$PA" "CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)" >/dev/null
expect_fail 2 "the server on $DST_POOL/a \(.*\) is a primary .*pg_is_in_recovery\(\) = false.*refusing to stop or destroy it" "$PGMIGRATE" migrate abort "$A" --primary "$PRIMARY" "${SSH_OPTS[@]}"
assert_kept "$A" a "$PA" 1
pass "a. abort after a switchover done by hand with pg switchover is refused; the new primary keeps running"

# c. abort while `migrate run --switchover` is in its post-hook: promoted, not yet recorded.
pg_start "$PRIMARY_DIR"  # the old primary again, as the source of one more migration
C="c$PGM_TEST_ID"
PC=$(pg_free_port)
mig "$C" c "$PC"
on_cleanup "pg_stop '$(zfs get -H -o value mountpoint "$DST_POOL")/c/data' immediate"
HOOK="$PGM_TEST_ROOT/hook"
# The hook holds the run between promotion and recording it: it blocks reading a FIFO until the
# test writes to it, which the test does once abort has signalled the run (the run logs
# "received SIGTERM"). No timer decides; the clean-up writes to the FIFO so that a failed test
# frees the hook.
mkfifo "$HOOK.fifo"
on_cleanup "timeout 2 sh -c \"echo > '$HOOK.fifo'\" 2>/dev/null"
# The pre-fence hook records what it was told: migrate passes it to the switchover as pg
# switchover does.
"$PGMIGRATE" migrate run "${M[@]}" --switchover --pre-fence-hook "echo \"\$PGM_PHASE \$PGM_PRIMARY_PORT\" > '$HOOK.pre'" \
  --post-hook "touch '$HOOK.started'; read -r _ < '$HOOK.fifo'; touch '$HOOK.done'" \
  2> "$PGM_TEST_ROOT/$C.log" &
RUN=$!
for _ in $(seq 1 1800); do [ -e "$HOOK.started" ] && break; kill -0 "$RUN" 2>/dev/null || break; sleep 0.1; done
[ -e "$HOOK.started" ] || { cat "$PGM_TEST_ROOT/$C.log"; fail "migrate run $C did not reach its post-hook"; }
[ "$(pg_q "$PC" "SELECT pg_is_in_recovery()")" = "f" ] || fail "the target of $C is not promoted in the post-hook"
[ "$(cat "$HOOK.pre" 2>/dev/null)" = "pre-fence $P1" ] || fail "migrate run's --pre-fence-hook did not run before the fence: '$(cat "$HOOK.pre" 2>/dev/null)'"
if [ "$(state_of "$C" switched)" = "True" ] || [ -e "$HOOK.done" ] || ! kill -0 "$RUN"; then
  fail "the run of $C recorded its switchover before abort started"
fi
set +e
"$PGMIGRATE" migrate abort "$C" --primary "$PRIMARY" "${SSH_OPTS[@]}" > /dev/null 2> "$PGM_TEST_ROOT/abort-c.log" &
ABORT=$!
# Abort signals the run and waits for it to stop; the run cannot stop while its hook blocks.
stopping=0
for _ in $(seq 1 600); do
  grep -q "received SIGTERM: stopping" "$PGM_TEST_ROOT/$C.log" && { stopping=1; break; }
  kill -0 "$ABORT" 2>/dev/null || break
  sleep 0.05
done
timeout 30 sh -c "echo go > '$HOOK.fifo'" || fail "the post-hook of $C was not waiting to be released"
wait "$ABORT"
rc=$?
set -e
cat "$PGM_TEST_ROOT/abort-c.log"
[ "$stopping" = 1 ] || fail "abort of $C never began stopping the run during its post-hook (exit $rc)"
[ "$rc" -eq 2 ] && [ "$(wc -l < "$PGM_TEST_ROOT/abort-c.log")" -eq 1 ] \
  && grep -Eq "migration $C has switched over while its run \(pid $RUN\) was being stopped: the target is the primary now" "$PGM_TEST_ROOT/abort-c.log" \
  || fail "abort during the post-hook: exit $rc"
wait "$RUN" 2>/dev/null || true
[ "$(state_of "$C" switched)" = "True" ] || fail "the stopped run of $C did not record its switchover"
[ "$(pg_q "$PC" "SELECT pg_is_in_recovery()")" = "f" ] || fail "the new primary of $C is not running as a primary"
assert_accepts_writes "$PC"
zfs list "$DST_POOL/c" >/dev/null 2>&1 || fail "abort destroyed $DST_POOL/c"
pass "c. abort during a run's switchover stops the run, sees the recorded promotion and refuses"
