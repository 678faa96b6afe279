#!/usr/bin/env bash
# The WAL-retention guard: a slot that nobody consumes retains WAL while the primary writes.
# `pg slot watch` must warn at --wal-warn, fail (exit 9) at --wal-limit, and with
# --drop-slot-on-limit drop the slot; wal_status unreserved/lost must trip it with no size limit.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"

P1=$(pg_free_port)
DIR="$PGM_TEST_ROOT/primary"
pg_init_cluster "$DIR" "$P1"
pg_start "$DIR"
PRIMARY=$(pg_conninfo "$P1")
pg_q "$P1" "CREATE TABLE filler (id bigserial, pad text)"

# Writes about 1 MiB of WAL per call.
make_wal() { for _ in $(seq 1 "$1"); do pg_q "$P1" "INSERT INTO filler (pad) SELECT repeat('x', 900) FROM generate_series(1, 1000)" >/dev/null; done; }

"$PGMIGRATE" pg slot create --primary "$PRIMARY" --slot guard_test > /dev/null || fail "slot create"
set +e
"$PGMIGRATE" pg slot create --primary "$PRIMARY" --slot guard_test 2> "$PGM_TEST_ROOT/dup.err"; rc=$?
set -e
[ $rc -ne 0 ] && grep -q "already exists" "$PGM_TEST_ROOT/dup.err" || fail "a second create of the same slot was not refused clearly"

# Below the limit: a bounded watch ends successfully.
"$PGMIGRATE" pg slot watch --primary "$PRIMARY" --slot guard_test --wal-limit 1G --interval 200ms --duration 1s > "$PGM_TEST_ROOT/ok.txt" \
  || fail "watch under the limit failed"
grep -q "slot guard_test: retained" "$PGM_TEST_ROOT/ok.txt" || fail "watch printed no sample"
pass "watch under the limit"

# Past the limit while the primary writes: warn, then trip with exit 9; the slot stays.
( make_wal 40 ) &
writer=$!
set +e
timeout 120 "$PGMIGRATE" pg slot watch --primary "$PRIMARY" --slot guard_test --wal-warn 4M --wal-limit 16M --interval 200ms \
  > "$PGM_TEST_ROOT/trip.txt" 2> "$PGM_TEST_ROOT/trip.err"
rc=$?
set -e
wait $writer
cat "$PGM_TEST_ROOT/trip.err"
[ $rc -eq 9 ] || fail "guard: exit $rc, expected 9"
grep -q "warning: slot 'guard_test' retains" "$PGM_TEST_ROOT/trip.err" || fail "guard: no warning at --wal-warn"
grep -q "at or past --wal-limit" "$PGM_TEST_ROOT/trip.err" || fail "guard: message does not name the limit"
grep -q "pgmigrate pg slot drop" "$PGM_TEST_ROOT/trip.err" || fail "guard: message does not say what to do next"
"$PGMIGRATE" pg slot status --primary "$PRIMARY" --slot guard_test --json > "$PGM_TEST_ROOT/status.json" || fail "slot dropped without --drop-slot-on-limit"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['retained_bytes'] >= 16*2**20, j; assert j['wal_status'] in ('reserved','extended'), j" \
  "$PGM_TEST_ROOT/status.json" || fail "status JSON"
pass "guard trips past --wal-limit (exit 9), warning first, slot kept"

# The same with --drop-slot-on-limit: the slot is gone afterwards.
set +e
"$PGMIGRATE" pg slot watch --primary "$PRIMARY" --slot guard_test --wal-limit 16M --drop-slot-on-limit --interval 200ms \
  2> "$PGM_TEST_ROOT/drop.err"
rc=$?
set -e
[ $rc -eq 9 ] || fail "guard with drop: exit $rc"
grep -q "dropped the slot" "$PGM_TEST_ROOT/drop.err" || fail "guard with drop: message"
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'guard_test'")" = "0" ] || fail "slot not dropped"
pass "guard drops the slot with --drop-slot-on-limit"

# max_slot_wal_keep_size: once the slot is past it, wal_status trips the guard with no size limit.
pg_q "$P1" "ALTER SYSTEM SET max_slot_wal_keep_size = '8MB'" >/dev/null
pg_q "$P1" "SELECT pg_reload_conf()" >/dev/null
"$PGMIGRATE" pg slot create --primary "$PRIMARY" --slot guard_keep > /dev/null || fail "slot create"
make_wal 24
pg_q "$P1" "CHECKPOINT" >/dev/null
set +e
"$PGMIGRATE" pg slot watch --primary "$PRIMARY" --slot guard_keep --interval 200ms 2> "$PGM_TEST_ROOT/lost.err"
rc=$?
set -e
cat "$PGM_TEST_ROOT/lost.err"
[ $rc -eq 9 ] || fail "wal_status guard: exit $rc"
grep -Eq "wal_status (unreserved|lost)" "$PGM_TEST_ROOT/lost.err" || fail "wal_status guard: message"
pass "guard trips on wal_status unreserved/lost"

# Drop refuses a missing slot clearly.
set +e
"$PGMIGRATE" pg slot drop --primary "$PRIMARY" --slot nosuch 2> "$PGM_TEST_ROOT/missing.err"; rc=$?
set -e
[ $rc -ne 0 ] && grep -q "there is no replication slot 'nosuch'" "$PGM_TEST_ROOT/missing.err" || fail "missing slot: unclear"
"$PGMIGRATE" pg slot drop --primary "$PRIMARY" --slot guard_keep || fail "slot drop"
pass "slot drop"
