#!/usr/bin/env bash
# Bad inputs must give one clear line, a non-zero exit, never a password, and leave the primary
# writable and the standby unpromoted: wrong conninfo, a standby that does not stream, a missing
# slot (switchover, status, and pg lag at once rather than after its timeout), a standby of
# another cluster, a read-only "fence", a malformed --primary-cluster, a client session that will
# not end within --stop-timeout, and a layout with pg_wal outside the dataset (pg check).
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/pg.sh"

pg_migration_setup
pass "standby streams"

# expect_refusal NAME PATTERN CMD...: CMD fails with one line matching PATTERN on stderr; its exit
# code is left in refusal_rc.
expect_refusal() {
  local name=$1 pattern=$2 rc
  shift 2
  set +e
  "$@" > "$PGM_TEST_ROOT/out.txt" 2> "$PGM_TEST_ROOT/err.txt"
  rc=$?
  set -e
  refusal_rc=$rc
  cat "$PGM_TEST_ROOT/err.txt"
  [ $rc -ne 0 ] || fail "$name: accepted"
  grep -q "^pgmigrate: " "$PGM_TEST_ROOT/err.txt" || fail "$name: no error line"
  [ "$(grep -c "^pgmigrate: " "$PGM_TEST_ROOT/err.txt")" -eq 1 ] || fail "$name: more than one error line"
  grep -Eq "$pattern" "$PGM_TEST_ROOT/err.txt" || fail "$name: message does not match '$pattern'"
  if grep -q "s3cr3t" "$PGM_TEST_ROOT/out.txt" "$PGM_TEST_ROOT/err.txt"; then fail "$name: the password was printed"; fi
  assert_accepts_writes "$P1"
  assert_in_recovery "$P2"
  pass "$name (exit $rc)"
}

expect_refusal "wrong primary port" "cannot connect to the primary" \
  "$PGMIGRATE" pg switchover --primary "host=127.0.0.1 port=1 user=postgres password=s3cr3t" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR"
expect_refusal "wrong standby conninfo (URI with password)" "cannot connect to the standby" \
  "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "postgresql://postgres:s3cr3t@127.0.0.1:1/postgres" --primary-pgdata "$PRIMARY_DIR"
expect_refusal "unknown role with password" "cannot connect to the primary" \
  "$PGMIGRATE" pg slot status --primary "host=127.0.0.1 port=$P1 user=nobody_here password=s3cr3t dbname=postgres"
expect_refusal "missing slot" "there is no replication slot 'nosuch'" \
  "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --slot nosuch --primary-pgdata "$PRIMARY_DIR"
expect_refusal "missing slot (status)" "there is no replication slot 'nosuch'" \
  "$PGMIGRATE" pg slot status --primary "$PRIMARY" --slot nosuch
# A slot that does not exist never streams: pg lag says so at once, not after its --timeout.
START=$SECONDS
expect_refusal "pg lag --wait on a missing slot" "there is no replication slot 'nosuch'.*pg slot create --slot nosuch" \
  "$PGMIGRATE" pg lag --primary "$PRIMARY" --standby "$STANDBY" --slot nosuch --wait 1M --timeout 10m
[ $((SECONDS - START)) -lt 15 ] || fail "pg lag --wait took $((SECONDS - START)) s to say the slot is missing"
expect_refusal "pg lag on a missing slot" "there is no replication slot 'nosuch'" \
  "$PGMIGRATE" pg lag --primary "$PRIMARY" --standby "$STANDBY" --slot nosuch
expect_refusal "a primary given as standby (lag)" "is not in recovery" \
  "$PGMIGRATE" pg lag --primary "$PRIMARY" --standby "$PRIMARY"
expect_refusal "read-only is not a fence" "read-only setting is not a fence" \
  "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --fence read-only
expect_refusal "standby given as primary" "is itself a standby" \
  "$PGMIGRATE" pg switchover --primary "$STANDBY" --standby "$STANDBY" --fence connections
expect_refusal "stop fence without a way to stop" "needs exactly one of --primary-pgdata" \
  "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY"
# The switchover names this setting in words (migrate has no such flag); pg switchover words it
# as its own flag.
expect_refusal "a Debian cluster that is not on this host" "primary-cluster 15/nosuch is not a Debian cluster on this host" \
  "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-cluster 15/nosuch
# A --primary-cluster that is not VERSION/NAME at all is a usage error (exit 2), refused before
# any connection.
for bad in 15 15/ ../x 15/../x; do
  expect_refusal "--primary-cluster $bad" "^pgmigrate: --primary-cluster: '$bad' is not a cluster VERSION/NAME such as 15/main" \
    "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-cluster "$bad"
  [ "$refusal_rc" -eq 2 ] || fail "--primary-cluster $bad: exit $refusal_rc, not 2"
done

# A client session that will not end: its backend stopped (SIGSTOP) cannot act on
# pg_terminate_backend, so the connections fence runs out of --stop-timeout and rolls back. Its
# pg_sleep bounds the session; SIGCONT at cleanup lets it take the pending termination.
PGAPPNAME=pgm_stuck psql "$PRIMARY" -XAtq -c "SELECT pg_sleep(120)" > /dev/null 2>&1 &
STUCK_PSQL=$!
on_cleanup "kill $STUCK_PSQL"
# Waited for by what Postgres shows (its backend running the query), up to 60 s on a busy host.
stuck=""
deadline=$((SECONDS + 60))
while [ -z "$stuck" ] && [ $SECONDS -lt $deadline ]; do
  stuck=$(pg_q "$P1" "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgm_stuck' AND state = 'active'")
  [ -n "$stuck" ] || sleep 0.2
done
[ -n "$stuck" ] || fail "the stuck session did not start within 60 s"
kill -STOP "$stuck"
on_cleanup "kill -CONT $stuck"
# The fence must meet a stopped backend: its state in /proc says so before the switchover starts.
[ "$(sed 's/.*) //' "/proc/$stuck/stat" | cut -d' ' -f1)" = "T" ] || fail "the stuck session's backend $stuck is not stopped"
START=$SECONDS
expect_refusal "a client session that outlives --stop-timeout" \
  "rolled back.*[0-9]+ client session\(s\) on the old primary would not terminate within --stop-timeout \(2\.000s\)" \
  timeout -k 5 120 "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --fence connections --stop-timeout 2s --timeout 60s
# Still stopped when the switchover gave up: the refusal above was about this session.
[ "$(sed 's/.*) //' "/proc/$stuck/stat" | cut -d' ' -f1)" = "T" ] || fail "the stuck backend resumed during the switchover"
kill -CONT "$stuck"
[ "$refusal_rc" -eq 8 ] || fail "stop-timeout: exit $refusal_rc, not 8 (timeout)"
[ $((SECONDS - START)) -lt 60 ] || fail "stop-timeout: took $((SECONDS - START)) s"
grep -q "result: rolled back" "$PGM_TEST_ROOT/out.txt" || { cat "$PGM_TEST_ROOT/out.txt"; fail "stop-timeout: no rollback reported"; }
[ "$(pg_q "$P1" "SELECT count(*) FROM pg_database WHERE NOT datallowconn AND datname <> 'template0'")" = "0" ] \
  || fail "stop-timeout: connections were not re-allowed on every database"
wait "$STUCK_PSQL" 2>/dev/null || true  # the pending termination ends it
pass "the fence's --stop-timeout ran out on a session that would not end: rolled back, connections allowed again"

# A standby that lags: its WAL receiver frozen while the primary writes 2 MiB or more.
rpid=$(pg_q "$P2" "SELECT pid FROM pg_stat_wal_receiver")
kill -STOP "$rpid"
on_cleanup "kill -CONT $rpid"
pg_q "$P1" "CREATE TABLE lag_filler AS SELECT repeat('x', 1000) AS pad FROM generate_series(1, 3000)" >/dev/null
expect_refusal "lag over --max-lag" "behind \(--max-lag" \
  "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR" --max-lag 1M
kill -CONT "$rpid"

# A second, unrelated cluster on the source pool, with pg_wal outside any dataset.
zfs create "$SRC_POOL/other"
OTHER_MNT=$(zfs get -H -o value mountpoint "$SRC_POOL/other")
chown postgres "$OTHER_MNT"
mkdir -p "$PGM_TEST_ROOT/other-wal" && chown postgres "$PGM_TEST_ROOT/other-wal"
P3=$(pg_free_port)
mkdir -p "$OTHER_MNT/data" && chown postgres "$OTHER_MNT/data" && chmod 700 "$OTHER_MNT/data"
runuser -u postgres -- "$PG_BIN/initdb" -D "$OTHER_MNT/data" -X "$PGM_TEST_ROOT/other-wal/pg_wal" -A trust -U postgres --no-instructions >/dev/null
cat >> "$OTHER_MNT/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $P3
unix_socket_directories = '$PG_SOCK'
CONF
on_cleanup "pg_stop '$OTHER_MNT/data' immediate"
pg_start "$OTHER_MNT/data"
OTHER=$(pg_conninfo "$P3")

expect_refusal "standby of another cluster" "different cluster \(system identifier" \
  "$PGMIGRATE" pg switchover --primary "$OTHER" --standby "$STANDBY" --fence connections
pg_q "$P3" "CREATE TABLE t (x int); INSERT INTO t VALUES (1)" >/dev/null || fail "the other primary is not writable after the refusal"

expect_refusal "pg_wal outside the dataset" "pg_wal .* is not on any mounted ZFS dataset" \
  "$PGMIGRATE" pg check --primary "$OTHER" --dataset "$SRC_POOL/other"
expect_refusal "data directory on another dataset" "is on dataset $SRC_POOL/pg, not on the one" \
  "$PGMIGRATE" pg check --primary "$PRIMARY" --dataset "$SRC_POOL/other"

# A standby that does not stream: point its WAL receiver at a port where nothing listens.
pg_q "$P2" "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=postgres'" >/dev/null
pg_q "$P2" "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 100); do [ "$(pg_q "$P2" "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")" = "0" ] && break; sleep 0.1; done
expect_refusal "standby not streaming" "standby is not streaming" \
  "$PGMIGRATE" pg switchover --primary "$PRIMARY" --standby "$STANDBY" --primary-pgdata "$PRIMARY_DIR"
pg_q "$P2" "ALTER SYSTEM SET primary_conninfo = '$PRIMARY'" >/dev/null
pg_q "$P2" "SELECT pg_reload_conf()" >/dev/null
"$PGMIGRATE" -q pg lag --primary "$PRIMARY" --standby "$STANDBY" --wait 2M --timeout 60s || fail "standby does not stream again"

writers_stop
pgbench_stop
writers_check "$P1" || fail "acknowledged commits lost on the untouched primary"
pass "all refusals left the primary writable and the standby unpromoted"
