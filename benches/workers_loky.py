"""The workloads of `cargo bench --bench workers` on Python joblib's loky backend.

Prints a JSON object of seconds: `start` (a loop of 2 calls on 2 new workers), `tiny` (per task
of 10^5 tiny tasks), `cpu` (200 tasks of ~5 ms CPU on 2 workers), `array` (a 1 GiB array given
to each of 100 tasks). Run by the benchmark with `target/compare-venv/bin/python`.
"""

import json
import sys
import time

import numpy as np
from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor


def square(i):
    return i * i


def spin(seed, rounds):
    x = seed
    for _ in range(rounds):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 29
    return x


def element(data, i):
    return float(data[i * 1000])


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def median(xs):
    return sorted(xs)[len(xs) // 2]


def main():
    sections = sys.argv[1:] or ["start", "tiny", "cpu", "array"]
    figures = {}
    if "start" in sections:
        samples = []
        for i in range(7):
            get_reusable_executor().shutdown(wait=True, kill_workers=True)
            samples.append(timed(lambda: Parallel(n_jobs=2)(delayed(square)(j) for j in (i, i + 1))))
        figures["start"] = median(samples)
    if "tiny" in sections:
        n = 100_000
        figures["tiny"] = median([timed(lambda: Parallel(n_jobs=2)(delayed(square)(i) for i in range(n))) / n for _ in range(3)])
    if "cpu" in sections:
        started = time.perf_counter()
        spin(1, 100_000)
        rounds = int(100_000 * 0.005 / (time.perf_counter() - started))
        figures["cpu"] = median([timed(lambda: Parallel(n_jobs=2)(delayed(spin)(s, rounds) for s in range(200))) for _ in range(3)])
    if "array" in sections:
        big = np.full(1 << 27, 1.5)
        figures["array"] = timed(lambda: Parallel(n_jobs=2, max_nbytes="1M")(delayed(element)(big, i) for i in range(100)))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
