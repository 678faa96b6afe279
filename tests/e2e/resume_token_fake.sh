#!/usr/bin/env bash
# The OpenZFS resumable-receive path (zfs receive -s, receive_resume_token, zfs send -t),
# which zfs-fuse cannot run. ZFS HERE IS A FAKE: tests/tools/fake-openzfs, a labelled model
# of the OpenZFS command line (see its header), selected with PGMIGRATE_ZFS. SSH, sshd and
# pgmigrate are real. Each "host" has its own fake ZFS root.
#   1. push: the receiving half is SIGKILLed mid-transfer (a receiver restart); the sender
#      reconnects, finds the target's resume token and sends only the rest (zfs send -t).
#   2. pull: the local receiver is SIGKILLed; running it again resumes from the token.
#   3. pgmigrate abort on a dead session discards the partial receive (zfs receive -A).
#   4. recv from object storage (a real Ceph RGW, tests/fixtures/s3.sh) killed mid-download:
#      its stream cannot continue from a token, so it never asks for `receive -s`; the kill
#      leaves no partial state and the re-run (which such state would refuse) receives it.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/relay.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/fake_zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/s3.sh"

P=pgmt_tok$PGM_TEST_ID
fake_source "$P" 96
GUID=$(src_zfs "$FAKE" get -Hp -o value guid "$P/fs@s1")

sshd_fixture_start
HOST="$SSH_USER@127.0.0.1"
start_relay --rate-mbit 40  # 5 MB/s a lane, ~5 s for the 96 MiB: every kill below lands mid-transfer
on_cleanup "pkill -f 'FAKE_ZFS_ROOT=$PGM_TEST_ROOT' ; pkill -f '_serve (recv|send) .*$P/'"
SSHOPTS=(--streams 4 --chunk-size 1M --port "$RELAY_PORT" --identity "$SSH_KEY" --known-hosts "$RELAY_KNOWN_HOSTS" --reconnect-timeout 60s)

check() {  # ZFS-FUNCTION DATASET@SNAP
  local got; got=$("$1" "$FAKE" get -Hp -o value guid "$2")
  [ "$got" = "$GUID" ] || fail "$2 has guid $got, the source $GUID"
  "$1" "$FAKE" fake-cat "$2" | cmp -s - "$PGM_TEST_ROOT/data" || fail "$2 differs from the source"
}
# 1. Push; kill the receiving half (as a crash of the receiving host would).
"${SRC_ENV[@]}" "$PGMIGRATE" send "${SSHOPTS[@]}" --remote-bin "$PGM_TEST_ROOT/pgmigrate-on-dst" --progress none \
  "$P/fs@s1" "$HOST:$P/push" 2> "$PGM_TEST_ROOT/push.log" &
SENDER=$!
wait_far_bytes "$P/push" 24 > /dev/null
pkill -9 -f "_serve recv --target $P/push" || fail "no receiving half to kill"
# The kill landed mid-transfer: the target holds a partial receive (its resume token).
for _ in $(seq 1 100); do
  [ "$(dst_zfs "$FAKE" get -H -o value receive_resume_token "$P/push" 2>/dev/null || echo -)" != "-" ] && break
  sleep 0.1
done
[ "$(dst_zfs "$FAKE" get -H -o value receive_resume_token "$P/push" 2>/dev/null || echo -)" != "-" ] \
  || fail "the killed receive left no resume token (did the transfer finish before the kill?)"
wait "$SENDER" || { cat "$PGM_TEST_ROOT/push.log"; fail "push did not survive the receiving half's restart"; }
grep -q "holds a partial receive" "$PGM_TEST_ROOT/push.log" || { cat "$PGM_TEST_ROOT/push.log"; fail "did not resume from the token"; }
check dst_zfs "$P/push@s1"
[ "$(dst_zfs "$FAKE" get -H -o value receive_resume_token "$P/push")" = "-" ] || fail "a resume token was left on $P/push"
pass "push resumed from the receive_resume_token after the receiver died: $(grep -h '^pgmigrate: sent' "$PGM_TEST_ROOT/push.log" | sed 's/^pgmigrate: //')"

# 2. Pull; kill the local receiver and run it again.
"${DST_ENV[@]}" "$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGM_TEST_ROOT/pgmigrate-on-src" --progress json \
  "$HOST:$P/fs@s1" "$P/pull" 2> "$PGM_TEST_ROOT/pull1.log" &
RECEIVER=$!
for _ in $(seq 1 300); do
  b=$(grep -o '"logical_bytes":[0-9]*' "$PGM_TEST_ROOT/pull1.log" 2>/dev/null | tail -1 | cut -d: -f2 || true)
  [ -n "$b" ] && [ "$b" -ge $((24 << 20)) ] && break
  sleep 0.1
done
kill -9 "$RECEIVER"
wait "$RECEIVER" 2>/dev/null || true
for _ in $(seq 1 100); do
  [ "$(dst_zfs "$FAKE" get -H -o value receive_resume_token "$P/pull" 2>/dev/null || echo -)" != "-" ] && break
  sleep 0.1
done
[ "$(dst_zfs "$FAKE" get -H -o value receive_resume_token "$P/pull")" != "-" ] || fail "the killed receive left no resume token"
dst_zfs "$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGM_TEST_ROOT/pgmigrate-on-src" --progress none \
  "$HOST:$P/fs@s1" "$P/pull" 2> "$PGM_TEST_ROOT/pull2.log" || { cat "$PGM_TEST_ROOT/pull2.log"; fail "pull rerun failed"; }
grep -q "holds a partial receive" "$PGM_TEST_ROOT/pull2.log" || { cat "$PGM_TEST_ROOT/pull2.log"; fail "pull did not resume"; }
check dst_zfs "$P/pull@s1"
pass "pull resumed from the receive_resume_token after the receiver was killed: $(grep -h '^pgmigrate: received' "$PGM_TEST_ROOT/pull2.log" | sed 's/^pgmigrate: //')"

# 3. Both halves die; `pgmigrate abort` on the receiving host discards the partial receive.
"${SRC_ENV[@]}" "$PGMIGRATE" send "${SSHOPTS[@]}" --remote-bin "$PGM_TEST_ROOT/pgmigrate-on-dst" --progress none \
  "$P/fs@s1" "$HOST:$P/gone" 2> "$PGM_TEST_ROOT/gone.log" &
SENDER=$!
J=$(wait_far_bytes "$P/gone" 16)
kill -9 "$SENDER"
pkill -9 -f "_serve recv --target $P/gone" || true
wait "$SENDER" 2>/dev/null || true
for _ in $(seq 1 100); do
  [ "$(dst_zfs "$FAKE" get -H -o value receive_resume_token "$P/gone" 2>/dev/null || echo -)" != "-" ] && break
  sleep 0.1
done
"$PGMIGRATE" status | grep -q "stale" || fail "status does not show the dead session as stale"
dst_zfs "$PGMIGRATE" abort "$(basename "$J" .json)" > "$PGM_TEST_ROOT/abort.txt" || { cat "$PGM_TEST_ROOT/abort.txt"; fail "abort failed"; }
grep -q "discarded the partial receive state" "$PGM_TEST_ROOT/abort.txt" || { cat "$PGM_TEST_ROOT/abort.txt"; fail "abort did not discard it"; }
# A partial receive of a new filesystem leaves nothing once discarded.
[ "$(dst_zfs "$FAKE" get -H -o value receive_resume_token "$P/gone" 2>/dev/null || echo -)" = "-" ] || fail "the token survived abort"
[ ! -e "$J" ] || fail "abort left the journal"
pass "abort discarded the dead session's partial receive: $(tr '\n' ' ' < "$PGM_TEST_ROOT/abort.txt")"

# 4. From object storage: a killed receive leaves no partial state in the way of its re-run.
s3_start
s3_mb pgm-tok
src_zfs "$PGMIGRATE" -q send --chunk-size 1M --s3-object-size 1M --s3-endpoint "$S3_ENDPOINT" "$P/fs@s1" s3://pgm-tok/s1 || fail "upload"
s3_proxy --delay 0.3  # one request at a time, 0.3 s each: the kill lands mid-download
"${DST_ENV[@]}" "$PGMIGRATE" -q recv --s3-endpoint "$PROXY_ENDPOINT" --s3-concurrency 1 s3://pgm-tok/s1 "$P/objs" &
RECEIVER=$!
# Bounded (60 s): the receiver must be mid-download (12 requests through the proxy) when killed.
for ((i = 0; ; i++)); do
  [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['requests'])" "$PROXY_STATS" 2>/dev/null || echo 0)" -ge 12 ] && break
  kill -0 "$RECEIVER" 2>/dev/null || fail "the receiver ended before it was killed"
  [ $i -lt 600 ] || fail "the receiver made no 12 requests within 60 s"
  sleep 0.1
done
rc=0
kill -KILL "$RECEIVER"
wait "$RECEIVER" 2>/dev/null || rc=$?
[ "$rc" -eq 137 ] || fail "the receiver had ended (status $rc) before the kill: the case tested nothing"
dst_zfs "$PGMIGRATE" -q recv --s3-endpoint "$S3_ENDPOINT" s3://pgm-tok/s1 "$P/objs" 2> "$PGM_TEST_ROOT/objs.log" \
  || { cat "$PGM_TEST_ROOT/objs.log"; fail "the re-run of the killed receive from object storage"; }
check dst_zfs "$P/objs@s1"
[ "$(dst_zfs "$FAKE" get -H -o value receive_resume_token "$P/objs")" = "-" ] || fail "a resume token was left on $P/objs"
pass "recv from object storage killed mid-download (status 137): no partial state kept; the re-run received it"
