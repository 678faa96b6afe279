#!/usr/bin/env python3
"""Loopback peers for testing and measuring wanrelay: a sink/echo server, a sender, an RTT probe
and a bulk throughput client. Python so the test needs nothing beyond what the host has; the
bulk paths move 1 MiB per syscall with the GIL released, which keeps them well above 1 GB/s.

  server --port-file F --mode sink|echo [--record FILE] [--save-dir D] [--stall S]
      sink: reads each connection to EOF (hashing it unless --no-hash); appends one JSON line per connection to --record
            (bytes, sha256, whether it ended in a reset); saves the bytes to --save-dir/N if set;
            then replies with the byte count so the sender knows everything arrived.
      echo: sends back what it reads.
  send --port P --bytes N [--seed S] [--save FILE]    one connection; prints a JSON line
  rtt --port P [--count N]                             1-byte ping-pong through an echo server
  bulk --port P --conns K --bytes-per-conn N           parallel senders to a sink; prints MB/s
  diff A B                                             prints the offsets where two files differ
Every socket wait has a timeout, so nothing here can hang a test.
"""
import argparse
import hashlib
import json
import os
import random
import socket
import statistics
import sys
import threading
import time

CHUNK = 1 << 20
TIMEOUT = 60.0


def pattern(nbytes, seed):
    """Deterministic incompressible-looking bytes, cheap to make."""
    rng = random.Random(seed)
    block = rng.randbytes(min(nbytes, 4 << 20))
    reps, rest = divmod(nbytes, len(block)) if block else (0, 0)
    # Repeat a 4 MiB random block, varying one word per copy so no two copies are identical.
    out = bytearray()
    for i in range(reps):
        b = bytearray(block)
        b[0:8] = i.to_bytes(8, "little")
        out += b
    out += block[:rest]
    return bytes(out)


# ----------------------------------------------------------------------------------------------
# server

def serve_conn(conn, idx, args, lock):
    conn.settimeout(TIMEOUT)
    if args.stall:
        time.sleep(args.stall)  # lets the relay's queue fill: the bounded-memory test
    if args.mode == "echo":
        try:
            while True:
                data = conn.recv(CHUNK)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        conn.close()
        return
    h = hashlib.sha256()
    total = 0
    reset = False
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    saved = open(os.path.join(args.save_dir, str(idx)), "wb") if args.save_dir else None
    try:
        while True:
            n = conn.recv_into(view)
            if n == 0:
                break
            if not args.no_hash:
                h.update(view[:n])
            if saved:
                saved.write(view[:n])
            total += n
    except ConnectionResetError:
        reset = True
    except OSError as e:
        reset = True
        print(f"peer server: connection {idx}: {e}", file=sys.stderr)
    if saved:
        saved.close()
    if not reset:
        try:
            conn.sendall(f"{total}\n".encode())
        except OSError:
            pass
    conn.close()
    if args.record:
        with lock:
            with open(args.record, "a") as f:
                f.write(json.dumps({"conn": idx, "bytes": total, "sha256": h.hexdigest(),
                                    "reset": reset}) + "\n")


def cmd_server(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{ls.getsockname()[1]}\n")
    os.rename(tmp, args.port_file)
    ls.settimeout(1.0)
    lock = threading.Lock()
    deadline = time.monotonic() + args.max_seconds
    idx = 0
    while time.monotonic() < deadline:  # bounded: the test kills it, or it times out itself
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        idx += 1
        threading.Thread(target=serve_conn, args=(conn, idx, args, lock), daemon=True).start()


# ----------------------------------------------------------------------------------------------
# clients

def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def send_and_confirm(port, data):
    """Sends data, half-closes, waits for the sink's byte count. Returns (sent, confirmed, error)."""
    s = connect(port)
    view = memoryview(data)
    sent = 0
    err = None
    try:
        while sent < len(data):
            sent += s.send(view[sent:sent + CHUNK])
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while not reply.endswith(b"\n"):
            part = s.recv(64)
            if not part:
                break
            reply += part
        confirmed = int(reply) if reply.strip() else None
    except OSError as e:
        err = type(e).__name__
        confirmed = None
    s.close()
    return sent, confirmed, err


def cmd_send(args):
    data = pattern(args.bytes, args.seed)
    if args.save:
        with open(args.save, "wb") as f:
            f.write(data)
    t0 = time.monotonic()
    sent, confirmed, err = send_and_confirm(args.port, data)
    dt = time.monotonic() - t0
    print(json.dumps({"sent": sent, "confirmed": confirmed, "error": err,
                      "sha256": hashlib.sha256(data).hexdigest(), "seconds": round(dt, 4)}))


def cmd_rtt(args):
    s = connect(args.port)
    samples = []
    for _ in range(args.count):
        t0 = time.monotonic()
        s.sendall(b"x")
        if s.recv(1) != b"x":
            sys.exit("rtt: echo server closed the connection")
        samples.append((time.monotonic() - t0) * 1000)
    s.close()
    print(json.dumps({"median_ms": round(statistics.median(samples), 3),
                      "min_ms": round(min(samples), 3), "max_ms": round(max(samples), 3)}))


def cmd_bulk(args):
    data = pattern(CHUNK * 4, 7)
    results = [None] * args.conns

    def run(i):
        s = connect(args.port)
        view = memoryview(data)
        left = args.bytes_per_conn
        while left > 0:
            n = s.send(view[: min(left, len(data))])
            left -= n
        s.shutdown(socket.SHUT_WR)
        reply = s.recv(64)
        s.close()
        results[i] = int(reply) if reply.strip() else -1

    t0 = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(args.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    total = sum(r for r in results if r and r > 0)
    ok = all(r == args.bytes_per_conn for r in results)
    print(json.dumps({"conns": args.conns, "bytes": total, "seconds": round(dt, 3),
                      "MBps": round(total / dt / 1e6, 1), "complete": ok}))


def cmd_diff(args):
    with open(args.a, "rb") as f:
        a = f.read()
    with open(args.b, "rb") as f:
        b = f.read()
    diffs = [i for i in range(min(len(a), len(b))) if a[i] != b[i]][:100]
    print(json.dumps({"len_a": len(a), "len_b": len(b), "offsets": diffs,
                      "xor": [a[i] ^ b[i] for i in diffs]}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--port-file", required=True)
    s.add_argument("--mode", choices=["sink", "echo"], default="sink")
    s.add_argument("--record")
    s.add_argument("--save-dir")
    s.add_argument("--stall", type=float, default=0)
    s.add_argument("--no-hash", action="store_true", help="count only (for throughput runs)")
    s.add_argument("--max-seconds", type=float, default=600)
    s = sub.add_parser("send")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--save")
    s = sub.add_parser("rtt")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--count", type=int, default=20)
    s = sub.add_parser("bulk")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--conns", type=int, default=1)
    s.add_argument("--bytes-per-conn", type=int, required=True)
    s = sub.add_parser("diff")
    s.add_argument("a")
    s.add_argument("b")
    args = p.parse_args()
    {"server": cmd_server, "send": cmd_send, "rtt": cmd_rtt, "bulk": cmd_bulk,
     "diff": cmd_diff}[args.cmd](args)


if __name__ == "__main__":
    main()
