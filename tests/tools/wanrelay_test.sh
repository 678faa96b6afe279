#!/usr/bin/env bash
# End-to-end test of wanrelay on loopback, against the Python peers in wanrelay_peer.py:
# CLI checks, RTT = 2 x delay, 100 MiB intact through a 30 ms link, the rate cap, each kind of
# cut, the byte flip, bounded memory and the stats file. About 15 s.
#   usage: wanrelay_test.sh PATH/TO/wanrelay PATH/TO/wanrelay_peer.py
set -euo pipefail
relay=${1:?usage: wanrelay_test.sh WANRELAY PEER_PY}
peer=${2:?usage: wanrelay_test.sh WANRELAY PEER_PY}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# Bounded waits: files appear within 10 s or the test fails.
wait_file() {
  for _ in $(seq 100); do [[ -s $1 ]] && return 0; sleep 0.1; done
  fail "timed out waiting for $1"
}
wait_lines() {  # FILE N
  for _ in $(seq 100); do
    [[ -f $1 && $(wc -l <"$1") -ge $2 ]] && return 0
    sleep 0.1
  done
  fail "timed out waiting for $2 lines in $1"
}
# jget JSON EXPR: evaluates a Python expression over the parsed JSON `j`.
jget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
# The Nth record line of the sink.
record() { sed -n "${1}p" "$work/rec.jsonl"; }

# start_relay NAME ARGS...: starts a relay on a free port; sets $rport and $rpid.
start_relay() {
  local name=$1
  shift
  "$relay" --listen 127.0.0.1:0 --port-file "$work/$name.port" --stats-file "$work/$name.json" \
    --max-seconds 120 "$@" 2>>"$work/relay.log" &
  rpid=$!
  pids+=("$rpid")
  wait_file "$work/$name.port"
  rport=$(cat "$work/$name.port")
}
# stop_relay NAME: SIGTERM, then sets $stats to the stats JSON. Not for $(...): the relay is a
# child of this shell, not of a subshell.
stop_relay() {
  kill -TERM "$rpid"
  local rc=0
  wait "$rpid" || rc=$?
  [[ $rc -eq 0 ]] || fail "relay $1 exited with $rc"
  wait_file "$work/$1.json"
  stats=$(cat "$work/$1.json")
}

mkdir -p "$work/saved"
python3 "$peer" server --port-file "$work/sink.port" --mode sink --record "$work/rec.jsonl" \
  --save-dir "$work/saved" --max-seconds 120 &
pids+=("$!")
python3 "$peer" server --port-file "$work/echo.port" --mode echo --max-seconds 120 &
pids+=("$!")
python3 "$peer" server --port-file "$work/slow.port" --mode sink --stall 2 --max-seconds 120 &
pids+=("$!")
wait_file "$work/sink.port"
wait_file "$work/echo.port"
wait_file "$work/slow.port"
sink=$(cat "$work/sink.port")
echo_port=$(cat "$work/echo.port")
slow=$(cat "$work/slow.port")
nrec=0  # sink records so far; each sink connection adds one

# --- CLI ----------------------------------------------------------------------------------------
"$relay" --help | grep -q -- '--cut-every-bytes' || fail "--help does not list the flags"
set +e
"$relay" --listen 0.0.0.0:0 --target "127.0.0.1:$sink" 2>"$work/err.txt"
rc=$?
set -e
if [[ $rc -ne 2 ]] || ! grep -q 'not a loopback' "$work/err.txt"; then
  fail "a non-loopback listen must be refused (rc $rc)"
fi
set +e
"$relay" --listen 127.0.0.1:0 --target "127.0.0.1:$sink" --delay-ms x 2>/dev/null
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "a bad --delay-ms must be a usage error (rc $rc)"
pass "CLI: --help, loopback only, bad values refused"

# --- RTT = 2 x delay ----------------------------------------------------------------------------
start_relay rtt --target "127.0.0.1:$echo_port" --delay-ms 20
out=$(python3 "$peer" rtt --port "$rport" --count 15)
med=$(jget "$out" 'j["median_ms"]')
python3 -c "import sys; sys.exit(0 if 40 <= $med <= 46 else 1)" || fail "RTT at 20 ms one way: $med ms"
stop_relay rtt
pass "RTT through a 20 ms relay: $med ms (want 40..46)"

# --- 100 MiB intact through a 30 ms link ----------------------------------------------------------
start_relay bulk --target "127.0.0.1:$sink" --delay-ms 30
out=$(python3 "$peer" send --port "$rport" --bytes $((100 << 20)) --seed 3)
nrec=$((nrec + 1))
wait_lines "$work/rec.jsonl" $nrec
rec=$(record $nrec)
[[ $(jget "$out" 'j["confirmed"]') == $((100 << 20)) ]] || fail "bulk: $out"
[[ $(jget "$rec" 'j["sha256"]') == $(jget "$out" 'j["sha256"]') ]] || fail "bulk sha256: $rec vs $out"
stop_relay bulk
[[ $(jget "$stats" 'j["bytes_client_to_server"]') == $((100 << 20)) ]] || fail "bulk stats: $stats"
pass "100 MiB intact through 30 ms in $(jget "$out" 'j["seconds"]') s (sha256 matches)"
rm -f "$work/saved/"*

# --- rate cap -----------------------------------------------------------------------------------
start_relay rate --target "127.0.0.1:$sink" --delay-ms 0 --rate-mbit 80
out=$(python3 "$peer" send --port "$rport" --bytes 5000000)
nrec=$((nrec + 1))
secs=$(jget "$out" 'j["seconds"]')
# 5 MB at 10 MB/s is 0.5 s; wide bounds so a busy CI host does not fail it.
python3 -c "import sys; sys.exit(0 if 0.4 <= $secs <= 1.5 else 1)" || fail "rate: 5 MB at 80 Mbit/s took $secs s"
stop_relay rate
pass "rate cap: 5 MB at 80 Mbit/s took $secs s (want ~0.5)"

# --- cut after N bytes on each connection -------------------------------------------------------
start_relay cutafter --target "127.0.0.1:$sink" --delay-ms 1 --cut-after-bytes 1000000
for i in 1 2; do
  out=$(python3 "$peer" send --port "$rport" --bytes 8000000)
  nrec=$((nrec + 1))
  wait_lines "$work/rec.jsonl" $nrec
  rec=$(record $nrec)
  [[ $(jget "$out" 'j["error"]') != None ]] || fail "cut-after: the sender saw no error: $out"
  [[ $(jget "$rec" 'j["reset"]') == True ]] || fail "cut-after: the server saw no reset: $rec"
  [[ $(jget "$rec" 'j["bytes"]') == 1000000 ]] || fail "cut-after: server got $(jget "$rec" 'j["bytes"]') bytes, want 1000000"
done
stop_relay cutafter
[[ $(jget "$stats" 'j["cuts"]') == 2 ]] || fail "cut-after stats: $stats"
pass "cut-after-bytes: each of 2 connections reset after exactly 1000000 bytes"

# --- cut every N bytes over the relay's lifetime, at most K times -------------------------------
start_relay cutevery --target "127.0.0.1:$sink" --delay-ms 0 --cut-every-bytes 1000000 --max-cuts 2
got=()
for i in 1 2 3; do
  python3 "$peer" send --port "$rport" --bytes 1500000 >/dev/null
  nrec=$((nrec + 1))
  wait_lines "$work/rec.jsonl" $nrec
  got+=("$(jget "$(record $nrec)" 'str(j["bytes"]) + "/" + str(j["reset"])')")
done
[[ "${got[*]}" == "1000000/True 1000000/True 1500000/False" ]] || fail "cut-every: ${got[*]}"
stop_relay cutevery
[[ $(jget "$stats" 'j["cuts"]') == 2 ]] || fail "cut-every stats: $stats"
pass "cut-every-bytes 1000000 --max-cuts 2: ${got[*]}"

# --- random cut, reproducible by seed -----------------------------------------------------------
points=()
for run in 1 2; do
  start_relay "rand$run" --target "127.0.0.1:$sink" --delay-ms 0 --cut-random-max-bytes 500000 \
    --seed 42 --max-cuts 1
  python3 "$peer" send --port "$rport" --bytes 2000000 >/dev/null
  nrec=$((nrec + 1))
  wait_lines "$work/rec.jsonl" $nrec
  rec=$(record $nrec)
  [[ $(jget "$rec" 'j["reset"]') == True ]] || fail "random cut: no reset: $rec"
  points+=("$(jget "$rec" 'j["bytes"]')")
  python3 "$peer" send --port "$rport" --bytes 2000000 >/dev/null  # after the last cut: intact
  nrec=$((nrec + 1))
  wait_lines "$work/rec.jsonl" $nrec
  [[ $(jget "$(record $nrec)" 'j["bytes"]') == 2000000 ]] || fail "random cut: --max-cuts 1 not honoured"
  stop_relay "rand$run"
done
[[ ${points[0]} == "${points[1]}" && ${points[0]} -ge 1 && ${points[0]} -le 500000 ]] ||
  fail "random cut points ${points[*]} (want equal, in 1..500000)"
pass "cut-random-max-bytes 500000 --seed 42: cut at ${points[0]} both runs"

# --- flip one byte, once ------------------------------------------------------------------------
rm -f "$work/saved/"*
start_relay flip --target "127.0.0.1:$sink" --delay-ms 2 --flip-byte-at 123457
for i in 1 2; do
  python3 "$peer" send --port "$rport" --bytes 1048576 --seed 5 --save "$work/sent" >/dev/null
  nrec=$((nrec + 1))
  wait_lines "$work/rec.jsonl" $nrec
  diffs[i]=$(python3 "$peer" diff "$work/sent" "$work/saved/$nrec")
done
[[ $(jget "${diffs[1]}" '(j["len_a"], j["len_b"], j["offsets"], j["xor"])') == "(1048576, 1048576, [123457], [1])" ]] ||
  fail "flip: first connection: ${diffs[1]}"
[[ $(jget "${diffs[2]}" 'j["offsets"]') == "[]" ]] || fail "flip: second connection changed: ${diffs[2]}"
stop_relay flip
[[ $(jget "$stats" '(j["flips"], j["connections"])') == "(1, 2)" ]] || fail "flip stats: $stats"
pass "flip-byte-at 123457: exactly that byte XOR 0x01 on the first connection, none on the second"

# --- bounded memory against a receiver that stalls ----------------------------------------------
start_relay mem --target "127.0.0.1:$slow" --delay-ms 30 --queue-mib 8
out=$(python3 "$peer" send --port "$rport" --bytes $((64 << 20)))
[[ $(jget "$out" 'j["confirmed"]') == $((64 << 20)) ]] || fail "memory: transfer incomplete: $out"
stop_relay mem
maxq=$(jget "$stats" 'j["max_queued_bytes"]')
rss=$(jget "$stats" 'j["peak_rss_kib"]')
[[ $maxq -le $((8 << 20)) && $maxq -ge $((1 << 20)) ]] || fail "memory: max queued $maxq with --queue-mib 8"
[[ $rss -le $((48 << 10)) ]] || fail "memory: peak RSS $rss KiB"
pass "bounded memory: receiver stalled 2 s, relay held at most $maxq bytes, peak RSS $rss KiB"

echo "all wanrelay tests passed"
