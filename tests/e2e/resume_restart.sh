#!/usr/bin/env bash
# A sender that dies (SIGKILL) mid-transfer and is run again re-attaches to the receive its
# far half kept open, regenerates the stream, checks the prefix the receiver already has
# against its journal, and sends only the rest. Also: every connection (control included)
# dropped at once, `pgmigrate status` while the receiver waits, a different stream refused
# while one waits, and `pgmigrate abort` cleaning up.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/relay.sh"

zfs_fixture_start
S=pgmt_xsrc_$PGM_TEST_ID
D=pgmt_xdst_$PGM_TEST_ID
make_pool "$S" 512M
make_pool "$D" 1536M
zfs create "$S/fs"
SRC=$(zfs get -H -o value mountpoint "$S/fs")
fill_random "$SRC" 160
zfs snapshot "$S/fs@s1"
echo "more" > "$SRC/more.txt"
zfs snapshot "$S/fs@s2"
rm "$SRC/more.txt"  # the live tree matches s1 again, for comparisons
sshd_fixture_start
on_cleanup "pkill -f '_serve recv --target $D/'"
HOST="$SSH_USER@127.0.0.1"

send_args() {  # TARGET_FS SNAP: sets ARGS to the push, through the relay (20 ms each way: a transfer with a middle)
  ARGS=(send --streams 4 --chunk-size 1M --port "$RELAY_PORT" --identity "$SSH_KEY" --known-hosts "$RELAY_KNOWN_HOSTS"
    --remote-bin "$PGMIGRATE" --progress none --reconnect-timeout 60s "$S/fs@$2" "$HOST:$D/$1")
}

# 1. SIGKILL the sender mid-transfer, then run the same command again.
start_relay --delay-ms 20 --rate-mbit 60  # 4 lanes x 60 Mbit/s: ~5 s for the stream, so every fault lands mid-transfer
send_args killed s1
"$PGMIGRATE" "${ARGS[@]}" 2> "$PGM_TEST_ROOT/first.log" &
SENDER=$!
wait_far_bytes "$D/killed" 40 > /dev/null
kill -9 "$SENDER"
wait "$SENDER" 2>/dev/null || true
wait_far_state "$D/killed" waiting
"$PGMIGRATE" status > "$PGM_TEST_ROOT/status.txt"
grep -q "waiting.*$D/killed" "$PGM_TEST_ROOT/status.txt" || { cat "$PGM_TEST_ROOT/status.txt"; fail "status does not show the waiting receive"; }
pass "status shows the receive waiting for its sender"

# 1b. While it waits, a different stream into the same target is refused, and it keeps waiting.
set +e
send_args killed s2
"$PGMIGRATE" "${ARGS[@]}" 2> "$PGM_TEST_ROOT/other.log"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a different stream was accepted into a waiting receive"
grep -q "is waiting for its sender, and this is not it" "$PGM_TEST_ROOT/other.log" || { cat "$PGM_TEST_ROOT/other.log"; fail "no clear refusal"; }
[ "$(grep -c . "$PGM_TEST_ROOT/other.log")" -eq 1 ] || { cat "$PGM_TEST_ROOT/other.log"; fail "refusal is not one line"; }
wait_far_state "$D/killed" waiting
pass "a different stream is refused while the receive waits: $(cat "$PGM_TEST_ROOT/other.log")"

send_args killed s1
"$PGMIGRATE" "${ARGS[@]}" 2> "$PGM_TEST_ROOT/again.log" || { cat "$PGM_TEST_ROOT/again.log"; fail "the rerun did not finish"; }
grep -q "resumed: the receiver already had" "$PGM_TEST_ROOT/again.log" || { cat "$PGM_TEST_ROOT/again.log"; fail "the rerun did not resume"; }
assert_same_guid "$S/fs@s1" "$D/killed@s1"
assert_same_tree "$SRC" "$(zfs get -H -o value mountpoint "$D/killed")"
[ -z "$(far_journal "$D/killed")" ] || fail "the journal was left behind"
pass "SIGKILLed sender resumed: $(grep -h "resumed:" "$PGM_TEST_ROOT/again.log" | sed 's/^pgmigrate: //'); $(grep -h "^pgmigrate: sent" "$PGM_TEST_ROOT/again.log" | sed 's/^pgmigrate: //')"

# 2. Every connection, control included, drops at once (the relay dies and comes back):
#    the sender reconnects by itself and resumes. The relay is slow enough (4 lanes x 60
#    Mbit/s, ~5 s for the stream) that the drop lands mid-transfer, and the test checks that
#    it did: the far half must be seen waiting for its sender.
drop_all_and_resume() {  # NAME MIB: drops everything once the far half has taken MIB MiB
  send_args "$1" s1
  "$PGMIGRATE" "${ARGS[@]}" 2> "$PGM_TEST_ROOT/$1.log" &
  SENDER=$!
  wait_far_bytes "$D/$1" "$2" > /dev/null
  stop_relay KILL
  wait_far_state "$D/$1" waiting  # the drop happened mid-transfer, and the far half kept the receive
  start_relay --delay-ms 20 --rate-mbit 60
  wait "$SENDER" || { cat "$PGM_TEST_ROOT/$1.log"; fail "the push did not survive losing every connection ($1)"; }
  grep -q "resuming session .* it already has" "$PGM_TEST_ROOT/$1.log" || { cat "$PGM_TEST_ROOT/$1.log"; fail "did not re-attach ($1)"; }
  assert_same_guid "$S/fs@s1" "$D/$1@s1"
  assert_same_tree "$SRC" "$(zfs get -H -o value mountpoint "$D/$1")"
}
drop_all_and_resume dropped 30
pass "lost every connection mid-transfer, resumed: $(grep -h "resumed:" "$PGM_TEST_ROOT/dropped.log" | sed 's/^pgmigrate: //')"
# 2b. The same right after the far half started its receive (its journal exists, nothing
#     taken yet): the moment when a second far half used to start beside the first.
drop_all_and_resume early 0
pass "lost every connection right after the far half started, re-attached: $(grep -h "resuming session" "$PGM_TEST_ROOT/early.log" | sed 's/^warning: //')"

# 2c. The same push run again after it finished: nothing to send, the target's snapshot
#     with the source's guid is the proof (also what a sender whose last answer was lost
#     meets when it reconnects).
send_args dropped s1
"$PGMIGRATE" "${ARGS[@]}" 2> "$PGM_TEST_ROOT/again-done.log" || { cat "$PGM_TEST_ROOT/again-done.log"; fail "re-running a finished push failed"; }
grep -q "already on .*nothing was sent" "$PGM_TEST_ROOT/again-done.log" || { cat "$PGM_TEST_ROOT/again-done.log"; fail "the re-run did not say the target has it"; }
pass "a finished push run again: $(grep -h "already on" "$PGM_TEST_ROOT/again-done.log" | sed 's/^pgmigrate: //')"

# 2d. A sender that comes back to find its receive gone and the target taken (here: the far
#     half aborted and a dataset made in its place while the link was down) stops at once
#     with one line, instead of retrying what no retry can fix for --reconnect-timeout.
send_args taken s1
"$PGMIGRATE" "${ARGS[@]}" 2> "$PGM_TEST_ROOT/taken.log" &
SENDER=$!
J=$(wait_far_bytes "$D/taken" 10)
stop_relay KILL
wait_far_state "$D/taken" waiting
"$PGMIGRATE" abort "$(basename "$J" .json)" > /dev/null
for _ in $(seq 1 100); do zfs list "$D/taken" >/dev/null 2>&1 || break; sleep 0.1; done
zfs create "$D/taken"
started=$(date +%s)
start_relay --delay-ms 20 --rate-mbit 60
set +e
wait "$SENDER"
rc=$?
set -e
took=$(( $(date +%s) - started ))
[ "$rc" -ne 0 ] || fail "a push into a taken target succeeded"
grep -v "; reconnecting" "$PGM_TEST_ROOT/taken.log" | grep -q "the receive to resume is gone from .*pgmigrate status.*exists" || { cat "$PGM_TEST_ROOT/taken.log"; fail "no one-line reason after reconnecting"; }
[ "$(grep -vc "; reconnecting" "$PGM_TEST_ROOT/taken.log")" -eq 1 ] || { cat "$PGM_TEST_ROOT/taken.log"; fail "the final error is not one line"; }
[ "$took" -lt 30 ] || fail "took ${took}s to give up (the reconnect allowance is 60s)"
pass "a resume that meets a taken target stops at once (${took}s, exit $rc): $(grep -v "; reconnecting" "$PGM_TEST_ROOT/taken.log")"

# 3. `pgmigrate abort` on the receiving host ends a waiting receive and removes its state.
send_args aborted s1
"$PGMIGRATE" "${ARGS[@]}" 2> "$PGM_TEST_ROOT/abort-send.log" &
SENDER=$!
wait_far_bytes "$D/aborted" 20 > /dev/null
kill -9 "$SENDER"
wait "$SENDER" 2>/dev/null || true
wait_far_state "$D/aborted" waiting
J=$(far_journal "$D/aborted")
SESSION=$(basename "$J" .json)
"$PGMIGRATE" abort "${SESSION:0:12}" > "$PGM_TEST_ROOT/abort.txt" || { cat "$PGM_TEST_ROOT/abort.txt"; fail "abort failed"; }
cat "$PGM_TEST_ROOT/abort.txt"
grep -q "removed the journal" "$PGM_TEST_ROOT/abort.txt" || fail "abort did not say what it removed"
[ ! -e "$J" ] || fail "abort left the journal"
for _ in $(seq 1 50); do zfs list "$D/aborted" >/dev/null 2>&1 || break; sleep 0.2; done
zfs list "$D/aborted" >/dev/null 2>&1 && fail "abort left a partial dataset"
pass "abort removed the waiting receive, its journal and the partial dataset"

# 4. abort of a session that does not exist: one line, exit 1, nothing touched.
set +e
"$PGMIGRATE" abort nosuchsession > /dev/null 2> "$PGM_TEST_ROOT/nosuch.log"
rc=$?
set -e
[ "$rc" -eq 1 ] && [ "$(wc -l < "$PGM_TEST_ROOT/nosuch.log")" -eq 1 ] && grep -q "no transfer 'nosuchsession'" "$PGM_TEST_ROOT/nosuch.log" \
  || { cat "$PGM_TEST_ROOT/nosuch.log"; fail "abort of an unknown session: exit $rc"; }
pass "abort of an unknown session: $(cat "$PGM_TEST_ROOT/nosuch.log")"

stop_relay
assert_gone "_serve recv --target $D/" "far halves left running"
pass "no far halves left running"
