#!/usr/bin/env bash
# pgmigrate send - | pgmigrate recv - between two real zfs-fuse pools: a Postgres data
# directory and other files, full then incremental; a flipped byte, a truncated stream and
# an existing target must each fail cleanly and leave no new snapshot.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pgdata.sh"

zfs_fixture_start
S=pgmt_src_$PGM_TEST_ID
D=pgmt_dst_$PGM_TEST_ID
make_pool "$S" 768M
make_pool "$D" 768M
zfs create "$S/pg"
SRC=$(zfs get -H -o value mountpoint "$S/pg")
make_pgdata "$SRC/data" 2
fill_random "$SRC" 24
mkdir -p "$SRC/etc" && for i in $(seq 1 50); do echo "config line $i" > "$SRC/etc/f$i.conf"; done
zfs snapshot "$S/pg@s1"

# Full send.
"$PGMIGRATE" send "$S/pg@s1" - | "$PGMIGRATE" recv - "$D/pg" 2> "$PGM_TEST_ROOT/recv.log" || { cat "$PGM_TEST_ROOT/recv.log"; fail "full send"; }
grep -q "verified: '$D/pg@s1' has the source's guid" "$PGM_TEST_ROOT/recv.log" || fail "no verification line"
grep -q "ZFS rewrites" "$PGM_TEST_ROOT/recv.log" || fail "no note on df sizes"
assert_same_guid "$S/pg@s1" "$D/pg@s1"
DST=$(zfs get -H -o value mountpoint "$D/pg")
assert_same_tree "$SRC" "$DST"
pass "full send of a Postgres data directory"

# Incremental on top.
fill_random "$SRC" 8
echo changed >> "$SRC/etc/f1.conf"
rm "$SRC/etc/f2.conf"
zfs snapshot "$S/pg@s2"
"$PGMIGRATE" -q send -i @s1 "$S/pg@s2" - | "$PGMIGRATE" -q recv - "$D/pg" || fail "incremental send"
assert_same_guid "$S/pg@s2" "$D/pg@s2"
assert_same_tree "$SRC" "$DST"
pass "incremental send"

# -I with no snapshot between is the same as -i; check it is accepted by both zfs and us.
zfs snapshot "$S/pg@s3"
"$PGMIGRATE" -q send -I "$S/pg@s2" "$S/pg@s3" - | "$PGMIGRATE" -q recv - "$D/pg" || fail "-I send"
assert_same_guid "$S/pg@s3" "$D/pg@s3"
pass "intermediate (-I) send"

# A flipped byte in the middle of the stream: refused, nothing received.
fill_random "$SRC" 4
zfs snapshot "$S/pg@s4"
set +e
"$PGMIGRATE" -q send -i @s3 "$S/pg@s4" - \
  | python3 -c 'import sys; d=bytearray(sys.stdin.buffer.read()); d[len(d)//2]^=0x20; sys.stdout.buffer.write(d)' \
  | "$PGMIGRATE" recv - "$D/pg" 2> "$PGM_TEST_ROOT/flip.log"
rc=$?
set -e
cat "$PGM_TEST_ROOT/flip.log"
[ $rc -eq 3 ] || fail "flipped byte: exit $rc, expected 3"
grep -Eq "chunk [0-9]+ \(offset [0-9]+\)" "$PGM_TEST_ROOT/flip.log" || fail "flipped byte: message does not name the chunk"
zfs list -H -o name "$D/pg@s4" >/dev/null 2>&1 && fail "flipped byte: snapshot $D/pg@s4 exists"
assert_same_guid "$S/pg@s3" "$D/pg@s3"
pass "flipped byte refused, no snapshot"

# Truncated streams: at a quarter, and all but the last 10 bytes (inside the trailer).
for cut in quarter tail; do
  set +e
  "$PGMIGRATE" -q send -i @s3 "$S/pg@s4" - \
    | python3 -c "import sys; d=sys.stdin.buffer.read(); sys.stdout.buffer.write(d[:len(d)//4] if '$cut'=='quarter' else d[:-10])" \
    | "$PGMIGRATE" recv - "$D/pg" 2> "$PGM_TEST_ROOT/trunc.log"
  rc=$?
  set -e
  cat "$PGM_TEST_ROOT/trunc.log"
  [ $rc -eq 3 ] || fail "truncated ($cut): exit $rc, expected 3"
  zfs list -H -o name "$D/pg@s4" >/dev/null 2>&1 && fail "truncated ($cut): snapshot exists"
done
pass "truncated streams refused, no snapshot"

# The increment still goes through afterwards: nothing half-received was left in the way.
# (zfs-fuse finishes aborting a receive in the background and says "dataset is busy" until
# it has: give it a bounded moment.)
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if "$PGMIGRATE" -q send -i @s3 "$S/pg@s4" - 2>/dev/null | "$PGMIGRATE" -q recv - "$D/pg" 2> "$PGM_TEST_ROOT/after.log"; then break; fi
  grep -q "dataset is busy" "$PGM_TEST_ROOT/after.log" || { cat "$PGM_TEST_ROOT/after.log"; fail "send after failures"; }
  [ "$attempt" -lt 10 ] || fail "target still busy 10 s after the refused streams"
  sleep 1
done
assert_same_guid "$S/pg@s4" "$D/pg@s4"
pass "clean receive after refused streams"

# A full stream onto an existing dataset without -F: zfs's refusal, clearly.
set +e
"$PGMIGRATE" -q send "$S/pg@s1" - | "$PGMIGRATE" recv - "$D/pg" 2> "$PGM_TEST_ROOT/exists.log"
rc=$?
set -e
cat "$PGM_TEST_ROOT/exists.log"
[ $rc -ne 0 ] || fail "existing target accepted without -F"
[ "$(wc -l < "$PGM_TEST_ROOT/exists.log")" -eq 1 ] || fail "error is not one line"
pass "existing target refused without -F"

# Bad names never reach zfs.
set +e
"$PGMIGRATE" send "$S/pg@s1;touch /tmp/pwned" - > /dev/null 2> "$PGM_TEST_ROOT/name.log"; rc=$?
set -e
[ $rc -eq 2 ] || fail "bad snapshot name: exit $rc, expected 2"
[ ! -e /tmp/pwned ] || fail "shell injection"
"$PGMIGRATE" send "$S/pg@nosuch" - > /dev/null 2> "$PGM_TEST_ROOT/nosuch.log" && fail "missing snapshot accepted"
grep -q "does not exist" "$PGM_TEST_ROOT/nosuch.log" || fail "missing snapshot message"
pass "bad and missing names"
