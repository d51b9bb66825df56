#!/usr/bin/env python3
"""Flood and memory figures for `honeytoken serve` (issue 13), not a test.

    python3 infra/bench/flood.py [--requests 100000] [--sources 100000]

Runs the release binary (build it first: cargo build --release --bin honeytoken
--no-default-features --features cli) on a fresh data directory each time and
prints a Markdown table:

* one token flooded by one source: database size with the default flood rule
  (first 20 per token, source and 15-minute bucket whole, the rest counted) and
  with every hit stored whole (--flood-whole 0), for comparison;
* one token flooded from 1,000 rotating sources (127.1.x.y);
* peak RSS (VmHWM) of serve after one request from each of N distinct sources
  (127.x.y.z on loopback), every one a new immediate alert.

Every request's answer is checked (401); the stored requests are counted back
with `honeytoken hits` (whole hits count 1, a counter its count).
"""
import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HT = os.path.join(os.path.dirname(__file__), "..", "..", "target", "release", "honeytoken")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def ht(data, *args):
    return subprocess.run([HT, "--data-dir", data, *args], check=True, capture_output=True, text=True).stdout


class Serve:
    def __init__(self, data, *extra):
        self.port = free_port()
        self.log = open(os.path.join(data, "..", os.path.basename(data) + ".log"), "w")
        self.p = subprocess.Popen(
            [HT, "--data-dir", data, "serve", "--addr", f"127.0.0.1:{self.port}", "--min-latency", "0ms", *extra],
            stderr=self.log,
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port)).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("serve did not start")

    def hwm_kib(self):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def rss_kib(self):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=120)
        self.log.close()


async def client(port, src, token, n, stats, path_of=lambda i: "/v1/charges"):
    """n keep-alive requests on one connection from address src."""
    r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0))
    for i in range(n):
        w.write(
            f"GET {path_of(i)} HTTP/1.1\r\nHost: api\r\nUser-Agent: flood/{i % 3}\r\nX-API-Key: {token}\r\n\r\n".encode()
        )
        head = await r.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await r.readexactly(length)
        stats[status] = stats.get(status, 0) + 1
    w.close()


async def run_clients(jobs, concurrency):
    sem = asyncio.Semaphore(concurrency)

    async def one(j):
        async with sem:
            await j

    await asyncio.gather(*(one(j) for j in jobs))


def counted(data):
    hits = json.loads(ht(data, "hits", "--format", "json", "--limit", "100000000"))
    return len(hits), sum(h.get("count", 1) for h in hits)


def db_bytes(data):
    return sum(
        os.path.getsize(os.path.join(data, f))
        for f in os.listdir(data)
        if f.startswith("honeytoken.db")
    )


def fresh(root, name):
    d = os.path.join(root, name)
    os.mkdir(d, 0o700)
    token = json.loads(ht(d, "mint", "--kind", "key", "--label", "flood", "--format", "json"))["token"]
    return d, token


def flood(root, name, requests, sources, extra):
    d, token = fresh(root, name)
    s = Serve(d, *extra)
    stats = {}
    t = time.time()
    per = requests // sources
    conns_per_source = 8 if sources == 1 else 1
    jobs = []
    for k in range(sources):
        src = "127.0.0.1" if sources == 1 else f"127.1.{k // 250}.{k % 250 + 1}"
        for _ in range(conns_per_source):
            jobs.append(client(s.port, src, token, per // conns_per_source, stats, lambda i: f"/v1/p{i % 50}"))
    asyncio.run(run_clients(jobs, 64))
    took = time.time() - t
    s.stop()  # a clean stop checkpoints the WAL into the database file
    records, reqs = counted(d)
    return dict(name=name, answered=stats, secs=took, records=records, requests=reqs, bytes=db_bytes(d))


def memory(root, sources):
    d, token = fresh(root, "memory")
    s = Serve(d)
    rest = s.rss_kib()
    stats = {}
    t = time.time()
    jobs = [
        client(s.port, f"127.{2 + k // 62500}.{(k // 250) % 250}.{k % 250 + 1}", token, 1, stats)
        for k in range(sources)
    ]
    asyncio.run(run_clients(jobs, 64))
    took = time.time() - t
    time.sleep(1)
    hwm, rss = s.hwm_kib(), s.rss_kib()
    s.stop()
    records, reqs = counted(d)
    return dict(answered=stats, secs=took, rest=rest, hwm=hwm, rss=rss, records=records, requests=reqs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--sources", type=int, default=100_000)
    a = ap.parse_args()
    if not os.access(HT, os.X_OK):
        sys.exit("build first: cargo build --release --bin honeytoken --no-default-features --features cli")
    with tempfile.TemporaryDirectory() as root:
        rows = [
            flood(root, "one-source", a.requests, 1, []),
            flood(root, "one-source-every-hit-whole", a.requests, 1, ["--flood-whole", "0"]),
            flood(root, "1000-rotating-sources", a.requests, 1000, []),
        ]
        print(f"| flood ({a.requests:,} requests, one token) | answered | seconds | records | requests kept | database |")
        print("|---|---|---:|---:|---:|---:|")
        for r in rows:
            ans = ", ".join(f"{k.decode()}: {v:,}" for k, v in sorted(r["answered"].items()))
            print(
                f"| {r['name']} | {ans} | {r['secs']:.1f} | {r['records']:,} | {r['requests']:,} | {r['bytes'] / 1e6:.2f} MB |"
            )
        m = memory(root, a.sources)
        ans = ", ".join(f"{k.decode()}: {v:,}" for k, v in sorted(m["answered"].items()))
        print()
        print(
            f"memory: {a.sources:,} distinct sources, one request each ({ans}) in {m['secs']:.1f} s: "
            f"RSS at rest {m['rest'] / 1024:.1f} MiB, peak (VmHWM) {m['hwm'] / 1024:.1f} MiB, "
            f"after {m['rss'] / 1024:.1f} MiB; {m['requests']:,} requests kept in {m['records']:,} records"
        )


if __name__ == "__main__":
    main()
