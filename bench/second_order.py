#!/usr/bin/env python3
"""Second order at scale: seven sparse problems at n = 10^3 .. 10^6 from their standard starts
(bench/large/*.nabla), solved to |g|_2 <= 1e-8 by

  - SciPy's trust-ncg and trust-krylov with hand-written numpy gradients and Hessian-vector
    products (below: scipy.optimize.rosen_der and rosen_hess_prod for chained Rosenbrock),
  - the same SciPy methods given nabla's compiled gradient and Hessian-vector product through the
    Python module (m = nabla.load(path, hessian=False); obj = m.objective (a property in this
    build; called, m.objective(), where it is a method); obj.value_and_grad(x), obj.hvp(x, v)):
    the same derivatives, so the algorithms are compared,
  - nabla's own `nabla fit FILE --optimizer newton-cg` and `--optimizer newton` (sparse),

with time to solution, evaluations, the final |g| and the peak memory (each case runs in a child
process: its peak RSS (VmHWM), which includes the interpreter, numpy, SciPy and the nabla module; the
`import` row gives that floor; `nabla fit` runs under /usr/bin/time, whose maximum RSS is the
whole process).

    PYTHONPATH=build-bench/python /usr/bin/python3 bench/second_order.py [--n 1000,10000]
        [--problems chained_rosenbrock,...] [--methods ...] [--nabla build-bench/nabla]
        [--timeout 120]
    ... bench/second_order.py --check          hand-written derivatives against nabla's, n = 1000
    ... bench/second_order.py --write DIR N    the seven models for n = N into DIR
    ... bench/second_order.py --gradients 1000,1000000   one value+gradient: nabla's compiled
                                               one (and its compile) against numpy's

A column that cannot run in this build (no `hvp` in the Python module, no newton-cg optimizer)
prints "n/a (reason)"; the others run.

The problems: chained Rosenbrock (x0 = (-1.2, 1, -1.2, 1, ...)); extended Rosenbrock (More,
Garbow and Hillstrom 1981, problem 21: n/2 uncoupled pairs; the same x0); extended Powell
singular (problem 22; x0 = (3, -1, 0, 1, ...)); Broyden tridiagonal (problem
30; x0 = -1); discrete boundary value (problem 28; x0 = t (t - 1), t_i = i/(n + 1)). The
discrete boundary value problem is solved to |g|_2 <= 1e-8 |g(x0)|_2 instead: its residuals are
O(h^2), so that |g(x0)| is already below 1e-8 from n = 10^4 (the table gives |g(x0)|). Two
arrowhead Hessians from CUTEst, one dense row each: NONDIA (x0 = -1; the dense row first, and
the last param unused) and ARWHEAD (x0 = 1; the dense row last).
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROBLEMS = ["chained_rosenbrock", "extended_rosenbrock", "extended_powell", "broyden_tridiagonal",
            "discrete_bvp", "nondia", "arwhead"]
METHODS = ["scipy-numpy trust-ncg", "scipy-numpy trust-krylov", "scipy-nabla trust-ncg",
           "scipy-nabla trust-krylov", "nabla newton-cg", "nabla newton"]
GTOL = 1e-8
MAXITER = 1000000     # the time limit (--timeout) stops a case first


# --- the models for a given n ----------------------------------------------------------------
def doubling(prefix, seed, length, n, step):
    """Const definitions that build a vector of n elements by doubling `seed` (a literal of
    `length` elements): the second half of each is the first plus `step` times its length (1:
    the integers 1, 2, 3, ...; 0: a pattern repeated), put together with pad, up to the power of
    two times `length` that is >= n, then its first n. The language has no range or tile."""
    lines = [f"const {prefix}{length} = {seed}"]
    k = length
    while k < n:
        add = f" + {step * k}" if step else ""
        lines.append(f"const {prefix}{2 * k} = pad({prefix}{k}, 0, {k}) + "
                     f"pad({prefix}{k}{add}, {k}, 0)")
        k *= 2
    last = f"{prefix}{k}[:n]" if k > n else f"{prefix}{k}"
    return lines, last


def bvp_text(n):
    """The discrete boundary value problem for n: t_i = i/(n + 1) needs the integers 1..n."""
    lines = ["# The discrete boundary value function (More, Garbow and Hillstrom 1981, problem 28):",
             "# sum_i (2 x_i - x_{i-1} - x_{i+1} + h^2 (x_i + t_i + 1)^3 / 2)^2, x_0 = x_{n+1} = 0,",
             "# h = 1/(n + 1), t_i = i h, from x0 = (t_i (t_i - 1)); f* = 0.",
             "# The language has no range of integers: i1, i2, i4, ... double [1] (the second half is",
             "# the first plus its length, put together with pad), up to the power of two >= n,",
             "# and i is its first n. bench/second_order.py --write DIR N writes this file for n = N.",
             f"const n = {n}"]
    chain, last = doubling("i", "[1]", 1, n, 1)
    lines += chain
    lines += [f"const i = {last}",
              "const h = 1/(n + 1)",
              "const t = i/(n + 1)",
              "param x[n] = t*(t - 1)",
              "r = 2*x - pad(x[:-1], 1, 0) - pad(x[1:], 0, 1) + h^2*(x + t + 1)^3/2",
              "minimize sum(r^2)"]
    return "\n".join(lines) + "\n"


def chained_text(n):
    """Chained Rosenbrock for n (even): the vector form of samples/rosenbrock_chain.nabla, from
    the alternating start, built by doubling [-1.2, 1]."""
    lines = ["# The chained Rosenbrock function (Grippo, Lampariello and Lucidi 1989;",
             "# scipy.optimize.rosen): sum_{i<n} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, n even, from",
             "# x0 = (-1.2, 1, -1.2, 1, ...); f* = 0 at x = (1, ..., 1). Not MGH's extended Rosenbrock",
             "# (bench/mgh/21_extended_rosenbrock.nabla), whose pairs are uncoupled.",
             "# The language has no tile: a2, a4, a8, ... double [-1.2, 1] (pad puts two copies",
             "# together) up to the power of two >= n, and x0 is its first n.",
             "# bench/second_order.py --write DIR N writes this file for n = N. (Written with a",
             "# matrix x[n/2][2] and its columns, whose start is outer(ones, [-1.2, 1]), one",
             "# value+gradient at n = 10^6 took 72 ms against 7.5 ms for this vector form.)",
             f"const n = {n}"]
    chain, last = doubling("a", "[-1.2, 1]", 2, n, 0)
    lines += chain
    lines += [f"param x[n] = {last}",
              "minimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)"]
    return "\n".join(lines) + "\n"


def write_models(d, n):
    os.makedirs(d, exist_ok=True)
    out = {}
    for p in PROBLEMS:
        path = os.path.join(d, f"{p}_{n}.nabla")
        if p == "discrete_bvp":
            text = bvp_text(n)
        elif p == "chained_rosenbrock":
            text = chained_text(n)
        else:
            with open(os.path.join(HERE, "large", p + ".nabla")) as fh:
                text = re.sub(r"^const n = .*$", f"const n = {n}", fh.read(), count=1,
                              flags=re.M)
        with open(path, "w") as fh:
            fh.write(text)
        out[p] = path
    return out


# --- hand-written numpy: x0, f, g, Hv --------------------------------------------------------
def x0_of(p, n):
    if p == "nondia":
        return -np.ones(n)
    if p == "arwhead":
        return np.ones(n)
    if p in ("chained_rosenbrock", "extended_rosenbrock"):
        return np.tile([-1.2, 1.0], n // 2)
    if p == "extended_powell":
        return np.tile([3.0, -1.0, 0.0, 1.0], n // 4)
    if p == "broyden_tridiagonal":
        return -np.ones(n)
    t = np.arange(1, n + 1) / (n + 1.0)
    return t * (t - 1)


def _down(v):   # v_{i-1}, 0 first
    return np.concatenate([[0.0], v[:-1]])


def _up(v):     # v_{i+1}, 0 last
    return np.concatenate([v[1:], [0.0]])


def numpy_problem(p, n):
    """(fun(x) -> (f, g), hessp(x, v)) written by hand."""
    if p == "chained_rosenbrock":
        from scipy.optimize import rosen, rosen_der, rosen_hess_prod
        return (lambda x: (rosen(x), rosen_der(x))), rosen_hess_prod
    if p == "extended_rosenbrock":
        def fg(x):
            a, b = x[0::2], x[1::2]
            d = b - a ** 2
            g = np.empty_like(x)
            g[0::2] = -400 * a * d - 2 * (1 - a)
            g[1::2] = 200 * d
            return np.sum(100 * d ** 2 + (1 - a) ** 2), g

        def hv(x, s):
            a, b = x[0::2], x[1::2]
            sa, sb = s[0::2], s[1::2]
            out = np.empty_like(x)
            out[0::2] = (1200 * a ** 2 - 400 * b + 2) * sa - 400 * a * sb
            out[1::2] = -400 * a * sa + 200 * sb
            return out
        return fg, hv
    if p == "extended_powell":
        def fg(x):
            a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
            u, v, w, z = a + 10 * b, c - d, b - 2 * c, a - d
            f = np.sum(u ** 2 + 5 * v ** 2 + w ** 4 + 10 * z ** 4)
            g = np.empty_like(x)
            g[0::4] = 2 * u + 40 * z ** 3
            g[1::4] = 20 * u + 4 * w ** 3
            g[2::4] = 10 * v - 8 * w ** 3
            g[3::4] = -10 * v - 40 * z ** 3
            return f, g

        def hv(x, s):
            a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
            pw, qz = 12 * (b - 2 * c) ** 2, 120 * (a - d) ** 2
            sa, sb, sc, sd = s[0::4], s[1::4], s[2::4], s[3::4]
            out = np.empty_like(x)
            out[0::4] = (2 + qz) * sa + 20 * sb - qz * sd
            out[1::4] = 20 * sa + (200 + pw) * sb - 2 * pw * sc
            out[2::4] = -2 * pw * sb + (10 + 4 * pw) * sc - 10 * sd
            out[3::4] = -qz * sa - 10 * sc + (10 + qz) * sd
            return out
        return fg, hv
    if p == "nondia":
        # r_i = x_0 - x_i^2 over x[:-1] (x_0 among them); f = (x_0 - 1)^2 + 100 r.r
        def fg(x):
            a = x[:-1]
            r = x[0] - a * a
            g = np.zeros_like(x)
            g[:-1] = -400 * r * a
            g[0] += 2 * (x[0] - 1) + 200 * r.sum()
            return (x[0] - 1) ** 2 + 100 * (r @ r), g

        def hv(x, s):
            a = x[:-1]
            r = x[0] - a * a
            out = np.zeros_like(x)
            out[:-1] = -400 * (r - 2 * a * a) * s[:-1] - 400 * a * s[0]
            out[0] += 2 * s[0] + 200 * (len(a) * s[0] - 2 * (a @ s[:-1]))
            return out
        return fg, hv
    if p == "arwhead":
        # q_i = x_i^2 + z^2 over x[:-1], z = x[-1]; f = sum(-4 x_i + 3) + q.q
        def fg(x):
            a, z = x[:-1], x[-1]
            q = a * a + z * z
            g = np.empty_like(x)
            g[:-1] = -4 + 4 * q * a
            g[-1] = 4 * z * q.sum()
            return np.sum(-4 * a + 3) + q @ q, g

        def hv(x, s):
            a, z = x[:-1], x[-1]
            q = a * a + z * z
            out = np.empty_like(x)
            out[:-1] = (4 * q + 8 * a * a) * s[:-1] + 8 * a * z * s[-1]
            out[-1] = 8 * z * (a @ s[:-1]) + np.sum(4 * q + 8 * z * z) * s[-1]
            return out
        return fg, hv
    if p == "broyden_tridiagonal":
        # r = (3 - 2x) x - x_{i-1} - 2 x_{i+1} + 1; J = tridiag(-1, 3 - 4x, -2); r_i'' = -4 e_i e_i'
        def res(x):
            return (3 - 2 * x) * x - _down(x) - 2 * _up(x) + 1

        def fg(x):
            r = res(x)
            return r @ r, 2 * ((3 - 4 * x) * r - _up(r) - 2 * _down(r))

        def hv(x, s):
            r = res(x)
            js = (3 - 4 * x) * s - _down(s) - 2 * _up(s)
            return 2 * ((3 - 4 * x) * js - _up(js) - 2 * _down(js) - 4 * r * s)
        return fg, hv
    # discrete BVP: J = tridiag(-1, 2 + 1.5 h^2 (x + t + 1)^2, -1), symmetric;
    # r_i'' = 3 h^2 (x_i + t_i + 1) e_i e_i'
    h = 1.0 / (n + 1)
    t = np.arange(1, n + 1) / (n + 1.0)

    def res(x):
        return 2 * x - _down(x) - _up(x) + h ** 2 * (x + t + 1) ** 3 / 2

    def jt(x, w):
        return (2 + 1.5 * h ** 2 * (x + t + 1) ** 2) * w - _down(w) - _up(w)

    def fg(x):
        r = res(x)
        return r @ r, 2 * jt(x, r)

    def hv(x, s):
        r = res(x)
        return 2 * (jt(x, jt(x, s)) + 3 * h ** 2 * (x + t + 1) * r * s)
    return fg, hv


# --- one case, in a child process ------------------------------------------------------------
def maxrss_mb():
    """This process's peak RSS: VmHWM, the high-water mark of its own memory since its exec.
    ru_maxrss is not used: Linux carries the forking parent's RSS into it across exec, so a small
    child of a large parent would report the parent's size."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_objective(path):
    import nabla
    m = nabla.load(path, hessian=False)
    obj = m.objective
    if not isinstance(obj, nabla.Objective) and callable(obj):
        obj = obj()
    return obj


def gtol_of(p, g0):
    return GTOL * g0 if p == "discrete_bvp" else GTOL


def case(p, n, method, path):
    """Runs one SciPy case; prints one JSON line."""
    from scipy.optimize import minimize
    x0 = x0_of(p, n)
    if method == "import":
        import nabla  # noqa: F401
        import scipy.optimize  # noqa: F401
        return {"rss_mb": maxrss_mb()}
    if method == "gradient":
        # nabla's compiled value+gradient beside the hand-written numpy one: load, then the
        # median of 7 calls each (after one call)
        t = time.perf_counter()
        obj = load_objective(path)
        load_s = time.perf_counter() - t
        fg, _ = numpy_problem(p, n)
        out = {"load_s": load_s}
        for name, fun in (("nabla", obj.value_and_grad), ("numpy", fg)):
            fun(x0)
            ts = []
            for _ in range(7):
                t = time.perf_counter()
                fun(x0)
                ts.append(time.perf_counter() - t)
            out[name + "_s"] = sorted(ts)[3]
        fa, ga = obj.value_and_grad(x0)
        fb, gb = fg(x0)
        out["rel_g"] = float(np.linalg.norm(ga - gb) / np.linalg.norm(gb))
        out["rss_mb"] = maxrss_mb()
        return out
    src, meth = method.split()
    if src == "scipy-numpy":
        fg, hv = numpy_problem(p, n)
        t_setup = 0.0
    else:
        t = time.perf_counter()
        obj = load_objective(path)
        if not hasattr(obj, "hvp"):
            return {"na": "n/a (the Python module has no Objective.hvp yet)"}
        t_setup = time.perf_counter() - t
        fg = obj.value_and_grad
        hv = obj.hvp
    counts = {"fg": 0, "hv": 0}

    def fun(x):
        counts["fg"] += 1
        return fg(x)

    def hessp(x, v):
        counts["hv"] += 1
        return hv(x, v)
    g0 = float(np.linalg.norm(fg(x0)[1]))
    gtol = gtol_of(p, g0)
    t = time.perf_counter()
    r = minimize(fun, x0, jac=True, hessp=hessp, method=meth,
                 options={"gtol": gtol, "maxiter": MAXITER})
    secs = time.perf_counter() - t
    f, g = fg(r.x)
    return {"f": float(f), "g": float(np.linalg.norm(g)), "g0": g0, "gtol": gtol,
            "ok": bool(np.linalg.norm(g) <= gtol), "s": secs, "setup_s": t_setup,
            "evals": counts["fg"], "hvps": counts["hv"], "iters": int(r.nit),
            "rss_mb": maxrss_mb(), "msg": str(r.message)}


def run(cmd, timeout):
    """subprocess.run in a session of its own, killed whole (with /usr/bin/time's child) on
    timeout; None then."""
    import signal
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_child(p, n, method, path, timeout):
    cmd = [sys.executable, os.path.abspath(__file__), "--case", p, str(n), method, path]
    c = run(cmd, timeout)
    if c is None:
        return {"error": f"not converged: stopped at the time limit, {timeout} s"}
    lines = [ln for ln in c.stdout.splitlines() if ln.startswith("{")]
    if c.returncode != 0 or not lines:
        err = (c.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": err}
    return json.loads(lines[-1])


def run_fit(exe, p, n, opt, path, timeout, tmp):
    """`nabla fit` under /usr/bin/time: wall, max RSS, its time: line, the -o file."""
    o = os.path.join(tmp, f"{p}_{n}_{opt}.json")
    log = os.path.join(tmp, f"{p}_{n}_{opt}.csv")
    x0 = x0_of(p, n)
    fg, _ = numpy_problem(p, n)
    g0 = float(np.linalg.norm(fg(x0)[1]))
    gtol = gtol_of(p, g0)
    cmd = ["/usr/bin/time", "-f", "TIME %e %M", exe, "fit", path, "--optimizer", opt,
           "--steps", str(MAXITER), "--tol", repr(gtol), "--log", log, "-o", o]
    if opt in ("newton", "newton-cg"):
        # up to 100 iterations a step (with 1, each step re-evaluates the line search's point)
        cmd += ["--tolerance-grad", repr(gtol / np.sqrt(n)), "--max-iter", "100"]
    c = run(cmd, timeout)
    if c is None:
        return {"error": f"not converged: stopped at the time limit, {timeout} s"}
    out = c.stdout + c.stderr
    if c.returncode != 0:
        if "unknown optimizer" in out:
            return {"na": f"n/a ({opt} is not in this build)"}
        lines = [ln for ln in out.splitlines() if "error" in ln] or out.splitlines()[-1:]
        return {"error": lines[0][:160] if lines else "?"}
    m = re.search(r"TIME ([0-9.]+) ([0-9]+)", out)
    tm = re.search(r"time: compiled in ([0-9.]+) s; ([0-9.]+) s for the steps", out)
    with open(o) as fh:
        js = json.load(fh)
    # the final |g|: the log's last row is the gradient at the start of the last step
    evals = None
    with open(log) as fh:
        head = fh.readline().strip().split(",")
        last = None
        for ln in fh:
            last = ln
    gl = None
    if last:
        row = dict(zip(head, last.strip().split(",")))
        gl = float(row["grad_norm"])
        if "evals" in row:
            evals = int(row["evals"])
    return {"f": js.get("loss"), "g": gl, "g0": g0, "gtol": gtol, "ok": js.get("stop") == "tolerance",
            "stop": js.get("stop"), "steps": js.get("steps"), "evals": evals,
            "s": float(tm.group(2)) if tm else None, "setup_s": float(tm.group(1)) if tm else None,
            "wall_s": float(m.group(1)) if m else None,
            "rss_mb": int(m.group(2)) / 1024.0 if m else None}


def fmt(r):
    if r is None:
        return "to be run"
    if "na" in r:
        return r["na"]
    if "error" in r:
        return r["error"] if r["error"].startswith("not converged") else "error: " + r["error"]
    parts = []
    if r.get("s") is not None:
        parts.append(f"{r['s']:.3g} s")
    if r.get("setup_s"):
        parts.append(f"(+{r['setup_s']:.2g} s compile)")
    ev = []
    if r.get("iters") is not None:
        ev.append(f"{r['iters']} it")
    if r.get("steps") is not None:
        ev.append(f"{r['steps']} steps")
    if r.get("evals") is not None:
        ev.append(f"{r['evals']} fg")
    if r.get("hvps"):
        ev.append(f"{r['hvps']} Hv")
    parts.append(", ".join(ev))
    parts.append(f"|g| {r['g']:.1e}" if r.get("g") is not None else "")
    if r.get("rss_mb") is not None:
        parts.append(f"{r['rss_mb']:.0f} MB")
    s = " ".join(x for x in parts if x)
    return s if r.get("ok") else s + " (not converged" + (f": {r['stop']}" if r.get("stop") else "") + ")"


def check():
    """Hand-written numpy against nabla's compiled value, gradient (and Hv where the module has
    it, else against central differences of the gradient) at n = 1000, at x0 and near it."""
    tmp = tempfile.mkdtemp(prefix="nabla_so_")
    n = 1000
    paths = write_models(tmp, n)
    rng = np.random.default_rng(0)
    bad = 0
    import nabla
    for p in PROBLEMS:
        obj = load_objective(paths[p])
        fg, hv = numpy_problem(p, n)
        x0 = x0_of(p, n)
        r0 = nabla.fit(paths[p], optimizer="sgd", lr=0.0, steps=1)
        xs = np.concatenate([np.ravel(v) for v in r0.params.values()])
        ok_x0 = np.allclose(xs, x0, rtol=1e-14, atol=1e-300)
        x = x0 + 0.1 * rng.standard_normal(n)
        fn, gn = obj.value_and_grad(x)
        fh, gh = fg(x)
        v = rng.standard_normal(n)
        hh = hv(x, v)
        e = 1e-6
        hfd = (fg(x + e * v)[1] - fg(x - e * v)[1]) / (2 * e)
        if hasattr(obj, "hvp"):
            hn = obj.hvp(x, v)
            rel_h = np.linalg.norm(hn - hh) / np.linalg.norm(hh)
            what = "nabla hvp"
        else:
            rel_h = np.linalg.norm(hfd - hh) / np.linalg.norm(hh)
            what = "central differences of g"
        rel_f = abs(fn - fh) / abs(fh)
        rel_g = np.linalg.norm(gn - gh) / np.linalg.norm(gh)
        ok = ok_x0 and rel_f < 1e-12 and rel_g < 1e-12 and rel_h < (1e-12 if what[0] == "n" else 1e-6)
        bad += not ok
        print(f"{p:20s} x0 {'=' if ok_x0 else '!='} file's; f rel {rel_f:.1e}, g rel {rel_g:.1e}, "
              f"Hv rel {rel_h:.1e} ({what}){'' if ok else '  MISMATCH'}")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", nargs=4, metavar=("PROBLEM", "N", "METHOD", "PATH"))
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--write", nargs=2, metavar=("DIR", "N"))
    ap.add_argument("--gradients", default="", metavar="N,...",
                    help="only time nabla's compiled value+gradient against numpy's at these n")
    ap.add_argument("--n", default="1000,10000,100000,1000000")
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--nabla", default=os.path.join(ROOT, "build-bench", "nabla"))
    ap.add_argument("--timeout", type=int, default=120, help="seconds per case")
    ap.add_argument("--json", default="", help="also append every result to this file")
    a = ap.parse_args()
    if a.case:
        p, n, method, path = a.case
        print(json.dumps(case(p, int(n), method, path)))
        return 0
    if a.check:
        return check()
    if a.gradients:
        tmp = tempfile.mkdtemp(prefix="nabla_so_")
        print("| problem | n | nabla.load (compile) | nabla value+grad | numpy value+grad | "
              "rel. difference of g | peak RSS |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in [int(float(x)) for x in a.gradients.split(",")]:
            paths = write_models(tmp, n)
            for p in [s for s in a.problems.split(",") if s]:
                r = run_child(p, n, "gradient", paths[p], a.timeout)
                if "error" in r:
                    print(f"| {p} | {n} | {r['error']} | | | | |")
                    continue
                print(f"| {p} | {n} | {r['load_s']:.3g} s | {r['nabla_s'] * 1e3:.3g} ms | "
                      f"{r['numpy_s'] * 1e3:.3g} ms | {r['rel_g']:.1e} | {r['rss_mb']:.0f} MB |",
                      flush=True)
        return 0
    if a.write:
        for p, path in write_models(a.write[0], int(a.write[1])).items():
            print(path)
        return 0
    import scipy
    ns = [int(float(s)) for s in a.n.split(",") if s]
    probs = [s for s in a.problems.split(",") if s]
    methods = [s for s in a.methods.split(",") if s]
    tmp = tempfile.mkdtemp(prefix="nabla_so_")
    print(f"scipy {scipy.__version__}, numpy {np.__version__}, {os.cpu_count()} cores; "
          f"nabla fit: {a.nabla}; |g|_2 <= {GTOL:g} (discrete_bvp: {GTOL:g} |g(x0)|)")
    base = run_child("chained_rosenbrock", 10, "import", "-", a.timeout)
    print(f"peak RSS of a child that only imports numpy, scipy.optimize and nabla: "
          f"{base.get('rss_mb', float('nan')):.0f} MB")
    results = []
    for p in probs:
        print(f"\n{p}\n")
        print("| n | " + " | ".join(methods) + " |")
        print("| ---: | " + " | ".join("---" for _ in methods) + " |")
        for n in ns:
            paths = write_models(tmp, n)
            cells = []
            for meth in methods:
                if meth.startswith("nabla "):
                    opt = meth.split()[1]
                    r = run_fit(a.nabla, p, n, opt, paths[p], a.timeout, tmp)
                else:
                    r = run_child(p, n, meth, paths[p], a.timeout)
                cells.append(fmt(r))
                results.append({"problem": p, "n": n, "method": meth, **r})
                if a.json:
                    with open(a.json, "a") as fh:
                        fh.write(json.dumps(results[-1]) + "\n")
            print(f"| {n} | " + " | ".join(cells) + " |", flush=True)
    print("\n(a cell: time to solution (the solver's own; + the compile of nabla's code), "
          "iterations, value+gradient evaluations (fg), Hessian-vector products (Hv), the final "
          "|g|_2, the peak RSS of the process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
