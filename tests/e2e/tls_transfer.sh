#!/usr/bin/env bash
# The optional TLS data path (--tls-port) between real zfs-fuse pools: the control connection
# through a real sshd on loopback, the data on direct TLS connections keyed over it. Push
# through an emulated link (wanrelay) that cuts the TLS connections, pull direct, full and
# incremental; then the refusals: a far port already taken, a TLS port nobody answers on,
# and option mistakes.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
RELAY_BIN="$PGM_BUILD_DIR/tests/tools/wanrelay"

zfs_fixture_start
S=pgmt_tsrc_$PGM_TEST_ID
D=pgmt_tdst_$PGM_TEST_ID
make_pool "$S" 512M
make_pool "$D" 1024M
zfs create "$S/fs"
SRC=$(zfs get -H -o value mountpoint "$S/fs")
fill_random "$SRC" 40
seq 1 2000000 > "$SRC/numbers.txt"
zfs snapshot "$S/fs@s1"
fill_random "$SRC" 6
zfs snapshot "$S/fs@s2"
sshd_fixture_start
HOST="$SSH_USER@127.0.0.1"
SSHOPTS=(--port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" --remote-bin "$PGMIGRATE" --progress none)

# transfer_ok NAME ARGS...: pgmigrate ARGS succeeds; its stderr is kept in NAME.log.
transfer_ok() {
  local name=$1
  shift
  "$PGMIGRATE" "$@" 2> "$PGM_TEST_ROOT/$name.log" || { cat "$PGM_TEST_ROOT/$name.log"; fail "$name: pgmigrate $*"; }
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A relay in front of the far half's TLS port, cutting a connection every 8 MB three times:
# the lanes reconnect (new TLS handshakes with the same key) and resend what was in flight.
TLS_PORT=$(free_port)
"$RELAY_BIN" --listen 127.0.0.1:0 --target "127.0.0.1:$TLS_PORT" --delay-ms 2 --port-file "$PGM_TEST_ROOT/tls_relay.port" \
  --stats-file "$PGM_TEST_ROOT/tls_relay.json" --cut-every-bytes 8000000 --max-cuts 3 --max-seconds 600 &
RELAY_PID=$!
on_cleanup "kill $RELAY_PID"
for _ in $(seq 1 100); do [ -s "$PGM_TEST_ROOT/tls_relay.port" ] && break; sleep 0.05; done
RELAY_PORT=$(cat "$PGM_TEST_ROOT/tls_relay.port")

transfer_ok push send --streams 4 "${SSHOPTS[@]}" --tls-port "$TLS_PORT" --tls-connect "127.0.0.1:$RELAY_PORT" "$S/fs@s1" "$HOST:$D/push"
cat "$PGM_TEST_ROOT/push.log"
assert_same_guid "$S/fs@s1" "$D/push@s1"
# The cuts reached the TLS lanes: the summary counts dropped data connections. (A dropped lane
# need not reconnect: the others may finish the transfer while it waits for the far verdict.)
assert_drops "$PGM_TEST_ROOT/push.log" "the relay's cuts did not reach the TLS lanes"
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
# The data went through the TLS relay, not through sshd: it carried at least the compressed stream.
c2s=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytes_client_to_server'])" "$PGM_TEST_ROOT/tls_relay.json")
[ "$c2s" -gt $((30 << 20)) ] || fail "only $c2s bytes went over the TLS port"
pass "push over TLS lanes through a link that cuts them: resent, verified ($c2s bytes on the TLS port)"

# A flood on the TLS port during a transfer: idle connections that hold every handshake slot
# (reopened as the far half drops them) and connections that send garbage, for 15 s and at most
# 3000 connections. Lanes the far half turns away are retried, not fatal; the transfer finishes.
FLOOD_PORT=$(free_port)
python3 - "$FLOOD_PORT" > "$PGM_TEST_ROOT/flood.out" 2>&1 <<'PY' &
import os, socket, sys, time
port, end, made, idle = int(sys.argv[1]), time.time() + 15, 0, []
while time.time() < end and made < 3000:
    idle = [s for s in idle if s.fileno() >= 0]
    try:
        while len(idle) < 24:
            s = socket.create_connection(("127.0.0.1", port), timeout=1); made += 1
            s.setblocking(False); idle.append(s)
        g = socket.create_connection(("127.0.0.1", port), timeout=1); made += 1
        g.sendall(os.urandom(512)); g.close()
    except OSError:
        time.sleep(0.05)  # not listening yet, or the far half closed one
    for s in list(idle):  # a connection the far half closed reads as EOF: reopen it
        try:
            if s.recv(1) == b"": s.close(); idle.remove(s)
        except BlockingIOError: pass
        except OSError: s.close(); idle.remove(s)
    time.sleep(0.02)
print("connections", made)
PY
FLOOD_PID=$!
on_cleanup "kill $FLOOD_PID"
transfer_ok flood send --streams 4 "${SSHOPTS[@]}" --tls-port "$FLOOD_PORT" "$S/fs@s1" "$HOST:$D/flood"
wait "$FLOOD_PID" || true
assert_same_guid "$S/fs@s1" "$D/flood@s1"
# Connections succeed only while the port listens, i.e. during the transfer.
made=$(awk '/^connections/ {print $2}' "$PGM_TEST_ROOT/flood.out")
[ "${made:-0}" -ge 24 ] || { cat "$PGM_TEST_ROOT/flood.out"; fail "the flood did not reach the port during the transfer"; }
pass "push over TLS while idle and garbage connections flood the port: finished, verified ($(cat "$PGM_TEST_ROOT/flood.out"))"

# A stranger on another address (127.0.0.2; the SSH client is 127.0.0.1) reaching the TLS port
# while a push runs: each of its connections is closed before any handshake (without the
# filter the far half would wait up to 10 s for its ClientHello). Bounded: 60 s, 5 connections.
STRANGE_PORT=$(free_port)
python3 - "$STRANGE_PORT" > "$PGM_TEST_ROOT/stranger.out" 2>&1 <<'PY' &
import socket, sys, time
port, end, closed, held = int(sys.argv[1]), time.time() + 60, 0, 0
while time.time() < end and closed + held < 5:
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close(); time.sleep(0.02); continue  # not listening yet
    try:
        closed += s.recv(1) == b""
    except socket.timeout:
        held += 1
    except OSError:
        closed += 1
    s.close()
print("closed", closed, "held", held)
PY
STRANGER_PID=$!
on_cleanup "kill $STRANGER_PID"
transfer_ok stranger send --streams 2 "${SSHOPTS[@]}" --tls-port "$STRANGE_PORT" "$S/fs@s1" "$HOST:$D/stranger"
wait "$STRANGER_PID" || true
assert_same_guid "$S/fs@s1" "$D/stranger@s1"
grep -q "^closed 5 held 0$" "$PGM_TEST_ROOT/stranger.out" || { cat "$PGM_TEST_ROOT/stranger.out"; fail "connections from another address were not all refused while the port listened"; }
pass "TLS connections from another address than the SSH client's are closed before a handshake; the push finished ($(cat "$PGM_TEST_ROOT/stranger.out"))"

zfs set atime=off "$D/push"
transfer_ok pushi -v send "${SSHOPTS[@]}" --tls-port 0 -i @s1 "$S/fs@s2" "$HOST:$D/push"
grep -q "data connections over TLS to 127.0.0.1:" "$PGM_TEST_ROOT/pushi.log" || { cat "$PGM_TEST_ROOT/pushi.log"; fail "pushi: lanes not over TLS"; }
assert_same_guid "$S/fs@s2" "$D/push@s2"
assert_same_tree "$SRC" "$(zfs get -H -o value mountpoint "$D/push")"
pass "incremental push over TLS lanes on a port the far half picks (--tls-port 0)"

transfer_ok pull -v recv --streams 3 "${SSHOPTS[@]}" --tls-port 0 "$HOST:$S/fs@s1" "$D/pull"
grep -q "3 data connections over TLS to 127.0.0.1:" "$PGM_TEST_ROOT/pull.log" || { cat "$PGM_TEST_ROOT/pull.log"; fail "pull: lanes not over TLS"; }
assert_same_guid "$S/fs@s1" "$D/pull@s1"
zfs set atime=off "$D/pull"
transfer_ok pulli recv "${SSHOPTS[@]}" --tls-port 0 -i @s1 "$HOST:$S/fs@s2" "$D/pull"
assert_same_guid "$S/fs@s2" "$D/pull@s2"
assert_same_tree "$SRC" "$(zfs get -H -o value mountpoint "$D/pull")"
pass "pull over TLS lanes, full and incremental"


# The far port is taken: the far half says so, and nothing is received.
TAKEN=$(free_port)
python3 -c "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)" "$TAKEN" &
HOLDER=$!
on_cleanup "kill $HOLDER"
for _ in $(seq 1 100); do ss -Hltn "sport = :$TAKEN" | grep -q . && break; sleep 0.05; done
ss -Hltn "sport = :$TAKEN" | grep -q . || fail "the port holder did not start"
expect_fail 5 "cannot listen for TLS data connections on 127.0.0.1:$TAKEN: Address already in use" \
  "$PGMIGRATE" send "${SSHOPTS[@]}" --tls-port "$TAKEN" "$S/fs@s1" "$HOST:$D/nope"
pass "a far TLS port in use is refused in one line"

# Nobody answers where the lanes dial (a firewall): fail at once rather than retry for
# --reconnect-timeout (10 minutes by default), and name the port.
CLOSED=$(free_port)
expect_fail 5 "127.0.0.1:$CLOSED.*reachable.*--tls-port" \
  "$PGMIGRATE" send "${SSHOPTS[@]}" --tls-port 0 --tls-connect "127.0.0.1:$CLOSED" "$S/fs@s1" "$HOST:$D/nope"
expect_fail 5 "127.0.0.1:$CLOSED.*reachable" \
  "$PGMIGRATE" recv "${SSHOPTS[@]}" --tls-port 0 --tls-connect "127.0.0.1:$CLOSED" "$HOST:$S/fs@s1" "$D/nope"
pass "an unreachable TLS port fails at once, naming it"

expect_fail 2 "needs --tls-port" "$PGMIGRATE" send "${SSHOPTS[@]}" --tls-connect 127.0.0.1:1 "$S/fs@s1" "$HOST:$D/nope"
expect_fail 2 "expected HOST:PORT" "$PGMIGRATE" send "${SSHOPTS[@]}" --tls-port 0 --tls-connect nohostport "$S/fs@s1" "$HOST:$D/nope"
expect_fail 2 "tls-port" "$PGMIGRATE" send "${SSHOPTS[@]}" --tls-port 70000 "$S/fs@s1" "$HOST:$D/nope"
pass "option mistakes refused before anything runs"

zfs list -H -o name -r "$D" | grep -q nope && fail "a failed transfer left a dataset behind"
assert_gone "$PGMIGRATE _(serve|lane)" "remote halves left running"
pass "no remote processes or datasets left behind"
