#!/usr/bin/env bash
# A received data directory holds whatever the source's postgres user put there. Symbolic links
# planted in a real one, pointing at root-owned files and directories outside it, must not make
# `pgmigrate pg standby` (run as root) delete, truncate, chown, chmod or read them: each is
# refused in one line before anything in the directory changes, or (inside pg_replslot, at a
# *.pgmigrate-tmp name) removed without being followed. Then the same copy, cleaned up, with
# pg_wal a link as Postgres allows, becomes a streaming standby.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"

[ "$(id -u)" -eq 0 ] || fail "this test runs pgmigrate as root, as a target host does"

# ---- a primary and a copy of its data directory, as the target receives it -------------------
P1=$(pg_free_port)
PRIMARY_DIR="$PGM_TEST_ROOT/primary"
pg_init_cluster "$PRIMARY_DIR" "$P1"
pg_start "$PRIMARY_DIR"
PRIMARY=$(pg_conninfo "$P1")
"$PGMIGRATE" -q pg slot create --primary "$PRIMARY" --slot hostile >/dev/null || fail "slot create"
pg_q "$P1" "CREATE TABLE t (x int); INSERT INTO t VALUES (1)" >/dev/null
pg_stop "$PRIMARY_DIR"
PRISTINE="$PGM_TEST_ROOT/received"
cp -a "$PRIMARY_DIR" "$PRISTINE"
pg_start "$PRIMARY_DIR"
[ -d "$PRISTINE/pg_replslot/hostile" ] || fail "the copy has no copied slot"
COPY="$PGM_TEST_ROOT/pgdata"
fresh_copy() { rm -rf "$COPY"; cp -a "$PRISTINE" "$COPY"; }

# ---- what a planted link points at: root's files and directories outside ---------------------
V="$PGM_TEST_ROOT/victims"
mkdir -p "$V/dir/sub"
echo precious > "$V/file"
echo "FATAL: root-only secret" > "$V/secret"
echo a > "$V/dir/a"
echo c > "$V/dir/sub/c"
chown -R root:root "$V"
chmod 0644 "$V/file"
chmod 0600 "$V/secret"
chmod 0750 "$V/dir"

# Every entry under DIR, links not followed: path, type, owner, mode, size, link target, and the
# checksum of each file.
tree_state() { (cd "$1" && find . -printf '%p %y %U:%G %m %s %l\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }
VICTIMS=$(tree_state "$V")
victims_unchanged() { [ "$(tree_state "$V")" = "$VICTIMS" ] || { diff <(echo "$VICTIMS") <(tree_state "$V") >&2; fail "$1: a file outside the data directory changed"; }; }

standby() { "$PGMIGRATE" pg standby --pgdata "$COPY" --primary "$PRIMARY" --slot hostile "$@"; }

# refused NAME PATTERN [pg standby options...]: after the caller planted something in $COPY, pg
# standby fails (exit 2) with one line matching PATTERN, and nothing inside or outside changed.
refused() {
  local name=$1 pattern=$2 before
  shift 2
  before=$(tree_state "$COPY")
  echo "$name"
  expect_fail 2 "$pattern" standby "$@"
  victims_unchanged "$name"
  [ "$(tree_state "$COPY")" = "$before" ] || fail "$name: the data directory changed although the command was refused"
  pass "$name"
}

# ---- links where pgmigrate expects its own file or directory: refused --------------------------
fresh_copy
rm -rf "$COPY/pg_replslot" && ln -s "$V/dir" "$COPY/pg_replslot"
refused "pg_replslot -> a root-owned directory" "^pgmigrate: $COPY/pg_replslot is a symbolic link \(to $V/dir\): .*remove it and run again"
for name in postmaster.pid postmaster.opts recovery.signal standby.signal postgresql.auto.conf; do
  fresh_copy
  rm -f "$COPY/$name" && ln -s "$V/file" "$COPY/$name"
  refused "$name -> a root-owned file" "$COPY/$name is a symbolic link \(to $V/file\): a data directory received from the source must not contain one here"
done
fresh_copy
ln -s "$V/created" "$COPY/standby.signal"
refused "standby.signal -> a file that does not exist yet" "$COPY/standby.signal is a symbolic link"
[ ! -e "$V/created" ] || fail "a file was created through a dangling link"
fresh_copy
rm -f "$COPY/postgresql.auto.conf" && ln -s "$V/secret" "$COPY/postgresql.auto.conf"
refused "postgresql.auto.conf -> a root-only secret" "postgresql.auto.conf is a symbolic link"
grep -q "root-only" "$PGM_TEST_ROOT/err.log" && fail "the secret was printed"
fresh_copy
ln -s "$V/file" "$COPY/pgmigrate-postgres.log"
refused "pgmigrate-postgres.log -> a root-owned file (--start)" "$COPY/pgmigrate-postgres.log is a symbolic link" --start --timeout 60s
fresh_copy
rm -f "$COPY/PG_VERSION" && ln -s "$V/secret" "$COPY/PG_VERSION"
refused "PG_VERSION -> a root-only secret" "$COPY/PG_VERSION is a symbolic link"
grep -q "root-only" "$PGM_TEST_ROOT/err.log" && fail "the secret was printed"
fresh_copy
rm -f "$COPY/postgresql.auto.conf" && mkfifo "$COPY/postgresql.auto.conf" && chown postgres "$COPY/postgresql.auto.conf"
refused "postgresql.auto.conf is a FIFO (reading it would hang)" "$COPY/postgresql.auto.conf is not a regular file"

# The data directory itself a link (to another cluster's directory, say): refused, naming the
# path to pass if the operator trusts it.
fresh_copy
ln -s "$COPY" "$PGM_TEST_ROOT/via-link"
before=$(tree_state "$COPY")
expect_fail 2 "$PGM_TEST_ROOT/via-link is a symbolic link \(to $COPY\): .*pass --pgdata $COPY" \
  "$PGMIGRATE" pg standby --pgdata "$PGM_TEST_ROOT/via-link" --primary "$PRIMARY" --slot hostile
[ "$(tree_state "$COPY")" = "$before" ] || fail "the data directory changed through a linked --pgdata"
rm "$PGM_TEST_ROOT/via-link"
pass "a linked --pgdata is refused"

# ---- links inside pg_replslot and at the temporary names: removed, never followed -------------
fresh_copy
ln -s "$V/dir" "$COPY/pg_replslot/evil-dir"
ln -s "$V/file" "$COPY/pg_replslot/evil-file"
ln -s "$V/dir" "$COPY/pg_replslot/hostile/evil-deeper"
ln -s "$V/file" "$COPY/standby.signal.pgmigrate-tmp"
ln -s "$V/secret" "$COPY/postgresql.auto.conf.pgmigrate-tmp"
ln -s "$V/file" "$COPY/pgmigrate-postgres.log.pgmigrate-tmp"
# pg_wal a link, as initdb -X or an operator makes it: Postgres follows it; pgmigrate leaves it.
mv "$COPY/pg_wal" "$PGM_TEST_ROOT/pgdata-wal"
ln -s "$PGM_TEST_ROOT/pgdata-wal" "$COPY/pg_wal"
P2=$(pg_free_port)
STANDBY=$(pg_conninfo "$P2")
on_cleanup "pg_stop '$COPY' immediate"
standby --port "$P2" --standby "$STANDBY" --start --timeout 120s \
  || { tail -20 "$COPY/pgmigrate-postgres.log" >&2; fail "pg standby --start on the cleaned copy"; }
victims_unchanged "links inside pg_replslot and at temporary names"
[ -z "$(ls -A "$COPY/pg_replslot")" ] || fail "pg_replslot was not emptied"
for f in standby.signal.pgmigrate-tmp postgresql.auto.conf.pgmigrate-tmp pgmigrate-postgres.log.pgmigrate-tmp; do
  [ ! -e "$COPY/$f" ] && [ ! -L "$COPY/$f" ] || fail "$f was left behind"
done
for f in standby.signal postgresql.auto.conf pgmigrate-postgres.log; do
  [ -f "$COPY/$f" ] && [ ! -L "$COPY/$f" ] || fail "$f is not a regular file"
  [ "$(stat -c %U "$COPY/$f")" = postgres ] || fail "$f is not owned by postgres"
done
[ -L "$COPY/pg_wal" ] || fail "pg_wal is no longer a link"
[ "$(pg_q "$P2" "SELECT pg_is_in_recovery()")" = "t" ] || fail "the standby is not in recovery"
pg_q "$P1" "INSERT INTO t VALUES (2)" >/dev/null
"$PGMIGRATE" -q pg lag --primary "$PRIMARY" --standby "$STANDBY" --slot hostile --wait 1M --timeout 60s || fail "the standby does not catch up"
[ "$(pg_q "$P2" "SELECT count(*) FROM t")" = "2" ] || fail "the standby did not replay the primary's insert"
pass "links inside pg_replslot and at temporary names were removed, not followed; the standby streams with pg_wal a link"
