#!/usr/bin/env bash
# The command line as a user types it (issue #19, item 5): repeatable options take one value per
# occurrence (the documented `recv --identity KEY SOURCE TARGET` works), -v/-q work after the
# command, ssh and zfs habits get a hint, names and connection strings are refused before any
# connection (a listener records every connection it gets), `migrate plan` refuses a bad fence,
# no message names an internal option, and --log-file keeps what stderr showed (the far half
# keeps its own beside its journals).
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"

zfs_fixture_start
sshd_fixture_start
S=pgmt_clisrc_$PGM_TEST_ID
D=pgmt_clidst_$PGM_TEST_ID
for pool in "$S" "$D"; do make_pool "$pool" 256M; done
zfs create "$S/fs"
SRC=$(zfs get -H -o value mountpoint "$S/fs")
fill_random "$SRC" 4
zfs snapshot "$S/fs@s1"
SSH=(--port "$SSHD_PORT" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE")

# A TCP listener that records each connection: "refused before any connection" is observed.
ACCEPTED=$PGM_TEST_ROOT/accepted
: > "$ACCEPTED"
python3 - "$ACCEPTED" > "$PGM_TEST_ROOT/listen.port" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    with open(sys.argv[1], "a") as f:
        f.write("accepted\n")
    c.close()
PY
listener=$!
on_cleanup "kill $listener"
for _ in $(seq 1 50); do [ -s "$PGM_TEST_ROOT/listen.port" ] && break; sleep 0.1; done
LPORT=$(cat "$PGM_TEST_ROOT/listen.port")
[ -n "$LPORT" ] || fail "the listener did not start"
LISTENER="host=127.0.0.1 port=$LPORT user=postgres dbname=postgres connect_timeout=2"

# usage_error NAME PATTERN CMD...: exit 2, one line matching PATTERN, no CLI11-internal words,
# and no connection reached the listener.
usage_error() {
  local name=$1 pattern=$2
  shift 2
  echo "$name"
  expect_fail 2 "$pattern" "$@"
  if grep -Eq "source_and|At Most|At Least|required but received|were not expected" "$PGM_TEST_ROOT/err.log"; then
    fail "$name: an internal name or CLI11's wording reached the user"
  fi
  [ ! -s "$ACCEPTED" ] || fail "$name: connected before refusing"
  pass "$name"
}

# 1. One value per occurrence: the documented pull, key first.
"$PGMIGRATE" recv --identity "$SSH_KEY" "${SSH[@]}" "$SSH_USER@127.0.0.1:$S/fs@s1" "$D/pulled" -q
assert_same_tree "$SRC" "$(zfs get -H -o value mountpoint "$D/pulled")"
pass "recv --identity KEY SOURCE TARGET"
"$PGMIGRATE" send --identity "$SSH_KEY" --identity "$SSH_KEY" -o "ConnectTimeout=20" "${SSH[@]}" "$S/fs@s1" "$SSH_USER@127.0.0.1:$D/pushed" -q
assert_same_guid "$S/fs@s1" "$D/pushed@s1"
pass "send with --identity and -o twice, then the positionals"

# 2. -v and -q after the command.
"$PGMIGRATE" send -v "$S/fs@s1" - 2> "$PGM_TEST_ROOT/send-v.err" | "$PGMIGRATE" recv - "$D/piped" -q 2> "$PGM_TEST_ROOT/recv-q.err"
grep -q "^info: sending .*$S/fs@s1" "$PGM_TEST_ROOT/send-v.err" || fail "send -v did not log at info: $(cat "$PGM_TEST_ROOT/send-v.err")"
[ ! -s "$PGM_TEST_ROOT/recv-q.err" ] || fail "recv -q printed: $(cat "$PGM_TEST_ROOT/recv-q.err")"
pass "send -v, recv -q"

# 3. Word counts in words; habits get a hint.
usage_error "three words" "send takes a snapshot and a destination; got 3 words: $S/fs@s1 x $SSH_USER@127.0.0.1:$D/x" \
  "$PGMIGRATE" send "$S/fs@s1" x "$SSH_USER@127.0.0.1:$D/x"
usage_error "one word" "recv takes a source and a target; got 1 word" "$PGMIGRATE" recv "$SSH_USER@127.0.0.1:$S/fs@s1"
usage_error "-p PORT" "got 3 words.*hint: the SSH port is --port" "$PGMIGRATE" send -p 2222 "$S/fs@s1" "127.0.0.1:$D/x"
usage_error "-J HOST" "send: unknown option -J.*-o ProxyJump=HOST" "$PGMIGRATE" send -J bastion "$S/fs@s1" "127.0.0.1:$D/x"
usage_error "-F FILE" "got 3 words.*--ssh-config FILE" "$PGMIGRATE" send -F "$SSHD_DIR/sshd_config" "$S/fs@s1" "127.0.0.1:$D/x"
usage_error "-i KEY" "recv: -i: '$SSH_KEY' is not a snapshot or bookmark: .*an SSH key is --identity KEY" \
  "$PGMIGRATE" recv -i "$SSH_KEY" "127.0.0.1:$S/fs@s1" "$D/x"
usage_error "unknown flag" "send: unknown option --frobnicate" "$PGMIGRATE" send --frobnicate "$S/fs@s1" -
usage_error "no subcommand" "pg: name a command: slot, check" "$PGMIGRATE" pg

# 4. Names and connection strings, before any connection (the listener would see one).
usage_error "dataset name" "pg check: --dataset: invalid dataset name 'tank/pg;x'" \
  "$PGMIGRATE" pg check --primary "$LISTENER" --dataset 'tank/pg;x'
usage_error "slot name" "pg slot status: --slot: slot name 'Bad-Slot'" "$PGMIGRATE" pg slot status --primary "$LISTENER" --slot Bad-Slot
usage_error "garbage conninfo" "pg slot status: --primary: not a valid connection string: missing \"=\" after \"garbage\"" \
  "$PGMIGRATE" pg slot status --primary garbage
usage_error "garbage after a good conninfo" "pg lag: --primary: not a valid connection string" \
  "$PGMIGRATE" pg lag --primary "$LISTENER oops" --standby "$LISTENER"
usage_error "garbage conninfo from the environment" "migrate plan: --primary: not a valid connection string" \
  env PGMIGRATE_PRIMARY=garbage "$PGMIGRATE" migrate plan --source "$S/fs" --target "127.0.0.1:$D/x" --standby-port 5499
usage_error "bad name in send" "invalid dataset name" "$PGMIGRATE" send --primary "$LISTENER" "$S/fs@s1" "127.0.0.1:$D/x;y"

# 5. migrate plan refuses what run would refuse later, before connecting.
PLAN=(migrate plan --source "$S/fs" --target "127.0.0.1:$D/x" --primary "$LISTENER" --standby-port 5499 "${SSH[@]}")
usage_error "plan --fence read-only" "read-only setting is not a fence" "$PGMIGRATE" "${PLAN[@]}" --fence read-only
usage_error "plan --fence typo" "unknown --fence 'stpo'" "$PGMIGRATE" "${PLAN[@]}" --fence stpo
usage_error "plan --catchup-timeout" "catchup-timeout" "$PGMIGRATE" "${PLAN[@]}" --catchup-timeout soon

# 6. The state directory is stated where a user looks.
"$PGMIGRATE" migrate status --help | tr -s ' \n' ' ' > "$PGM_TEST_ROOT/status-help.txt"
grep -q "/var/lib/pgmigrate" "$PGM_TEST_ROOT/status-help.txt" && grep -q "~/.local/state/pgmigrate" "$PGM_TEST_ROOT/status-help.txt" ||
  fail "migrate status --help does not say where state lives for root and for others"
pass "migrate status --help names both state directories"

# 7. --log-file: the same lines as stderr, timestamped; an error line too; bounded.
# The far half runs as this user through the test sshd: its state directory is ours.
FAR_STATE=${PGMIGRATE_STATE_DIR:-/var/lib/pgmigrate}
LOG=$PGM_TEST_ROOT/logs/pgmigrate.log
mkdir -p "$(dirname "$LOG")"
"$PGMIGRATE" send --log-file "$LOG" -v "$S/fs@s1" "${SSH[@]}" --identity "$SSH_KEY" "$SSH_USER@127.0.0.1:$D/logged" 2> "$PGM_TEST_ROOT/logged.err"
while IFS= read -r line; do
  grep -qF "] $line" "$LOG" || fail "stderr line missing from the log file: $line"
done < <(tr '\r' '\n' < "$PGM_TEST_ROOT/logged.err" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -v '^ *$' | grep -v '%')
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \[[0-9]+\] pgmigrate: sent ' "$LOG" || fail "no timestamped summary in the log: $(cat "$LOG")"
expect_fail 2 "three|got 3 words" "$PGMIGRATE" send --log-file "$LOG" "$S/fs@s1" a b
grep -q "pgmigrate: send takes a snapshot and a destination; got 3 words" "$LOG" || fail "the error line is not in the log file"
pass "--log-file keeps stderr's lines"
# The far half's refusal (a full stream onto an existing dataset) is in its own log on that host.
zfs snapshot "$S/fs@s2"
set +e
"$PGMIGRATE" send "${SSH[@]}" --identity "$SSH_KEY" "$S/fs@s2" "$SSH_USER@127.0.0.1:$D/pushed" 2> "$PGM_TEST_ROOT/exists.err"
rc=$?
set -e
[ $rc -ne 0 ] || fail "a full send onto an existing dataset was accepted"
grep -F "$D/pushed" "$FAR_STATE/far-half.log" | grep -q "pgmigrate: " ||
  fail "the far half kept no log of its refusal in $FAR_STATE/far-half.log: $(cat "$PGM_TEST_ROOT/exists.err")"
pass "the far half logs to $FAR_STATE/far-half.log"
for _ in $(seq 1 80); do "$PGMIGRATE" send --log-file "$LOG" --log-file-size 4K --log-file-keep 2 -v "$S/fs@s1" a b 2>/dev/null || true; done
for f in "$LOG" "$LOG.1" "$LOG.2"; do
  [ -s "$f" ] || fail "$f missing after rotation"
  [ "$(stat -c %s "$f")" -le 4096 ] || fail "$f is over --log-file-size"
done
[ ! -e "$LOG.3" ] || fail "more files kept than --log-file-keep"
pass "--log-file-size / --log-file-keep bound the log"
expect_fail 2 "log-file-size must be at least 4K" "$PGMIGRATE" send --log-file "$LOG" --log-file-size 10 "$S/fs@s1" -
expect_fail 1 "cannot open log file $PGM_TEST_ROOT/nodir/x.log" "$PGMIGRATE" send --log-file "$PGM_TEST_ROOT/nodir/x.log" "$S/fs@s1" -
pass "--log-file refusals"
