#!/usr/bin/env bash
# The object-store road (#18) through a real, signature-checking S3 server (Ceph RGW): a
# snapshot goes up as objects and comes down into another pool with the same guid; a receiver
# started before the upload follows it; the AWS CLI lists and reads what pgmigrate wrote; a
# server-side copy to a second bucket receives the same; objects verify/ls/rm; an incremental.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/s3.sh"

zfs_fixture_start
S=pgmo_src_$PGM_TEST_ID
D=pgmo_dst_$PGM_TEST_ID
make_pool "$S" 512M
make_pool "$D" 512M
zfs create "$S/fs"
SRC=$(zfs get -H -o value mountpoint "$S/fs")
fill_random "$SRC" 20
for i in $(seq 1 40); do echo "line $i" > "$SRC/f$i.txt"; done
zfs snapshot "$S/fs@s1"
s3_start
s3_mb pgm-a
s3_mb pgm-b
# Small chunks and objects so that even this snapshot spans many objects and requests.
OPTS=(--s3-endpoint "$S3_ENDPOINT" --chunk-size 256K --s3-object-size 1M)

# A receiver started first follows the upload as objects appear.
"$PGMIGRATE" recv "${OPTS[@]}" --follow --follow-timeout 2m s3://pgm-a/run1 "$D/fs" 2> "$PGM_TEST_ROOT/follow.log" &
FOLLOWER=$!
"$PGMIGRATE" send "${OPTS[@]}" "$S/fs@s1" s3://pgm-a/run1 2> "$PGM_TEST_ROOT/send.log" || { cat "$PGM_TEST_ROOT/send.log"; fail "send to s3"; }
grep -q "stored [0-9]* objects and a manifest at s3://pgm-a/run1" "$PGM_TEST_ROOT/send.log" || { cat "$PGM_TEST_ROOT/send.log"; fail "no store line"; }
wait $FOLLOWER || { cat "$PGM_TEST_ROOT/follow.log"; fail "following receiver"; }
grep -q "verified: '$D/fs@s1' has the source's guid" "$PGM_TEST_ROOT/follow.log" || { cat "$PGM_TEST_ROOT/follow.log"; fail "no guid line"; }
assert_same_guid "$S/fs@s1" "$D/fs@s1"
assert_same_tree "$SRC" "$(zfs get -H -o value mountpoint "$D/fs")"
pass "receiver following the uploader: same guid, same files"

# The AWS CLI lists and reads what pgmigrate wrote; the metadata is there.
s3_aws s3 ls --recursive s3://pgm-a/run1/ > "$PGM_TEST_ROOT/ls.txt"
grep -q "run1/manifest.json" "$PGM_TEST_ROOT/ls.txt" || fail "aws s3 ls: no manifest"
[ "$(grep -c 'run1/data/' "$PGM_TEST_ROOT/ls.txt")" -ge 10 ] || { cat "$PGM_TEST_ROOT/ls.txt"; fail "aws s3 ls: fewer than 10 data objects"; }
s3_aws s3 cp s3://pgm-a/run1/manifest.json "$PGM_TEST_ROOT/manifest.json" >/dev/null
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert m['snapshot']==sys.argv[2], m; assert m['guid']==int(sys.argv[3]), m" \
  "$PGM_TEST_ROOT/manifest.json" "$S/fs@s1" "$(zfs get -Hp -o value guid "$S/fs@s1")" || fail "manifest content"
s3_aws s3api head-object --bucket pgm-a --key run1/data/000000000000 | grep -q '"pgm-xxh3"' || fail "no pgm-xxh3 metadata"
pass "AWS CLI lists and reads the upload"

# A finished upload, received later (not following); then a bucket-to-bucket copy received.
destroy_received "$D/fs" || fail "could not destroy the received copy"
"$PGMIGRATE" -q recv "${OPTS[@]}" s3://pgm-a/run1 "$D/fs" || fail "staged recv"
assert_same_guid "$S/fs@s1" "$D/fs@s1"
s3_aws s3 cp --recursive s3://pgm-a/run1 s3://pgm-b/copied/run1 >/dev/null
destroy_received "$D/fs" || fail "could not destroy the received copy"
"$PGMIGRATE" -q recv "${OPTS[@]}" s3://pgm-b/copied/run1 "$D/fs" || fail "recv from the server-side copy"
assert_same_guid "$S/fs@s1" "$D/fs@s1"
pass "staged recv, and recv from a server-side copy to another bucket"

# objects ls / verify / rm.
"$PGMIGRATE" objects ls --s3-endpoint "$S3_ENDPOINT" s3://pgm-b/copied/run1 > "$PGM_TEST_ROOT/ols.txt"
grep -q "^complete: $S/fs@s1" "$PGM_TEST_ROOT/ols.txt" || { cat "$PGM_TEST_ROOT/ols.txt"; fail "objects ls"; }
"$PGMIGRATE" -q objects verify --s3-endpoint "$S3_ENDPOINT" s3://pgm-b/copied/run1 | grep -q "every chunk verified" || fail "objects verify"
"$PGMIGRATE" objects rm --s3-endpoint "$S3_ENDPOINT" s3://pgm-b/copied/run1 | grep -q "removed" || fail "objects rm"
[ -z "$(s3_aws s3 ls --recursive s3://pgm-b/copied/)" ] || fail "objects rm left objects"
pass "objects ls, verify, rm"

# An incremental on top, through the store.
fill_random "$SRC" 2
zfs snapshot "$S/fs@s2"
"$PGMIGRATE" -q send "${OPTS[@]}" -i @s1 "$S/fs@s2" s3://pgm-a/run2 || fail "incremental send"
"$PGMIGRATE" -q recv "${OPTS[@]}" s3://pgm-a/run2 "$D/fs" || fail "incremental recv"
assert_same_guid "$S/fs@s2" "$D/fs@s2"
pass "incremental through the store"
