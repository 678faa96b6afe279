#!/usr/bin/env bash
# Stopping and starving real transfers: SIGINT/SIGTERM/SIGHUP on either side (exit 130/143/
# 129, no child left on either host, no half-received dataset), a reader of stdout that goes
# away, a target pool too small for the stream, and a consumer that stalls (bounded memory,
# the stall watchdog names the side).
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/relay.sh"
FG="$PGM_SOURCE_DIR/tests/fixtures/fg_exec.py"

zfs_fixture_start
S=pgmt_gsrc_$PGM_TEST_ID
D=pgmt_gdst_$PGM_TEST_ID
T=pgmt_tiny_$PGM_TEST_ID
make_pool "$S" 768M
make_pool "$D" 768M
make_pool "$T" 64M
zfs create "$S/fs"
SRC=$(zfs get -H -o value mountpoint "$S/fs")
fill_random "$SRC" 200
zfs snapshot "$S/fs@s1"
sshd_fixture_start

no_children_left() {  # what: description. Children get up to 10 s to go.
  local left=""
  for _ in $(seq 1 100); do
    left=$(pgrep -af "zfs (send|receive) .*pgmt_[gt]|$PGMIGRATE _(serve|lane)" | grep -v pgrep) || return 0
    sleep 0.1
  done
  echo "$left"
  fail "$1: processes left behind"
}
# This test counts far halves as its own leftovers: let an earlier test's end first (bounded).
assert_gone "$PGMIGRATE _(serve|lane)" "far halves of an earlier test are still running"
# zfs-fuse destroys an aborted receive's partial dataset in its daemon, after the receive
# has returned (OpenZFS does it before): give it a bounded moment.
no_dataset() {
  for _ in $(seq 1 100); do zfs list -H -o name "$1" >/dev/null 2>&1 || return 0; sleep 0.1; done
  fail "$1 still exists 10 s after an interrupted receive"
}

# Until the process has read MIB MiB (it is mid-stream, since its input is throttled); fails
# if it ended first: a signal that lands after the transfer tests nothing.
wait_read_mib() {  # PID MIB
  for _ in $(seq 1 300); do
    local rchar
    rchar=$(awk '/^rchar:/ {print $2}' "/proc/$1/io" 2>/dev/null) || fail "pid $1 ended before it read $2 MiB: the transfer was not throttled enough"
    [ -n "$rchar" ] && [ "$rchar" -ge $(($2 << 20)) ] && return 0
    sleep 0.1
  done
  fail "pid $1 never read $2 MiB"
}

# 1. Local pipe, signal to the receiving side. mbuffer holds the stream to 20 MB/s (10 s for
#    it), and the signal goes once the receiver has read 16 MiB.
i=0
for sig in INT TERM HUP; do
  i=$((i + 1))
  case $sig in INT) want=130 ;; TERM) want=143 ;; HUP) want=129 ;; esac
  pidfile="$PGM_TEST_ROOT/recv$i.pid"
  rm -f "$pidfile"
  ( set +e; "$PGMIGRATE" send "$S/fs@s1" - 2>/dev/null | mbuffer -q -r 20M -m 4M | python3 "$FG" "$pidfile" "$PGMIGRATE" recv --progress none - "$D/pipe$i" 2> "$PGM_TEST_ROOT/sig$i.log"; echo $? > "$PGM_TEST_ROOT/sig$i.rc" ) &
  job=$!
  for _ in $(seq 1 100); do [ -s "$pidfile" ] && break; sleep 0.05; done
  [ -s "$pidfile" ] || fail "the receiver did not start"
  wait_read_mib "$(cat "$pidfile")" 16
  kill "-$sig" "$(cat "$pidfile")" || fail "the receiver ended before SIG$sig"
  wait "$job" || true
  rc=$(cat "$PGM_TEST_ROOT/sig$i.rc")
  cat "$PGM_TEST_ROOT/sig$i.log"
  [ "$rc" = "$want" ] || fail "recv after SIG$sig: exit $rc, expected $want"
  grep -q "interrupted by SIG$sig" "$PGM_TEST_ROOT/sig$i.log" || fail "SIG$sig: no message saying so"
  no_children_left "SIG$sig to recv"
  no_dataset "$D/pipe$i"
  pass "SIG$sig to 'recv -' mid-stream: exit $rc, receive aborted, nothing left"
done

# 2. Over SSH (a relay holds each of the 2 lanes to 60 Mbit/s: ~13 s for the stream),
#    signal to the local sender once the far half has taken 10 MiB: the remote zfs receive
#    and the far halves must go too.
start_relay --rate-mbit 60
for sig in INT TERM; do
  case $sig in INT) want=130 ;; TERM) want=143 ;; esac
  pidfile="$PGM_TEST_ROOT/send$sig.pid"
  rm -f "$pidfile"
  ( set +e; python3 "$FG" "$pidfile" "$PGMIGRATE" send --progress none --streams 2 --port "$RELAY_PORT" --identity "$SSH_KEY" --known-hosts "$RELAY_KNOWN_HOSTS" \
      --remote-bin "$PGMIGRATE" "$S/fs@s1" "$SSH_USER@127.0.0.1:$D/ssh$sig" 2> "$PGM_TEST_ROOT/ssh$sig.log"; echo $? > "$PGM_TEST_ROOT/ssh$sig.rc" ) &
  job=$!
  wait_far_bytes "$D/ssh$sig" 10 > /dev/null
  kill "-$sig" "$(cat "$pidfile")" || fail "the push ended before SIG$sig"
  wait "$job" || true
  rc=$(cat "$PGM_TEST_ROOT/ssh$sig.rc")
  cat "$PGM_TEST_ROOT/ssh$sig.log"
  [ "$rc" = "$want" ] || fail "push after SIG$sig: exit $rc, expected $want"
  no_children_left "SIG$sig to a push"
  no_dataset "$D/ssh$sig"
  pass "SIG$sig to a push over SSH mid-stream: exit $rc, far halves and zfs receive gone, nothing left"
done
stop_relay

# 3. The reader of stdout goes away: an error, not a hang.
set +e
timeout 60 bash -c "'$PGMIGRATE' send '$S/fs@s1' - 2> '$PGM_TEST_ROOT/pipe.log' | head -c 1048576 > /dev/null; exit \${PIPESTATUS[0]}"
rc=$?
set -e
cat "$PGM_TEST_ROOT/pipe.log"
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "send into a closed pipe: exit $rc"
grep -q "broken pipe" "$PGM_TEST_ROOT/pipe.log" || fail "no broken-pipe message"
no_children_left "broken stdout"
pass "send into a pipe whose reader left: exit $rc, no hang"

# 4. A target pool too small: "target out of space" with the pool, exit 7, source untouched.
before=$(zfs get -Hp -o value guid "$S/fs@s1")
set +e
"$PGMIGRATE" send "$S/fs@s1" - 2>/dev/null | "$PGMIGRATE" recv --progress none - "$T/fs" 2> "$PGM_TEST_ROOT/full.log"
rc=${PIPESTATUS[1]}
set -e
cat "$PGM_TEST_ROOT/full.log"
[ "$rc" -eq 7 ] || fail "full pool: exit $rc, expected 7"
grep -q "target out of space: pool '$T'" "$PGM_TEST_ROOT/full.log" || fail "full pool: message"
[ "$(zfs get -Hp -o value guid "$S/fs@s1")" = "$before" ] || fail "source changed"
no_dataset "$T/fs"
pass "target out of space reported with the pool, exit 7"

# 5. A consumer that never reads: memory stays bounded, the watchdog ends it naming the side.
"$PGMIGRATE" send --send-cmd "cat $SRC/random-200M.bin" - 2>/dev/null \
  | "$PGMIGRATE" recv --progress none --max-memory 64M --stall-timeout 4s - --recv-cmd 'sleep 600' 2> "$PGM_TEST_ROOT/stall.log" &
job=$!
RPID=""
for _ in $(seq 1 100); do RPID=$(pgrep -f "recv --progress none --max-memory 64M" | head -1) && break; sleep 0.05; done
[ -n "$RPID" ] || fail "the stalled receiver did not start"
peak=0
for _ in $(seq 1 30); do
  kb=$(awk '/VmHWM/ {print $2}' "/proc/$RPID/status" 2>/dev/null) || break
  [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
  kill -0 "$RPID" 2>/dev/null || break
  sleep 0.2
done
wait "$job" || true
cat "$PGM_TEST_ROOT/stall.log"
grep -q "no data moved for 4.0s: the consumer ('sleep 600') stopped reading" "$PGM_TEST_ROOT/stall.log" || fail "stall not reported"
echo "peak RSS of the stalled receiver: $((peak / 1024)) MiB (--max-memory 64M)"
[ "$peak" -lt $(( (64 + 48) * 1024 )) ] || fail "stalled receiver grew to $((peak / 1024)) MiB"
pgrep -f "sleep 600" >/dev/null && fail "stalled consumer left running"
pass "stalled consumer: watchdog fired, memory bounded"
