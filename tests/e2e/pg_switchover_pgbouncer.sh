#!/usr/bin/env bash
# The switchover window behind a real pgbouncer (transaction pooling) in front of the primary:
# every client connects through it. --pre-fence-hook PAUSEs it (clients' queries wait),
# --post-hook points its [databases] line at PGM_PRIMARY_HOST:PGM_PRIMARY_PORT, RELOADs and
# RESUMEs.
#   - a pre-fence hook that PAUSEs and then fails: nothing is fenced, the post-hook runs with
#     PGM_PHASE=rolled-back and resumes the pooler against the old primary, clients go on there;
#   - the real switchover: no client sees an error (a psql loop that counts its errors, and one
#     long session that would end on its first error), the long session opened before the
#     switchover writes to the new primary after it, and no acknowledged commit is lost.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pgbouncer.sh"

pg_migration_pools
pg_primary_on_dataset "$SRC_POOL/pg"
pgbench_init "$P1" 5
acks_table "$P1"
pg_migration_send
on_cleanup "pg_stop '$STANDBY_DIR' immediate"
"$PGMIGRATE" pg standby --pgdata "$STANDBY_DIR" --primary "$PRIMARY" --port "$P2" --standby "$STANDBY" --start --timeout 120s \
  || { tail -20 "$STANDBY_DIR/pgmigrate-postgres.log" >&2; fail "pg standby --start"; }

pgbouncer_start "$P1"
server_port() { pgbouncer_server_port; }

# The hooks, as an operator would write them; each logs what it was told.
HOOKLOG="$PGM_TEST_ROOT/hooks.log"
pgbouncer_hooks "$HOOKLOG"

# The clients, all through pgbouncer: pgbench, the three writers of pg.sh, and a loop that
# records every error it sees.
PORTFILE="$PGM_TEST_ROOT/writer-port"
echo "$PB" > "$PORTFILE"
pgbench_start "$PB"
writers_start "$PORTFILE"
counting_client_start
writers_progress 20 "clients through pgbouncer"
"$PGMIGRATE" pg lag --primary "$PRIMARY" --standby "$STANDBY" --wait 2M --timeout 120s || fail "standby did not catch up"
pass "standby streams; clients write through pgbouncer"

# 1. A pre-fence hook that pauses the pooler and then fails: refused before the fence.
set +e
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR" --timeout 60s \
  --pre-fence-hook "bash '$PBDIR/pre-fence.sh' && echo 'pooler API said no' >&2 && false" --post-hook "bash '$PBDIR/post.sh'" \
  > "$PGM_TEST_ROOT/r1.txt" 2> "$PGM_TEST_ROOT/r1.err"
rc=$?
set -e
cat "$PGM_TEST_ROOT/r1.txt" "$PGM_TEST_ROOT/r1.err"
[ $rc -ne 0 ] || fail "failing pre-fence hook: switchover succeeded"
[ "$(wc -l < "$PGM_TEST_ROOT/r1.err")" -eq 1 ] || fail "failing pre-fence hook: more than one error line"
grep -q "pre-fence-hook.*pooler API said no.*nothing was fenced and the primary stays writable" "$PGM_TEST_ROOT/r1.err" || fail "failing pre-fence hook: unclear error"
grep -q "result: refused; nothing changed" "$PGM_TEST_ROOT/r1.txt" || fail "failing pre-fence hook: result"
grep -qx "pre-fence switchover $P1 $P1 $P2" "$HOOKLOG" || { cat "$HOOKLOG"; fail "pre-fence hook environment"; }
grep -qx "rolled-back switchover $P1 " "$HOOKLOG" || { cat "$HOOKLOG"; fail "post-hook did not run with PGM_PHASE=rolled-back for the old primary"; }
assert_in_recovery "$P2"
writers_progress 20 "clients through the resumed pooler"
[ "$(server_port)" = "$P1" ] || fail "the pooler does not lead to the old primary after the refused switchover"
pass "failing pre-fence hook: nothing fenced, pooler resumed against the old primary"

# 2. The switchover behind the paused pooler.
: > "$HOOKLOG"
round1_before=$(grep -c '^3,1[0-9]\{6\}$' "$WRITERS_DIR/acks.3" || true)
"$PGMIGRATE" pg lag --primary "$PRIMARY" --standby "$STANDBY" --wait 2M --timeout 120s || fail "standby did not catch up again"
"$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR" --timeout 90s \
  --pre-fence-hook "bash '$PBDIR/pre-fence.sh'" --post-hook "bash '$PBDIR/post.sh'" > "$PGM_TEST_ROOT/sw.txt" \
  || { cat "$PGM_TEST_ROOT/sw.txt"; fail "switchover"; }
cat "$PGM_TEST_ROOT/sw.txt"
grep -q "result: promoted" "$PGM_TEST_ROOT/sw.txt" || fail "not promoted"
# The hooks ran in order, around the fence: pre-fence before the fence step, post after promotion.
sed -nE 's/^[^ ]+ +[+] *[0-9.]+s +([^ ]+) .*/\1/p' "$PGM_TEST_ROOT/sw.txt" | grep -E '^(pre-fence-hook|fence|promote|post-hook)$' | uniq | tr '\n' ' ' > "$PGM_TEST_ROOT/order"
[ "$(cat "$PGM_TEST_ROOT/order")" = "pre-fence-hook fence promote post-hook " ] || fail "hook order: $(cat "$PGM_TEST_ROOT/order")"
grep -qx "pre-fence switchover $P1 $P1 $P2" "$HOOKLOG" || { cat "$HOOKLOG"; fail "pre-fence hook environment"; }
grep -Eqx "promoted switchover $P2 [0-9]+" "$HOOKLOG" || { cat "$HOOKLOG"; fail "post-hook environment"; }
[ "$(server_port)" = "$P2" ] || fail "the pooler does not lead to the new primary"
counting_client_progress "the new primary"
writers_progress 20 "clients through pgbouncer to the new primary"
# The long session of writer 3 was opened through pgbouncer before the switchover and never
# ended (it stops at its first error): its round-1 inserts go on, on the new primary.
round1_after=$(grep -c '^3,1[0-9]\{6\}$' "$WRITERS_DIR/acks.3" || true)
[ "$round1_after" -gt "$round1_before" ] || fail "writer 3's session made no progress after the switchover"
! grep -q '^3,[2-9][0-9]\{6\}$' "$WRITERS_DIR/acks.3" || fail "writer 3's session broke (it saw an error) and reconnected"
last3=$(grep '^3,' "$WRITERS_DIR/acks.3" | tail -1 | cut -d, -f2)
[ "$(pg_q "$P2" "SELECT count(*) FROM acks WHERE writer = 3 AND seq = $last3")" = "1" ] || fail "writer 3's last commit is not on the new primary"
counting_client_stop
counting_client_check
writers_stop
pgbench_stop
writers_check "$P2" || fail "acknowledged commits lost"
pgbench_check "$P2" || fail "pgbench balances"
assert_refuses_writes "$P1"
pass "switchover behind a paused pgbouncer: clients waited (no error), the old session writes to the new primary, zero acknowledged commits lost"
