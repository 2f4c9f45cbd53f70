#!/usr/bin/env python3
"""Data files for bench/run.sh csv, and the readers a user would pick instead of nabla's.

    csv_speed.py make DIR [ROWS]   writes DIR/data.csv (ROWS rows, default 10**6: 16 features
                                   x0..x15 normal, 4 decimals, and a 0/1 label y; about 122 MB),
                                   and the same numbers as DIR/data.npy (a structured array),
                                   DIR/data.npz (numpy.savez) and DIR/data_deflated.npz
                                   (numpy.savez_compressed)
    csv_speed.py peers DIR         reads them with pandas.read_csv (the C engine; skipped without
                                   python3-pandas) and numpy.load: best and median of 5, MB/s and
                                   rows/s
"""
import os
import statistics
import sys
import time

import numpy as np


def make(folder, rows):
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal((rows, 16)), 4)
    y = (x @ np.linspace(-1, 1, 16) + 0.1 * rng.standard_normal(rows) > 0).astype(np.float64)
    names = [f"x{i}" for i in range(16)] + ["y"]
    table = np.column_stack([x, y])
    with open(os.path.join(folder, "data.csv"), "w") as f:
        f.write(",".join(names) + "\n")
        step = 100000
        for start in range(0, rows, step):
            block = table[start:start + step]
            f.write("\n".join(",".join(f"{v:.4f}" for v in r[:16]) + f",{int(r[16])}"
                              for r in block) + "\n")
    structured = np.zeros(rows, dtype=[(n, "<f8") for n in names])
    for i, n in enumerate(names):
        structured[n] = table[:, i]
    np.save(os.path.join(folder, "data.npy"), structured)
    np.savez(os.path.join(folder, "data.npz"), x=x, y=y)
    np.savez_compressed(os.path.join(folder, "data_deflated.npz"), x=x, y=y)


def timed(label, path, read):
    seconds, rows = [], 0
    for _ in range(5):
        start = time.perf_counter()
        rows = read()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    mb = os.path.getsize(path) / 1e6
    print(f"{label:40s}: {rows} rows, {mb:.1f} MB: best {seconds[0]:.3f} s "
          f"({mb / seconds[0]:.0f} MB/s, {rows / seconds[0]:.3g} rows/s), "
          f"median {statistics.median(seconds):.3f} s ({mb / statistics.median(seconds):.0f} MB/s)")


def peers(folder):
    csv = os.path.join(folder, "data.csv")
    try:
        import pandas
        print(f"pandas {pandas.__version__}, numpy {np.__version__}")
        timed("pandas.read_csv data.csv (C engine)", csv,
              lambda: len(pandas.read_csv(csv, engine="c", dtype=np.float64)))
    except ImportError:
        print("pandas.read_csv: skipped (needs Debian's python3-pandas)")
    npy = os.path.join(folder, "data.npy")
    timed("numpy.load data.npy", npy, lambda: len(np.load(npy)))
    for name in ("data.npz", "data_deflated.npz"):
        path = os.path.join(folder, name)

        def read(path=path):
            with np.load(path) as z:
                return len(z["x"]) + 0 * len(z["y"])
        timed(f"numpy.load {name} (x and y)", path, read)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 10**6)
    elif len(sys.argv) == 3 and sys.argv[1] == "peers":
        peers(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
