#!/usr/bin/env bash
# The rehearsal of issue 19's cutover window, as an operator runs it, with every client behind a
# real pgbouncer (transaction pooling) and recording each acknowledged commit:
#   plan refuses a bad fence (one line, exit 2) → run to ready (no --switchover) → the switchover
#   in the window (--pre-fence-hook PAUSEs the pooler, --post-hook repoints and RESUMEs it) with
#   the old primary kept as a standby → writes on the new primary through the same pooled
#   session → migrate fallback with the same hooks (PGM_DIRECTION=fallback) → finish names abort
#   → abort removes the target side.
# At each step: zero acknowledged commits lost, no client statement failed (they waited), and
# the long session opened through pgbouncer before the switchover never broke.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pgbouncer.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

pg_migration_pools
pg_primary_on_dataset "$SRC_POOL/pg"
acks_table "$P1"
pgbouncer_start "$P1"
HOOKLOG="$PGM_TEST_ROOT/hooks.log"
: > "$HOOKLOG"
pgbouncer_hooks "$HOOKLOG"
PORTFILE="$PGM_TEST_ROOT/writer-port"
echo "$PB" > "$PORTFILE"  # every client goes through pgbouncer, the whole time
writers_start "$PORTFILE"
counting_client_start
writers_progress 20 "clients through pgbouncer"

sshd_fixture_start
HOST="$SSH_USER@127.0.0.1"
export PGMIGRATE_STATE_DIR="$PGM_TEST_ROOT/state"
STATE="$PGMIGRATE_STATE_DIR/migrations"
state_of() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ''))" "$STATE/$1.json" "$2" 2>/dev/null || true; }
ID="r$PGM_TEST_ID"
P2=$(pg_free_port)
SSH=(--port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE")
HOOKS=(--pre-fence-hook "bash '$PBDIR/pre-fence.sh'" --post-hook "bash '$PBDIR/post.sh'")
RUN=(--source "$SRC_POOL/pg" --target "$HOST:$DST_POOL/pg" --primary "$PRIMARY" --standby-port "$P2" "${SSH[@]}"
  --primary-pgdata "$PRIMARY_DIR" --id "$ID" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M --progress none
  --keep-old-as-standby --timeout 90s "${HOOKS[@]}")
TDIR="$(zfs get -H -o value mountpoint "$DST_POOL")/pg/data"
on_cleanup "pg_stop '$TDIR' immediate"
# The long session of writer 3 (opened through pgbouncer now) must never break: a new session
# would number its rows from 2000001.
session_unbroken() {
  ! grep -q '^3,[2-9][0-9]\{6\}$' "$WRITERS_DIR/acks.3" || fail "$1: writer 3's pooled session broke (it saw an error)"
}
# No commit acknowledged so far is missing on PORT, and no client statement failed.
nothing_lost() {
  writers_check "$1" || fail "$2: acknowledged commits lost"
  counting_client_check
  session_unbroken "$2"
}

# 1. plan: a typo in the fence is refused now, days before the window.
expect_fail 2 "fence" "$PGMIGRATE" migrate plan "${RUN[@]}" --fence read-only
pass "plan refuses --fence read-only in one line"

# 2. run to ready: no --switchover, the standby streams, nothing switched.
"$PGMIGRATE" migrate run "${RUN[@]}" 2> "$PGM_TEST_ROOT/ready.log" || { cat "$PGM_TEST_ROOT/ready.log"; fail "migrate run to ready"; }
[ "$(state_of "$ID" state)" = "ready" ] || { cat "$PGM_TEST_ROOT/ready.log"; fail "the migration is not ready"; }
assert_in_recovery "$P2"
[ ! -s "$HOOKLOG" ] || fail "a hook ran before the window: $(cat "$HOOKLOG")"
[ "$(pgbouncer_server_port)" = "$P1" ] || fail "the pooler moved before the window"
writers_progress 20 "the primary while ready"
nothing_lost "$P1" "ready"
pass "run to ready: the standby streams, the primary takes every write"

# The far half's log, read from this side: a far half that refuses a full stream onto the
# migration's target dataset says why in far-half.log there; migrate far-log shows it here.
! "$PGMIGRATE" send "${SSH[@]}" "$SRC_POOL/pg@pgmigrate-$ID-base" "$HOST:$DST_POOL/pg" 2> "$PGM_TEST_ROOT/refused.err" \
  || fail "a full send onto the migration's target was accepted"
"$PGMIGRATE" migrate far-log "$ID" --tail 64K "${SSH[@]}" > "$PGM_TEST_ROOT/far.log" 2> "$PGM_TEST_ROOT/far.err" \
  || { cat "$PGM_TEST_ROOT/far.err"; fail "migrate far-log"; }
grep -q "far half's log on $HOST: .*far-half.log" "$PGM_TEST_ROOT/far.err" || fail "far-log does not say where the log is: $(cat "$PGM_TEST_ROOT/far.err")"
grep -F "$DST_POOL/pg" "$PGM_TEST_ROOT/far.log" | grep -q "pgmigrate: " || fail "the far half's refusal is not in migrate far-log's output"
expect_fail 2 "tail must be between 1 and" "$PGMIGRATE" migrate far-log "$ID" --tail 0 "${SSH[@]}"
pass "migrate far-log shows the far half's log of the target host"

# 3. The window: pause → fence → promote → resume, the old primary kept as a standby.
round1_before=$(grep -c '^3,1[0-9]\{6\}$' "$WRITERS_DIR/acks.3" || true)
"$PGMIGRATE" migrate run "${RUN[@]}" --switchover 2> "$PGM_TEST_ROOT/switch.log" \
  || { cat "$PGM_TEST_ROOT/switch.log"; fail "migrate run --switchover"; }
[ "$(state_of "$ID" state)" = "done" ] || fail "the migration is not done"
grep -qx "pre-fence switchover $P1 $P1 $P2" "$HOOKLOG" || { cat "$HOOKLOG"; fail "pre-fence hook environment (switchover)"; }
grep -Eqx "promoted switchover $P2 [0-9]+" "$HOOKLOG" || { cat "$HOOKLOG"; fail "post-hook environment (switchover)"; }
[ "$(pgbouncer_server_port)" = "$P2" ] || fail "the pooler does not lead to the new primary"
assert_in_recovery "$P1"
counting_client_progress "the new primary"
writers_progress 20 "the new primary through pgbouncer"
round1_after=$(grep -c '^3,1[0-9]\{6\}$' "$WRITERS_DIR/acks.3" || true)
[ "$round1_after" -gt "$round1_before" ] || fail "writer 3's pooled session made no progress on the new primary"
last3=$(grep '^3,' "$WRITERS_DIR/acks.3" | tail -1 | cut -d, -f2)
[ "$(pg_q "$P2" "SELECT count(*) FROM acks WHERE writer = 3 AND seq = $last3")" = "1" ] || fail "writer 3's last commit is not on the new primary"
nothing_lost "$P2" "switchover"
pass "switchover behind the paused pooler: clients waited, the pooled session writes on the new primary, nothing lost"

# 4. The fallback window: back to the old primary with the same hooks.
"$PGMIGRATE" pg lag --primary "$(pg_conninfo "$P2")" --standby "$PRIMARY" --slot "pgmigrate_${ID}_fallback" --wait 1M --timeout 60s \
  > /dev/null || fail "the old primary does not keep up"
: > "$HOOKLOG"
round1_before=$(grep -c '^3,1[0-9]\{6\}$' "$WRITERS_DIR/acks.3" || true)
"$PGMIGRATE" migrate fallback "$ID" --primary "$PRIMARY" --timeout 90s "${HOOKS[@]}" "${SSH[@]}" > "$PGM_TEST_ROOT/back.txt" \
  || { cat "$PGM_TEST_ROOT/back.txt"; fail "migrate fallback"; }
cat "$PGM_TEST_ROOT/back.txt"
[ "$(state_of "$ID" state)" = "fallen-back" ] || fail "the state does not record the fallback"
grep -qx "pre-fence fallback $P2 $P2 $P1" "$HOOKLOG" || { cat "$HOOKLOG"; fail "pre-fence hook environment (fallback)"; }
grep -Eqx "promoted fallback $P1 [0-9]+" "$HOOKLOG" || { cat "$HOOKLOG"; fail "post-hook environment (fallback)"; }
[ "$(pgbouncer_server_port)" = "$P1" ] || fail "the pooler does not lead back to the old primary"
counting_client_progress "the old primary after the fallback"
writers_progress 20 "the old primary after the fallback"
round1_after=$(grep -c '^3,1[0-9]\{6\}$' "$WRITERS_DIR/acks.3" || true)
[ "$round1_after" -gt "$round1_before" ] || fail "writer 3's pooled session made no progress after the fallback"
nothing_lost "$P1" "fallback"
pass "fallback behind the paused pooler (PGM_DIRECTION=fallback): clients waited, nothing lost"

# 5. The end of a fallen-back migration: finish has no window to close and names abort; abort
#    removes the target side and the migration's traces on the source, never the primary.
expect_fail 2 "fell back to its old primary; end it with 'pgmigrate migrate abort $ID" "$PGMIGRATE" migrate finish "$ID" "${SSH[@]}"
"$PGMIGRATE" migrate abort "$ID" --primary "$PRIMARY" "${SSH[@]}" > "$PGM_TEST_ROOT/abort.txt" \
  || { cat "$PGM_TEST_ROOT/abort.txt"; fail "migrate abort after the fallback"; }
cat "$PGM_TEST_ROOT/abort.txt"
! zfs list -H -o name "$DST_POOL/pg" > /dev/null 2>&1 || fail "abort left the target dataset"
! zfs list -H -t snapshot -o name -r "$SRC_POOL/pg" | grep -q "pgmigrate-$ID-" || fail "abort left source snapshots"
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgmigrate_$ID%'")" = "0" ] || fail "abort left a slot"
[ ! -e "$STATE/$ID.json" ] || fail "abort left the state file"
writers_progress 20 "the primary after the abort"
writers_stop
counting_client_stop
nothing_lost "$P1" "the end"
assert_accepts_writes "$P1"
pass "after the fallback, abort removed the target side, slots, holds and snapshots; the primary kept every acknowledged commit"
