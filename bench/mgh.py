#!/usr/bin/env python3
"""The 35 problems of More, Garbow and Hillstrom (1981) (bench/mgh/NN_*.nabla, from their
standard starts) with SciPy's trust-exact and L-BFGS-B, given nabla's compiled value, gradient and
Hessian through the Python module, and with nabla's own optimizers: newton, lbfgs, and lbfgs-mt
and newton-cg where this build has them (a missing optimizer prints "n/a").

    PYTHONPATH=build-bench/python /usr/bin/python3 bench/mgh.py [--nabla build-bench/nabla]
        [--only 1,2,35] [--long FILE.md]

Every method is stopped at |g|_2 <= 1e-8 (SciPy: trust-exact's gtol; L-BFGS-B's pgtol 1e-8/sqrt(n)
on max |g|, the test of nabla's tolerance_grad; nabla: --tol), or when it stops making progress,
or after its iteration limit.

What the table says:
- solved: the final f is one of the minima the paper lists, |f - f*| <= 1e-5 |f*| + 1e-10 (the
  paper prints f* to 6 digits; for f* = 0 that is f <= 1e-10), or below the smallest (a better
  point). A local minimum the paper names (Freudenstein-Roth's 48.98, Bard's 17.43,
  Kowalik-Osborne's 1.027e-3, Biggs' 5.66e-3, the trigonometric 2.80e-5, Brown almost-linear's
  1) counts as solved and is marked with the minimum reached ("loc").
- evals: calls of the value and gradient together (one call gives both; SciPy's nfev with
  jac=True) until the method first reached the lowest f it found (the point it returns, to
  rounding): where rounding keeps |g| above 1e-8 (Meyer, Jennrich-Sampson, ...), the calls a
  method makes at a point it cannot improve are not counted, however long it takes to notice.
  For nabla's optimizers they are counted in Python, driving the same optimizer (nabla.optim)
  with a closure that counts (`nabla fit`'s log has counts for lbfgs, lbfgs-mt and newton-cg,
  not for newton); the loop stops after the first step that ends at
  |g|_2 <= 1e-8 (checked by a call that is not counted), and the optimizers' own tolerance_grad
  (on max |g|) is 1e-8/sqrt(n), so that a step does not iterate past it. Hessian evaluations
  (trust-exact, newton) are counted apart.
- `nabla fit` itself: final f, steps, stop reason and the time of its steps (its `time:` line),
  run as `nabla fit FILE --optimizer NAME --steps 500 --tol 1e-8 --tolerance-grad 1e-8/sqrt(n)
  ...` (the other options per optimizer are in NABLA_OPTIONS below), and the evaluations of its
  log (the last row's `evals`, steps after convergence included; newton's log has none).
- The limits: SciPy 10,000 iterations (L-BFGS-B also 20,000 evaluations); nabla 500 steps of up
  to 100 iterations, but lbfgs-mt one step of up to 10,000 iterations and 20,000 evaluations,
  L-BFGS-B's limits.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "mgh"))
from problems import PROBLEMS, solved  # noqa: E402

import nabla  # noqa: E402
import scipy  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

GTOL = 1e-8
MAXSTEPS = 500     # steps of nabla's optimizers (100 iterations each); SciPy: iterations
# Options of `nabla fit` (and of nabla.optim.make) per optimizer; an optimizer that refuses one
# is run again without them (its defaults), and the table says so.
# tolerance_grad (on max |g|) is set to GTOL/sqrt(n) per problem.
# max_iter 100: up to 100 iterations per step. With newton's default, 1, every step starts by
# evaluating the point the previous step's line search has just evaluated (torch's step():
# the closure first), which doubles Newton's evaluations.
NABLA_OPTIONS = {
    "newton": {"max_iter": 100},
    "lbfgs": {"line_search": "strong_wolfe", "tolerance_change": 0.0, "max_iter": 100},
    # One step is one run with L-BFGS-B's limits below (a step boundary evaluates once more).
    "lbfgs-mt": {"tolerance_change": 0.0, "max_iter": 10000, "max_eval": 20000},
    "newton-cg": {"max_iter": 100},
}
NABLA_METHODS = ["newton", "lbfgs", "lbfgs-mt", "newton-cg"]
SCIPY_METHODS = ["trust-exact", "L-BFGS-B"]


class Counter:
    """value_and_grad (and hessian) that count their calls."""

    def __init__(self, obj):
        self.obj, self.calls, self.hess = obj, 0, 0
        self.best, self.best_at = None, 0

    def __call__(self, x):
        f, g = self.obj.value_and_grad(np.asarray(x, dtype=float))
        self.calls += 1
        if self.best is None or f < self.best:
            self.best, self.best_at = f, self.calls
        return f, g

    def hessian(self, x):
        self.hess += 1
        return self.obj.hessian(np.asarray(x, dtype=float))

    def evals(self):
        return self.best_at if self.best is not None else self.calls


def result(num, f, gnorm, evals, hevals, iters, secs, note=""):
    minima = next(p[6] for p in PROBLEMS if p[0] == num)
    k = solved(f, minima)
    return {"f": f, "g": gnorm, "evals": evals, "hevals": hevals, "iters": iters,
            "ms": secs * 1e3, "solved": k is not None, "which": k, "note": note}


def run_scipy(num, obj, x0, method):
    c = Counter(obj)
    if method == "trust-exact":
        kw = dict(jac=True, hess=c.hessian, options={"gtol": GTOL, "maxiter": 10000})
    else:
        # pgtol on max |g|, as nabla's tolerance_grad: GTOL/sqrt(n), so that |g|_2 <= GTOL.
        kw = dict(jac=True, options={"gtol": GTOL / np.sqrt(len(x0)), "ftol": 0.0,
                                     "maxiter": 10000, "maxfun": 20000})
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = minimize(c, np.array(x0, dtype=float), method=method, **kw)
        except Exception as e:  # noqa: BLE001 - a failure is a row of the table
            return result(num, None, None, c.calls, c.hess, None, time.perf_counter() - t,
                          f"error: {e}")
    secs = time.perf_counter() - t
    f, g = obj.value_and_grad(r.x)
    return result(num, float(f), float(np.linalg.norm(g)), c.evals(), c.hess, int(r.nit), secs)


def run_nabla_python(num, obj, x0, name):
    """nabla's optimizer driven from Python, counting the closure's calls."""
    if name not in nabla.optim.names():
        return None
    hyper = dict(NABLA_OPTIONS.get(name, {}), tolerance_grad=GTOL / np.sqrt(len(x0)))
    known = set(nabla.optim.options(name))
    hyper = {k: v for k, v in hyper.items() if k in known}
    p = np.array(x0, dtype=float)
    opt = nabla.optim.make(name, p, **hyper)
    c = Counter(obj)
    kw = {}
    if name == "newton":
        kw["hessian"] = c.hessian
    elif name == "newton-cg":
        kw["hvp"] = obj.hvp
    t = time.perf_counter()
    prev, same, steps = None, 0, 0
    try:
        for steps in range(1, MAXSTEPS + 1):
            opt.step(p, c, **kw)
            if np.linalg.norm(obj.value_and_grad(p)[1]) <= GTOL:
                break
            key = p.tobytes()
            same = same + 1 if key == prev else 0
            prev = key
            if same >= 10 or not np.all(np.isfinite(p)):
                break
    except Exception as e:  # noqa: BLE001
        return result(num, None, None, c.calls, c.hess, steps, time.perf_counter() - t,
                      f"error: {str(e).splitlines()[0]}")
    secs = time.perf_counter() - t
    f, g = obj.value_and_grad(p)
    iters = opt.last.get("iterations", steps) if hasattr(opt, "last") else steps
    return result(num, float(f), float(np.linalg.norm(g)), c.evals(), c.hess, iters, secs)


def fit_args(opts):
    out = []
    for k, v in opts.items():
        out += ["--" + k.replace("_", "-"), str(v)]
    return out


def run_nabla_fit(exe, path, name, tmp, n):
    """`nabla fit` itself: final f (its -o file), steps, stop, the time of the steps."""
    o = os.path.join(tmp, "out.json")
    log = os.path.join(tmp, "log.csv")
    base = [exe, "fit", path, "--optimizer", name, "--steps", str(MAXSTEPS), "--tol", str(GTOL),
            "-o", o, "--log", log]
    extra = fit_args(dict(NABLA_OPTIONS.get(name, {}), tolerance_grad=GTOL / np.sqrt(n)))
    note = ""
    p = subprocess.run(base + extra, capture_output=True, text=True)
    if p.returncode != 0 and "unknown optimizer" not in p.stderr and extra:
        # an option this optimizer does not have: its defaults, as the table notes
        p = subprocess.run(base, capture_output=True, text=True)
        note = "defaults"
    if p.returncode != 0:
        msg = (p.stderr.strip().splitlines() or ["?"])[0]
        if "unknown optimizer" in msg:
            return {"na": f"n/a ({name} is not in this build)"}
        return {"error": msg}
    with open(o) as fh:
        js = json.load(fh)
    m = re.search(r"time: compiled in ([0-9.]+) s; ([0-9.]+) s for the steps", p.stdout + p.stderr)
    evals = None
    with open(log) as fh:
        head = fh.readline().strip().split(",")
        rows = fh.read().split()
    if "evals" in head and rows:
        evals = int(rows[-1].split(",")[head.index("evals")])
    return {"f": js.get("loss"), "steps": js.get("steps"), "stop": js.get("stop"), "evals": evals,
            "compile_s": float(m.group(1)) if m else None,
            "steps_s": float(m.group(2)) if m else None, "note": note}


def cell(r):
    if r is None:
        return "n/a"
    if r.get("f") is None:
        return "err"
    mark = "✓" if r["solved"] else "✗"
    if r["solved"] and r["which"] not in (0, "<"):
        mark = "loc"
    return f"{mark} {r['evals']}"


def errs(err):
    """'; errors: ...', one line per distinct message, naming the problems."""
    if not err:
        return ""
    by = {}
    for stem, e in err:
        by.setdefault(e, []).append(stem[:2])
    return "; errors: " + "; ".join(f"{e} ({len(v)} problems: {', '.join(v)})"
                                    for e, v in by.items())


def fit_cell(fr):
    if fr is None or "na" in fr:
        return "n/a"
    if "error" in fr:
        return "err"
    mark = "✓" if fr["solved"] else "✗"
    if fr["solved"] and fr["which"] not in (0, "<"):
        mark = "loc"
    return f"{mark} {fr['evals'] if fr.get('evals') is not None else '–'}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nabla", default=os.path.join(os.path.dirname(HERE), "build-bench", "nabla"))
    ap.add_argument("--only", default="")
    ap.add_argument("--long", default="", help="also write the full table (every figure) here")
    ap.add_argument("--no-fit", action="store_true", help="skip the `nabla fit` runs")
    a = ap.parse_args()
    only = {int(s) for s in a.only.split(",") if s}
    names = nabla.optim.names()
    print(f"scipy {scipy.__version__}, numpy {np.__version__}, nabla {nabla.__version__} "
          f"(optimizers: {', '.join(names)}); nabla fit: {a.nabla}")
    missing = [m for m in NABLA_METHODS if m not in names]
    if missing:
        print(f"not in the Python module: {', '.join(missing)} (their `nabla` columns say n/a)")
    cols = [f"SciPy {m}" for m in SCIPY_METHODS] + [f"nabla {m}" for m in NABLA_METHODS]
    fit_cols = [] if a.no_fit else [f"fit {m}" for m in NABLA_METHODS]
    rows, long_rows = [], []
    per = {c: [] for c in cols}
    fits = {m: [] for m in NABLA_METHODS}
    tmp = tempfile.mkdtemp(prefix="nabla_mgh_")
    for num, stem, n, m, x0, r, minima, note in PROBLEMS:
        if only and num not in only:
            continue
        path = os.path.join(HERE, "mgh", stem + ".nabla")
        obj = nabla.load(path).objective
        res = {}
        for meth in SCIPY_METHODS:
            res[f"SciPy {meth}"] = run_scipy(num, obj, x0, meth)
        for meth in NABLA_METHODS:
            res[f"nabla {meth}"] = run_nabla_python(num, obj, x0, meth)
            if not a.no_fit:
                fr = run_nabla_fit(a.nabla, path, meth, tmp, n)
                if "f" in fr:
                    k = solved(fr["f"], minima)
                    fr["solved"], fr["which"] = k is not None, k
                fits[meth].append((stem, fr))
                res[f"fit {meth}"] = fr
        for c in cols:
            per[c].append(res[c])
        rows.append(f"| {num} {stem[3:]} | {n} | {m} | " + " | ".join(cell(res[c]) for c in cols)
                    + "".join(f" | {fit_cell(res.get(c))}" for c in fit_cols) + " |")
        for c in cols:
            x = res[c]
            if x is None:
                long_rows.append(f"| {stem} | {c} | n/a | | | | | | |")
                continue
            fs = "" if x["f"] is None else f"{x['f']:.6g}"
            gs = "" if x["g"] is None else f"{x['g']:.1e}"
            long_rows.append(f"| {stem} | {c} | {'yes' if x['solved'] else 'no'}"
                             f"{'' if x['which'] in (0, None) else ' (' + str(x['which']) + ')'}"
                             f" | {fs} | {gs} | {x['evals']} | {x['hevals'] or ''} | "
                             f"{x['iters'] if x['iters'] is not None else ''} | {x['ms']:.2f} | "
                             f"{x['note']}")
        print(rows[-1], flush=True)
    print()
    print("| problem | n | m | " + " | ".join(cols + fit_cols) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in cols + fit_cols) + " |")
    print("\n".join(rows))
    print()
    print("(a cell: solved ✓, a local minimum the paper names `loc`, not solved ✗; then the "
          "value+gradient evaluations the method made. `nabla M`: the optimizer driven from "
          "Python (nabla.optim), counted there; `fit M`: `nabla fit`, with the evaluations of its "
          "log where it has them, `–` where not)")
    print()
    print("| method | solved (global or named local) | of which local | median evals (all) | "
          "median evals (solved) | total time ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for c in cols:
        xs = [x for x in per[c] if x is not None]
        if not xs:
            print(f"| {c} | n/a (not in this build's Python module) | | | | |")
            continue
        ok = [x for x in xs if x["solved"]]
        loc = [x for x in ok if x["which"] not in (0, "<")]
        med_all = statistics.median(x["evals"] for x in xs)
        med_ok = statistics.median(x["evals"] for x in ok) if ok else float("nan")
        tot = sum(x["ms"] for x in xs)
        print(f"| {c} | {len(ok)} / {len(xs)} | {len(loc)} | {med_all:g} | {med_ok:g} | "
              f"{tot:.0f} |")
    if not a.no_fit:
        print()
        print("`nabla fit` runs (the command line, same optimizers): problems solved, and the "
              "time of all steps (its `time:` line, summed):")
        for meth in NABLA_METHODS:
            fr = [f for _, f in fits[meth]]
            if fr and all("na" in f for f in fr):
                print(f"- {meth}: {fr[0]['na']}")
                continue
            ok = sum(1 for f in fr if f.get("solved"))
            err = [(s, f["error"]) for s, f in fits[meth] if "error" in f]
            steps_s = sum(f.get("steps_s") or 0 for f in fr)
            dflt = any(f.get("note") == "defaults" for f in fr)
            ev = [f["evals"] for f in fr if f.get("evals") is not None]
            evs = (f", median evals {statistics.median(ev):g} (its log's evals column)"
                   if ev else ", evals: not in its log")
            print(f"- {meth}: {ok} / {len(fr)} solved{evs}, steps {steps_s:.3f} s in all"
                  f"{' (run with its defaults: it refused the options)' if dflt else ''}"
                  f"{errs(err)}")
            bad = [s for s, f in fits[meth] if "f" in f and not f.get("solved")]
            if bad:
                print(f"  not solved: {', '.join(bad)}")
    if a.long:
        with open(a.long, "w") as fh:
            fh.write("| problem | method | solved | f | |g| | evals | Hessians | iterations | ms"
                     " | note |\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
                     " --- |\n")
            fh.write("\n".join(long_rows) + "\n")
        print(f"\nthe full table: {a.long}")


if __name__ == "__main__":
    main()
