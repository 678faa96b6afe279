#!/usr/bin/env bash
# Issue 14's "done when", end to end: an operator whose `ssh db2` goes through a bastion (a Host
# alias with ProxyJump in an OpenSSH configuration file), logged in as a normal user with
# passwordless sudo (restricted to pgmigrate), moves a Postgres made by pg_createcluster (config
# in /etc/postgresql) under pgbench load with one `pgmigrate migrate run --switchover`, typed by
# a normal user on the source too (its zfs, pg_ctlcluster, the cluster's 0640 pg_hba.conf and
# start.conf, the data directory through sudo -n, by docs/usage.md's sudoers lines):
#   - first a switchover that rolls back after its fence (replay frozen): start.conf back to
#     auto, the cluster started again by pg_ctlcluster through sudo, writable;
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
ZFS=$(command -v zfs)
# The same user types the command here, with its own copy of the keys and configuration.
NR_HOME=$(getent passwd "$NR_USER" | cut -d: -f6)
install -d -m 0700 -o "$NR_USER" "$NR_HOME/.ssh"
for f in "$SSH_KEY" "$B_SSH_KEY" "$SSH_KNOWN_HOSTS" "$B_SSH_KNOWN_HOSTS"; do install -m 0600 -o "$NR_USER" "$f" "$NR_HOME/.ssh/$(basename "$(dirname "$f")")-$(basename "$f")"; done
sed -e "s|$SSH_KEY|$NR_HOME/.ssh/$(basename "$(dirname "$SSH_KEY")")-$(basename "$SSH_KEY")|" \
  -e "s|$B_SSH_KEY|$NR_HOME/.ssh/$(basename "$(dirname "$B_SSH_KEY")")-$(basename "$B_SSH_KEY")|" \
  -e "s|$SSH_KNOWN_HOSTS|$NR_HOME/.ssh/$(basename "$(dirname "$SSH_KNOWN_HOSTS")")-$(basename "$SSH_KNOWN_HOSTS")|" \
  -e "s|$B_SSH_KNOWN_HOSTS|$NR_HOME/.ssh/$(basename "$(dirname "$B_SSH_KNOWN_HOSTS")")-$(basename "$B_SSH_KNOWN_HOSTS")|" "$NR_CONFIG" > "$NR_HOME/.ssh/config"
chown "$NR_USER" "$NR_HOME/.ssh/config"
nonroot_sudo_rule "$NR_USER ALL=(root) NOPASSWD: $NR_BIN
$NR_USER ALL=(root) NOPASSWD: $ZFS send, $ZFS send *, $ZFS receive, $ZFS list *, $ZFS get *, $ZFS snapshot *, $ZFS hold *, $ZFS release *, $ZFS destroy $SRC_POOL/pg@pgmigrate-*
$NR_USER ALL=(root) NOPASSWD: $(command -v pg_ctlcluster) $VER $SRC_NAME *
$NR_USER ALL=(postgres) NOPASSWD: $PG_BIN/pg_ctl, $(command -v cat), $(command -v realpath), $(command -v cp) -- /tmp/pgmigrate-* /etc/postgresql/$VER/$SRC_NAME/start.conf"
chmod 0666 "$PORTFILE"   # the post-hook runs as the user
P2=$(pg_free_port)
on_cleanup "pg_stop '$(zfs get -H -o value mountpoint "$DST_POOL")/pg/data' immediate"

forwards() { grep -c "server_request_direct_tcpip: .*target 127.0.0.1 port $SSHD_PORT" "$B_SSHD_DIR/sshd.log" || true; }
before=$(forwards)
M=(--source "$SRC_POOL/pg" --target "db2:$DST_POOL/pg" --remote-bin "$NR_BIN" --primary "$PRIMARY" --primary-pgdata "$PRIMARY_DIR"
  --standby-port "$P2" --target-cluster "$VER/$DST_NAME" --id "nr$PGM_TEST_ID" --rounds 1 --delta-target 1M --chunk-size 1M --streams 2)
start_mode() { grep -v '^[[:space:]]*#' "/etc/postgresql/$VER/$SRC_NAME/start.conf" | tr -d '[:space:]'; }
# Up to a streaming standby, then a switchover that rolls back after its fence (the standby's
# replay frozen): the normal user's fence stopped the cluster with pg_ctlcluster and set its
# start.conf to manual, both through sudo; the rollback puts start.conf back and starts it again.
as_user "$NR_BIN" migrate run "${M[@]}" --max-lag 1M 2> "$PGM_TEST_ROOT/ready.log" \
  || { cat "$PGM_TEST_ROOT/ready.log"; fail "migrate run (to ready) as $NR_USER"; }
startup=$(pg_q "$P2" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'")
[ -n "$startup" ] || fail "no startup process on the standby"
kill -STOP "$startup"
on_cleanup "kill -CONT $startup"
rc=0
as_user "$NR_BIN" migrate run "${M[@]}" --max-lag 1G --switchover --timeout 20s 2> "$PGM_TEST_ROOT/rollback.log" || rc=$?
kill -CONT "$startup"
[ $rc -ne 0 ] || { cat "$PGM_TEST_ROOT/rollback.log"; fail "the switchover with replay frozen succeeded"; }
for want in "start.conf of $VER/$SRC_NAME set to manual (was auto)" "start.conf of $VER/$SRC_NAME back to auto" \
  "restarted the old primary as Debian cluster $VER/$SRC_NAME"; do
  grep -qF "$want" "$PGM_TEST_ROOT/rollback.log" || { cat "$PGM_TEST_ROOT/rollback.log"; fail "the rollback did not say: $want"; }
done
[ "$(start_mode)" = auto ] || fail "start.conf is $(start_mode) after the rollback"
pg_lsclusters -h | grep -Eq "^$VER +$SRC_NAME +$P1 +online " || { pg_lsclusters; fail "the old cluster is not online after the rollback"; }
assert_accepts_writes "$P1"
writers_progress 10 "the old primary after the rollback"
pass "a switchover by $NR_USER that rolls back: pg_ctlcluster and start.conf through sudo, the old cluster online and writable again"

as_user "$NR_BIN" migrate run "${M[@]}" --max-lag 1M --switchover --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" 2> "$PGM_TEST_ROOT/run.log" \
  || { cat "$PGM_TEST_ROOT/run.log"; tail -20 "/var/log/postgresql/postgresql-$VER-$DST_NAME.log" >&2; fail "migrate run as $NR_USER through the bastion"; }
after=$(forwards)
[ "$(cat "$PORTFILE")" = "$P2" ] || fail "post-hook did not get the new endpoint"
assert_switched_over "$P2" "$P1"
pass "migrate run --switchover by $NR_USER (sudo -n) as $NR_USER@db2 through the bastion: zero acknowledged commits lost"

pg_lsclusters -h > "$PGM_TEST_ROOT/ls.txt"
cat "$PGM_TEST_ROOT/ls.txt"
grep -Eq "^$VER +$DST_NAME +$P2 +online +postgres " "$PGM_TEST_ROOT/ls.txt" || fail "the new cluster is not an online primary"
grep -Eq "^$VER +$SRC_NAME +$P1 +down " "$PGM_TEST_ROOT/ls.txt" || fail "the old cluster is not down"
[ "$(pg_q "$P2" "SHOW config_file")" = "/etc/postgresql/$VER/$DST_NAME/postgresql.conf" ] || fail "the new server does not run from its config dir"
[ "$(start_mode)" = manual ] || { grep -E "fence|rollback" "$PGM_TEST_ROOT/run.log"; fail "the old cluster's start.conf is not manual"; }
pass "pg_lsclusters: $VER/$DST_NAME online and primary, $VER/$SRC_NAME down (start.conf manual)"

grep -q "Accepted publickey for $NR_USER from" "$SSHD_DIR/sshd.log" || fail "the target's sshd did not log in $NR_USER"
grep -q "Accepted publickey for root from" "$SSHD_DIR/sshd.log" && fail "something logged in to the target as root"
echo "  the bastion forwarded $((after - before)) connections"
[ $((after - before)) -ge 3 ] || fail "expected the run's connections through the bastion, saw $((after - before))"
pass "every connection as $NR_USER, through the bastion"
