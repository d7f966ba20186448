#!/usr/bin/env python3
"""Side-by-side comparison of joblib for Rust with Python joblib, on the same workloads.

    python3 benches/compare_joblib.py              # 1 GiB arrays, both sides, one table
    python3 benches/compare_joblib.py --gib 0.25   # smaller arrays

Creates its own virtual environment under target/compare-venv with joblib and numpy (from
PyPI), runs the Python workloads there, runs `cargo bench --bench compare` for the Rust side,
and prints a Markdown table: workload, Python joblib, ours, and how many times faster we are.
Not part of CI. The Rust side is benches/compare.rs; keep the two in step.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "compare-venv"
DATA = ROOT / "target" / "compare-data"


# The entries of the eviction row (COMPARE_ENTRIES; 10^5 takes Python joblib about 30 s to store).
ENTRIES = int(os.environ.get("COMPARE_ENTRIES", "100000"))


def median(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2]


def timed(f, before=lambda: None, runs=3):
    """The median time of `runs` runs of f, each after `before` (untimed)."""
    samples = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        f()
        samples.append(time.perf_counter() - start)
    return median(samples)


def settle():
    subprocess.run(["sync"], check=False)


def emit(workload, value, unit):
    print(json.dumps({"workload": workload, "value": value, "unit": unit}), flush=True)


def square(i):
    return i * i


def busy(ms, seed):
    deadline = time.perf_counter() + ms / 1000
    x = seed
    while time.perf_counter() < deadline:
        for _ in range(100):
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
    return x


def add_one(x):
    return x + 1


def scale(a):
    return a * 2.0


def python_side(gib):
    """The workloads, run inside the virtual environment."""
    import joblib
    import numpy as np

    folder = DATA / "python"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    elements = int(gib * (1 << 30) / 8)
    array = np.arange(elements, dtype=np.float64)

    emit("hash large array", timed(lambda: joblib.hash(array), runs=3), "s")
    small = (1, 2.5, "abc")
    emit("hash small tuple", timed(lambda: [joblib.hash(small) for _ in range(1000)], runs=5) / 1000, "s")

    path = folder / "array.pkl"

    def remove(p):
        return lambda: (p.unlink(missing_ok=True), settle())

    emit("dump large array", timed(lambda: joblib.dump(array, path), before=remove(path)), "s")
    emit("load large array", timed(lambda: joblib.load(path), before=settle), "s")
    emit("mapped load", timed(lambda: joblib.load(path, mmap_mode="r"), runs=9), "s")

    zpath = folder / "array-zlib3.pkl"
    emit("compressed dump (level 3)", timed(lambda: joblib.dump(array, zpath, compress=3), before=remove(zpath)), "s")
    emit("compressed load", timed(lambda: joblib.load(zpath), before=settle), "s")
    emit("compressed size", 100.0 * zpath.stat().st_size / (elements * 8), "% of raw")
    path.unlink()
    zpath.unlink()
    del array

    memory = joblib.Memory(folder / "cache", verbose=0)
    cached_add_one = memory.cache(add_one)
    cached_add_one(41)
    emit("cache hit, small", timed(lambda: [cached_add_one(41) for _ in range(200)], runs=5) / 200, "s")
    mapped = joblib.Memory(folder / "cache", mmap_mode="r", verbose=0)
    cached_scale = mapped.cache(scale)
    data = np.arange(16 << 20, dtype=np.float64)
    cached_scale(data)
    emit("cache hit, 128 MiB in and out", timed(lambda: cached_scale(data), runs=9), "s")
    memory.clear(warn=False)

    # Eviction: a cache of ENTRIES small entries brought down to half of them.
    many = joblib.Memory(folder / "many", verbose=0)
    cached_many = many.cache(add_one)
    for i in range(ENTRIES):
        cached_many(i)
    emit(f"reduce_size to half, {ENTRIES} entries", timed(lambda: many.reduce_size(items_limit=ENTRIES // 2), runs=1), "s")
    many.clear(warn=False)

    from joblib.externals.loky import get_reusable_executor

    def fresh_workers():
        get_reusable_executor().shutdown(wait=True, kill_workers=True)

    emit("pool start, 2 workers",
         timed(lambda: joblib.Parallel(n_jobs=2)(joblib.delayed(square)(i) for i in (0, 1)), before=fresh_workers,
               runs=9), "s")
    parallel = joblib.Parallel(n_jobs=2)
    parallel(joblib.delayed(square)(i) for i in range(1000))  # start the workers
    tiny = timed(lambda: parallel(joblib.delayed(square)(i) for i in range(100_000)), runs=3)
    one = timed(lambda: joblib.Parallel(n_jobs=1)(joblib.delayed(busy)(5, i) for i in range(200)), runs=3)
    two = timed(lambda: parallel(joblib.delayed(busy)(5, i) for i in range(200)), runs=3)
    # Python joblib's loops run in worker processes (loky): the same figures face both our
    # thread loops and our process loops.
    for where in ("", " in worker processes"):
        emit(f"10^5 tiny tasks{where}, n_jobs=2", tiny, "s")
        emit(f"speedup{where}, 200 tasks of 5 ms, n_jobs=2", one / two, "x")
    shutil.rmtree(folder, ignore_errors=True)


def run_lines(command, env=None):
    """The JSON lines a command prints, by workload; its other output passes through."""
    figures = {}
    process = subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
    for line in process.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            figures[record["workload"]] = record
        else:
            print(line, file=sys.stderr)
    return figures


def ensure_venv():
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "joblib", "numpy"], check=True)
    return python


def describe(value, unit):
    if unit == "s":
        if value < 1e-6:
            return f"{value * 1e9:.0f} ns"
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.1f} ms"
        return f"{value:.2f} s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.2f} {unit}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0, help="size of the large arrays in GiB (default 1)")
    parser.add_argument("--python-side", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.python_side:
        return python_side(args.gib)

    python = ensure_venv()
    versions = subprocess.run([str(python), "-c", "import joblib, numpy; print(joblib.__version__, numpy.__version__)"],
                              check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    print(f"Python joblib {versions[0]}, numpy {versions[1]}; running the Python side...", file=sys.stderr)
    theirs = run_lines([str(python), __file__, "--python-side", "--gib", str(args.gib)])
    print("running the Rust side (cargo bench --bench compare)...", file=sys.stderr)
    env = dict(os.environ, COMPARE_GIB=str(args.gib), COMPARE_DIR=str(DATA))
    ours = run_lines(["cargo", "bench", "--quiet", "--bench", "compare"], env=env)

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    print(f"{time.strftime('%Y-%m-%d')}, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
          f"Python joblib {versions[0]} (numpy {versions[1]}), large arrays {args.gib:g} GiB\n")
    print("| workload | Python joblib | joblib for Rust | ratio |")
    print("|---|---|---|---|")
    for workload, mine in ours.items():
        other = theirs.get(workload)
        if other is None:
            continue
        unit = mine["unit"]
        if unit == "s":
            times = other["value"] / mine["value"]
            ratio = f"{times:.0f}x faster" if times >= 100 else f"{times:.1f}x faster"
        elif unit == "x":
            ratio = f"{mine['value'] / other['value']:.2f}x the speedup"
        else:
            ratio = f"{other['value'] / mine['value']:.0f}x smaller"
        print(f"| {workload} | {describe(other['value'], unit)} | {describe(mine['value'], unit)} | {ratio} |")


if __name__ == "__main__":
    main()
