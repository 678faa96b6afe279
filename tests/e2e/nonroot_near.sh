#!/usr/bin/env bash
# pgmigrate itself started by a normal user on the near (source) host, with its own SSH key and
# configuration, sending to a normal login user on the far host:
#   - send (push) and recv (pull): the near pgmigrate runs each of its zfs commands through
#     `sudo -n`, allowed by exactly the sudoers lines docs/usage.md gives (zfs by subcommand, and
#     the far pgmigrate binary); the far half runs through sudo as in nonroot_sudo.sh;
#   - sudo that asks for a password for zfs: one line naming the host, the zfs command, the user
#     and the two ways out, a non-zero exit, and nothing left behind (no new snapshot, no hold,
#     no dataset or process on the far side);
#   - --no-sudo: zfs runs as the user and zfs-fuse refuses it; one line, never "is ZFS installed?".
#   - (migrate by that user: tests/e2e/migrate_nonroot_near.sh);
#   - `zfs allow` delegation cannot be tested: zfs-fuse does not implement `zfs allow`, and its
#     daemon's socket (/var/run/zfs/zfs_socket) admits root only (see nonroot_sudo.sh).
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/nonroot.sh"

zfs_fixture_start
S=pgmt_nnsrc_$PGM_TEST_ID
D=pgmt_nndst_$PGM_TEST_ID
make_pool "$S" 256M
make_pool "$D" 256M
zfs create "$S/fs"
fill_random "$(zfs get -H -o value mountpoint "$S/fs")" 8
zfs snapshot "$S/fs@s1"

nonroot_fixture_start   # NR_USER, NR_BIN, NR_SUDOERS
on_cleanup "pkill -f '_serve recv --target $D/'; pkill -f '_serve send --snapshot $D/'"
ZFS=$(command -v zfs)
[ "$ZFS" = /usr/sbin/zfs ] || [ "$ZFS" = /sbin/zfs ] || fail "zfs is at $ZFS, not in an sbin directory as packages install it"

nonroot_direct_alias   # NR_HOME; ~/.ssh/config with Host db2 (the user's own SSH set-up)
as_user "$NR_BIN" --version >/dev/null || fail "$NR_USER cannot run $NR_BIN"

# Exactly docs/usage.md's sudoers lines ("sudoers lines restricted to what pgmigrate runs"): the
# far pgmigrate binary, and the near side's zfs by subcommand (sudo matches "zfs send", the usage
# probe, and "zfs send *" separately). send needs the first zfs line, recv the second too.
ZFS_SEND_RULE="$ZFS send, $ZFS send *, $ZFS receive, $ZFS list *, $ZFS get *"
ZFS_RECV_RULE="$ZFS receive *"
nonroot_sudo_rule "$NR_USER ALL=(root) NOPASSWD: $NR_BIN
$NR_USER ALL=(root) NOPASSWD: $ZFS_SEND_RULE
$NR_USER ALL=(root) NOPASSWD: $ZFS_RECV_RULE"

snapshots_before=$(zfs list -H -o name -t snapshot -r "$S")
as_user "$NR_BIN" send --streams 2 --remote-bin "$NR_BIN" --progress none "$S/fs@s1" "db2:$D/sent" \
  2> "$PGM_TEST_ROOT/send.log" || { cat "$PGM_TEST_ROOT/send.log"; tail "$SSHD_DIR/sshd.log"; fail "send run by $NR_USER"; }
assert_same_guid "$S/fs@s1" "$D/sent@s1"
grep -q "Accepted publickey for $NR_USER from" "$SSHD_DIR/sshd.log" || fail "the target's sshd did not log in $NR_USER"
pass "send run by $NR_USER: its zfs send went through sudo -n (sudoers: $(cat "$NR_SUDOERS"))"

as_user "$NR_BIN" recv --streams 2 --remote-bin "$NR_BIN" --progress none "db2:$D/sent@s1" "$S/back" \
  2> "$PGM_TEST_ROOT/recv.log" || { cat "$PGM_TEST_ROOT/recv.log"; fail "recv run by $NR_USER"; }
assert_same_guid "$S/fs@s1" "$S/back@s1"
pass "recv run by $NR_USER: its zfs receive went through sudo -n"
destroy_received "$S/back"

# sudo that wants a password for zfs (the far pgmigrate is still allowed): refused at the first
# zfs command, said in one line.
nonroot_sudo_rule "$NR_USER ALL=(root) NOPASSWD: $NR_BIN
$NR_USER ALL=(root) $ZFS_SEND_RULE
$NR_USER ALL=(root) $ZFS_RECV_RULE"
expect_fail 6 "^pgmigrate: on [^ ]+, 'sudo -n' refused to run '$ZFS send' for $NR_USER \(sudo: a password is required\): allow $NR_USER to run it without a password .*zfs allow.*--no-sudo$" \
  as_user "$NR_BIN" send --remote-bin "$NR_BIN" --progress none "$S/fs@s1" "db2:$D/nope"
zfs list "$D/nope" >/dev/null 2>&1 && fail "the refused send left $D/nope"
assert_gone "_serve recv --target $D/nope" "a far half of the refused send is left running"
[ "$(zfs list -H -o name -t snapshot -r "$S")" = "$snapshots_before" ] || fail "the refused send changed the snapshots of $S"
[ "$(zfs get -H -o value userrefs "$S/fs@s1")" = 0 ] || fail "the refused send left a hold on $S/fs@s1"
expect_fail 6 "^pgmigrate: on [^ ]+, 'sudo -n' refused to run '$ZFS (send|receive)' for $NR_USER \(sudo: a password is required\)" \
  as_user "$NR_BIN" recv --remote-bin "$NR_BIN" --progress none "db2:$D/sent@s1" "$S/nope"
zfs list "$S/nope" >/dev/null 2>&1 && fail "the refused recv left $S/nope"
assert_gone "_serve send --snapshot $D/sent@s1" "a far half of the refused recv is left running"
pass "sudo asking $NR_USER for a password: one line naming the zfs command, the user and the two fixes; nothing left behind"

# --no-sudo: zfs runs as the user, and zfs-fuse's socket refuses it.
expect_fail 6 "'$ZFS send' was refused to $NR_USER on [^ ]+ \(connect: Permission denied\): .*zfs allow" \
  as_user "$NR_BIN" send --no-sudo --remote-bin "$NR_BIN" --progress none "$S/fs@s1" "db2:$D/nope"
zfs list "$D/nope" >/dev/null 2>&1 && fail "the refused send left $D/nope"
pass "--no-sudo without ZFS rights here: one line naming the user, the host and the fixes (never 'is ZFS installed?')"
echo "NOTE: zfs allow delegation is not exercised: zfs-fuse does not implement it, and its socket admits root only"
pass "done"
