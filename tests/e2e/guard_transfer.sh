#!/usr/bin/env bash
# A transfer given --primary guards the replication slot while it runs: when the slot retains
# more WAL than --wal-limit (the copy is slower than the primary writes), the transfer stops
# with exit 9 and says why, and --drop-slot-on-limit drops the slot to protect the primary.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"

P1=$(pg_free_port)
DIR="$PGM_TEST_ROOT/primary"
pg_init_cluster "$DIR" "$P1"
pg_start "$DIR"
on_cleanup "pg_stop '$DIR' immediate"
PRIMARY=$(pg_conninfo "$P1")
pg_q "$P1" "CREATE TABLE filler (id bigserial, pad text)"
make_wal() { for _ in $(seq 1 "$1"); do pg_q "$P1" "INSERT INTO filler (pad) SELECT repeat('x', 900) FROM generate_series(1, 1000)" >/dev/null; done; }

"$PGMIGRATE" pg slot create --primary "$PRIMARY" --slot xfer_guard > /dev/null || fail "slot create"

# Options that need --primary are refused without it.
set +e
"$PGMIGRATE" send --send-cmd 'true' - --wal-limit 1G 2> "$PGM_TEST_ROOT/noprimary.err" > /dev/null; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "need --primary" "$PGM_TEST_ROOT/noprimary.err" || fail "--wal-limit without --primary: exit $rc"

# A transfer that never ends by itself (an endless source), while the primary writes WAL.
( make_wal 40 ) &
writer=$!
set +e
timeout 120 bash -c "'$PGMIGRATE' send --progress none --send-cmd 'cat /dev/zero' - --primary '$PRIMARY' --slot xfer_guard \
    --wal-warn 4M --wal-limit 16M --drop-slot-on-limit --guard-interval 200ms 2> '$PGM_TEST_ROOT/send.err' \
  | '$PGMIGRATE' recv --progress none - --recv-cmd 'cat > /dev/null' 2> '$PGM_TEST_ROOT/recv.err'; exit \${PIPESTATUS[0]}"
rc=$?
set -e
wait $writer
cat "$PGM_TEST_ROOT/send.err" "$PGM_TEST_ROOT/recv.err"
[ $rc -eq 9 ] || fail "transfer with a tripped guard: exit $rc, expected 9"
grep -q "at or past --wal-limit" "$PGM_TEST_ROOT/send.err" || fail "the transfer's error does not name the limit"
grep -q "dropped the slot" "$PGM_TEST_ROOT/send.err" || fail "the slot was not reported dropped"
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'xfer_guard'")" = "0" ] || fail "slot not dropped"
grep -q "stream ended" "$PGM_TEST_ROOT/recv.err" || fail "the receiver did not refuse the cut stream"
pass "a transfer past --wal-limit stops with exit 9 and drops the slot"
