#!/usr/bin/env bash
# Self-test of tests/tools/fake-openzfs, the FAKE OpenZFS `zfs` (not ZFS) that tests use for
# the resumable-receive path: usage text, deterministic streams, full and incremental
# receive, truncated and corrupted streams with and without -s, resume with send -t,
# receive -A, a receiver killed with SIGKILL mid-stream, and the refusals. About 10 s; bounded.
#   usage: fake_openzfs_test.sh
set -euo pipefail
fake="$(cd "$(dirname "$0")" && pwd)/fake-openzfs"
[[ -x $fake ]] || { echo "FAIL: $fake is missing or not executable"; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export FAKE_ZFS_ROOT=$work/root
deadline=$((SECONDS + 20))

failures=0
check() {  # check DESCRIPTION COMMAND...: PASS when the command succeeds
  local what=$1
  shift
  if "$@"; then echo "PASS: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
# zfs ARGS...: runs the fake with stdin from $in (default /dev/null); its stdout goes to
# $work/out, its stderr to $work/err, its exit status to $rc.
in=/dev/null
zfs() { "$fake" "$@" <"$in" >"$work/out" 2>"$work/err" && rc=0 || rc=$?; in=/dev/null; }
from() { in=$1; }  # from FILE: the next `zfs` reads FILE
rc_is() { [[ $rc -eq $1 ]]; }
err_has() { grep -qF -- "$1" "$work/err"; }
err_lacks() { ! grep -qF -- "$1" "$work/err"; }
failed_with() { [[ $rc -eq $1 ]] && err_has "$2"; }  # failed_with STATUS TEXT
val() { "$fake" get -Hp -o value "$1" "$2"; }
exists() { "$fake" list -H -o name -t all "$1" >/dev/null 2>&1; }
missing() { ! exists "$1"; }
is_copy() { [[ $(val guid "$1") == "$2" ]] && "$fake" fake-cat "$1" | cmp -s - "$3"; }  # SNAP GUID FILE
token_offset() {  # the offset inside a token (the test knows the fake's token format)
  python3 -c 'import json, sys; print(json.loads(bytes.fromhex(sys.argv[1].split("-")[3]))["offset"])' "$1"
}
between() { (($1 >= $2 && $1 <= $3)); }  # between N LOW HIGH
nl=$'\n'

# --- usage text (pgmigrate reads capabilities from it) and the labels
zfs send
check "send without arguments exits 2" rc_is 2
check "send usage has the OpenZFS send line" err_has $'\tsend [-DLPbcehnpsvw] [-i|-I snapshot] <snapshot>'
check "send usage has the send -t line" err_has $'\tsend [-PVenv] -t <receive_resume_token>'
check "send usage says (fake-openzfs)" err_has "(fake-openzfs)"
zfs receive
check "receive without arguments exits 2" rc_is 2
check "receive usage has the receive line" err_has $'\treceive [-FhMnsuv] [-o <property>=<value>] [-x <property>] <filesystem|volume|snapshot>'
check "receive usage has the receive -A line" err_has $'\treceive -A <filesystem|volume>'
check "receive usage says (fake-openzfs)" err_has "(fake-openzfs)"
zfs recv
check "recv prints the receive usage too" failed_with 2 $'\treceive -A <filesystem|volume>'
check "the script says it is fake" grep -q "FAKE OpenZFS for tests: not ZFS" "$fake"
zfs frobnicate x
check "anything else: 'fake-openzfs: unsupported', exit 2" failed_with 2 "fake-openzfs: unsupported: frobnicate x"
FAKE_ZFS_ROOT='' zfs list -H -o name -t all x
check "FAKE_ZFS_ROOT unset is an error" failed_with 2 "FAKE_ZFS_ROOT is not set"

# --- datasets and snapshots
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$work/d1"
head -c $((1024 * 1024)) /dev/urandom >"$work/d2"
head -c $((1024 * 1024 + 7)) /dev/urandom >"$work/d3"
zfs create dst/x
check "create without -p needs the parent" failed_with 1 "cannot create 'dst/x': parent does not exist"
"$fake" create -p src/fs
"$fake" create dst
"$fake" fake-write src/fs "$work/d1"
"$fake" snapshot src/fs@s1
"$fake" fake-write src/fs "$work/d2"
"$fake" snapshot src/fs@s2
"$fake" fake-write src/fs "$work/d3"
"$fake" snapshot src/fs@s3
zfs list -H -o name -t all src/fs@s1
check "list prints an existing snapshot" [ "$(cat "$work/out")" = src/fs@s1 ]
zfs list -H -o name -t all dst/none
check "list of a missing dataset: 'does not exist', exit 1" failed_with 1 "cannot open 'dst/none': dataset does not exist"
zfs get -Hp -o value guid dst/none
check "get on a missing dataset: 'does not exist', exit 1" failed_with 1 "cannot open 'dst/none': dataset does not exist"
check "referenced is the data size" [ "$(val referenced src/fs@s1)" = "$(stat -c %s "$work/d1")" ]
g1=$(val guid src/fs@s1)
g2=$(val guid src/fs@s2)
g3=$(val guid src/fs@s3)
check "a snapshot keeps its bytes" is_copy src/fs@s1 "$g1" "$work/d1"
check "no resume token on a plain dataset" [ "$(val receive_resume_token src/fs)" = - ]

# --- deterministic streams
"$fake" send src/fs@s1 >"$work/st1"
"$fake" send -p src/fs@s1 >"$work/st1b"
check "send is deterministic (full)" cmp -s "$work/st1" "$work/st1b"
"$fake" send -i @s1 src/fs@s2 >"$work/i12"
"$fake" send -i src/fs@s1 src/fs@s2 >"$work/i12b"
check "send is deterministic (incremental; @snap and ds@snap base)" cmp -s "$work/i12" "$work/i12b"
"$fake" send -i @s2 src/fs@s3 >"$work/i23"
"$fake" send src/fs@s1 2>"$work/err" | head -c 1000 >/dev/null && rc=0 || rc=${PIPESTATUS[0]}
check "send into a closed pipe exits 1 with a message" failed_with 1 "Broken pipe"
size=$(stat -c %s "$work/st1")

# --- full receive
from "$work/st1"; zfs receive -u dst/full
check "full receive succeeds" rc_is 0
check "full receive keeps the source's guid and bytes" is_copy dst/full@s1 "$g1" "$work/d1"
from "$work/st1"; zfs receive dst/full
check "full receive into an existing dataset needs -F" \
  failed_with 1 "cannot receive new filesystem stream: destination 'dst/full' exists${nl}must specify -F to overwrite it"

# --- incremental: wrong base refused, right base accepted
from "$work/i23"; zfs receive dst/full
check "incremental with the wrong base is refused" \
  failed_with 1 "cannot receive incremental stream: most recent snapshot of dst/full does not${nl}match incremental source"
check "... and leaves no snapshot" missing dst/full@s3
from "$work/i12"; zfs receive -s dst/full
check "incremental with the right base succeeds" rc_is 0
check "incremental keeps guid and bytes" is_copy dst/full@s2 "$g2" "$work/d2"

# --- truncated with -s, then resumed with send -t
head -c $((size / 2)) "$work/st1" >"$work/half"
from "$work/half"; zfs receive -s dst/r
check "truncated stream with -s: exit 1, partial state saved" failed_with 1 \
  "cannot receive new filesystem stream: checksum mismatch or incomplete stream.${nl}Partially received snapshot is saved.${nl}A resuming stream can be generated on the sending system by running:${nl}    zfs send -t 1-"
tok=$(val receive_resume_token dst/r)
check "a resume token is set" [ "$tok" != - ]
check "the message names that token" err_has "    zfs send -t $tok"
off=$(token_offset "$tok")
check "token offset is inside what was received ($off of $size bytes)" between "$off" 1 $((size - 1))
"$fake" send -t "$tok" >"$work/resume1"
"$fake" send -t "$tok" >"$work/resume1b"
check "resume stream is deterministic" cmp -s "$work/resume1" "$work/resume1b"
check "resume stream is shorter than the full one" [ "$(stat -c %s "$work/resume1")" -lt "$size" ]
from "$work/st1"; zfs receive -s dst/r
check "a new full stream into partial state is refused" failed_with 1 \
  'cannot receive new filesystem stream: destination dst/r contains partially-complete state from "zfs receive -s".'
from "$work/st1"; zfs receive -F -s dst/r
check "... also with -F" failed_with 1 "partially-complete state"
from "$work/resume1"; zfs receive -s dst/r
check "send -t | receive -s completes" rc_is 0
check "the resumed receive keeps guid and bytes" is_copy dst/r@s1 "$g1" "$work/d1"
check "the token is gone after completion" [ "$(val receive_resume_token dst/r)" = - ]
zfs send -t "1-0000000000000000-4-00"
check "corrupt token: 'cannot resume send', exit 1" failed_with 1 "cannot resume send: resume token is corrupt"

# --- truncated incremental with -s, receive -A, then resumed
head -c $(($(stat -c %s "$work/i23") / 3)) "$work/i23" >"$work/i23part"
from "$work/i23part"; zfs receive -s dst/full
check "truncated incremental with -s saves state" failed_with 1 \
  "cannot receive incremental stream: checksum mismatch or incomplete stream.${nl}Partially received snapshot is saved."
check "... while the dataset keeps its snapshots" is_copy dst/full@s2 "$g2" "$work/d2"
zfs receive -A dst/full
check "receive -A on an incremental succeeds" rc_is 0
check "... clears the token" [ "$(val receive_resume_token dst/full)" = - ]
check "... and keeps the dataset" exists dst/full@s2
from "$work/i23part"; zfs receive -s dst/full
"$fake" send -t "$(val receive_resume_token dst/full)" | "$fake" receive -s dst/full && rc=0 || rc=$?
check "a resumed incremental completes" rc_is 0
check "... with the source's guid and bytes" is_copy dst/full@s3 "$g3" "$work/d3"

# --- truncated, empty or junk input without -s leaves nothing
from "$work/half"; zfs receive dst/n
check "truncated stream without -s: exit 1, 'incomplete stream'" failed_with 1 \
  "cannot receive new filesystem stream: checksum mismatch or incomplete stream."
check "... no 'partially received' message" err_lacks "Partially received"
check "... and no dataset" missing dst/n
: >"$work/empty"
from "$work/empty"; zfs receive -s dst/e
check "empty input: 'failed to read from stream'" failed_with 1 "cannot receive: failed to read from stream"
head -c 100000 /dev/urandom >"$work/junk"
from "$work/junk"; zfs receive -s dst/e
check "junk input: 'bad magic number'" failed_with 1 "cannot receive: invalid stream (bad magic number)"
check "... and no dataset" missing dst/e

# --- a flipped byte: only verified records are kept, the resume completes
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) * 2 // 3] ^= 0x40; sys.stdout.buffer.write(b)' \
  "$work/st1" >"$work/flipped"
from "$work/flipped"; zfs receive -s dst/f
check "corrupted stream with -s: exit 1, state kept" failed_with 1 "checksum mismatch or incomplete stream.${nl}Partially received"
"$fake" send -t "$(val receive_resume_token dst/f)" | "$fake" receive -s dst/f && rc=0 || rc=$?
check "the resume after corruption gives the exact bytes" is_copy dst/f@s1 "$g1" "$work/d1"

# --- receive -A on a new dataset
from "$work/half"; zfs receive -s dst/a
zfs receive -A dst/a
check "receive -A succeeds" rc_is 0
check "... and removes the partially received new dataset" missing dst/a
"$fake" create dst/a
zfs receive -A dst/a
check "receive -A without state: exit 1" failed_with 1 "cannot resume: 'dst/a' does not have any resumable receive state"

# --- receiver killed with SIGKILL mid-stream
mkfifo "$work/fifo"
"$fake" receive -s dst/k <"$work/fifo" 2>/dev/null &
rpid=$!
pids+=("$rpid")
python3 - "$work/st1" "$work/fifo" <<'EOF' &
import sys, time
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb", buffering=0) as f:
    pos, limit = 0, len(data) // 2
    while pos < limit:  # half the stream, slowly
        f.write(data[pos:min(pos + 65536, limit)])
        pos += 65536
        time.sleep(0.01)
    time.sleep(15)  # then hold the stream open: the receiver is killed meanwhile
EOF
fpid=$!
pids+=("$fpid")
koff=0
# Its own allowance from here: on a loaded machine the checks above may use most of the budget.
wait_until=$((SECONDS + 30))
while ((SECONDS < wait_until)); do
  ktok=$(val receive_resume_token dst/k 2>/dev/null || echo -)
  if [[ $ktok != - ]]; then
    koff=$(token_offset "$ktok")
    ((koff >= 1024 * 1024)) && break
  fi
  sleep 0.1
done
check "a live receive -s persists its progress (offset $koff)" [ "$koff" -ge $((1024 * 1024)) ]
kill -9 "$rpid" 2>/dev/null || true
wait "$rpid" 2>/dev/null || true
kill "$fpid" 2>/dev/null || true
wait "$fpid" 2>/dev/null || true
ktok=$(val receive_resume_token dst/k)
koff=$(token_offset "$ktok")
check "after SIGKILL a token is left (offset $koff of $size)" between "$koff" $((1024 * 1024)) $((size / 2))
from "$work/st1"; zfs receive -s dst/k
check "after SIGKILL a new full stream is refused" failed_with 1 "partially-complete state"
"$fake" send -t "$ktok" | "$fake" receive -s dst/k && rc=0 || rc=$?
check "after SIGKILL the resume completes" rc_is 0
check "... with the source's guid and bytes" is_copy dst/k@s1 "$g1" "$work/d1"

# --- stale token, destroy
"$fake" destroy src/fs@s1
zfs send -t "$ktok"
check "stale token: 'cannot resume send', exit 1" failed_with 1 "cannot resume send: 'src/fs@s1' used in the initial send no longer exists"
zfs destroy dst/full
check "destroying a dataset with snapshots needs -r" failed_with 1 "use '-r' to destroy the following datasets:"
zfs destroy -r dst
check "destroy -r" rc_is 0
check "... removes descendants" missing dst/full

((SECONDS <= deadline)) || echo "NOTE: took $SECONDS s (budget 20 s): is the machine loaded?"
if ((failures)); then
  echo "$failures check(s) FAILED"
  exit 1
fi
echo "all checks passed"
