#!/usr/bin/env python3
"""The Python joblib side of `cargo bench --bench store`: the small-entry workloads, on
`Memory(<dir>)`, one `name = seconds` line each. Run by that benchmark with the virtual
environment of benches/compare_joblib.py (target/compare-venv); not part of CI.
"""

import os
import shutil
import subprocess
import sys
import time

from joblib import Memory

KEYS = 10_000


def add_one(x):
    return x + 1


def median(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2]


def repeated_hit(cached):
    """The median time of a hit on one key, hit again and again."""
    hits = []
    for _ in range(2000):
        start = time.perf_counter()
        cached(7)
        hits.append(time.perf_counter() - start)
    return median(hits)


def disk_usage(path):
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


def main():
    root = sys.argv[1]
    if len(sys.argv) > 2:  # a fresh process: one hit
        cached = Memory(root, verbose=0).cache(add_one)
        start = time.perf_counter()
        assert cached(7) == 8
        print(time.perf_counter() - start)
        return
    shutil.rmtree(root, ignore_errors=True)
    cached = Memory(root, verbose=0).cache(add_one)
    stores = []
    for k in range(KEYS):
        start = time.perf_counter()
        cached(k)
        stores.append(time.perf_counter() - start)
    print(f"store = {median(stores)}")
    print(f"hit_one = {repeated_hit(cached)}")
    start = time.perf_counter()
    for k in range(KEYS):
        cached(k)
    print(f"hits_many = {(time.perf_counter() - start) / KEYS}")
    firsts = []
    for _ in range(5):
        child = subprocess.run([sys.executable, __file__, root, "first"], capture_output=True, text=True, check=True)
        firsts.append(float(child.stdout))
    print(f"first_hit = {median(firsts)}")
    print(f"disk_per_entry = {disk_usage(root) / KEYS}")


if __name__ == "__main__":
    main()
