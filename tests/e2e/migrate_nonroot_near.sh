#!/usr/bin/env bash
# `migrate` typed by a normal user on the source host, logging in as a normal user on the target:
# pgmigrate is root on neither side. Here every privileged step goes through `sudo -n`, allowed
# by exactly the sudoers lines docs/usage.md gives for the source side of migrate (zfs by
# subcommand; pg_ctl, cat and realpath as the data directory's owner) and the far pgmigrate binary:
#   - a run paused before its standby step, then `migrate abort` by that user: it stops the run
#     and leaves nothing behind (no slot, snapshot, hold, target dataset, state file);
#   - a switchover that rolls back after its fence (the standby's replay frozen): the old primary,
#     stopped by pg_ctl as postgres through sudo, is started again the same way and writable;
#   - `migrate run --switchover` under pgbench and acknowledged writers, the old primary (initdb
#     style, its data directory 0700 postgres) fenced by pg_ctl run as postgres through sudo:
#     zero acknowledged commits lost, the old primary down, nothing logged in as root;
#   - sudo that asks for a password for pg_ctl/cat as postgres: `plan --switchover` refuses in
#     one line naming the command, the user and the fixes, before anything is made.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/nonroot.sh"

pg_migration_pools
pg_primary_on_dataset "$SRC_POOL/pg"
[ "$(stat -c %a "$PRIMARY_DIR")" = 700 ] || fail "the primary's data directory is not 0700"

nonroot_fixture_start   # NR_USER, NR_BIN, NR_SUDOERS
on_cleanup "pkill -f '_serve recv --target $DST_POOL/'"
ZFS=$(command -v zfs)
[ "$ZFS" = /usr/sbin/zfs ] || [ "$ZFS" = /sbin/zfs ] || fail "zfs is at $ZFS, not in an sbin directory as packages install it"
CAT=$(command -v cat)
REALPATH=$(command -v realpath)

nonroot_direct_alias   # NR_HOME; ~/.ssh/config with Host db2
STATE="$NR_HOME/.local/state/pgmigrate/migrations"

# Exactly docs/usage.md's lines for the source side of migrate.
ZFS_RULE="$ZFS send, $ZFS send *, $ZFS receive, $ZFS list *, $ZFS get *, $ZFS snapshot *, $ZFS hold *, $ZFS release *, $ZFS destroy $SRC_POOL/pg@pgmigrate-*"
OWNER_RULE="$PG_BIN/pg_ctl, $CAT, $REALPATH"
nonroot_sudo_rule "$NR_USER ALL=(root) NOPASSWD: $NR_BIN
$NR_USER ALL=(root) NOPASSWD: $ZFS_RULE
$NR_USER ALL=(postgres) NOPASSWD: $OWNER_RULE"

P2=$(pg_free_port)
mig() {
  M=(--source "$SRC_POOL/pg" --target "db2:$DST_POOL/pg" --remote-bin "$NR_BIN" --primary "$PRIMARY" --primary-pgdata "$PRIMARY_DIR"
    --standby-port "$P2" --id "$1" --rounds 1 --delta-target 1M --max-lag "${2:-1M}" --chunk-size 1M --streams 2)
}
nothing_left() {
  [ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots")" = "0" ] || fail "$1 left a slot"
  [ -z "$(zfs list -H -t snapshot -o name -r "$SRC_POOL/pg")" ] || { zfs list -t snapshot -r "$SRC_POOL/pg"; fail "$1 left a snapshot (or a hold kept one)"; }
  zfs list "$DST_POOL/pg" >/dev/null 2>&1 && fail "$1 left the target dataset"
  ! compgen -G "$STATE/*.json" >/dev/null || fail "$1 left a state file: $(ls "$STATE")"
}

# 1. sudo asking a password for what runs as postgres: refused in one line before anything.
nonroot_sudo_rule "$NR_USER ALL=(root) NOPASSWD: $NR_BIN
$NR_USER ALL=(root) NOPASSWD: $ZFS_RULE
$NR_USER ALL=(postgres) $OWNER_RULE"
mig "pw$PGM_TEST_ID"
expect_fail 6 "^pgmigrate: .*on [^ ]+, 'sudo -n -u postgres' refused to run 'cat $PRIMARY_DIR/PG_VERSION' for $NR_USER \(sudo: a password is required\): allow $NR_USER to run it without a password" \
  as_user "$NR_BIN" migrate plan "${M[@]}" --switchover
nothing_left "the refused plan"
pass "sudo asking $NR_USER for a password for pg_ctl/cat as postgres: one line naming the command and the fixes; nothing made"
nonroot_sudo_rule "$NR_USER ALL=(root) NOPASSWD: $NR_BIN
$NR_USER ALL=(root) NOPASSWD: $ZFS_RULE
$NR_USER ALL=(postgres) NOPASSWD: $OWNER_RULE"

pg_migration_load 1
chmod 0666 "$PORTFILE"   # the post-hook runs as the user

# 2. A run paused before its standby step (the slot, held snapshots and the target copy exist),
# then abort by the same user: it stops the run and removes everything.
AB="ab$PGM_TEST_ID"
mig "$AB"
as_user "$NR_BIN" migrate run "${M[@]}" --debug-pause-before standby 2> "$PGM_TEST_ROOT/ab.log" &
RUN=$!
for _ in $(seq 1 1200); do grep -q "pausing before standby" "$PGM_TEST_ROOT/ab.log" && break; kill -0 "$RUN" 2>/dev/null || break; sleep 0.1; done
grep -q "pausing before standby" "$PGM_TEST_ROOT/ab.log" || { cat "$PGM_TEST_ROOT/ab.log"; fail "the partial run as $NR_USER did not get to the standby step"; }
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgmigrate_$AB'")" = "1" ] || fail "no slot after the final step"
[ "$(zfs get -H -o value userrefs "$SRC_POOL/pg@pgmigrate-$AB-base")" -ge 1 ] || fail "the base snapshot is not held"
as_user "$NR_BIN" migrate abort "$AB" --primary "$PRIMARY" --remote-bin "$NR_BIN" > "$PGM_TEST_ROOT/abort.txt" \
  2> "$PGM_TEST_ROOT/abort.err" || { cat "$PGM_TEST_ROOT/abort.txt" "$PGM_TEST_ROOT/abort.err"; fail "migrate abort as $NR_USER"; }
wait "$RUN" 2>/dev/null || true
nothing_left "abort"
pass "abort by $NR_USER after a partial run: $(tr '\n' ';' < "$PGM_TEST_ROOT/abort.txt")"

# 3. The real migration under load. First up to a streaming standby; then a switchover that must
# roll back after its fence (the standby's startup process frozen: replay cannot reach the final
# position), so the old primary, stopped by pg_ctl as postgres through sudo, is started again the
# same way; then the switchover for real.
mig "nr$PGM_TEST_ID"
on_cleanup "pg_stop '$(zfs get -H -o value mountpoint "$DST_POOL")/pg/data' immediate"
as_user "$NR_BIN" migrate run "${M[@]}" 2> "$PGM_TEST_ROOT/ready.log" || { cat "$PGM_TEST_ROOT/ready.log"; fail "migrate run (to ready) as $NR_USER"; }
startup=$(pg_q "$P2" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'")
[ -n "$startup" ] || fail "no startup process on the standby"
kill -STOP "$startup"
on_cleanup "kill -CONT $startup"
rc=0
mig "nr$PGM_TEST_ID" 1G   # replay is frozen: the lag check before the fence must not refuse first
as_user "$NR_BIN" migrate run "${M[@]}" --switchover --timeout 20s 2> "$PGM_TEST_ROOT/rollback.log" || rc=$?
kill -CONT "$startup"
[ $rc -ne 0 ] || { cat "$PGM_TEST_ROOT/rollback.log"; fail "the switchover with replay frozen succeeded"; }
grep -q "old primary shut down cleanly" "$PGM_TEST_ROOT/rollback.log" || { cat "$PGM_TEST_ROOT/rollback.log"; fail "the fence did not stop the old primary"; }
grep -q "restarted the old primary with pg_ctl" "$PGM_TEST_ROOT/rollback.log" || { cat "$PGM_TEST_ROOT/rollback.log"; fail "the rollback did not restart the old primary with pg_ctl"; }
assert_accepts_writes "$P1"
assert_in_recovery "$P2"
writers_progress 10 "the old primary after the rollback"
mig "nr$PGM_TEST_ID"
pass "a switchover by $NR_USER that rolls back: the old primary stopped and started again by pg_ctl as postgres (sudo -n -u postgres), writable"
as_user "$NR_BIN" migrate run "${M[@]}" --switchover --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'" 2> "$PGM_TEST_ROOT/run.log" \
  || { cat "$PGM_TEST_ROOT/run.log"; fail "migrate run --switchover as $NR_USER"; }
grep -q "old primary shut down cleanly" "$PGM_TEST_ROOT/run.log" || { cat "$PGM_TEST_ROOT/run.log"; fail "the fence did not stop the old primary with pg_ctl"; }
[ "$(cat "$PORTFILE")" = "$P2" ] || fail "post-hook did not get the new endpoint"
assert_switched_over "$P2" "$P1"
[ "$(pg_as "$PG_BIN/pg_controldata" "$PRIMARY_DIR" | sed -n 's/^Database cluster state: *//p')" = "shut down" ] || fail "the old primary is not shut down"
pass "migrate run --switchover by $NR_USER (sudo -n) to $NR_USER@db2: zero acknowledged commits lost, the old primary shut down"

grep -q "Accepted publickey for $NR_USER from" "$SSHD_DIR/sshd.log" || fail "the target's sshd did not log in $NR_USER"
grep -q "Accepted publickey for root from" "$SSHD_DIR/sshd.log" && fail "something logged in to the target as root"
[ -z "$(zfs list -H -t snapshot -o name -r "$SRC_POOL/pg" | grep pgmigrate-)" ] || fail "the run's clean-up left snapshots on the source"
pass "done"
