#!/usr/bin/env bash
# The OpenZFS pass-through flags: the stream's (-w/--raw, -c, -L, -e) and the receive's (-u,
# --recv-set PROP=VALUE for zfs receive -o, --recv-exclude PROP for -x), on send and recv,
# each reaching the zfs of the host that runs it.
#   1. zfs-fuse (real) has none of them: each is refused in one line naming the flag to drop,
#      on whichever host lacks it, before anything is created; bad property arguments too.
#   2. ZFS HERE IS A FAKE: tests/tools/fake-openzfs, a labelled model of the OpenZFS command
#      line that logs every send and receive it runs. Push and pull with all of them: they
#      reach `zfs send` on the source and `zfs receive` on the target, and the copy is whole.
#   3. Bookmark bases (-i POOL/FS#BM, or #BM): zfs-fuse has no bookmarks (no `zfs bookmark`),
#      so it refuses one in one line; -I refuses one everywhere (zfs sends only -i from a
#      bookmark). On the fake OpenZFS: the base snapshot is bookmarked, then destroyed, and the
#      next snapshot goes incrementally from the bookmark, pushed and pulled, onto the copies
#      of the base that part 2 made.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

S=pgmt_fsrc_$PGM_TEST_ID
D=pgmt_fdst_$PGM_TEST_ID
loopback_pair "$S" "$D" 2

# 1. zfs-fuse.
expect_fail 1 "this zfs cannot 'send -w' \(its usage does not offer it\): drop --raw" \
  "$PGMIGRATE" send "${SSHOPTS[@]}" --remote-bin "$PGMIGRATE" --raw "$S/fs@s1" "$HOST:$D/a"
expect_fail 1 "this zfs cannot 'send -L'.*drop --large-block" "$PGMIGRATE" send --progress none -L "$S/fs@s1" -
expect_fail 1 "this zfs cannot 'send -c'.*drop --compressed" \
  "$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGMIGRATE" -c "$HOST:$S/fs@s1" "$D/a"
expect_fail 1 "this zfs cannot 'receive -u'.*drop -u" \
  "$PGMIGRATE" send "${SSHOPTS[@]}" --remote-bin "$PGMIGRATE" -u "$S/fs@s1" "$HOST:$D/a"
expect_fail 1 "this zfs cannot 'receive -o'.*drop --recv-set" \
  "$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGMIGRATE" --recv-set mountpoint=/srv/x "$HOST:$S/fs@s1" "$D/a"
expect_fail 1 "this zfs cannot 'receive -x'.*drop --recv-exclude" \
  "$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGMIGRATE" --recv-exclude compression "$HOST:$S/fs@s1" "$D/a"
zfs list "$D/a" > /dev/null 2>&1 && fail "a refused transfer created its target"
expect_fail 2 "recv-set takes PROP=VALUE" "$PGMIGRATE" recv "${SSHOPTS[@]}" --recv-set mountpoint "$HOST:$S/fs@s1" "$D/a"
expect_fail 2 "'mount;point' is not a ZFS property name" \
  "$PGMIGRATE" recv "${SSHOPTS[@]}" --recv-set 'mount;point=x' "$HOST:$S/fs@s1" "$D/a"
expect_fail 2 "flags of zfs send: --send-cmd replaces it" "$PGMIGRATE" send --progress none --raw --send-cmd true -
pass "zfs-fuse refuses each OpenZFS flag in one line, on the host that lacks it; bad property arguments too"
expect_fail 1 "this zfs cannot send from a bookmark \(its usage does not offer it\): use a snapshot as the -i base" \
  "$PGMIGRATE" send --progress none -i "#b1" "$S/fs@s1" -
expect_fail 2 "I takes a snapshot, not the bookmark '$S/fs#b1': use -i $S/fs#b1" \
  "$PGMIGRATE" send --progress none -I "$S/fs#b1" "$S/fs@s1" -
pass "zfs-fuse refuses a bookmark base in one line; -I refuses one"

# 2. The fake OpenZFS on both "hosts".
source "$PGM_SOURCE_DIR/tests/fixtures/fake_zfs.sh"
P=pgmt_flags$PGM_TEST_ID
fake_source "$P" 8
ALL=(-w -c -L -e -u --recv-set mountpoint=/srv/pg --recv-set 'com.example:note=moved by pgmigrate' --recv-exclude compression)
# logged SIDE PATTERN: the fake's command log of that side has a line matching PATTERN.
logged() { grep -Eq "$2" "$PGM_TEST_ROOT/fake-$1/commands.log" || { cat "$PGM_TEST_ROOT/fake-$1/commands.log"; fail "no '$2' in the $1 zfs log"; }; }

# moved NAME: after a push or pull into $P/NAME, each zfs ran the flags of its side, and the
# copy is whole. The command logs start empty for each.
moved() {
  logged src "^send -w -c -L -e $P/fs@s1\$"
  logged dst "^receive (-s )?-u -o mountpoint=/srv/pg -o com.example:note=moved by pgmigrate -x compression $P/$1\$"
  dst_zfs "$FAKE" fake-cat "$P/$1@s1" | cmp -s - "$PGM_TEST_ROOT/data" || fail "the copy in $P/$1 differs"
  : > "$SRC_ROOT/commands.log"
  : > "$DST_ROOT/commands.log"
}
"${SRC_ENV[@]}" "$PGMIGRATE" send "${SSHOPTS[@]}" --remote-bin "$PGM_TEST_ROOT/pgmigrate-on-dst" "${ALL[@]}" "$P/fs@s1" "$HOST:$P/push" \
  2> "$PGM_TEST_ROOT/push.log" || { cat "$PGM_TEST_ROOT/push.log"; fail "push with every flag"; }
moved push
pass "push: -w -c -L -e reach zfs send here, -u -o -x zfs receive there; the copy is whole"
"${DST_ENV[@]}" "$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGM_TEST_ROOT/pgmigrate-on-src" "${ALL[@]}" "$HOST:$P/fs@s1" "$P/pull" \
  2> "$PGM_TEST_ROOT/pull.log" || { cat "$PGM_TEST_ROOT/pull.log"; fail "pull with every flag"; }
moved pull
pass "pull: -w -c -L -e reach zfs send there, -u -o -x zfs receive here; the copy is whole"

# 3. Bookmark bases on the fake: @s1 bookmarked as #b1, then destroyed; @s2 goes from #b1.
src_zfs "$FAKE" bookmark "$P/fs@s1" "#b1"
head -c $((3 << 20)) /dev/urandom > "$PGM_TEST_ROOT/data2"
src_zfs "$FAKE" fake-write "$P/fs" "$PGM_TEST_ROOT/data2"
src_zfs "$FAKE" snapshot "$P/fs@s2"
src_zfs "$FAKE" destroy "$P/fs@s1"
src_zfs "$FAKE" list -H -o name -t snapshot "$P/fs@s1" > /dev/null 2>&1 && fail "the base snapshot is still there"
"${SRC_ENV[@]}" "$PGMIGRATE" send "${SSHOPTS[@]}" --remote-bin "$PGM_TEST_ROOT/pgmigrate-on-dst" -i "#b1" "$P/fs@s2" "$HOST:$P/push" \
  2> "$PGM_TEST_ROOT/push-bm.log" || { cat "$PGM_TEST_ROOT/push-bm.log"; fail "push from a bookmark"; }
logged src "^send -i $P/fs#b1 $P/fs@s2\$"
dst_zfs "$FAKE" fake-cat "$P/push@s2" | cmp -s - "$PGM_TEST_ROOT/data2" || fail "the copy in $P/push@s2 differs"
pass "push -i #b1: the increment from a bookmark whose snapshot is gone lands on the copy of that snapshot"
"${DST_ENV[@]}" "$PGMIGRATE" recv "${SSHOPTS[@]}" --remote-bin "$PGM_TEST_ROOT/pgmigrate-on-src" -i "$P/fs#b1" "$HOST:$P/fs@s2" "$P/pull" \
  2> "$PGM_TEST_ROOT/pull-bm.log" || { cat "$PGM_TEST_ROOT/pull-bm.log"; fail "pull from a bookmark"; }
logged src "^send -i $P/fs#b1 $P/fs@s2\$"
dst_zfs "$FAKE" fake-cat "$P/pull@s2" | cmp -s - "$PGM_TEST_ROOT/data2" || fail "the copy in $P/pull@s2 differs"
pass "pull -i POOL/FS#b1: the same from the far side"
# A bookmark that does not exist: one line naming it.
expect_fail 1 "incremental base bookmark '$P/fs#nope' does not exist" \
  "${SRC_ENV[@]}" "$PGMIGRATE" send --progress none -i "#nope" "$P/fs@s2" -
pass "a missing bookmark base is named in one line"
