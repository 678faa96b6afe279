#!/usr/bin/env bash
# Measures wanrelay's own throughput on loopback: bulk transfers straight to a sink, then through
# the relay at 0 ms and at 30 ms one-way delay, with 1 and 8 connections. Not a ctest test (timing
# belongs in reports, not in pass/fail); run by hand:
#   tests/tools/wanrelay_bench.sh BUILD_DIR/tests/tools/wanrelay [TOTAL_MB]
set -euo pipefail
relay=${1:?usage: wanrelay_bench.sh PATH/TO/wanrelay [TOTAL_MB]}
total_mb=${2:-2000}
peer="$(dirname "$0")/wanrelay_peer.py"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_file() {  # bounded: 10 s
  for _ in $(seq 100); do [[ -s $1 ]] && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}

python3 "$peer" server --port-file "$work/sink.port" --mode sink --no-hash --max-seconds 600 &
pids+=("$!")
wait_file "$work/sink.port"
sink=$(cat "$work/sink.port")

cpu_ticks() {  # user + system clock ticks of a process (fields 14 and 15 of /proc/PID/stat)
  [[ -n ${1:-} ]] || { echo 0; return; }
  awk '{print $14 + $15}' "/proc/$1/stat"
}

run() {  # label port conns [relay pid]
  local per=$((total_mb * 1000000 / $3)) before after out
  before=$(cpu_ticks "${4:-}")
  out=$(python3 "$peer" bulk --port "$2" --conns "$3" --bytes-per-conn "$per")
  after=$(cpu_ticks "${4:-}")
  if [[ -n ${4:-} ]]; then
    # CPU seconds the relay spent per GB moved: its capacity is about 1 / this, per core.
    out="$out relay_cpu_s_per_GB=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" \
      -v mb="$total_mb" 'BEGIN {printf "%.3f", t / hz / (mb / 1000)}')"
  fi
  printf '%-22s %s\n' "$1" "$out"
}

for conns in 1 8; do run "direct, $conns conn" "$sink" "$conns"; done
for delay in 0 30; do
  "$relay" --listen 127.0.0.1:0 --target "127.0.0.1:$sink" --delay-ms "$delay" \
    --port-file "$work/r$delay.port" --stats-file "$work/r$delay.json" --max-seconds 600 2>/dev/null &
  rpid=$!
  pids+=("$rpid")
  wait_file "$work/r$delay.port"
  for conns in 1 8; do run "relay ${delay} ms, $conns conn" "$(cat "$work/r$delay.port")" "$conns" "$rpid"
  done
  kill "$rpid"
  wait_file "$work/r$delay.json"
  echo "  relay stats: $(cat "$work/r$delay.json")"
done
