#!/usr/bin/env bash
# `pgmigrate migrate` end to end: a primary on a zfs-fuse dataset under pgbench load plus
# writers that record every acknowledged commit, moved over a real sshd (through a 6 MB/s
# relay, so the bulk copy takes a while) into another pool and switched over.
#   - plan refuses, in one line each and changing nothing: pg_wal outside the dataset,
#     wal_level=minimal, an existing target, a target pool too small, no Postgres binaries of
#     the primary's major on the target, a target that cannot reach the primary for replication,
#     a --tls-port that cannot be reached from the source host;
#     and otherwise changes nothing;
#   - a partial run then `migrate abort` leaves no slot, hold, snapshot or target dataset;
#   - the real run is SIGKILLed during the bulk send, during the final step and just before the
#     switchover; each `run` again continues; it ends with zero lost acknowledged commits;
#   - the slot's peak retention is far below what a slot held since the bulk copy retained;
#   - abort after the switchover is refused.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/relay.sh"

zfs_fixture_start
SRC_POOL=pgms_$PGM_TEST_ID
DST_POOL=pgmd_$PGM_TEST_ID
make_pool "$SRC_POOL" 1G
make_pool "$DST_POOL" 1G
pg_primary_on_dataset "$SRC_POOL/pg"
pgbench_init "$P1" 5
acks_table "$P1"
# Cold data beside the database (archives, old partitions): most of a real bulk copy, and no
# part of any increment.
mkdir -p "$SRC_MNT/cold" && fill_random "$SRC_MNT/cold" 384
PORTFILE="$PGM_TEST_ROOT/writer-port"
echo "$P1" > "$PORTFILE"

sshd_fixture_start
on_cleanup "pkill -f '_serve recv --target $DST_POOL/'"
start_relay --rate-mbit 48
HOST="$SSH_USER@127.0.0.1"
STATE=/var/lib/pgmigrate/migrations
P2=$(pg_free_port)
# Common options; TARGET and --id differ per migration.
mig() {  # ID TARGET_FS PORT KNOWN_HOSTS [TARGET_POOL]: sets M to the run options
  M=(--source "$SRC_POOL/pg" --target "$HOST:${5:-$DST_POOL}/$2" --primary "$PRIMARY" --standby-port "$P2" --primary-pgdata "$PRIMARY_DIR"
    --id "$1" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M --progress none
    --port "$3" --identity "$SSH_KEY" --known-hosts "$4" --remote-bin "$PGMIGRATE" --reconnect-timeout 60s)
}
state_of() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ''))" "$STATE/$1.json" "$2" 2>/dev/null || true; }

# 1. plan: refusals for layouts and servers it cannot move; a sound layout is only checked.
# scratch_primary NAME "CONF LINES" [INITDB ARGS...]: a small server on dataset $SRC_POOL/NAME;
# plan_scratch CODE PATTERN NAME: `migrate plan` of it fails with CODE and one line matching.
scratch_primary() {
  local name=$1 conf=$2 mnt port
  shift 2
  zfs create "$SRC_POOL/$name"
  mnt=$(zfs get -H -o value mountpoint "$SRC_POOL/$name")
  mkdir -p "$mnt/data" && chown postgres "$mnt" "$mnt/data" && chmod 700 "$mnt/data"
  pg_as "$PG_BIN/initdb" -D "$mnt/data" -A trust -U postgres --no-instructions "$@" >/dev/null
  port=$(pg_free_port)
  printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n%b" "$port" "$PG_SOCK" "$conf" >> "$mnt/data/postgresql.conf"
  on_cleanup "pg_stop '$mnt/data' immediate"
  pg_start "$mnt/data"
  SCRATCH_DATA=$mnt/data
  SCRATCH_PORT=$port
}
plan_scratch() {
  expect_fail "$1" "$2" "$PGMIGRATE" migrate plan --source "$SRC_POOL/$3" --target "$HOST:$DST_POOL/$3" --primary "$(pg_conninfo "$SCRATCH_PORT")" \
    --standby-port "$P2" --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE"
  pg_stop "$SCRATCH_DATA" immediate
}
mkdir -p "$PGM_TEST_ROOT/odd-wal" && chown postgres "$PGM_TEST_ROOT/odd-wal"
scratch_primary odd "" -X "$PGM_TEST_ROOT/odd-wal/pg_wal"
plan_scratch 2 "pg_wal" odd
pass "plan refuses pg_wal outside the dataset"
scratch_primary minimal "wal_level = minimal\nmax_wal_senders = 0\n"
plan_scratch 2 "wal_level is minimal: set wal_level = replica" minimal
pass "plan refuses wal_level=minimal, saying what to set"

mig "pl$PGM_TEST_ID" main "$SSHD_PORT" "$SSH_KNOWN_HOSTS"
"$PGMIGRATE" migrate plan "${M[@]}" > "$PGM_TEST_ROOT/plan.txt" || { cat "$PGM_TEST_ROOT/plan.txt"; fail "plan"; }
grep -q "nothing has been changed" "$PGM_TEST_ROOT/plan.txt" || fail "plan did not say it changed nothing"
# zfs-fuse has no logicalreferenced: the estimate says it scaled by the measured compressratio.
grep -Eq "size: .* logical \(referenced x compressratio [0-9.]+\), .* as stored on the source" "$PGM_TEST_ROOT/plan.txt" ||
  { cat "$PGM_TEST_ROOT/plan.txt"; fail "plan does not say which size its estimates come from"; }
[ -z "$(zfs list -H -t snapshot -o name -r "$SRC_POOL/pg")" ] || fail "plan created a snapshot"
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots")" = "0" ] || fail "plan created a slot"
pass "plan checks and changes nothing"
"$PGMIGRATE" migrate plan "${M[@]}" --tls-port 0 > "$PGM_TEST_ROOT/plan-tls.txt" || { cat "$PGM_TEST_ROOT/plan-tls.txt"; fail "plan --tls-port"; }
CLOSED=$(pg_free_port)
expect_fail 5 "TLS data path does not work from here: .*127.0.0.1:$CLOSED" "$PGMIGRATE" migrate plan "${M[@]}" --tls-port 0 --tls-connect "127.0.0.1:$CLOSED"
pass "plan tries the TLS data path (--tls-port) and refuses one that cannot be reached"
# The OpenZFS pass-through flags: zfs-fuse has none, on either host; plan names the host and the flag.
expect_fail 1 "on this host \(the source\): this zfs cannot 'send -w'.*drop --raw" "$PGMIGRATE" migrate plan "${M[@]}" --raw
expect_fail 1 "on .* \(the target\): this zfs cannot 'receive -u'.*drop -u" "$PGMIGRATE" migrate plan "${M[@]}" -u
expect_fail 1 "on .* \(the target\): this zfs cannot 'receive -o'.*drop --recv-set" \
  "$PGMIGRATE" migrate plan "${M[@]}" --recv-set mountpoint=/srv/pg
pass "plan refuses the OpenZFS flags the source's or the target's zfs lacks, in one line naming the host"

# expect_refusal NAME PATTERN CMD...: CMD exits 1 with one line matching PATTERN.
expect_refusal() {
  local name=$1 pattern=$2 rc
  shift 2
  set +e
  "$@" > /dev/null 2> "$PGM_TEST_ROOT/refusal.log"
  rc=$?
  set -e
  [ "$rc" -eq 1 ] && [ "$(wc -l < "$PGM_TEST_ROOT/refusal.log")" -eq 1 ] && grep -q "$pattern" "$PGM_TEST_ROOT/refusal.log" \
    || { cat "$PGM_TEST_ROOT/refusal.log"; fail "$name: exit $rc"; }
  pass "$name: $(cat "$PGM_TEST_ROOT/refusal.log")"
}
zfs create "$DST_POOL/taken"
mig "tk$PGM_TEST_ID" taken "$SSHD_PORT" "$SSH_KNOWN_HOSTS"
expect_refusal "plan into an existing target" "already exists" "$PGMIGRATE" migrate plan "${M[@]}"
expect_refusal "abort of an unknown migration" "no migration 'nosuch'" \
  "$PGMIGRATE" migrate abort nosuch --primary "$PRIMARY" --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS"
TINY=pgmy_$PGM_TEST_ID
make_pool "$TINY" 64M
mig "sp$PGM_TEST_ID" main "$SSHD_PORT" "$SSH_KNOWN_HOSTS" "$TINY"
expect_fail 7 "the target pool has .* available, the source references" "$PGMIGRATE" migrate plan "${M[@]}"
pass "plan refuses a target pool smaller than the source"
mig "pb$PGM_TEST_ID" main "$SSHD_PORT" "$SSH_KNOWN_HOSTS"
expect_fail 1 "server binaries were not found on $HOST" "$PGMIGRATE" migrate plan "${M[@]}" --pg-bindir /nonexistent/bin
pass "plan refuses a target without the primary's Postgres binaries"
expect_fail 9 "cannot open a replication connection to the primary" \
  "$PGMIGRATE" migrate plan "${M[@]}" --standby-primary "host=127.0.0.1 port=$(pg_free_port) user=postgres"
pass "plan refuses when the target cannot reach the primary for replication"
# The switchover's fence is checked by plan (and by every run's preflight), not days later.
expect_fail 2 "give one way to stop the old primary" "$PGMIGRATE" migrate plan "${M[@]}" --stop-cmd true --start-cmd true
expect_fail 2 "needs --start-cmd too" "$PGMIGRATE" migrate plan "${M[@]/--primary-pgdata/--stop-cmd}"
pass "plan refuses a fence that the switchover could not use"
[ -z "$(zfs list -H -t snapshot -o name -r "$SRC_POOL/pg")" ] && [ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots")" = "0" ] \
  || fail "a refused plan changed something"

# 2. A partial run, killed once the slot exists, then abort.
AB="ab$PGM_TEST_ID"
mig "$AB" partial "$SSHD_PORT" "$SSH_KNOWN_HOSTS"
PROM="$PGM_TEST_ROOT/migrate.prom"
"$PGMIGRATE" migrate run "${M[@]}" --metrics-file "$PROM" --debug-pause-before standby 2> "$PGM_TEST_ROOT/ab.log" &
RUN=$!
for _ in $(seq 1 600); do grep -q "pausing before standby" "$PGM_TEST_ROOT/ab.log" && break; kill -0 "$RUN" 2>/dev/null || break; sleep 0.1; done
grep -q "pausing before standby" "$PGM_TEST_ROOT/ab.log" || { cat "$PGM_TEST_ROOT/ab.log"; fail "the partial run did not get to the standby step"; }
# --metrics-file, read by Prometheus' own parser of the text format while the run waits: the
# bulk and final sends are done (a success time, their bytes) and the slot holds WAL.
WANT=('^pgmigrate_migrate_running\{\} 1\.0$' '^pgmigrate_migrate_slot_retained_wal_bytes\{\} [0-9]'
  '^pgmigrate_migrate_step_start_time_seconds\{step=(final|standby)\} 1[0-9]{9}' '^pgmigrate_last_success_time_seconds\{\} 1[0-9]{9}'
  '^pgmigrate_transfer_read_bytes_total\{side=send\} [1-9]')
metrics_show_all() {
  "$PGM_SOURCE_DIR/tests/fixtures/prom_parse.py" "$PROM" > "$PGM_TEST_ROOT/migrate.parsed" || fail "the migrate metrics file does not parse"
  for want in "${WANT[@]}"; do grep -Eq "$want" "$PGM_TEST_ROOT/migrate.parsed" || return 1; done
}
# The file is rewritten every 2 s: wait (30 s at most) for a write that shows the waiting run.
for _ in $(seq 1 300); do metrics_show_all && break; sleep 0.1; done
metrics_show_all || { cat "$PGM_TEST_ROOT/migrate.parsed"; fail "migrate metrics: not all of ${WANT[*]}"; }
[ "$(grep -c '^pgmigrate_migrate_step{step=[a-z]*} 1\.0$' "$PGM_TEST_ROOT/migrate.parsed")" = 1 ] || fail "migrate metrics: not exactly one current step"
pass "migrate --metrics-file parses and shows the step, its start, the slot's WAL and the sends"
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgmigrate_$AB'")" = "1" ] || fail "no slot after the final step"
# The migration recorded its (no) zfs flags: a later run with others is refused before it does anything.
expect_fail 2 "migration $AB was started with the zfs flags 'none', not '--no-mount': run it again with the same ones" \
  "$PGMIGRATE" migrate run "${M[@]}" -u
pass "a run with other zfs flags than the migration was started with is refused"
"$PGMIGRATE" migrate abort "$AB" --primary "$PRIMARY" --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" \
  --remote-bin "$PGMIGRATE" > "$PGM_TEST_ROOT/abort.txt" || { cat "$PGM_TEST_ROOT/abort.txt"; fail "migrate abort"; }
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots")" = "0" ] || fail "abort left a slot"
[ -z "$(zfs list -H -t snapshot -o name -r "$SRC_POOL/pg")" ] || { zfs list -t snapshot -r "$SRC_POOL/pg"; fail "abort left a snapshot (or a hold kept one)"; }
zfs list "$DST_POOL/partial" >/dev/null 2>&1 && fail "abort left the partial target dataset"
[ ! -e "$STATE/$AB.json" ] || fail "abort left the state file"
pass "abort after a partial run: $(tr '\n' ';' < "$PGM_TEST_ROOT/abort.txt")"

# 3. The real migration, under load, through the slow relay, killed three times.
pgbench_start "$P1"
writers_start "$PORTFILE"
# What a slot created before the bulk copy would have retained (the textbook order).
pg_q "$P1" "SELECT pg_create_physical_replication_slot('counterfactual', true)" >/dev/null
MG="mg$PGM_TEST_ID"
mig "$MG" pg "$RELAY_PORT" "$RELAY_KNOWN_HOSTS"
RUNARGS=("${M[@]}" --switchover --keep-snapshots --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$PORTFILE'")
# The primary's connection string carries a password here (trust ignores it), given the way
# the docs say to (PGMIGRATE_PRIMARY, not argv): it must never show in any process's argv on
# either host (both are this machine), while the runs below go on. A bounded watcher reads
# every /proc/*/cmdline five times a second.
KEPT=()
skip=0
for arg in "${RUNARGS[@]}"; do
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  if [ "$arg" = --primary ]; then skip=1; continue; fi
  KEPT+=("$arg")
done
RUNARGS=("${KEPT[@]}")
CANARY="pgm-canary-$PGM_TEST_ID"
export PGMIGRATE_PRIMARY="$PRIMARY password=$CANARY"
ARGV_HITS="$PGM_TEST_ROOT/argv-hits"
: > "$ARGV_HITS"
( for _ in $(seq 1 6000); do
    [ -e "$PGM_TEST_ROOT/argv-stop" ] && break
    grep -las -- "pgm-canar[y]-$PGM_TEST_ID" /proc/[0-9]*/cmdline >> "$ARGV_HITS" 2>/dev/null || true  # (not its own argv)
    sleep 0.2
  done ) &
WATCHER=$!
on_cleanup "kill $WATCHER"

# 3a. SIGKILL during the bulk send.
"$PGMIGRATE" migrate run "${RUNARGS[@]}" 2> "$PGM_TEST_ROOT/run1.log" &
RUN=$!
wait_far_bytes "$DST_POOL/pg" 16 > /dev/null
[ "$(state_of "$MG" current_step)" = "bulk" ] || { cat "$PGM_TEST_ROOT/run1.log"; fail "not in the bulk step"; }
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
"$PGMIGRATE" migrate status > "$PGM_TEST_ROOT/status1.txt"
grep -q "$MG .*interrupted, step bulk" "$PGM_TEST_ROOT/status1.txt" || { cat "$PGM_TEST_ROOT/status1.txt"; fail "status does not show the interrupted bulk step"; }
pass "killed during the bulk send; status: $(grep "$MG" "$PGM_TEST_ROOT/status1.txt")"

# 3b. Again, SIGKILL once it reaches the final step (slot, checkpoint, snapshot, increment).
"$PGMIGRATE" migrate run "${RUNARGS[@]}" 2> "$PGM_TEST_ROOT/run2.log" &
RUN=$!
for _ in $(seq 1 1200); do [ "$(state_of "$MG" current_step)" = "final" ] && break; kill -0 "$RUN" 2>/dev/null || break; sleep 0.05; done
[ "$(state_of "$MG" current_step)" = "final" ] || { cat "$PGM_TEST_ROOT/run2.log"; fail "the second run did not reach the final step"; }
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
[ "$(state_of "$MG" current_step)" = "final" ] || fail "the kill did not land in the final step"
grep -q "resum" "$PGM_TEST_ROOT/run2.log" || { cat "$PGM_TEST_ROOT/run2.log"; fail "the second run did not resume the bulk send"; }
pass "killed in the final step after resuming the bulk send"

# 3c. Again, SIGKILL just before the switchover.
"$PGMIGRATE" migrate run "${RUNARGS[@]}" --debug-pause-before switchover 2> "$PGM_TEST_ROOT/run3.log" &
RUN=$!
for _ in $(seq 1 1800); do grep -q "pausing before switchover" "$PGM_TEST_ROOT/run3.log" && break; kill -0 "$RUN" 2>/dev/null || break; sleep 0.1; done
grep -q "pausing before switchover" "$PGM_TEST_ROOT/run3.log" || { cat "$PGM_TEST_ROOT/run3.log"; fail "the third run did not reach the switchover"; }
slots=$(pg_q "$P1" "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgmigrate%'")
[ "$slots" = "1" ] || fail "$slots migration slots on the primary (expected exactly one)"
counterfactual=$(pg_q "$P1" "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = 'counterfactual'")
pg_q "$P1" "SELECT pg_drop_replication_slot('counterfactual')" >/dev/null
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
pass "killed just before the switchover (one migration slot on the primary)"

# 3d. Run again: switchover and clean-up.
"$PGMIGRATE" migrate run "${RUNARGS[@]}" 2> "$PGM_TEST_ROOT/run4.log" || { cat "$PGM_TEST_ROOT/run4.log"; fail "the last run failed"; }
sed -n '/report/,$p' "$PGM_TEST_ROOT/run4.log"
touch "$PGM_TEST_ROOT/argv-stop"
wait "$WATCHER" 2>/dev/null || true
if [ -s "$ARGV_HITS" ]; then
  for f in $(sort -u "$ARGV_HITS"); do tr '\0' ' ' < "$f" 2>/dev/null; echo; done
  fail "the primary's password showed in a process's argv"
fi
unset PGMIGRATE_PRIMARY
AUTO="$(state_of "$MG" target_pgdata)/postgresql.auto.conf"
grep -q "$CANARY" "$AUTO" || fail "the standby's primary_conninfo does not carry the password"
[ "$(stat -c '%a %U' "$AUTO")" = "600 postgres" ] || fail "$AUTO is $(stat -c '%a %U' "$AUTO"), expected 600 postgres"
pass "the password never showed in any argv on either host; it is only in $AUTO (0600, postgres)"
[ "$(cat "$PORTFILE")" = "$P2" ] || fail "post-hook did not get the new endpoint"
writers_progress 20 "the new primary"
writers_stop
pgbench_stop
on_cleanup "pg_stop '$(zfs get -H -o value mountpoint "$DST_POOL/pg")/data' immediate"
[ "$(pg_q "$P2" "SELECT pg_is_in_recovery()")" = "f" ] || fail "the new server is still in recovery"
writers_check "$P2" || fail "acknowledged commits lost"
pgbench_check "$P2" || fail "pgbench balances"
assert_refuses_writes "$P1"
[ "$(state_of "$MG" state)" = "done" ] || fail "the migration is not marked done"
for s in base r1 final; do
  assert_same_guid "$SRC_POOL/pg@pgmigrate-$MG-$s" "$DST_POOL/pg@pgmigrate-$MG-$s"
done
# (zfs-fuse cannot list holds; a held snapshot cannot be destroyed.)
zfs destroy "$SRC_POOL/pg@pgmigrate-$MG-base" || fail "a hold was left on the base snapshot"
peak=$(grep -o "peak WAL retained by the slot: .*" "$PGM_TEST_ROOT/run4.log")
peak_bytes=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('peak_retained', 0))" "$STATE/$MG.json")
echo "slot retention: migrate's peak $peak_bytes bytes; a slot held since the bulk copy: $counterfactual bytes"
[ "$peak_bytes" -gt 0 ] || fail "no slot retention was sampled"
[ $((peak_bytes * 2)) -lt "$counterfactual" ] || fail "peak retention $peak_bytes is not far below the counterfactual $counterfactual"
expect_fail 2 "has switched over.*nothing to undo" \
  "$PGMIGRATE" migrate abort "$MG" --primary "$PRIMARY" --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS"
pass "abort after the switchover is refused"
pass "migrate run --switchover, killed three times: zero acknowledged commits lost; $peak (vs $counterfactual bytes with the slot held through the bulk copy)"
