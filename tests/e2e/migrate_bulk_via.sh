#!/usr/bin/env bash
# `migrate run --bulk-via s3://...` (#18): the base snapshot goes through a real signature-checking
# S3 server (Ceph RGW, tests/fixtures/s3.sh), uploaded here while the target host receives it
# with its own credentials (a --remote-bin wrapper gives the far pgmigrate its own
# AWS_SHARED_CREDENTIALS_FILE: the environment sshd gives it has none of this side's keys);
# the increments, the standby and the switchover go over SSH as always.
#   - plan refuses, in one line naming what to fix: a URL that is not s3:// or gs://, a bucket
#     that does not exist, a target host without credentials;
#   - the run moves a primary under write load with zero lost acknowledged commits; the objects
#     stay (a copy of the base snapshot), and `objects verify` passes on them afterwards.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/s3.sh"

zfs_fixture_start
SRC_POOL=pgbs_$PGM_TEST_ID
DST_POOL=pgbd_$PGM_TEST_ID
for pool in "$SRC_POOL" "$DST_POOL"; do make_pool "$pool" 512M; done
pg_primary_on_dataset "$SRC_POOL/pg"
s3_start
s3_mb pgm-bulk
pgbench_init "$P1" 1
acks_table "$P1"
PORTFILE="$PGM_TEST_ROOT/writer-port"
echo "$P1" > "$PORTFILE"
sshd_fixture_start
HOST="$SSH_USER@127.0.0.1"
export PGMIGRATE_STATE_DIR="$PGM_TEST_ROOT/state"
ID="b$PGM_TEST_ID"
P2=$(pg_free_port)
TDIR="$(zfs get -H -o value mountpoint "$DST_POOL")/pg/data"
on_cleanup "pg_stop '$TDIR' immediate"

# far_bin NAME CREDENTIALS_FILE: a --remote-bin for the target whose pgmigrate finds its S3
# credentials in CREDENTIALS_FILE (and nowhere else: no keys in its environment).
far_bin() {
  cat > "$PGM_TEST_ROOT/$1" <<EOF
#!/bin/sh
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
export AWS_SHARED_CREDENTIALS_FILE='$2' AWS_CONFIG_FILE=/dev/null AWS_REGION=us-east-1
exec '$PGMIGRATE' "\$@"
EOF
  chmod 755 "$PGM_TEST_ROOT/$1"
}
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$PGM_TEST_ROOT/target-credentials"
: > "$PGM_TEST_ROOT/no-credentials"
far_bin far-pgmigrate "$PGM_TEST_ROOT/target-credentials"
far_bin far-nokeys "$PGM_TEST_ROOT/no-credentials"
common() {  # REMOTE_BIN [ENDPOINT]: sets M
  M=(--source "$SRC_POOL/pg" --target "$HOST:$DST_POOL/pg" --primary "$PRIMARY" --standby-port "$P2" --primary-pgdata "$PRIMARY_DIR"
    --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGM_TEST_ROOT/$1"
    --s3-endpoint "${2:-$S3_ENDPOINT}")
}

common far-pgmigrate
expect_fail 2 "s3://" "$PGMIGRATE" migrate plan "${M[@]}" --bulk-via "http://127.0.0.1/pgm-bulk"
expect_fail 1 "NoSuchBucket" "$PGMIGRATE" migrate plan "${M[@]}" --bulk-via "s3://no-such-bucket/moves"
common far-nokeys
expect_fail 6 "on $HOST: no credentials" "$PGMIGRATE" migrate plan "${M[@]}" --bulk-via "s3://pgm-bulk/moves"
common far-pgmigrate
"$PGMIGRATE" migrate plan "${M[@]}" --bulk-via "s3://pgm-bulk/moves" > "$PGM_TEST_ROOT/plan.txt" || { cat "$PGM_TEST_ROOT/plan.txt"; fail "plan with --bulk-via"; }
[ -z "$(s3_aws s3 ls --recursive s3://pgm-bulk/ 2>/dev/null)" ] || fail "plan stored objects"
pass "plan --bulk-via: a URL that is not an object store, a missing bucket, a target without credentials refused; a sound one passes and stores nothing"

writers_start "$PORTFILE"
URL="s3://pgm-bulk/moves/pgmigrate-$ID-base"
RUN=(migrate run --bulk-via "s3://pgm-bulk/moves" --id "$ID" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M
  --s3-object-size 1M --progress none)

# The run killed (SIGKILL) in the bulk step, through a slow proxy (0.3 s a request, one at a
# time) so that the kill lands mid-upload: the far receive ends by itself (its stdin closed with
# the connection) and leaves no dataset; the next run keeps the objects already stored.
s3_proxy --delay 0.3
common far-pgmigrate "$PROXY_ENDPOINT"
"$PGMIGRATE" "${RUN[@]}" "${M[@]}" --s3-concurrency 1 2> "$PGM_TEST_ROOT/killed.log" &
RUNNER=$!
# Bounded (60 s): the proxy's 0.3 s a request makes three objects take a few seconds.
for ((i = 0; ; i++)); do
  [ "$(s3_aws s3 ls --recursive "$URL/data/" 2>/dev/null | wc -l)" -ge 3 ] && break
  kill -0 $RUNNER 2>/dev/null || { cat "$PGM_TEST_ROOT/killed.log"; fail "the run ended before it was killed"; }
  [ $i -lt 600 ] || fail "no three objects uploaded within 60 s"
  sleep 0.1
done
pgrep -f "until-stdin-closes.* $DST_POOL/pg" > /dev/null || fail "no far receive follows the upload"
rc=0
kill -KILL $RUNNER
wait $RUNNER 2>/dev/null || rc=$?
[ "$rc" -eq 137 ] || fail "the run had ended (status $rc) before the kill: the case tested nothing"
assert_gone "until-stdin-closes.* $DST_POOL/pg" "the far receive still runs 10 s after its migrate run was killed"
for _ in $(seq 1 100); do zfs list -H -o name "$DST_POOL/pg" >/dev/null 2>&1 || break; sleep 0.1; done
zfs list -H -o name "$DST_POOL/pg" >/dev/null 2>&1 && fail "$DST_POOL/pg still exists 10 s after its receive was killed"
kill "$PROXY_PID"
pass "migrate run killed mid-upload: the far receive ended with it, nothing half-received kept"

common far-pgmigrate
"$PGMIGRATE" "${RUN[@]}" "${M[@]}" --switchover --keep-snapshots --timeout 90s \
  --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" 2> "$PGM_TEST_ROOT/run.log" || { cat "$PGM_TEST_ROOT/run.log"; fail "migrate run --bulk-via"; }
cat "$PGM_TEST_ROOT/run.log"
grep -q "through $URL" "$PGM_TEST_ROOT/run.log" || fail "the bulk step did not say it went through $URL"
writers_progress 20 "the new primary"
writers_stop
writers_check "$P2" || fail "acknowledged commits lost"
pass "migrate run --bulk-via: switched over with zero acknowledged commits lost"

# The objects stay; they verify against their manifest and hold the base snapshot the target has.
"$PGMIGRATE" objects ls --s3-endpoint "$S3_ENDPOINT" "$URL" > "$PGM_TEST_ROOT/ls.txt" || fail "objects ls"
GUID=$(zfs get -Hp -o value guid "$DST_POOL/pg@pgmigrate-$ID-base")
[ "$GUID" = "$(zfs get -Hp -o value guid "$SRC_POOL/pg@pgmigrate-$ID-base")" ] || fail "the target's base snapshot has another guid"
grep -q "^complete: .*pgmigrate-$ID-base (guid $GUID)" "$PGM_TEST_ROOT/ls.txt" || { cat "$PGM_TEST_ROOT/ls.txt"; fail "the upload is not the base snapshot"; }
"$PGMIGRATE" -q objects verify --s3-endpoint "$S3_ENDPOINT" "$URL" > /dev/null || fail "objects verify after the run"
pass "the bulk objects stay at $URL, complete, base snapshot guid $GUID, and verify"
