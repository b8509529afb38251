#!/usr/bin/env python3
"""Mixed load against a running `pneumoscan serve` (bench/load/soak.sh starts it).

   soak.py --url URL --pid PID --seconds N --xrays DIR [--dicom-port P --dicoms DIR [--dicom-clients K]]

Kinds of traffic, each in its own threads, all counted by outcome:
  good      real X-rays POSTed one after another by 3 clients; anything but 200 is a failure
  health    GET /api/v1/health every second; anything but 200 is a failure
  bad       damaged uploads (truncated JPEG, text, random bytes, empty): 4xx expected, 5xx/drop = failure
  oversized declared and chunked bodies over --max-body-mb: 413 expected
  slow      10 clients sending a request's headers one byte a second (the server drops them)
  idle      10 connections opened and left silent (reopened when the server closes them)
  dicom     K clients (default 3), each a C-STORE of a DICOM file with storescu every 5 s, so
            associations overlap (success = exit code 0; anything else is a failure)
The server's RSS is sampled every 5 s. Prints one summary (requests, outcomes by
kind, p50/p99 latency, RSS over time) and exits 1 when a good or health request
or DICOM store failed or RSS grew 5 % or more after warm-up (the first fifth of the run).
Standard library only; a bench tool, not part of the product.
"""
import argparse
import http.client
import os
import random
import select
import socket
import subprocess
import threading
import time
import urllib.parse
from collections import Counter, defaultdict

lock = threading.Lock()
outcomes = defaultdict(Counter)  # kind -> outcome -> count
latencies = defaultdict(list)  # kind -> seconds
stop = threading.Event()


def record(kind, outcome, seconds=None):
    with lock:
        outcomes[kind][outcome] += 1
        if seconds is not None:
            latencies[kind].append(seconds)


def request(host, port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def timed(kind, host, port, method, path, body=None, headers=None, good=(200,)):
    start = time.monotonic()
    try:
        status = request(host, port, method, path, body, headers)
        outcome = str(status) if status in good else "unexpected %d" % status
    except Exception as e:  # a dropped or refused connection
        outcome = "error " + type(e).__name__
    record(kind, outcome, time.monotonic() - start)


def good_client(host, port, xrays):
    rng = random.Random()
    while not stop.is_set():
        path = rng.choice(xrays)
        with open(path, "rb") as f:
            body = f.read()
        timed("good", host, port, "POST", "/api/v1/predict", body, {"Content-Type": "image/jpeg"})


def health_client(host, port):
    while not stop.is_set():
        timed("health", host, port, "GET", "/api/v1/health")
        stop.wait(1.0)


def bad_client(host, port, xrays):
    rng = random.Random(1)
    with open(xrays[0], "rb") as f:
        jpeg = f.read()
    bodies = [
        ("truncated jpeg", jpeg[: len(jpeg) // 3], "image/jpeg"),
        ("text", b"this is not an x-ray\n" * 50, "image/png"),
        ("random bytes", bytes(rng.getrandbits(8) for _ in range(5000)), "application/octet-stream"),
        ("empty", b"", "image/jpeg"),
        ("wrong type", jpeg, "text/html"),
    ]
    while not stop.is_set():
        name, body, content_type = rng.choice(bodies)
        timed("bad", host, port, "POST", "/api/v1/predict", body, {"Content-Type": content_type},
              good=(400, 415, 422))
        stop.wait(0.2)


def oversized_client(host, port, max_body):
    while not stop.is_set():
        # Declared too large: answered from the headers, the body never sent.
        start = time.monotonic()
        try:
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                      b"Content-Length: %d\r\n\r\n" % (max_body * 4))
            status = int(s.recv(4096).split(b" ")[1])
            s.close()
            record("oversized", str(status) if status == 413 else "unexpected %d" % status,
                   time.monotonic() - start)
        except Exception as e:
            record("oversized", "error " + type(e).__name__)
        # Chunked past the limit: cut off as it streams.
        start = time.monotonic()
        try:
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
            sent = 0
            while sent < max_body * 4 and not select.select([s], [], [], 0)[0]:
                try:
                    s.sendall(chunk)
                except OSError:
                    break  # the server stopped reading: its answer is waiting
                sent += len(chunk)
            answer = s.recv(4096)
            s.close()
            status = int(answer.split(b" ")[1])
            record("oversized", str(status) if status == 413 else "unexpected %d" % status,
                   time.monotonic() - start)
        except Exception as e:
            record("oversized", "error " + type(e).__name__)
        stop.wait(2.0)


def slow_client(host, port):
    header = b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 100\r\n\r\n"
    while not stop.is_set():
        try:
            s = socket.create_connection((host, port), timeout=10)
            for i in range(len(header)):
                if stop.is_set():
                    break
                s.send(header[i:i + 1])
                stop.wait(1.0)
            s.close()
            record("slow", "finished headers")
        except OSError:
            record("slow", "dropped by the server")


def idle_client(host, port):
    while not stop.is_set():
        try:
            s = socket.create_connection((host, port), timeout=10)
            s.settimeout(60)
            data = s.recv(1)  # returns b"" when the server closes it
            record("idle", "closed by the server" if not data else "unexpected data")
            s.close()
        except OSError as e:
            record("idle", "error " + type(e).__name__)
            stop.wait(1.0)


def dicom_client(port, dicoms, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        path = rng.choice(dicoms)
        start = time.monotonic()
        # -xy: also propose JPEG baseline, the RSNA files' transfer syntax.
        result = subprocess.run(["storescu", "-xy", "-nh", "-aec", "PNEUMOSCAN", "127.0.0.1", str(port), path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        record("dicom", "stored" if result.returncode == 0 else "storescu exit %d" % result.returncode,
               time.monotonic() - start)
        stop.wait(5.0)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--xrays", required=True)
    parser.add_argument("--max-body-mb", type=float, default=32)
    parser.add_argument("--dicom-port", type=int)
    parser.add_argument("--dicoms")
    parser.add_argument("--dicom-clients", type=int, default=3)
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.url)
    host, port = url.hostname, url.port
    xrays = sorted(os.path.join(root, f) for root, _, files in os.walk(args.xrays) for f in files
                   if f.lower().endswith((".jpeg", ".jpg", ".png")))
    if not xrays:
        raise SystemExit("soak: no X-rays under " + args.xrays)
    max_body = int(args.max_body_mb * 1024 * 1024)

    threads = [threading.Thread(target=good_client, args=(host, port, xrays)) for _ in range(3)]
    threads.append(threading.Thread(target=health_client, args=(host, port)))
    threads.append(threading.Thread(target=bad_client, args=(host, port, xrays)))
    threads.append(threading.Thread(target=oversized_client, args=(host, port, max_body)))
    threads += [threading.Thread(target=slow_client, args=(host, port)) for _ in range(10)]
    threads += [threading.Thread(target=idle_client, args=(host, port)) for _ in range(10)]
    if args.dicom_port and args.dicoms:
        dicoms = sorted(os.path.join(args.dicoms, f) for f in os.listdir(args.dicoms) if f.endswith(".dcm"))
        threads += [threading.Thread(target=dicom_client, args=(args.dicom_port, dicoms, 2 + i))
                    for i in range(args.dicom_clients)]
    for t in threads:
        t.daemon = True
        t.start()

    samples = []  # (seconds since start, RSS KiB)
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        samples.append((time.monotonic() - start, rss_kb(args.pid)))
        time.sleep(5.0)
    samples.append((time.monotonic() - start, rss_kb(args.pid)))
    stop.set()
    for t in threads:
        t.join(timeout=30)

    print("%-10s %8s %9s %9s  outcomes" % ("kind", "requests", "p50 ms", "p99 ms"))
    for kind in ["good", "health", "bad", "oversized", "slow", "idle", "dicom"]:
        if kind not in outcomes:
            continue
        n = sum(outcomes[kind].values())
        lat = latencies[kind]
        print("%-10s %8d %9.1f %9.1f  %s" % (kind, n, percentile(lat, 50) * 1000, percentile(lat, 99) * 1000,
                                            ", ".join("%s: %d" % kv for kv in sorted(outcomes[kind].items()))))
    warm = [rss for t, rss in samples if t >= args.seconds / 5]
    warm_rss, end_rss = warm[0], samples[-1][1]
    growth = (end_rss - warm_rss) / warm_rss * 100
    step = max(1, len(samples) // 12)
    print("RSS MiB over time: " + " ".join("%.0fs:%.0f" % (t, rss / 1024) for t, rss in samples[::step]))
    print("RSS after warm-up %.0f MiB, at the end %.0f MiB, peak %.0f MiB: growth %+.1f %%" %
          (warm_rss / 1024, end_rss / 1024, max(r for _, r in samples) / 1024, growth))
    good_failures = sum(c for o, c in outcomes["good"].items() if o != "200")
    health_failures = sum(c for o, c in outcomes["health"].items() if o != "200")
    dicom_failures = sum(c for o, c in outcomes.get("dicom", {}).items() if o != "stored")
    print("good-request failures: %d, health failures: %d, DICOM store failures: %d" %
          (good_failures, health_failures, dicom_failures))
    ok = good_failures == 0 and health_failures == 0 and dicom_failures == 0 and growth < 5.0
    print("SOAK " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
