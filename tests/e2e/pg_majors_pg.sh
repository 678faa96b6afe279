#!/usr/bin/env bash
# The `pg` commands on every Postgres major 12 to 18 (upstream builds, scripts/install-pg-majors),
# on plain directories: no ZFS, so it proves the Postgres side of each major on its own, in a few
# seconds per major (pg_majors.sh runs `migrate` on ZFS). For each major M:
#   - a primary under pgbench (scale 1) and the commit-recording writers; `pg slot create` before
#     a clean stop, the stopped data directory copied (in place of a zfs send), the primary
#     started again;
#   - `pg standby --start --pg-bindir` on the copy, `pg lag --wait`, `pg slot status`,
#     `pg slot watch`, then `pg switchover --fence stop --pg-bindir`: the final position is the
#     old primary's shutdown checkpoint, read from its global/pg_control by pgmigrate itself;
#   - zero acknowledged commits lost, pgbench balances agree, the old primary refuses writes,
#     the new primary is M, out of recovery; amcheck clean (fixtures/pg_majors.sh).
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg_majors.sh"
pg_majors_require

# (Names here avoid `id`: writers_start loops over a global of that name.)
pg_commands_on() {
  local m=$1 start=$SECONDS pd sd portfile acked balances amcheck
  PG_BIN=$PG_MAJORS_CACHE/$m/bin
  pd=$PGM_TEST_ROOT/primary$m/data
  sd=$PGM_TEST_ROOT/standby$m/data
  mkdir -p "$PGM_TEST_ROOT/primary$m" "$PGM_TEST_ROOT/standby$m"
  chown postgres "$PGM_TEST_ROOT/primary$m" "$PGM_TEST_ROOT/standby$m"
  P1=$(pg_free_port)
  pg_init_cluster "$pd" "$P1"
  pg_start "$pd"
  PRIMARY=$(pg_conninfo "$P1")
  [ "$(pg_q "$P1" "SELECT current_setting('server_version_num')::int / 10000")" = "$m" ] || fail "the primary is not Postgres $m"
  pgbench_init "$P1" 1
  acks_table "$P1"
  "$PGMIGRATE" pg slot create --primary "$PRIMARY" > /dev/null || fail "pg slot create on Postgres $m"
  pg_stop "$pd" fast
  cp -a "$pd" "$sd"
  pg_start "$pd"
  portfile=$PGM_TEST_ROOT/writer-port-$m
  echo "$P1" > "$portfile"
  pgbench_start "$P1"
  writers_start "$portfile"

  P2=$(pg_free_port)
  STANDBY=$(pg_conninfo "$P2")
  on_cleanup "PG_BIN='$PG_BIN' pg_stop '$sd' immediate"
  "$PGMIGRATE" pg standby --pgdata "$sd" --primary "$PRIMARY" --port "$P2" --standby "$STANDBY" --start --timeout 120s \
    --pg-bindir "$PG_BIN" > "$PGM_TEST_ROOT/standby.$m" 2>&1 || { cat "$PGM_TEST_ROOT/standby.$m"; fail "pg standby on Postgres $m"; }
  "$PGMIGRATE" pg lag --primary "$PRIMARY" --standby "$STANDBY" --wait 2M --timeout 60s > /dev/null || fail "pg lag on Postgres $m"
  "$PGMIGRATE" pg slot status --primary "$PRIMARY" > "$PGM_TEST_ROOT/slot.$m" || fail "pg slot status on Postgres $m"
  grep -q "active *yes" "$PGM_TEST_ROOT/slot.$m" || { cat "$PGM_TEST_ROOT/slot.$m"; fail "Postgres $m: the standby does not stream through the slot"; }
  "$PGMIGRATE" pg slot watch --primary "$PRIMARY" --wal-limit 1G --interval 500ms --duration 2s > /dev/null || fail "pg slot watch on Postgres $m"
  assert_in_recovery "$P2"
  "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$pd" --pg-bindir "$PG_BIN" --max-lag 2M \
    --post-hook "echo \$PGM_NEW_PRIMARY_PORT > '$portfile'" > "$PGM_TEST_ROOT/switchover.$m" 2>&1 \
    || { cat "$PGM_TEST_ROOT/switchover.$m"; fail "pg switchover on Postgres $m"; }
  grep -q "old primary shut down cleanly; final position = shutdown checkpoint" "$PGM_TEST_ROOT/switchover.$m" \
    || { cat "$PGM_TEST_ROOT/switchover.$m"; fail "Postgres $m: no clean-stop fence at a shutdown checkpoint"; }
  [ "$(cat "$portfile")" = "$P2" ] || fail "Postgres $m: the post-hook did not get the new endpoint"
  writers_progress 10 "Postgres $m: the new primary"
  writers_stop
  pgbench_stop
  [ "$(pg_q "$P2" "SELECT pg_is_in_recovery()")" = "f" ] || fail "Postgres $m: the new server is still in recovery"
  [ "$(pg_q "$P2" "SELECT current_setting('server_version_num')::int / 10000")" = "$m" ] || fail "the new primary is not Postgres $m"
  acked=$(writers_check "$P2") || fail "Postgres $m: acknowledged commits lost"
  balances=$(pgbench_check "$P2") || fail "Postgres $m: pgbench balances"
  assert_refuses_writes "$P1"
  amcheck=$(amcheck_clean "$P2" "$m")
  pass "Postgres $m: pg slot, standby, lag and switchover under load in $((SECONDS - start)) s: $acked; $balances; $amcheck"
  pg_stop "$sd" fast
  pg_stop "$pd" immediate
}

for m in "${MAJORS[@]}"; do pg_commands_on "$m"; done
pass "Postgres ${MAJORS[*]}: the pg commands hold on each"
