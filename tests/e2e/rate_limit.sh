#!/usr/bin/env bash
# --rate and `pgmigrate rate` through a real sshd on loopback: the cap holds within 5% over
# 20 s, measured from the bytes the far consumer has written (not from pgmigrate's own
# counters); a change while running takes effect for lanes already asleep; status and the
# progress JSON show the cap; a pull caps its far sender. --metrics-file is read with a real
# parser of the Prometheus text format (python3-prometheus-client) while the transfer runs and
# after it ends, and after a failure.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

sshd_fixture_start
HOST="$SSH_USER@127.0.0.1"
SSHOPTS=(--port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE")
OUT="$PGM_TEST_ROOT/out.bin"
METRICS="$PGM_TEST_ROOT/pgmigrate.prom"
rm -f "$OUT" "$METRICS"
PARSE="$PGM_SOURCE_DIR/tests/fixtures/prom_parse.py"
# has_sample FILE REGEX: the parsed samples of FILE hold a line matching REGEX.
has_sample() {
  "$PARSE" "$1" > "$PGM_TEST_ROOT/parsed.txt" || fail "the metrics file does not parse"
  grep -Eq "$2" "$PGM_TEST_ROOT/parsed.txt" || { cat "$PGM_TEST_ROOT/parsed.txt"; fail "no sample matching '$2'"; }
}

# The byte rate of the growing file $1 over $2 seconds, once it holds $3 bytes (past the
# start-up and the first burst). Prints bytes per second.
measure() {
  python3 - "$@" <<'PY'
import os, sys, time
path, span, start = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
size = lambda: os.path.getsize(path) if os.path.exists(path) else 0
deadline = time.monotonic() + 120
while size() < start:
    if time.monotonic() > deadline: sys.exit("the consumer never reached %d bytes" % start)
    time.sleep(0.05)
t0, s0 = time.monotonic(), size()
time.sleep(span)
t1, s1 = time.monotonic(), size()
print(int((s1 - s0) / (t1 - t0)))
PY
}
within_5pct() {  # measured expected what
  python3 -c "import sys; m,e=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if abs(m-e) <= 0.05*e else 1)" "$1" "$2" \
    || fail "$3: measured $1 B/s, expected $2 B/s within 5%"
  echo "  $3: measured $1 B/s for $2 B/s"
}

# 4 connections of incompressible 256 KiB chunks, stored raw: the consumer's bytes are the
# wire bytes but for the frame headers (under 0.1%).
"$PGMIGRATE" -v send "${SSHOPTS[@]}" --streams 4 --compress none --chunk-size 256K --rate 2M --progress json --metrics-file "$METRICS" \
  --send-cmd "head -c 160000000 /dev/urandom" --recv-cmd "cat > $OUT" "$HOST:ratetest-$PGM_TEST_ID" 2> "$PGM_TEST_ROOT/send.log" &
SEND_PID=$!
on_cleanup "kill $SEND_PID"

within_5pct "$(measure "$OUT" 20 8000000)" 2000000 "--rate 2M"
pass "--rate holds the rate within 5% over 20 s across 4 connections"

grep -q '"rate_limit_bps":2000000' "$PGM_TEST_ROOT/send.log" || fail "the progress JSON does not show the cap"
"$PGMIGRATE" status > "$PGM_TEST_ROOT/status.txt"
grep "ratetest-$PGM_TEST_ID" "$PGM_TEST_ROOT/status.txt" | grep -q "cap 2.0 MB/s" || { cat "$PGM_TEST_ROOT/status.txt"; fail "status does not show the cap"; }
SESSION=$("$PGMIGRATE" status --json | python3 -c "
import json, sys
print([t['session'] for t in json.load(sys.stdin) if t['target'] == 'ratetest-$PGM_TEST_ID'][0])")
pass "progress and status show the cap"

has_sample "$METRICS" '^pgmigrate_transfer_running\{\} 1\.0$'
has_sample "$METRICS" '^pgmigrate_transfer_rate_limit_bytes_per_second\{side=send\} 2000000\.0$'
has_sample "$METRICS" '^pgmigrate_transfer_lanes_up\{side=send\} 4\.0$'
has_sample "$METRICS" '^pgmigrate_transfer_wire_bytes_total\{side=send\} [1-9][0-9]{6,}\.0$'
has_sample "$METRICS" '^pgmigrate_transfer_read_bytes_total\{side=send\} [1-9]'
has_sample "$METRICS" '^pgmigrate_transfer_compression_ratio\{side=send\} '
has_sample "$METRICS" '^pgmigrate_last_success_time_seconds\{\} 0\.0$'
pass "the metrics file parses and shows the running transfer: $(grep -c . "$PGM_TEST_ROOT/parsed.txt") samples"

# The lanes are asleep in the limiter (each 256 KiB frame waits ~130 ms at 2 MB/s): a raise must
# reach them. The command returns once the sender has confirmed the new cap.
"$PGMIGRATE" rate "${SESSION:0:8}" 5M > "$PGM_TEST_ROOT/rate.out" || fail "pgmigrate rate"
grep -q "rate cap now 5.0 MB/s" "$PGM_TEST_ROOT/rate.out" || { cat "$PGM_TEST_ROOT/rate.out"; fail "rate did not confirm"; }
NOW=$(stat -c %s "$OUT")
within_5pct "$(measure "$OUT" 10 $((NOW + 5000000)))" 5000000 "raised to 5M while running"
pass "pgmigrate rate changes the cap of a running transfer"

expect_fail 1 "no running transfer 'ffff'" "$PGMIGRATE" rate ffff 1M
expect_fail 2 "invalid rate" "$PGMIGRATE" rate "$SESSION" fast
pass "pgmigrate rate refuses an unknown session and a bad rate in one line"

# With the cap lifted the rest goes at once: the session may end before it confirms.
"$PGMIGRATE" rate "$SESSION" 0 > "$PGM_TEST_ROOT/rate0.out" || { cat "$PGM_TEST_ROOT/rate0.out"; fail "lifting the cap"; }
grep -Eq "rate cap now none|ended before it confirmed rate cap none" "$PGM_TEST_ROOT/rate0.out" || { cat "$PGM_TEST_ROOT/rate0.out"; fail "rate 0 said something else"; }
wait "$SEND_PID" || { tail -5 "$PGM_TEST_ROOT/send.log"; fail "the capped send failed"; }
[ "$(stat -c %s "$OUT")" -eq 160000000 ] || fail "the consumer has $(stat -c %s "$OUT") bytes, not 160000000"
grep -q "rate cap now none" "$PGM_TEST_ROOT/send.log" || fail "the sender did not log the lifted cap"
pass "lifting the cap lets the transfer finish whole"
has_sample "$METRICS" '^pgmigrate_transfer_running\{\} 0\.0$'
has_sample "$METRICS" '^pgmigrate_transfer_rate_limit_bytes_per_second\{side=send\} 0\.0$'
has_sample "$METRICS" '^pgmigrate_transfer_read_bytes_total\{side=send\} 160000000\.0$'
has_sample "$METRICS" '^pgmigrate_last_success_time_seconds\{\} 1[0-9]{9}'
set +e
"$PGMIGRATE" send --progress none --metrics-file "$METRICS" --send-cmd "exit 3" - > /dev/null 2> /dev/null
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a failing producer succeeded"
has_sample "$METRICS" '^pgmigrate_errors_total\{kind=child_failed\} 1\.0$'
pass "after the transfer: final numbers, the time of the success; a failure is counted by its kind"

# A pull: the far sender takes the cap from the command line. 30 MB at 10 MB/s cannot end in
# under 2.5 s (the first quarter second is a free burst).
rm -f "$OUT"
START=$(date +%s%N)
"$PGMIGRATE" recv "${SSHOPTS[@]}" --streams 2 --compress none --rate 10M --progress json \
  --send-cmd "head -c 30000000 /dev/urandom" "$HOST:x@y" --recv-cmd "cat > $OUT" 2> "$PGM_TEST_ROOT/pull.log" \
  || { tail -5 "$PGM_TEST_ROOT/pull.log"; fail "capped pull"; }
ELAPSED_MS=$(( ($(date +%s%N) - START) / 1000000 ))
[ "$ELAPSED_MS" -ge 2500 ] || fail "a pull of 30 MB at 10 MB/s took only $ELAPSED_MS ms"
grep -q '"rate_limit_bps":10000000' "$PGM_TEST_ROOT/pull.log" || fail "the pull's progress does not show the far sender's cap"
pass "recv --rate caps the far sender ($ELAPSED_MS ms for 30 MB)"
