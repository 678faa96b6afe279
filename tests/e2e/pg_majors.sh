#!/usr/bin/env bash
# Every Postgres major pgmigrate supports, 12 to 18, with upstream server builds from the npm
# registry (scripts/install-pg-majors; PGMIGRATE_PG_CACHE, default /var/cache/pgmigrate/pg).
# For each major M (both hosts run M; the hosts are this machine over a real sshd):
#   - `pg check` of the primary's layout; `migrate plan` with the target's --pg-bindir of the
#     neighbouring majors M-1 and M+1 is refused in one line (cross-major refusal), and with
#     M's own passes;
#   - `migrate run --switchover --pg-bindir` (which runs `pg standby` on the target and the
#     slot and switchover code of `pg slot` and `pg switchover`) under pgbench and the
#     commit-recording writers, paused before the switchover for `pg slot status`,
#     `pg slot watch`, `pg lag --wait` against the live standby and `pg slot create`/`drop` of
#     a scratch slot, then run again to the end: zero acknowledged commits lost, pgbench
#     balances agree, the old primary refuses writes, the new one is M on timeline 2;
#   - amcheck on the new primary: pg_amcheck (Debian's, 15) --heapallindexed where the server's
#     amcheck has verify_heapam (14 and later); on 12 and 13, whose amcheck has none, every
#     btree index is checked with bt_index_check(index, heapallindexed => true) instead.
# The load is small (pgbench scale 1, 2 clients at 150 tx/s) to keep the matrix within CI's
# budget. PGM_MAJORS="15 16" narrows a local run (CI runs all). pg_majors_pg.sh runs the pg
# commands on every major without ZFS.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg_majors.sh"
CACHE=$PG_MAJORS_CACHE
pg_majors_require

zfs_fixture_start
SRC_POOL=pmjs_$PGM_TEST_ID
DST_POOL=pmjd_$PGM_TEST_ID
make_pool "$SRC_POOL" 2G
make_pool "$DST_POOL" 2G
sshd_fixture_start
on_cleanup "pkill -f '_serve recv --target $DST_POOL/'"
HOST="$SSH_USER@127.0.0.1"
STATE=/var/lib/pgmigrate/migrations

# (Names here avoid `id`: writers_start loops over a global of that name.)
one_major() {
  local m=$1 start=$SECONDS mid="mj$1$PGM_TEST_ID" n run
  PG_BIN=$CACHE/$m/bin
  pg_primary_on_dataset "$SRC_POOL/pg$m"
  [ "$(pg_q "$P1" "SELECT current_setting('server_version_num')::int / 10000")" = "$m" ] || fail "the primary is not Postgres $m"
  pgbench_init "$P1" 1
  acks_table "$P1"
  local portfile="$PGM_TEST_ROOT/writer-port-$m"
  echo "$P1" > "$portfile"
  P2=$(pg_free_port)
  local M=(--source "$SRC_POOL/pg$m" --target "$HOST:$DST_POOL/pg$m" --primary "$PRIMARY" --standby-port "$P2"
    --primary-pgdata "$PRIMARY_DIR" --id "$mid" --rounds 1 --delta-target 1M --max-lag 1M --chunk-size 1M --progress none
    --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE")

  "$PGMIGRATE" pg check --primary "$PRIMARY" --dataset "$SRC_POOL/pg$m" > "$PGM_TEST_ROOT/check.$m" \
    || { cat "$PGM_TEST_ROOT/check.$m"; fail "pg check on Postgres $m"; }
  for n in $((m - 1)) $((m + 1)); do
    [ -x "$CACHE/$n/bin/pg_ctl" ] || continue
    expect_fail 1 "Postgres $m server binaries were not found on $HOST \(looked for $CACHE/$n/bin/pg_ctl\)" \
      "$PGMIGRATE" migrate plan "${M[@]}" --pg-bindir "$CACHE/$n/bin"
    pass "Postgres $m: plan refuses a target with Postgres $n's binaries"
  done
  "$PGMIGRATE" migrate plan "${M[@]}" --pg-bindir "$PG_BIN" > "$PGM_TEST_ROOT/plan.$m" || { cat "$PGM_TEST_ROOT/plan.$m"; fail "plan on Postgres $m"; }

  pgbench_start "$P1"
  writers_start "$portfile"
  "$PGMIGRATE" migrate run "${M[@]}" --pg-bindir "$PG_BIN" --switchover --debug-pause-before switchover 2> "$PGM_TEST_ROOT/run1.$m" &
  run=$!
  for _ in $(seq 1 1800); do grep -q "pausing before switchover" "$PGM_TEST_ROOT/run1.$m" && break; kill -0 "$run" 2>/dev/null || break; sleep 0.1; done
  grep -q "pausing before switchover" "$PGM_TEST_ROOT/run1.$m" || { cat "$PGM_TEST_ROOT/run1.$m"; fail "Postgres $m: the run did not reach the switchover"; }
  "$PGMIGRATE" pg slot status --primary "$PRIMARY" --slot "pgmigrate_$mid" > "$PGM_TEST_ROOT/slot.$m" \
    || { cat "$PGM_TEST_ROOT/slot.$m"; fail "pg slot status on Postgres $m"; }
  "$PGMIGRATE" pg lag --primary "$PRIMARY" --standby "$(pg_conninfo "$P2")" --slot "pgmigrate_$mid" --wait 2M --timeout 60s \
    > "$PGM_TEST_ROOT/lag.$m" || { cat "$PGM_TEST_ROOT/lag.$m"; fail "pg lag on Postgres $m"; }
  "$PGMIGRATE" pg slot watch --primary "$PRIMARY" --slot "pgmigrate_$mid" --wal-limit 1G --interval 500ms --duration 2s \
    > "$PGM_TEST_ROOT/watch.$m" || { cat "$PGM_TEST_ROOT/watch.$m"; fail "pg slot watch on Postgres $m"; }
  "$PGMIGRATE" pg slot create --primary "$PRIMARY" --slot "scratch_$m" > /dev/null || fail "pg slot create on Postgres $m"
  "$PGMIGRATE" pg slot drop --primary "$PRIMARY" --slot "scratch_$m" > /dev/null || fail "pg slot drop on Postgres $m"
  assert_in_recovery "$P2"
  kill -9 "$run"; wait "$run" 2>/dev/null || true

  "$PGMIGRATE" migrate run "${M[@]}" --pg-bindir "$PG_BIN" --switchover --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$portfile'" \
    2> "$PGM_TEST_ROOT/run2.$m" || { cat "$PGM_TEST_ROOT/run2.$m"; fail "Postgres $m: migrate run --switchover"; }
  local new_dir
  new_dir="$(zfs get -H -o value mountpoint "$DST_POOL/pg$m")/data"
  on_cleanup "PG_BIN='$PG_BIN' pg_stop '$new_dir' immediate"
  grep -q "shutdown checkpoint" "$PGM_TEST_ROOT/run2.$m" || { cat "$PGM_TEST_ROOT/run2.$m"; fail "Postgres $m: no clean-stop fence at a shutdown checkpoint"; }
  [ "$(cat "$portfile")" = "$P2" ] || fail "Postgres $m: the post-hook did not get the new endpoint"
  writers_progress 10 "Postgres $m: the new primary"
  writers_stop
  pgbench_stop
  [ "$(pg_q "$P2" "SELECT pg_is_in_recovery()")" = "f" ] || fail "Postgres $m: the new server is still in recovery"
  [ "$(pg_q "$P2" "SELECT current_setting('server_version_num')::int / 10000")" = "$m" ] || fail "the new primary is not Postgres $m"
  [ "$(pg_q "$P2" "SELECT timeline_id FROM pg_control_checkpoint()")" = "2" ] || pg_q "$P2" "CHECKPOINT" >/dev/null
  [ "$(pg_q "$P2" "SELECT timeline_id FROM pg_control_checkpoint()")" = "2" ] || fail "Postgres $m: the new primary is not on timeline 2"
  local acked balances amcheck
  acked=$(writers_check "$P2") || fail "Postgres $m: acknowledged commits lost"
  balances=$(pgbench_check "$P2") || fail "Postgres $m: pgbench balances"
  assert_refuses_writes "$P1"
  amcheck=$(amcheck_clean "$P2" "$m")
  [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['state'])" "$STATE/$mid.json")" = "done" ] \
    || fail "Postgres $m: the migration is not marked done"
  pass "Postgres $m: every pg command and migrate run --switchover under load in $((SECONDS - start)) s: $acked; $balances; $amcheck"

  # The next major gets datasets of its own (the pools hold all of them; zfs-fuse may still
  # call a dataset busy just after its server stopped).
  pg_stop "$new_dir" fast
  pg_stop "$PRIMARY_DIR" immediate
}

for m in "${MAJORS[@]}"; do one_major "$m"; done
pass "Postgres ${MAJORS[*]}: all proven"
