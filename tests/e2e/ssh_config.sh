#!/usr/bin/env bash
# Hosts named by an OpenSSH client configuration (--ssh-config, -o), resolved by `ssh -G`:
# an alias reached directly, and one reached through a bastion (ProxyJump: one `ssh -W` per
# connection, each seen in the bastion's log as one forwarded direct-tcpip request); command-line
# overrides; refusals of StrictHostKeyChecking no and of a broken configuration.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

zfs_fixture_start
S=pgmt_cfsrc_$PGM_TEST_ID
D=pgmt_cfdst_$PGM_TEST_ID
make_pool "$S" 256M
make_pool "$D" 512M
zfs create "$S/fs"
SRC=$(zfs get -H -o value mountpoint "$S/fs")
fill_random "$SRC" 8
zfs snapshot "$S/fs@s1"

# The target sshd, sourced; the bastion, a second fixture instance run as a coprocess (its
# variables would clash if sourced twice), logging forwarded connections (DEBUG1).
sshd_fixture_start
coproc BASTION { SSHD_LOG_LEVEL=DEBUG1 exec bash "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh" serve; }
bastion_pid=$BASTION_PID
# TERM runs the fixture's own cleanup (it traps TERM into its EXIT trap).
on_cleanup "kill -TERM $bastion_pid; wait $bastion_pid"
while IFS= read -r line <&"${BASTION[0]}"; do
  [ "$line" = READY ] && break
  case "$line" in *=*) declare "B_${line%%=*}=${line#*=}" ;; esac
done
[ -n "${B_SSHD_PORT:-}" ] || fail "the bastion sshd did not start"

CFG=$PGM_TEST_ROOT/ssh_config
cat > "$CFG" <<CONF
Host bastion
  HostName 127.0.0.1
  Port $B_SSHD_PORT
  User $SSH_USER
  IdentityFile $B_SSH_KEY
  UserKnownHostsFile $B_SSH_KNOWN_HOSTS
  IdentitiesOnly yes
Host db
  HostName 127.0.0.1
  Port $SSHD_PORT
  User $SSH_USER
  IdentityFile $SSH_KEY
  UserKnownHostsFile /nonexistent/known_hosts $SSH_KNOWN_HOSTS
Host db2
  HostName 127.0.0.1
  Port $SSHD_PORT
  User $SSH_USER
  IdentityFile $SSH_KEY
  UserKnownHostsFile $SSH_KNOWN_HOSTS
  ProxyJump bastion
Host db3
  HostName 127.0.0.1
  Port $SSHD_PORT
  User $SSH_USER
  IdentityFile $SSH_KEY
  UserKnownHostsFile $SSH_KNOWN_HOSTS
  ProxyCommand ssh -F $CFG -o BatchMode=yes -W %h:%p bastion
Host refusing
  HostName 127.0.0.1
  Port $SSHD_PORT
  ProxyCommand echo the bastion refused %r@%h:%p >&2; exit 1
Host careless
  HostName 127.0.0.1
  Port $SSHD_PORT
  StrictHostKeyChecking no
CONF

"$PGMIGRATE" send --ssh-config "$CFG" --remote-bin "$PGMIGRATE" --progress none "$S/fs@s1" "db:$D/direct" 2> "$PGM_TEST_ROOT/direct.log" \
  || { cat "$PGM_TEST_ROOT/direct.log"; fail "send to an alias"; }
assert_same_guid "$S/fs@s1" "$D/direct@s1"
pass "an alias of the configuration (HostName, Port, User, IdentityFile, first existing UserKnownHostsFile)"

before=$(grep -c "server_request_direct_tcpip: .*target 127.0.0.1 port $SSHD_PORT" "$B_SSHD_DIR/sshd.log" || true)
streams=4
"$PGMIGRATE" send --ssh-config "$CFG" --streams "$streams" --remote-bin "$PGMIGRATE" --progress none "$S/fs@s1" "db2:$D/jump" \
  2> "$PGM_TEST_ROOT/jump.log" || { cat "$PGM_TEST_ROOT/jump.log"; fail "send through ProxyJump"; }
assert_same_guid "$S/fs@s1" "$D/jump@s1"
after=$(grep -c "server_request_direct_tcpip: .*target 127.0.0.1 port $SSHD_PORT" "$B_SSHD_DIR/sshd.log" || true)
echo "  bastion forwarded $((after - before)) connections"
[ $((after - before)) -ge $((streams + 1)) ] || { grep -i "tcpip\|forward" "$B_SSHD_DIR/sshd.log" | tail; fail "expected >= $((streams + 1)) forwarded connections on the bastion"; }
pass "ProxyJump: every connection through the bastion"
assert_gone "ssh .*-W 127.0.0.1:$SSHD_PORT" "proxy processes left running"
pass "no proxy processes left behind"

before=$after
"$PGMIGRATE" send --ssh-config "$CFG" --streams 2 --remote-bin "$PGMIGRATE" --progress none "$S/fs@s1" "db3:$D/command" \
  2> "$PGM_TEST_ROOT/command.log" || { cat "$PGM_TEST_ROOT/command.log"; fail "send through ProxyCommand"; }
assert_same_guid "$S/fs@s1" "$D/command@s1"
after=$(grep -c "server_request_direct_tcpip: .*target 127.0.0.1 port $SSHD_PORT" "$B_SSHD_DIR/sshd.log" || true)
[ $((after - before)) -ge 3 ] || fail "expected >= 3 forwarded connections for ProxyCommand, got $((after - before))"
pass "ProxyCommand with %h %p"

expect_fail 5 "the bastion refused $SSH_USER@127.0.0.1:$SSHD_PORT" \
  "$PGMIGRATE" send --ssh-config "$CFG" --remote-bin "$PGMIGRATE" "$S/fs@s1" "refusing:$D/nope"
pass "a failing proxy explained in one line"

expect_fail 5 "127.0.0.1:1" "$PGMIGRATE" send --ssh-config "$CFG" -o Port=1 --remote-bin "$PGMIGRATE" "$S/fs@s1" "db:$D/nope"
expect_fail 5 "127.0.0.1:1" "$PGMIGRATE" send --ssh-config "$CFG" --port 1 --remote-bin "$PGMIGRATE" "$S/fs@s1" "db:$D/nope"
pass "-o and --port override the configuration"

expect_fail 2 "StrictHostKeyChecking no in the SSH configuration for careless" \
  "$PGMIGRATE" send --ssh-config "$CFG" --remote-bin "$PGMIGRATE" "$S/fs@s1" "careless:$D/nope"
pass "StrictHostKeyChecking no refused"

printf 'Host broken\n  Frobnicate yes\n' > "$PGM_TEST_ROOT/bad_config"
expect_fail 2 "the SSH configuration for broken cannot be read: .*Bad configuration option" \
  "$PGMIGRATE" send --ssh-config "$PGM_TEST_ROOT/bad_config" --remote-bin "$PGMIGRATE" "$S/fs@s1" "broken:$D/nope"
pass "a broken configuration in one line"

# Without an ssh program the host is used as given, as before (nothing else is looked up in PATH
# on this side but zfs).
NOSSH=$PGM_TEST_ROOT/nossh_bin
mkdir -p "$NOSSH"
for t in zfs zpool; do ln -sf "$(command -v "$t")" "$NOSSH/$t"; done
PATH=$NOSSH "$PGMIGRATE" send --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE" \
  --progress none "$S/fs@s1" "$SSH_USER@127.0.0.1:$D/nossh" 2> "$PGM_TEST_ROOT/nossh.log" \
  || { cat "$PGM_TEST_ROOT/nossh.log"; fail "send without an ssh program"; }
assert_same_guid "$S/fs@s1" "$D/nossh@s1"
pass "no ssh program: the host as given"

zfs list -H -o name -r "$D" | grep -q nope && fail "a failed transfer left a dataset behind"
pass "done"
