#!/usr/bin/env bash
# Faults during real transfers over a real sshd, through a relay that cuts connections: the
# transfer must finish with the source's guid and identical contents, and say how many bytes
# it sent again. Cuts (push and pull), sshd session processes killed mid-transfer, a chunk
# corrupted after its checksum was taken, and a byte flipped on the wire.
source "$PGM_SOURCE_DIR/tests/fixtures/zfs.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/sshd.sh"
source "$PGM_SOURCE_DIR/tests/fixtures/relay.sh"

zfs_fixture_start
S=pgmt_rsrc_$PGM_TEST_ID
D=pgmt_rdst_$PGM_TEST_ID
make_pool "$S" 512M
make_pool "$D" 1536M
zfs create "$S/fs"
SRC=$(zfs get -H -o value mountpoint "$S/fs")
fill_random "$SRC" 120
python3 -c "
with open('$SRC/text.txt', 'w') as f:
    for i in range(600000): f.write('row %d of a table that compresses %d\n' % (i, i % 977))
"
zfs snapshot "$S/fs@s1"
sshd_fixture_start

HOST="$SSH_USER@127.0.0.1"
check() {  # dataset on $D
  assert_same_guid "$S/fs@s1" "$D/$1@s1"
  assert_same_tree "$SRC" "$(zfs get -H -o value mountpoint "$D/$1")"
}
resent_line() { grep -E "reconnect\(s\)" "$1" | sed "s/^pgmigrate: //" || echo "(no reconnects reported)"; }

# 1. Push through a relay that resets a connection after every 40 MB, three times.
start_relay --cut-every-bytes 40000000 --max-cuts 3
"$PGMIGRATE" send --streams 4 --chunk-size 1M --port "$RELAY_PORT" --identity "$SSH_KEY" --known-hosts "$RELAY_KNOWN_HOSTS" \
  --remote-bin "$PGMIGRATE" --progress none "$S/fs@s1" "$HOST:$D/push" 2> "$PGM_TEST_ROOT/push.log" \
  || { cat "$PGM_TEST_ROOT/push.log"; fail "push through cutting relay"; }
stop_relay
grep -q '"cuts": *3' "$RELAY_STATS" || { cat "$RELAY_STATS"; fail "the relay did not cut 3 times"; }
# The cuts reached the data connections: the summary counts at least one dropped. (A dropped
# lane need not reconnect: the others may finish while it waits for the far verdict.)
assert_drops "$PGM_TEST_ROOT/push.log" "push: no dropped data connection reported"
check push
pass "push survived 3 cut connections: $(resent_line "$PGM_TEST_ROOT/push.log")"

# 2. Pull, with the cuts on the data direction (server to client).
start_relay --cut-every-bytes 40000000 --max-cuts 3 --fault-dir s2c
"$PGMIGRATE" recv --streams 4 --chunk-size 1M --port "$RELAY_PORT" --identity "$SSH_KEY" --known-hosts "$RELAY_KNOWN_HOSTS" \
  --remote-bin "$PGMIGRATE" --progress none "$HOST:$S/fs@s1" "$D/pull" 2> "$PGM_TEST_ROOT/pull.log" \
  || { cat "$PGM_TEST_ROOT/pull.log"; fail "pull through cutting relay"; }
stop_relay
grep -q '"cuts": *3' "$RELAY_STATS" || { cat "$RELAY_STATS"; fail "the relay did not cut 3 times"; }
assert_drops "$PGM_TEST_ROOT/pull.log" "pull: no dropped data connection reported"
check pull
pass "pull survived 3 cut connections: $(resent_line "$PGM_TEST_ROOT/pull.log")"

# 3. Kill the sshd session processes of two data connections in the middle of a push
#    (slowed by a relay, 20 ms and 60 Mbit/s a lane, so that there is a middle; the kill
#    waits until the far half has taken 20 MiB).
start_relay --delay-ms 20 --rate-mbit 60
"$PGMIGRATE" send --streams 4 --chunk-size 1M --port "$RELAY_PORT" --identity "$SSH_KEY" --known-hosts "$RELAY_KNOWN_HOSTS" \
  --remote-bin "$PGMIGRATE" --progress none "$S/fs@s1" "$HOST:$D/killed" 2> "$PGM_TEST_ROOT/killed.log" &
SENDER=$!
killed=0
for _ in $(seq 1 100); do
  lanes=$(pgrep -f "$PGMIGRATE _lane" || true)
  if [ "$(echo "$lanes" | grep -c .)" -ge 2 ]; then
    wait_far_bytes "$D/killed" 20 > /dev/null
    for pid in $(pgrep -f "$PGMIGRATE _lane" | head -2); do
      parent=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) || continue
      kill -9 "$parent" 2>/dev/null && killed=$((killed + 1))
    done
    break
  fi
  sleep 0.1
done
wait "$SENDER" || { cat "$PGM_TEST_ROOT/killed.log"; fail "push after killed sshd sessions"; }
stop_relay
[ "$killed" -ge 1 ] || fail "no sshd session was killed (transfer too fast?)"
check killed
pass "push survived $killed killed sshd sessions: $(resent_line "$PGM_TEST_ROOT/killed.log")"

# 4. A chunk corrupted after its checksum was taken: refused, asked for again, never written.
"$PGMIGRATE" send --streams 2 --chunk-size 1M --port "$SSHD_PORT" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS" \
  --remote-bin "$PGMIGRATE" --progress none --inject-corrupt-chunk 7 "$S/fs@s1" "$HOST:$D/corrupt" 2> "$PGM_TEST_ROOT/corrupt.log" \
  || { cat "$PGM_TEST_ROOT/corrupt.log"; fail "push with a corrupted chunk"; }
grep -q "refused chunk 7" "$PGM_TEST_ROOT/corrupt.log" || { cat "$PGM_TEST_ROOT/corrupt.log"; fail "corrupt chunk not refused"; }
check corrupt
pass "corrupted chunk refused and sent again: $(resent_line "$PGM_TEST_ROOT/corrupt.log")"

# 5. A byte flipped on the wire: SSH's MAC catches it and drops the connection; the lane
#    reconnects and the chunk goes again.
start_relay --flip-byte-at 20000000
"$PGMIGRATE" send --streams 4 --chunk-size 1M --port "$RELAY_PORT" --identity "$SSH_KEY" --known-hosts "$RELAY_KNOWN_HOSTS" \
  --remote-bin "$PGMIGRATE" --progress none "$S/fs@s1" "$HOST:$D/flip" 2> "$PGM_TEST_ROOT/flip.log" \
  || { cat "$PGM_TEST_ROOT/flip.log"; fail "push through a byte-flipping relay"; }
stop_relay
grep -q '"flips": *1' "$RELAY_STATS" || { cat "$RELAY_STATS"; fail "the relay did not flip a byte"; }
check flip
pass "flipped byte on the wire survived: $(resent_line "$PGM_TEST_ROOT/flip.log")"

assert_gone "$PGMIGRATE _(serve|lane)" "far halves left running"
pass "no far halves left running"
