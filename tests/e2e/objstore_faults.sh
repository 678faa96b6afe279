#!/usr/bin/env bash
# The object-store road (#18) under faults, against a real signature-checking S3 server (Ceph
# RGW) and a fault-injecting proxy in front of it (tests/fixtures/s3proxy.py): a killed sender
# re-run keeps what matches and uploads the rest; the gateway killed and restarted mid-upload;
# injected 503 SlowDown answers; and a corrupted object, a missing object, a foreign manifest,
# an unfinished upload, wrong credentials: each one line, non-zero, and no snapshot received; a
# killed receiver leaves no snapshot and its re-run receives the stream.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/s3.sh"

zfs_fixture_start
S=pgmf_src_$PGM_TEST_ID
D=pgmf_dst_$PGM_TEST_ID
make_pool "$S" 512M
make_pool "$D" 512M
zfs create "$S/fs"
fill_random "$(zfs get -H -o value mountpoint "$S/fs")" 20
zfs snapshot "$S/fs@s1"
GUID=$(zfs get -Hp -o value guid "$S/fs@s1")
s3_start
s3_mb pgm-f
SMALL=(--chunk-size 256K --s3-object-size 1M)
data_objects() { s3_aws s3 ls --recursive "s3://pgm-f/$1/data/" 2>/dev/null | wc -l; }
proxy_requests() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['requests'])" "$PROXY_STATS"; }
# zfs-fuse destroys an aborted receive's partial dataset in its daemon, after the receive has
# returned (as in signals_disk_stall.sh): bounded, and the snapshot must never appear.
no_snapshot() {
  zfs list -H -o name "$D/$1@s1" >/dev/null 2>&1 && fail "$D/$1@s1 exists after a refused or killed receive"
  for _ in $(seq 1 100); do zfs list -H -o name "$D/$1" >/dev/null 2>&1 || return 0; sleep 0.1; done
  fail "$D/$1 still exists 10 s after a refused or killed receive"
}
# kill_mid_run PID WHAT: SIGKILL, and fail unless it was the kill that ended PID (status 137): a
# process that had already finished would make the case prove nothing.
kill_mid_run() {
  local rc=0
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || rc=$?
  [ "$rc" -eq 137 ] || fail "$2 had ended (status $rc) before the kill: the case tested nothing"
}
recv_ok() { # PREFIX DATASET: receive and check the guid
  "$PGMIGRATE" -q recv --s3-endpoint "$S3_ENDPOINT" "s3://pgm-f/$1" "$D/$2" || fail "recv of $1"
  [ "$(zfs get -Hp -o value guid "$D/$2@s1")" = "$GUID" ] || fail "recv of $1: guid differs"
}

# A killed sender: a slow link (0.3 s per request) so that it dies part-way; the re-run keeps
# the objects that match the regenerated stream and uploads the rest.
s3_proxy --delay 0.3
"$PGMIGRATE" -q send --s3-endpoint "$PROXY_ENDPOINT" "${SMALL[@]}" --s3-concurrency 1 "$S/fs@s1" s3://pgm-f/killed &
SENDER=$!
until [ "$(data_objects killed)" -ge 4 ]; do kill -0 $SENDER 2>/dev/null || fail "sender ended before it was killed"; sleep 0.1; done
kill_mid_run $SENDER "the sender"
expect_fail 3 "has no manifest yet" "$PGMIGRATE" -q recv --s3-endpoint "$S3_ENDPOINT" s3://pgm-f/killed "$D/a"
no_snapshot a
"$PGMIGRATE" send --s3-endpoint "$S3_ENDPOINT" "${SMALL[@]}" "$S/fs@s1" s3://pgm-f/killed 2> "$PGM_TEST_ROOT/resume.log" || { cat "$PGM_TEST_ROOT/resume.log"; fail "re-run send"; }
grep -Eq "\([0-9]+ uploaded, [1-9][0-9]* kept from an earlier run\)" "$PGM_TEST_ROOT/resume.log" || { cat "$PGM_TEST_ROOT/resume.log"; fail "re-run kept nothing"; }
recv_ok killed a
pass "killed sender: the re-run kept $(grep -Eo '[0-9]+ kept' "$PGM_TEST_ROOT/resume.log" | cut -d' ' -f1) objects and uploaded the rest; same guid"

# The gateway killed mid-upload and started again: the uploads retry until it answers.
"$PGMIGRATE" -q send --s3-endpoint "$PROXY_ENDPOINT" "${SMALL[@]}" --s3-concurrency 2 "$S/fs@s1" s3://pgm-f/restart &
SENDER=$!
until [ "$(data_objects restart)" -ge 3 ]; do kill -0 $SENDER 2>/dev/null || fail "sender ended early"; sleep 0.1; done
s3_stop_rgw KILL
# Wait until the sender has seen the gateway gone (requests through the proxy that failed).
before=$(proxy_requests)
until [ "$(proxy_requests)" -ge $((before + 3)) ]; do kill -0 $SENDER 2>/dev/null || fail "sender gave up while the gateway was down"; sleep 0.1; done
kill -0 $SENDER 2>/dev/null || fail "the sender ended while the gateway was down"
s3_start_rgw
wait $SENDER || fail "send across a gateway restart"
recv_ok restart b
pass "gateway killed and restarted mid-upload: the send retried and finished; same guid"

# A killed receiver: nothing half-received is left as a snapshot, and running it again works.
"$PGMIGRATE" -q recv --s3-endpoint "$PROXY_ENDPOINT" --s3-concurrency 1 s3://pgm-f/restart "$D/e" &
RECEIVER=$!
before=$(proxy_requests)
until [ "$(proxy_requests)" -ge $((before + 5)) ]; do kill -0 $RECEIVER 2>/dev/null || fail "receiver ended before it was killed"; sleep 0.1; done
kill_mid_run $RECEIVER "the receiver"
no_snapshot e
recv_ok restart e
pass "killed receiver: no snapshot left; the re-run received it with the same guid"
kill "$PROXY_PID"

# Every third request answered 503 SlowDown, both ways.
s3_proxy --fail-every 3
"$PGMIGRATE" -q send --s3-endpoint "$PROXY_ENDPOINT" "${SMALL[@]}" "$S/fs@s1" s3://pgm-f/slowdown || fail "send through 503s"
"$PGMIGRATE" -q recv --s3-endpoint "$PROXY_ENDPOINT" s3://pgm-f/slowdown "$D/c" || fail "recv through 503s"
[ "$(zfs get -Hp -o value guid "$D/c@s1")" = "$GUID" ] || fail "503s: guid differs"
injected=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['injected_503'])" "$PROXY_STATS")
[ "$injected" -ge 10 ] || fail "only $injected 503s injected"
pass "$injected injected 503 SlowDown answers retried; same guid"

# Refusals: one line, non-zero, nothing received.
s3_aws s3 cp --recursive s3://pgm-f/killed s3://pgm-f/corrupt >/dev/null
s3_aws s3 cp s3://pgm-f/corrupt/data/000000000003 "$PGM_TEST_ROOT/o3" >/dev/null
META=$(s3_aws s3api head-object --bucket pgm-f --key corrupt/data/000000000003 --query Metadata --output json)
python3 -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[len(d)//2]^=1; open(p,"wb").write(d)' "$PGM_TEST_ROOT/o3"
s3_aws s3api put-object --bucket pgm-f --key corrupt/data/000000000003 --body "$PGM_TEST_ROOT/o3" --metadata "$META" >/dev/null
expect_fail 3 "000000000003: checksum mismatch" "$PGMIGRATE" -q recv --s3-endpoint "$S3_ENDPOINT" s3://pgm-f/corrupt "$D/d"
no_snapshot d
s3_aws s3 cp --recursive s3://pgm-f/killed s3://pgm-f/missing >/dev/null
s3_aws s3 rm s3://pgm-f/missing/data/000000000005 >/dev/null
expect_fail 1 "000000000005 is missing" "$PGMIGRATE" -q recv --s3-endpoint "$S3_ENDPOINT" s3://pgm-f/missing "$D/d"
no_snapshot d
s3_aws s3 cp s3://pgm-f/restart/manifest.json s3://pgm-f/missing/manifest.json >/dev/null
expect_fail 3 "belongs to another upload" "$PGMIGRATE" -q recv --s3-endpoint "$S3_ENDPOINT" s3://pgm-f/missing "$D/d"
no_snapshot d
expect_fail 6 "SignatureDoesNotMatch" env AWS_SECRET_ACCESS_KEY=wrong "$PGMIGRATE" -q recv --s3-endpoint "$S3_ENDPOINT" s3://pgm-f/killed "$D/d"
expect_fail 6 "SignatureDoesNotMatch" env AWS_SECRET_ACCESS_KEY=wrong "$PGMIGRATE" -q send --s3-endpoint "$S3_ENDPOINT" "$S/fs@s1" s3://pgm-f/other
no_snapshot d
pass "corrupted object, missing object, foreign manifest, wrong credentials: refused in one line, nothing received"
