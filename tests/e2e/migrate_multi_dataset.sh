#!/usr/bin/env bash
# `pgmigrate migrate` of a cluster spread over a tree of datasets (issue 17, item 5):
#   SRC/pg      the data directory (SRC/pg's mountpoint/data)
#   SRC/pg/wal  pg_wal (the data directory's pg_wal is a link to it)
#   SRC/pg/ts1  tablespace ts1 (pg_tblspc/<oid> links to it), holding pgbench's accounts and the
#               writers' acks table
# moved over a real sshd into another pool under pgbench load and switched over:
#   - plan names the tree and changes nothing;
#   - a partial run then `migrate abort` leaves no snapshot, hold or target dataset in the tree;
#   - every migration snapshot exists on each dataset of the tree with the same guid on both
#     sides (one zfs snapshot -r each), the received pg_wal and tablespace links point into the
#     received tree (not at the source's mountpoints), the standby starts, and the switchover
#     ends with zero acknowledged commits lost and pgbench's balances agreeing.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

zfs_fixture_start
SRC_POOL=pgts_$PGM_TEST_ID
DST_POOL=pgtd_$PGM_TEST_ID
make_pool "$SRC_POOL" 512M
make_pool "$DST_POOL" 512M
zfs create "$SRC_POOL/pg"
zfs create "$SRC_POOL/pg/wal"
zfs create "$SRC_POOL/pg/ts1"
SRC_MNT=$(zfs get -H -o value mountpoint "$SRC_POOL/pg")
WAL_MNT=$(zfs get -H -o value mountpoint "$SRC_POOL/pg/wal")
TS_MNT=$(zfs get -H -o value mountpoint "$SRC_POOL/pg/ts1")
chown postgres "$SRC_MNT" "$WAL_MNT" "$TS_MNT"
PRIMARY_DIR="$SRC_MNT/data"
P1=$(pg_free_port)
pg_init_cluster "$PRIMARY_DIR" "$P1"
# pg_wal onto its own dataset, the way an operator moves it: a link in its place.
mv "$PRIMARY_DIR/pg_wal" "$WAL_MNT/pg_wal"
ln -s "$WAL_MNT/pg_wal" "$PRIMARY_DIR/pg_wal"
chown -h postgres "$PRIMARY_DIR/pg_wal"
pg_start "$PRIMARY_DIR"
PRIMARY=$(pg_conninfo "$P1")
mkdir "$TS_MNT/ts" && chown postgres "$TS_MNT/ts" && chmod 700 "$TS_MNT/ts"
pg_q "$P1" "CREATE TABLESPACE ts1 LOCATION '$TS_MNT/ts'"
pgbench_init "$P1" 3
acks_table "$P1"
pg_q "$P1" "ALTER TABLE pgbench_accounts SET TABLESPACE ts1"
pg_q "$P1" "ALTER TABLE acks SET TABLESPACE ts1"
TS_OID=$(pg_q "$P1" "SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'")
PORTFILE="$PGM_TEST_ROOT/writer-port"
echo "$P1" > "$PORTFILE"
"$PGMIGRATE" pg check --primary "$PRIMARY" --dataset "$SRC_POOL/pg" > /dev/null 2>&1 && fail "pg check accepted pg_wal and ts1 outside $SRC_POOL/pg alone"
"$PGMIGRATE" pg check --primary "$PRIMARY" --dataset "$SRC_POOL/pg" --dataset "$SRC_POOL/pg/wal" --dataset "$SRC_POOL/pg/ts1" \
  || fail "pg check refused the tree"
pass "pg check: the data directory alone is refused, the tree is accepted"

sshd_fixture_start
on_cleanup "pkill -f '_serve recv --target $DST_POOL/'"
HOST="$SSH_USER@127.0.0.1"
STATE=/var/lib/pgmigrate/migrations
P2=$(pg_free_port)
mig() {  # ID TARGET_FS: sets M to the run options
  M=(--source "$SRC_POOL/pg" --target "$HOST:$DST_POOL/$2" --primary "$PRIMARY" --standby-port "$P2" --primary-pgdata "$PRIMARY_DIR"
    --id "$1" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M --progress none
    --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE" --reconnect-timeout 60s)
}
show_target() {  # what the target holds, for a failure's message
  zfs list -r -o name,mountpoint,mounted "$DST_POOL" >&2 || true
  grep " fuse.zfs " /proc/mounts | grep "$DST_POOL" >&2 || true
  for fs in "" /wal /ts1; do ls -la "$(zfs get -H -o value mountpoint "$DST_POOL/pg$fs")" >&2 || true; done
}
tree_snapshots() { zfs list -H -t snapshot -o name -r "$SRC_POOL/pg"; }

# 1. plan names the tree and changes nothing.
mig "pl$PGM_TEST_ID" main
"$PGMIGRATE" migrate plan "${M[@]}" > "$PGM_TEST_ROOT/plan.txt" || { cat "$PGM_TEST_ROOT/plan.txt"; fail "plan"; }
grep -q "on the tree $SRC_POOL/pg, $SRC_POOL/pg/ts1, $SRC_POOL/pg/wal: snapshotted together (zfs snapshot -r)" "$PGM_TEST_ROOT/plan.txt" \
  || { cat "$PGM_TEST_ROOT/plan.txt"; fail "plan does not name the tree it moves"; }
[ -z "$(tree_snapshots)" ] || fail "plan created a snapshot"
pass "plan: $(grep -o 'on the tree .*' "$PGM_TEST_ROOT/plan.txt")"

# 2. A partial run (paused before the standby, so every dataset was sent and the slot exists),
# then abort: nothing of it is left on any dataset of the tree.
AB="ab$PGM_TEST_ID"
mig "$AB" partial
"$PGMIGRATE" migrate run "${M[@]}" --debug-pause-before standby 2> "$PGM_TEST_ROOT/ab.log" &
RUN=$!
for _ in $(seq 1 1200); do grep -q "pausing before standby" "$PGM_TEST_ROOT/ab.log" && break; kill -0 "$RUN" 2>/dev/null || break; sleep 0.1; done
grep -q "pausing before standby" "$PGM_TEST_ROOT/ab.log" || { cat "$PGM_TEST_ROOT/ab.log"; fail "the partial run did not get to the standby step"; }
for fs in wal ts1; do
  zfs list "$DST_POOL/partial/$fs@pgmigrate-$AB-final" > /dev/null || fail "the partial run did not send $fs's final snapshot"
done
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
"$PGMIGRATE" migrate abort "$AB" --primary "$PRIMARY" --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" \
  --remote-bin "$PGMIGRATE" > "$PGM_TEST_ROOT/abort.txt" || { cat "$PGM_TEST_ROOT/abort.txt"; fail "migrate abort"; }
[ -z "$(tree_snapshots)" ] || { tree_snapshots; fail "abort left a snapshot (or a hold kept one) in the tree"; }
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots")" = "0" ] || fail "abort left a slot"
zfs list "$DST_POOL/partial" > /dev/null 2>&1 && fail "abort left the partial target tree"
pass "abort after a partial run of the tree: $(tr '\n' ';' < "$PGM_TEST_ROOT/abort.txt")"

# 3. The migration under load, switched over.
pgbench_start "$P1"
writers_start "$PORTFILE"
MG="mg$PGM_TEST_ID"
mig "$MG" pg
"$PGMIGRATE" migrate run "${M[@]}" --switchover --keep-snapshots --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" \
  2> "$PGM_TEST_ROOT/run.log" || { cat "$PGM_TEST_ROOT/run.log"; show_target; fail "migrate run --switchover"; }
DST_MNT=$(zfs get -H -o value mountpoint "$DST_POOL/pg")
on_cleanup "pg_stop '$DST_MNT/data' immediate"
[ "$(cat "$PORTFILE")" = "$P2" ] || fail "post-hook did not get the new endpoint"
assert_switched_over "$P2" "$P1"
pass "switched over under load: zero acknowledged commits lost, pgbench balances agree"

for fs in "" /wal /ts1; do
  for s in base r1 final; do assert_same_guid "$SRC_POOL/pg$fs@pgmigrate-$MG-$s" "$DST_POOL/pg$fs@pgmigrate-$MG-$s"; done
done
pass "each migration snapshot exists on every dataset of the tree, the same (guid) on both sides"

wal_link=$(readlink "$DST_MNT/data/pg_wal")
ts_link=$(readlink "$DST_MNT/data/pg_tblspc/$TS_OID")
[ "$wal_link" = "$(zfs get -H -o value mountpoint "$DST_POOL/pg/wal")/pg_wal" ] || fail "the new server's pg_wal points to $wal_link"
[ "$ts_link" = "$(zfs get -H -o value mountpoint "$DST_POOL/pg/ts1")/ts" ] || fail "the new server's tablespace points to $ts_link"
[ "$(readlink "$PRIMARY_DIR/pg_wal")" = "$WAL_MNT/pg_wal" ] || fail "the source's pg_wal link changed"
grep -q "relinked .*pg_tblspc/$TS_OID -> $ts_link" "$PGM_TEST_ROOT/run.log" || { cat "$PGM_TEST_ROOT/run.log"; fail "the run did not report the relinked tablespace"; }
[ "$(pg_q "$P2" "SELECT pg_tablespace_location($TS_OID)")" = "$ts_link" ] || fail "the new primary reads ts1 elsewhere"
[ "$(pg_q "$P2" "SELECT count(*) > 0 FROM acks")" = "t" ] || fail "no acks on the new primary"
pass "the new server's pg_wal -> $wal_link, ts1 -> $ts_link (the received datasets)"
