#!/usr/bin/env bash
# What an operator meets at the edges of a transfer: a far pgmigrate of another version is
# refused at the start, in one line with the command that fixes it, before anything is
# created; a pull run again after it finished says the snapshot is already there and exits 0
# (a push does the same: resume_restart.sh), while a target whose snapshot of that name has
# another guid stays an error.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

S=pgmt_esrc_$PGM_TEST_ID
D=pgmt_edst_$PGM_TEST_ID
loopback_pair "$S" "$D" 4

# An older pgmigrate, as far as --version tells; the rest is the real one, so that only the
# version check can refuse it.
WRAP="$PGM_TEST_ROOT/old-pgmigrate"
cat > "$WRAP" <<WRAPPER
#!/bin/sh
if [ "\$1" = --version ]; then echo "pgmigrate 0.0.1 (stream format 1)"; exit 0; fi
exec "$PGMIGRATE" "\$@"
WRAPPER
chmod +x "$WRAP"
MISMATCH="runs 'pgmigrate 0\.0\.1 \(stream format 1\)', this host 'pgmigrate [^']*': install the same version there \(scp -P $SSHD_PORT .* $HOST:$WRAP"
expect_fail 1 "$MISMATCH" "$PGMIGRATE" send "${SSHOPTS[@]}" --remote-bin "$WRAP" "$S/fs@s1" "$HOST:$D/v"
zfs list "$D/v" > /dev/null 2>&1 && fail "a refused send created its target"
expect_fail 1 "$MISMATCH" "$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$WRAP" "$HOST:$S/fs@s1" "$D/v"
pass "a far pgmigrate of another version is refused at the start, with the command that fixes it"

"$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGMIGRATE" "$HOST:$S/fs@s1" "$D/pulled" 2> "$PGM_TEST_ROOT/pull1.log" \
  || { cat "$PGM_TEST_ROOT/pull1.log"; fail "pull"; }
assert_same_guid "$S/fs@s1" "$D/pulled@s1"
"$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGMIGRATE" "$HOST:$S/fs@s1" "$D/pulled" 2> "$PGM_TEST_ROOT/pull2.log" \
  || { cat "$PGM_TEST_ROOT/pull2.log"; fail "a finished pull run again failed"; }
grep -q "already here: '$D/pulled@s1' has the source's guid" "$PGM_TEST_ROOT/pull2.log" \
  || { cat "$PGM_TEST_ROOT/pull2.log"; fail "the re-run did not say the target has it"; }
[ "$(wc -l < "$PGM_TEST_ROOT/pull2.log")" -eq 1 ] || { cat "$PGM_TEST_ROOT/pull2.log"; fail "the re-run said more than that"; }
pass "a finished pull run again: $(sed 's/^pgmigrate: //' "$PGM_TEST_ROOT/pull2.log")"

# The same snapshot name with another guid: not this stream, so zfs's refusal stands.
zfs create "$D/other"
zfs snapshot "$D/other@s1"
set +e
"$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGMIGRATE" "$HOST:$S/fs@s1" "$D/other" 2> "$PGM_TEST_ROOT/other.log"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a pull into a target with another s1 succeeded"
grep -q "already here" "$PGM_TEST_ROOT/other.log" && fail "a snapshot with another guid was taken for this stream"
grep -q "exists" "$PGM_TEST_ROOT/other.log" || { cat "$PGM_TEST_ROOT/other.log"; fail "the refusal does not say the target exists"; }
pass "a target whose s1 has another guid stays an error (exit $rc)"
