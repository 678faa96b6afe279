#!/usr/bin/env bash
# `migrate` of a Debian/Ubuntu (postgresql-common) cluster: a primary made by pg_createcluster on
# a zfs-fuse dataset (its configuration in /etc/postgresql, outside the data directory), under
# pgbench load and the writers, moved through the sshd fixture into a second pool.
#   - plan names the cluster it will create on the target (--target-cluster: both ends are this
#     host, so the source's name is taken) and the paths it rewrites;
#   - a run stopped before its catch-up, then `migrate abort`: the target cluster's
#     /etc/postgresql directory goes with the standby and the dataset;
#   - the standby step fails once (its port is taken) after writing the cluster's
#     configuration; the run again replaces it and goes on;
#   - `migrate run --switchover` fences the old primary with pg_ctlcluster (found through
#     --primary-pgdata); zero acknowledged commits lost; pg_lsclusters shows the new cluster
#     online and not in recovery, the old one down.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

SRC_NAME="pgm_msrc_$PGM_TEST_ID"
DST_NAME="pgm_mdst_$PGM_TEST_ID"
AB_NAME="pgm_mab_$PGM_TEST_ID"
pg_debian_primary "$SRC_NAME" "$DST_NAME" "$AB_NAME"
pg_migration_load 1

sshd_fixture_start
on_cleanup "pkill -f '_serve recv --target $DST_POOL/'"
HOST="$SSH_USER@127.0.0.1"
P2=$(pg_free_port)
STANDBY=$(pg_conninfo "$P2")
mig() {  # ID TARGET_FS CLUSTER: sets M to the run options
  M=(--source "$SRC_POOL/pg" --target "$HOST:$DST_POOL/$2" --primary "$PRIMARY" --standby-port "$P2" --primary-pgdata "$PRIMARY_DIR"
    --target-cluster "$VER/$3" --id "$1" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M
    --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE")
}
lsclusters() { pg_lsclusters -h > "$PGM_TEST_ROOT/ls.txt"; }

# 1. plan: the cluster it will create, changing nothing.
mig "pl$PGM_TEST_ID" pg "$DST_NAME"
"$PGMIGRATE" migrate plan "${M[@]}" > "$PGM_TEST_ROOT/plan.txt" || { cat "$PGM_TEST_ROOT/plan.txt"; fail "plan"; }
cat "$PGM_TEST_ROOT/plan.txt"
grep -q "as Debian cluster $VER/$DST_NAME on $HOST (the primary is cluster $VER/$SRC_NAME): /etc/postgresql/$VER/$DST_NAME" \
  "$PGM_TEST_ROOT/plan.txt" || fail "plan does not name the cluster it will create"
DST_DATA="$(zfs get -H -o value mountpoint "$DST_POOL")/pg/data"
grep -q "data directory $DST_DATA, started with pg_ctlcluster" "$PGM_TEST_ROOT/plan.txt" || fail "plan does not name the data directory the target will have"
grep -q "cluster_name: '$VER/$SRC_NAME' -> '$VER/$DST_NAME'" "$PGM_TEST_ROOT/plan.txt" || fail "plan does not show the rewritten settings"
grep -q "lies outside the data directory" "$PGM_TEST_ROOT/plan.txt" && fail "plan still notes the configuration as left behind"
[ ! -e "/etc/postgresql/$VER/$DST_NAME" ] || fail "plan created the cluster"
mig "pl$PGM_TEST_ID" pg "../x"
expect_fail 2 "target-cluster: " "$PGMIGRATE" migrate plan "${M[@]}"
pass "plan names the Debian cluster it will create"

# 2. A run stopped before its catch-up, then abort: no cluster left on the target.
AB="ab$PGM_TEST_ID"
mig "$AB" ab "$AB_NAME"
"$PGMIGRATE" migrate run "${M[@]}" --debug-pause-before catchup 2> "$PGM_TEST_ROOT/ab.log" &
RUN=$!
for _ in $(seq 1 600); do grep -q "pausing before catchup" "$PGM_TEST_ROOT/ab.log" && break; kill -0 "$RUN" 2>/dev/null || break; sleep 0.1; done
grep -q "pausing before catchup" "$PGM_TEST_ROOT/ab.log" || { cat "$PGM_TEST_ROOT/ab.log"; fail "the partial run did not start the standby"; }
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
lsclusters
grep -Eq "^$VER +$AB_NAME +$P2 +online,recovery " "$PGM_TEST_ROOT/ls.txt" || { cat "$PGM_TEST_ROOT/ls.txt"; fail "the partial run's cluster is not an online standby"; }
"$PGMIGRATE" migrate abort "$AB" --primary "$PRIMARY" --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" \
  --remote-bin "$PGMIGRATE" > "$PGM_TEST_ROOT/abort.txt" || { cat "$PGM_TEST_ROOT/abort.txt"; fail "migrate abort"; }
grep -q "removed Debian cluster $VER/$AB_NAME" "$PGM_TEST_ROOT/abort.txt" || { cat "$PGM_TEST_ROOT/abort.txt"; fail "abort did not report the cluster"; }
[ ! -e "/etc/postgresql/$VER/$AB_NAME" ] || fail "abort left /etc/postgresql/$VER/$AB_NAME"
[ -e "/etc/postgresql/$VER/$SRC_NAME/postgresql.conf" ] || fail "abort touched the source cluster"
zfs list "$DST_POOL/ab" >/dev/null 2>&1 && fail "abort left the target dataset"
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots")" = "0" ] || fail "abort left a slot"
pass "abort after the standby step: $(tr '\n' ';' < "$PGM_TEST_ROOT/abort.txt")"

# 3. The standby step fails once after writing the configuration (its port is taken), then the
#    run again replaces it, catches up and switches over.
MG="mg$PGM_TEST_ID"
mig "$MG" pg "$DST_NAME"
# (It closes every connection at once: the step's "does the standby already run" check must get
# an answer, not a silent peer. It stops when told through a file: python3 may be a shim whose
# pid is not the listener's. SO_REUSEADDR: the connections it closed linger in TIME_WAIT on the
# port, and Linux lets Postgres bind beside them only when both sockets set it.)
HOLD_STOP="$PGM_TEST_ROOT/hold-stop"
python3 -c "
import os, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); s.settimeout(0.1)
while not os.path.exists(sys.argv[2]):
    try: s.accept()[0].close()
    except socket.timeout: pass" "$P2" "$HOLD_STOP" &
HOLDER=$!
on_cleanup "touch '$HOLD_STOP'"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$P2") 2>/dev/null && break; sleep 0.1; done
set +e
"$PGMIGRATE" migrate run "${M[@]}" --switchover 2> "$PGM_TEST_ROOT/run1.log"
rc=$?
set -e
touch "$HOLD_STOP"; wait "$HOLDER" 2>/dev/null || true
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$P2") 2>/dev/null || break; sleep 0.1; done
[ "$rc" -ne 0 ] || { cat "$PGM_TEST_ROOT/run1.log"; fail "the run with the standby's port taken succeeded"; }
grep -q "starting the standby" "$PGM_TEST_ROOT/run1.log" || { cat "$PGM_TEST_ROOT/run1.log"; fail "the first run did not stop at the standby step"; }
[ -e "/etc/postgresql/$VER/$DST_NAME/postgresql.conf" ] || { cat "$PGM_TEST_ROOT/run1.log"; fail "the failed standby step wrote no configuration"; }
pass "the standby step failed once: $(tail -1 "$PGM_TEST_ROOT/run1.log")"

on_cleanup "pg_stop '$(zfs get -H -o value mountpoint "$DST_POOL/pg")/data' immediate"
"$PGMIGRATE" migrate run "${M[@]}" --switchover --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" 2> "$PGM_TEST_ROOT/run2.log" \
  || { cat "$PGM_TEST_ROOT/run2.log"; tail -20 "/var/log/postgresql/postgresql-$VER-$DST_NAME.log" >&2; fail "the run again failed"; }
grep -q "replaced Debian cluster $VER/$DST_NAME" "$PGM_TEST_ROOT/run2.log" || { cat "$PGM_TEST_ROOT/run2.log"; fail "the run again did not replace the cluster's configuration"; }
grep -q "pg_ctlcluster $VER $SRC_NAME stop -m fast" "$PGM_TEST_ROOT/run2.log" || { cat "$PGM_TEST_ROOT/run2.log"; fail "the fence did not use pg_ctlcluster"; }
[ "$(cat "$PORTFILE")" = "$P2" ] || fail "post-hook did not get the new endpoint"
[ "$(pg_q "$P2" "SHOW config_file")" = "/etc/postgresql/$VER/$DST_NAME/postgresql.conf" ] || fail "the new server does not run from its config dir"
[ "$(pg_q "$P2" "SHOW cluster_name")" = "$VER/$DST_NAME" ] || fail "cluster_name not rewritten"
[ "$(pg_q "$P2" "SHOW hot_standby_feedback")" = "on" ] || fail "conf.d was not carried over"
assert_switched_over "$P2" "$P1"
lsclusters
grep -Eq "^$VER +$DST_NAME +$P2 +online +postgres " "$PGM_TEST_ROOT/ls.txt" || { cat "$PGM_TEST_ROOT/ls.txt"; fail "the new cluster is not an online primary"; }
grep -Eq "^$VER +$SRC_NAME +$P1 +down " "$PGM_TEST_ROOT/ls.txt" || { cat "$PGM_TEST_ROOT/ls.txt"; fail "the old cluster is not down"; }
pass "migrate run --switchover of a Debian cluster: zero acknowledged commits lost; $VER/$DST_NAME online and primary, $VER/$SRC_NAME down"
