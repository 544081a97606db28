"""`vcam serve` under load: throughput and latency (p50, p99) of ~1 megapixel photos at 1, 2 and 8
concurrent clients, people and products, and the server's memory (RSS) over a soak of many requests.

    python benchmarks/serve_bench.py                       # 16 requests a level, a soak of 500
    python benchmarks/serve_bench.py --requests 40 --soak 5000 --workers 2

People: scikit-image's astronaut scaled to 1024x1024 (1.05 MP), and with --eval the photos of
../shared/eval/portraits scaled to about 1 MP (read from there, never copied). Products:
scikit-image's coffee cup scaled to 1224x816 (1.0 MP). Every request asks size=full (the picture's
own size) and format=png, as a shop's batch job would; the soak asks size=preview so it is over in
minutes (the memory it shows is the server's, which holds the same buffers for either).
The server is a real `vcam serve` process on 127.0.0.1; the clients are httpx in threads.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import glob
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import skimage.data

ROOT = Path(__file__).parents[1]


def _jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def pictures(use_eval: bool) -> dict[str, list[bytes]]:
    people = [_jpeg(cv2.resize(skimage.data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC))]
    if use_eval:
        for path in sorted(glob.glob(str(ROOT.parent / "shared" / "eval" / "portraits" / "images" / "*.jpg"))):
            bgr = cv2.imread(path)
            s = (1_000_000 / (bgr.shape[0] * bgr.shape[1])) ** 0.5
            people.append(cv2.imencode(".jpg", cv2.resize(bgr, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))[1].tobytes())
    products = [_jpeg(cv2.resize(skimage.data.coffee(), (1224, 816), interpolation=cv2.INTER_CUBIC))]
    return {"person": people, "product": products}


class Server:
    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "vcam", "serve", "--port", "0", *args], cwd=ROOT,
                                     stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if "serving remove.bg's API" in line:
                self.url = re.search(r"(http://\S+/v1\.0/removebg)", line).group(1)
                break
        else:
            raise SystemExit("vcam serve did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def level(url: str, photos: list[bytes], kind: str, clients: int, requests: int, size: str = "full") -> dict:
    times: list[float] = []
    failures: dict[int, int] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        with httpx.Client(timeout=600) as c:
            t0 = time.perf_counter()
            r = c.post(url, files={"image_file": ("p.jpg", photos[i % len(photos)], "image/jpeg")},
                       data={"size": size, "type": kind, "format": "png"})
            dt = time.perf_counter() - t0
        with lock:
            if r.status_code == 200:
                times.append(dt)
            else:
                failures[r.status_code] = failures.get(r.status_code, 0) + 1

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - t0
    ms = np.array(times) * 1000
    return {"kind": kind, "clients": clients, "requests": requests, "ok": len(times), "failed": failures,
            "per_second": round(len(times) / wall, 2),
            "p50_ms": round(float(np.percentile(ms, 50)), 0) if len(ms) else None,
            "p99_ms": round(float(np.percentile(ms, 99)), 0) if len(ms) else None}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=16, help="requests per kind and concurrency (default: 16)")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 2, 8])
    p.add_argument("--soak", type=int, default=500, help="requests of the memory soak (default: 500; 0 skips it)")
    p.add_argument("--workers", default=None, help="vcam serve --workers (default: its own)")
    p.add_argument("--eval", action="store_true", help="add ../shared/eval/portraits as the people")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    photos = pictures(args.eval)
    extra = ["--queue", "64"] + (["--workers", args.workers] if args.workers else [])
    server = Server(extra)
    runs, soak = [], []
    try:
        for kind in ("person", "product"):
            level(server.url, photos[kind], kind, 1, 2)   # warm: the first request of a size builds its buffers
            for clients in args.clients:
                runs.append(level(server.url, photos[kind], kind, clients, args.requests))
                print(json.dumps(runs[-1]), file=sys.stderr)
        if args.soak:
            soak.append((0, round(server.rss_mb(), 1)))
            step = max(1, args.soak // 5)
            for done in range(step, args.soak + 1, step):
                level(server.url, photos["person"], "person", 2, step, size="preview")
                soak.append((done, round(server.rss_mb(), 1)))
                print(f"soak: {done} requests, RSS {soak[-1][1]} MB", file=sys.stderr)
    finally:
        server.stop()
    if args.json:
        print(json.dumps({"runs": runs, "soak_rss_mb": soak, "cpus": os.cpu_count()}))
        return 0
    print("| subject | clients | requests/s | p50 ms | p99 ms | failed |\n|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['kind']} | {r['clients']} | {r['per_second']} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | "
              f"{r['failed'] or 0} |")
    if soak:
        print("\nRSS after N requests (MB): " + ", ".join(f"{n}: {mb}" for n, mb in soak))
    return 0


if __name__ == "__main__":
    sys.exit(main())
