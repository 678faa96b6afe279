#!/usr/bin/env bash
# Debian/Ubuntu clusters on both ends: a primary made by pg_createcluster on a zfs-fuse dataset
# (its configuration in /etc/postgresql, outside the data directory), under pgbench load and the
# writers; bulk send, slot, incremental send; `pg cluster export` on the source and
# `pg standby --debian-cluster` on the received data directory, which registers a second cluster
# that pg_lsclusters lists and pg_ctlcluster starts; `pg switchover` fences the old primary with
# pg_ctlcluster and sets its start.conf to manual (a rollback after the stop puts it back to auto
# and starts it again). Zero acknowledged commits lost; the new cluster is online and primary, the
# old one down. Bad input first: a bundle of another major version and a taken cluster name are
# refused in one line each, leaving nothing behind.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"

SRC_NAME="pgm_src_$PGM_TEST_ID"
DST_NAME="pgm_dst_$PGM_TEST_ID"
pg_debian_primary "$SRC_NAME" "$DST_NAME"
[ "$(pg_q "$P1" "SHOW config_file")" = "/etc/postgresql/$VER/$SRC_NAME/postgresql.conf" ] || fail "not a postgresql-common cluster"

pg_migration_load 2
pg_migration_send
[ ! -e "$STANDBY_DIR/postgresql.conf" ] || fail "the received data directory holds a postgresql.conf: not the Debian layout"

BUNDLE="$PGM_TEST_ROOT/bundle.json"
"$PGMIGRATE" pg cluster export --cluster "$VER/$SRC_NAME" --out "$BUNDLE" || fail "pg cluster export"
grep -q "pgmigrate-test.conf" "$BUNDLE" || fail "conf.d is not in the bundle"
pass "source cluster exported"

standby_cmd() {
  "$PGMIGRATE" pg standby --pgdata "$STANDBY_DIR" --primary "$PRIMARY" --port "$P2" --standby "$STANDBY" --start --timeout 120s "$@"
}
# Bad input: nothing may be left behind (no config directory, the data directory untouched).
sed -e "s/\"major\": $VER/\"major\": $((VER - 1))/" "$BUNDLE" > "$PGM_TEST_ROOT/old-major.json"
expect_fail 2 "config bundle is from Postgres $((VER - 1))" \
  standby_cmd --debian-cluster "$VER/$DST_NAME" --config-bundle "$PGM_TEST_ROOT/old-major.json"
src_conf_sum=$(cat "/etc/postgresql/$VER/$SRC_NAME"/postgresql.conf | md5sum)
expect_fail 1 "Debian cluster $VER/$SRC_NAME already exists with data directory $PRIMARY_DIR" \
  standby_cmd --debian-cluster "$VER/$SRC_NAME" --config-bundle "$BUNDLE"
expect_fail 2 "debian-cluster and --config-bundle go together" standby_cmd --debian-cluster "$VER/$DST_NAME"
[ ! -e "/etc/postgresql/$VER/$DST_NAME" ] || fail "a refused standby left /etc/postgresql/$VER/$DST_NAME"
[ -z "$(ls -A "/etc/postgresql/$VER" | grep pgmigrate)" ] || fail "a refused standby left a temporary directory"
[ "$(cat "/etc/postgresql/$VER/$SRC_NAME"/postgresql.conf | md5sum)" = "$src_conf_sum" ] || fail "the source's config changed"
[ ! -e "$STANDBY_DIR/standby.signal" ] || fail "a refused standby changed the data directory"
pass "bad input refused in one line each, nothing left behind"

on_cleanup "pg_stop '$STANDBY_DIR' immediate"
standby_cmd --debian-cluster "$VER/$DST_NAME" --config-bundle "$BUNDLE" | tee "$PGM_TEST_ROOT/standby.txt" \
  || { tail -20 "/var/log/postgresql/postgresql-$VER-$DST_NAME.log" >&2; fail "pg standby --debian-cluster --start"; }
grep -q "created Debian cluster $VER/$DST_NAME in /etc/postgresql/$VER/$DST_NAME (port $P2)" "$PGM_TEST_ROOT/standby.txt" \
  || fail "the new cluster was not reported"
[ "$(pg_q "$P2" "SHOW config_file")" = "/etc/postgresql/$VER/$DST_NAME/postgresql.conf" ] || fail "the standby does not run from its config dir"
[ "$(pg_q "$P2" "SHOW cluster_name")" = "$VER/$DST_NAME" ] || fail "cluster_name not rewritten"
[ "$(pg_q "$P2" "SHOW hot_standby_feedback")" = "on" ] || fail "conf.d was not carried over"
assert_in_recovery "$P2"
pg_lsclusters -h > "$PGM_TEST_ROOT/ls.txt"
grep -Eq "^$VER +$SRC_NAME +$P1 +online " "$PGM_TEST_ROOT/ls.txt" || { cat "$PGM_TEST_ROOT/ls.txt"; fail "source not listed online"; }
grep -Eq "^$VER +$DST_NAME +$P2 +online,recovery +postgres +$STANDBY_DIR " "$PGM_TEST_ROOT/ls.txt" \
  || { cat "$PGM_TEST_ROOT/ls.txt"; fail "the new cluster is not listed as an online standby"; }
"$PGMIGRATE" pg lag --primary "$PRIMARY" --standby "$STANDBY" --wait 2M --timeout 120s >/dev/null || fail "standby did not catch up"
pass "pg_lsclusters lists both; the new one streams, started by pg_ctlcluster"

writers_progress 20 "the primary"

start_mode() { grep -v '^[[:space:]]*#' "/etc/postgresql/$VER/$SRC_NAME/start.conf" | tr -d '[:space:]'; }
[ "$(start_mode)" = auto ] || fail "the source cluster's start.conf is not auto to begin with"

# A switchover that rolls back after the fence stopped the cluster (the standby's startup process
# frozen, so replay cannot reach the final position; a paused replay would be refused up front):
# start.conf went to manual with the stop and is back to auto, and the cluster runs again as
# pg_ctlcluster started it.
startup=$(pg_q "$P2" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'")
[ -n "$startup" ] || fail "no startup process on the standby"
kill -STOP "$startup"
on_cleanup "kill -CONT $startup"
rc=0
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR" --max-lag 1G \
  --timeout 30s > "$PGM_TEST_ROOT/rollback.txt" 2> "$PGM_TEST_ROOT/rollback.err" || rc=$?
kill -CONT "$startup"
cat "$PGM_TEST_ROOT/rollback.txt" "$PGM_TEST_ROOT/rollback.err"
[ $rc -ne 0 ] || fail "the switchover with replay frozen succeeded"
grep -q "result: rolled back" "$PGM_TEST_ROOT/rollback.txt" || fail "no rollback reported"
grep -q "start.conf of $VER/$SRC_NAME set to manual (was auto)" "$PGM_TEST_ROOT/rollback.txt" || fail "the fence did not set start.conf to manual"
grep -q "start.conf of $VER/$SRC_NAME back to auto" "$PGM_TEST_ROOT/rollback.txt" || fail "the rollback did not restore start.conf"
[ "$(start_mode)" = auto ] || fail "start.conf is $(start_mode) after the rollback"
pg_lsclusters -h | grep -Eq "^$VER +$SRC_NAME +$P1 +online " || { pg_lsclusters; fail "the old cluster is not online after the rollback"; }
assert_accepts_writes "$P1"
writers_progress 10 "the old primary after the rollback"
"$PGMIGRATE" -q pg lag --primary "$PRIMARY" --standby "$STANDBY" --wait 2M --timeout 90s || fail "the standby does not catch up again"
pass "Debian rollback: start.conf manual during the fence, auto again, cluster online and writable"

# --primary-pgdata of a Debian cluster: the fence finds the cluster by itself (migrate's path).
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR" \
  --timeout 90s --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" | tee "$PGM_TEST_ROOT/switchover.txt" \
  || fail "switchover"
grep -q "pg_ctlcluster $VER $SRC_NAME stop -m fast" "$PGM_TEST_ROOT/switchover.txt" || fail "the fence did not use pg_ctlcluster"
grep -q "result: promoted" "$PGM_TEST_ROOT/switchover.txt" || fail "no promotion reported"

assert_switched_over "$P2" "$P1"
pg_lsclusters -h > "$PGM_TEST_ROOT/ls.txt"
grep -Eq "^$VER +$DST_NAME +$P2 +online +postgres " "$PGM_TEST_ROOT/ls.txt" || { cat "$PGM_TEST_ROOT/ls.txt"; fail "the new cluster is not an online primary"; }
grep -Eq "^$VER +$SRC_NAME +$P1 +down " "$PGM_TEST_ROOT/ls.txt" || { cat "$PGM_TEST_ROOT/ls.txt"; fail "the old cluster is not down"; }
[ "$(start_mode)" = manual ] || fail "the old cluster's start.conf is $(start_mode), not manual: a reboot would start it again"
pass "switchover with the pg_ctlcluster fence: zero acknowledged commits lost; new cluster online and primary, old one down with start.conf manual"
