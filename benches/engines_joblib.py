#!/usr/bin/env python3
"""The Python joblib side of `benches/engines` (`cd benches/engines && cargo run --release`):
the same `u64 -> u64` workloads on `Memory(<dir>)`, one `name = seconds` line each. Run by that
benchmark with the virtual environment of benches/compare_joblib.py (target/compare-venv) when
it exists; not part of CI.

    engines_joblib.py small ROOT        a cache of 10^4 entries: store, hits, rerun, first hit, disk
    engines_joblib.py scale ROOT N      a cache of N entries: store, reduce_size to N/2, clear
"""

import subprocess
import sys
import time

from joblib import Memory

from store_joblib import add_one, disk_usage, median, repeated_hit

KEYS = 10_000


def cached(root):
    return Memory(root, verbose=0).cache(add_one)


def child(root, what):
    """In a fresh process: the first hit, or a rerun's hits over every key (per hit)."""
    start = time.perf_counter()
    f = cached(root)
    keys = range(KEYS) if what == "rerun" else [7]
    for k in keys:
        assert f(k) == k + 1
    print((time.perf_counter() - start) / len(keys))


def fresh(root, what):
    runs = [subprocess.run([sys.executable, __file__, "child", root, what], capture_output=True, text=True, check=True)
            for _ in range(5)]
    return median([float(run.stdout) for run in runs])


def small(root):
    f = cached(root)
    f.clear(warn=False)
    stores = []
    for k in range(KEYS):
        start = time.perf_counter()
        f(k)
        stores.append(time.perf_counter() - start)
    stores.sort()
    print(f"store = {median(stores)}")
    print(f"store_p90 = {stores[int((len(stores) - 1) * 0.9)]}")
    print(f"hit_one = {repeated_hit(f)}")
    print(f"rerun = {fresh(root, 'rerun')}")
    print(f"first_hit = {fresh(root, 'first')}")
    print(f"disk_per_entry = {disk_usage(root) / KEYS}")


def scale(root, entries):
    memory = Memory(root, verbose=0)
    f = memory.cache(add_one)
    f.clear(warn=False)
    start = time.perf_counter()
    for k in range(entries):
        f(k)
    print(f"store_all = {(time.perf_counter() - start) / entries}")
    start = time.perf_counter()
    memory.reduce_size(items_limit=entries // 2)
    print(f"reduce_half = {time.perf_counter() - start}")
    start = time.perf_counter()
    memory.clear(warn=False)
    print(f"clear = {time.perf_counter() - start}")


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "small":
        small(sys.argv[2])
    else:
        scale(sys.argv[2], int(sys.argv[3]))
