#!/usr/bin/env bash
# Issue 14's "done when", end to end: an operator whose `ssh db2` goes through a bastion (a Host
# alias with ProxyJump in an OpenSSH configuration file), logged in as a normal user with
# passwordless sudo (restricted to pgmigrate), moves a Postgres made by pg_createcluster (config
# in /etc/postgresql) under pgbench load with one `pgmigrate migrate run --switchover`:
#   - zero acknowledged commits lost, pgbench balances agree;
#   - pg_lsclusters shows the new cluster online and primary, the old one down;
#   - the target's sshd logged in only the normal user, and every connection went through the
#     bastion (its log counts the forwarded connections).
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/nonroot.sh"

SRC_NAME="pgm_nsrc_$PGM_TEST_ID"
DST_NAME="pgm_ndst_$PGM_TEST_ID"
pg_debian_primary "$SRC_NAME" "$DST_NAME"
pg_migration_load 1

nonroot_fixture_start
on_cleanup "pkill -f '_serve recv --target $DST_POOL/'"
P2=$(pg_free_port)
on_cleanup "pg_stop '$(zfs get -H -o value mountpoint "$DST_POOL")/pg/data' immediate"

forwards() { grep -c "server_request_direct_tcpip: .*target 127.0.0.1 port $SSHD_PORT" "$B_SSHD_DIR/sshd.log" || true; }
before=$(forwards)
"$PGMIGRATE" migrate run --source "$SRC_POOL/pg" --target "db2:$DST_POOL/pg" --ssh-config "$NR_CONFIG" --remote-bin "$NR_BIN" \
  --primary "$PRIMARY" --primary-pgdata "$PRIMARY_DIR" --standby-port "$P2" --target-cluster "$VER/$DST_NAME" \
  --id "nr$PGM_TEST_ID" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M --streams 2 \
  --switchover --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" 2> "$PGM_TEST_ROOT/run.log" \
  || { cat "$PGM_TEST_ROOT/run.log"; tail -20 "/var/log/postgresql/postgresql-$VER-$DST_NAME.log" >&2; fail "migrate run as $NR_USER through the bastion"; }
after=$(forwards)
[ "$(cat "$PORTFILE")" = "$P2" ] || fail "post-hook did not get the new endpoint"
assert_switched_over "$P2" "$P1"
pass "migrate run --switchover as $NR_USER@db2 through the bastion: zero acknowledged commits lost"

pg_lsclusters -h > "$PGM_TEST_ROOT/ls.txt"
cat "$PGM_TEST_ROOT/ls.txt"
grep -Eq "^$VER +$DST_NAME +$P2 +online +postgres " "$PGM_TEST_ROOT/ls.txt" || fail "the new cluster is not an online primary"
grep -Eq "^$VER +$SRC_NAME +$P1 +down " "$PGM_TEST_ROOT/ls.txt" || fail "the old cluster is not down"
[ "$(pg_q "$P2" "SHOW config_file")" = "/etc/postgresql/$VER/$DST_NAME/postgresql.conf" ] || fail "the new server does not run from its config dir"
[ "$(grep -v '^[[:space:]]*#' "/etc/postgresql/$VER/$SRC_NAME/start.conf" | tr -d '[:space:]')" = manual ] || fail "the old cluster's start.conf is not manual"
pass "pg_lsclusters: $VER/$DST_NAME online and primary, $VER/$SRC_NAME down (start.conf manual)"

grep -q "Accepted publickey for $NR_USER from" "$SSHD_DIR/sshd.log" || fail "the target's sshd did not log in $NR_USER"
grep -q "Accepted publickey for root from" "$SSHD_DIR/sshd.log" && fail "something logged in to the target as root"
echo "  the bastion forwarded $((after - before)) connections"
[ $((after - before)) -ge 3 ] || fail "expected the run's connections through the bastion, saw $((after - before))"
pass "every connection as $NR_USER, through the bastion"
