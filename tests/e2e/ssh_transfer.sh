#!/usr/bin/env bash
# Push and pull between real zfs-fuse pools through a real sshd on loopback (generated keys,
# a private known_hosts), with 1, 4 and 16 data connections, full and incremental; then
# every way the SSH side can refuse: unknown, changed and accepted-new host keys, a wrong
# user key, a closed port, a missing remote binary, shell metacharacters, an existing target.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

zfs_fixture_start
S=pgmt_ssrc_$PGM_TEST_ID
D=pgmt_sdst_$PGM_TEST_ID
make_pool "$S" 512M
make_pool "$D" 1536M
zfs create "$S/fs"
SRC=$(zfs get -H -o value mountpoint "$S/fs")
fill_random "$SRC" 40
python3 -c "
import random
r = random.Random(7)
with open('$SRC/table.txt', 'w') as f:
    for i in range(400000):
        f.write('%d|customer-%d|%s|%d\n' % (i, r.randrange(10**6), r.choice(['alpha','beta','gamma','delta']), r.randrange(10**9)))
"
zfs snapshot "$S/fs@s1"
fill_random "$SRC" 6
echo more >> "$SRC/table.txt"
zfs snapshot "$S/fs@s2"
sshd_fixture_start
HOST="$SSH_USER@127.0.0.1"
SSHOPTS=(--port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE" --progress none)

check_copy() {  # dataset on $D, snapshot name
  assert_same_guid "$S/fs@$2" "$D/$1@$2"
  zfs rollback "$D/$1@$2" 2>/dev/null || true
}

for n in 1 4 16; do
  "$PGMIGRATE" send --streams "$n" "${SSHOPTS[@]}" "$S/fs@s1" "$HOST:$D/push$n" 2> "$PGM_TEST_ROOT/push$n.log" \
    || { cat "$PGM_TEST_ROOT/push$n.log"; fail "push with $n connections"; }
  grep -q "verified on" "$PGM_TEST_ROOT/push$n.log" || fail "push $n: no verification line"
  check_copy "push$n" s1
  "$PGMIGRATE" send --streams "$n" "${SSHOPTS[@]}" -i @s1 "$S/fs@s2" "$HOST:$D/push$n" 2> "$PGM_TEST_ROOT/pushi$n.log" \
    || { cat "$PGM_TEST_ROOT/pushi$n.log"; fail "incremental push with $n connections"; }
  check_copy "push$n" s2
  assert_same_tree "$SRC" "$(zfs get -H -o value mountpoint "$D/push$n")"
  pass "push with $n connections, full and incremental"

  "$PGMIGRATE" recv --streams "$n" "${SSHOPTS[@]}" "$HOST:$S/fs@s1" "$D/pull$n" 2> "$PGM_TEST_ROOT/pull$n.log" \
    || { cat "$PGM_TEST_ROOT/pull$n.log"; fail "pull with $n connections"; }
  check_copy "pull$n" s1
  "$PGMIGRATE" recv --streams "$n" "${SSHOPTS[@]}" -i @s1 "$HOST:$S/fs@s2" "$D/pull$n" 2> "$PGM_TEST_ROOT/pulli$n.log" \
    || { cat "$PGM_TEST_ROOT/pulli$n.log"; fail "incremental pull with $n connections"; }
  check_copy "pull$n" s2
  assert_same_tree "$SRC" "$(zfs get -H -o value mountpoint "$D/pull$n")"
  pass "pull with $n connections, full and incremental"
done
cat "$PGM_TEST_ROOT/push4.log"

BASE=(--port "$SSHD_PORT" --identity "$SSH_KEY" --remote-bin "$PGMIGRATE" --progress none)

: > "$PGM_TEST_ROOT/empty_known_hosts"
expect_fail 6 "unknown.*SHA256:" "$PGMIGRATE" send "${BASE[@]}" --known-hosts "$PGM_TEST_ROOT/empty_known_hosts" "$S/fs@s1" "$HOST:$D/nope"
pass "unknown host key refused with its fingerprint"

ssh-keygen -q -t ed25519 -N '' -f "$PGM_TEST_ROOT/other_host"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$PGM_TEST_ROOT/other_host.pub")" > "$PGM_TEST_ROOT/changed_known_hosts"
expect_fail 6 "CHANGED.*SHA256:" "$PGMIGRATE" send "${BASE[@]}" --known-hosts "$PGM_TEST_ROOT/changed_known_hosts" "$S/fs@s1" "$HOST:$D/nope"
expect_fail 6 "CHANGED" "$PGMIGRATE" send "${BASE[@]}" --accept-new-host-key --known-hosts "$PGM_TEST_ROOT/changed_known_hosts" "$S/fs@s1" "$HOST:$D/nope"
pass "changed host key refused, even with --accept-new-host-key"

: > "$PGM_TEST_ROOT/new_known_hosts"
"$PGMIGRATE" -q send "${BASE[@]}" --accept-new-host-key --known-hosts "$PGM_TEST_ROOT/new_known_hosts" "$S/fs@s1" "$HOST:$D/acceptnew" \
  || fail "accept-new-host-key"
grep -q "$(cut -d' ' -f2 "$SSH_HOST_KEY_PUB")" "$PGM_TEST_ROOT/new_known_hosts" || fail "host key not recorded"
check_copy acceptnew s1
pass "--accept-new-host-key records an unknown key and proceeds"

ssh-keygen -q -t ed25519 -N '' -f "$PGM_TEST_ROOT/wrong_user"
expect_fail 6 "authentication failed" "$PGMIGRATE" send --port "$SSHD_PORT" --identity "$PGM_TEST_ROOT/wrong_user" \
  --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE" "$S/fs@s1" "$HOST:$D/nope"
pass "wrong user key refused"

closed=$(( SSHD_PORT == 65000 ? 65001 : 65000 ))
expect_fail 5 "127.0.0.1" "$PGMIGRATE" send --port "$closed" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" "$S/fs@s1" "$HOST:$D/nope"
pass "unreachable port"

expect_fail 1 "not found on .*--remote-bin" "$PGMIGRATE" send --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin /nonexistent/pgmigrate "$S/fs@s1" "$HOST:$D/nope"
pass "missing remote binary explained"

expect_fail 2 "invalid dataset name" "$PGMIGRATE" send "${SSHOPTS[@]}" "$S/fs@s1" "$HOST:$D/x;touch /tmp/pgm-pwned"
expect_fail 2 "invalid snapshot name" "$PGMIGRATE" recv "${SSHOPTS[@]}" "$HOST:$S/fs@s1\$(touch /tmp/pgm-pwned)" "$D/nope"
expect_fail 2 "invalid" "$PGMIGRATE" recv "${SSHOPTS[@]}" -i '@s1`touch /tmp/pgm-pwned`' "$HOST:$S/fs@s2" "$D/nope"
[ ! -e /tmp/pgm-pwned ] || fail "shell injection"
pass "shell metacharacters in names refused before anything runs"

expect_fail 4 "exists" "$PGMIGRATE" send "${SSHOPTS[@]}" "$S/fs@s1" "$HOST:$D/push4"
check_copy push4 s2
pass "existing target refused without -F"

zfs list -H -o name -r "$D" | grep -q nope && fail "a failed transfer left a dataset behind"
assert_gone "$PGMIGRATE _(serve|lane)" "remote halves left running"
pass "no remote processes or datasets left behind"
