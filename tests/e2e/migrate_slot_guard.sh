#!/usr/bin/env bash
# The migration's slot is guarded from its creation to the switchover, and between runs, so that
# a standby that goes down cannot fill the primary's disk with retained WAL:
#   1. `migrate run --wal-limit` holds before its catch-up step (testing aid) with the standby
#      stopped while the primary writes: the run's guard trips (exit 9, one line naming
#      --wal-limit), the state says failed, the slot stays;
#   2. the standby started again, the same run continues to ready;
#   3. stopped ready, `migrate watch ID` (what a systemd unit runs between runs) with the standby
#      stopped again: warns at --wal-warn, trips at --wal-limit (exit 9) and, with
#      --drop-slot-on-limit, drops the slot;
#   4. watch refuses what it cannot act on: no limit, an unknown migration.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

zfs_fixture_start
SRC_POOL=pggs_$PGM_TEST_ID
DST_POOL=pggd_$PGM_TEST_ID
make_pool "$SRC_POOL" 512M
make_pool "$DST_POOL" 512M
pg_primary_on_dataset "$SRC_POOL/pg"
pgbench_init "$P1" 1
pg_q "$P1" "CREATE TABLE filler (id bigserial, pad text)" >/dev/null
sshd_fixture_start
HOST="$SSH_USER@127.0.0.1"
export PGMIGRATE_STATE_DIR="$PGM_TEST_ROOT/state"
STATE="$PGMIGRATE_STATE_DIR/migrations"
state_of() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ''))" "$STATE/$1.json" "$2" 2>/dev/null || true; }
# Writes about 1 MiB of WAL per call.
make_wal() { for _ in $(seq 1 "$1"); do pg_q "$P1" "INSERT INTO filler (pad) SELECT repeat('x', 900) FROM generate_series(1, 1000)" >/dev/null; done; }
slots() { pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgmigrate_$ID'"; }

ID="g$PGM_TEST_ID"
P2=$(pg_free_port)
M=(--source "$SRC_POOL/pg" --target "$HOST:$DST_POOL/pg" --primary "$PRIMARY" --standby-port "$P2" --primary-pgdata "$PRIMARY_DIR"
  --id "$ID" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M --progress none
  --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE")
TDIR="$(zfs get -H -o value mountpoint "$DST_POOL")/pg/data"
on_cleanup "pg_stop '$TDIR' immediate"

# 1. The run's guard, with the standby down between the standby and catch-up steps.
LOG="$PGM_TEST_ROOT/run1.log"
"$PGMIGRATE" migrate run "${M[@]}" --wal-limit 24M --guard-interval 200ms --debug-pause-before catchup 2> "$LOG" &
run=$!
for _ in $(seq 1 600); do grep -q "pausing before catchup" "$LOG" && break; kill -0 $run 2>/dev/null || break; sleep 0.2; done
grep -q "pausing before catchup" "$LOG" || { cat "$LOG"; fail "the run did not reach the catch-up step"; }
grep -q "guarding slot 'pgmigrate_$ID'.*stopping at 24" "$LOG" || { cat "$LOG"; fail "the run does not say it guards its slot"; }
pg_stop "$TDIR"
( make_wal 48 ) &
writer=$!
set +e
wait $run
rc=$?
set -e
wait $writer
cat "$LOG"
[ $rc -eq 9 ] || fail "run with the standby down: exit $rc, expected 9 (the guard's trip)"
tail -1 "$LOG" | grep -q "^pgmigrate: slot 'pgmigrate_$ID' retains .* at or past --wal-limit" || fail "the run's error does not name --wal-limit"
[ "$(state_of "$ID" state)" = "failed" ] || fail "state $(state_of "$ID" state), expected failed"
[ "$(slots)" = "1" ] || fail "the slot was dropped without --drop-slot-on-limit"
pass "run's guard trips at --wal-limit with the standby down (exit 9), slot kept"

# 2. The standby back: the same run continues, guarded, to ready.
pg_start "$TDIR"
"$PGMIGRATE" migrate run "${M[@]}" --wal-limit 1G 2> "$PGM_TEST_ROOT/run2.log" || { cat "$PGM_TEST_ROOT/run2.log"; fail "run again"; }
grep -q "guarding slot 'pgmigrate_$ID'" "$PGM_TEST_ROOT/run2.log" || { cat "$PGM_TEST_ROOT/run2.log"; fail "the continued run does not guard the slot"; }
[ "$(state_of "$ID" state)" = "ready" ] || { cat "$PGM_TEST_ROOT/run2.log"; fail "the continued run did not stop ready"; }
pass "the run continues to ready once the standby is back"

# 3. Between runs: migrate watch trips, warns first, and drops the slot.
pg_stop "$TDIR"
# The watch first, then the WAL: its first sample must come before the warning threshold.
timeout 120 "$PGMIGRATE" migrate watch "$ID" --primary "$PRIMARY" --wal-warn 4M --wal-limit 16M --drop-slot-on-limit \
  --guard-interval 200ms 2> "$PGM_TEST_ROOT/watch.err" &
watcher=$!
for _ in $(seq 1 300); do grep -q "guarding slot" "$PGM_TEST_ROOT/watch.err" && break; kill -0 $watcher 2>/dev/null || break; sleep 0.1; done
make_wal 48
rc=0
wait $watcher || rc=$?
cat "$PGM_TEST_ROOT/watch.err"
[ "$(slots)" = "0" ] || fail "watch (exit $rc): the slot was not dropped"
[ $rc -eq 9 ] || fail "migrate watch: exit $rc, expected 9"
# What it guards, the warning at --wal-warn, then the trip naming --wal-limit and the drop.
for want in "^migrate watch: guarding slot 'pgmigrate_$ID' of migration $ID" "^migrate watch: warning: slot 'pgmigrate_$ID' retains" \
  "^pgmigrate: .*at or past --wal-limit.*dropped the slot"; do
  grep -q "$want" "$PGM_TEST_ROOT/watch.err" || fail "watch: no line matching '$want'"
done
pass "migrate watch between runs: warns, trips at --wal-limit (exit 9), drops the slot"

# 4. Refusals.
expect_fail 2 "migrate watch needs --wal-limit" "$PGMIGRATE" migrate watch "$ID" --primary "$PRIMARY"
expect_fail 2 "drop-slot-on-limit needs --wal-limit" "$PGMIGRATE" migrate watch "$ID" --primary "$PRIMARY" --drop-slot-on-limit
expect_fail 1 "no migration 'nosuch'" "$PGMIGRATE" migrate watch nosuch --primary "$PRIMARY" --wal-limit 1G
pass "migrate watch refuses a missing limit and an unknown migration"

"$PGMIGRATE" -q migrate abort "$ID" --primary "$PRIMARY" --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" \
  --remote-bin "$PGMIGRATE" > /dev/null || fail "abort after the guard dropped the slot"
pass "abort after the slot was dropped"
