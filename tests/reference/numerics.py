#!/usr/bin/env python3
"""Writes tests/reference/numerics.json: values and first partial derivatives at 50 digits.

Every op's partials at extreme arguments (huge, tiny, next to a pole or a zero of the derivative),
softmax and logsumexp at large and very different logits, norm at huge, tiny and zero vectors,
and the stable forms of sums that the simplifier's arithmetic rules reshape first. Each case's
value and gradient are written out by hand below in mpmath (not differentiated by a tool), at the
exact binary values of the points. Run with Debian's python3-mpmath:

    python3 tests/reference/numerics.py > tests/reference/numerics.json

The format is that of gradients.json (tests/support/reference.h) with an empty Hessian; numbers
are the doubles nearest the exact values, as Python `repr`. A reference whose magnitude is below
the smallest normal double (2.2e-308) is written as its nearest double (0 or subnormal) and the
test accepts any result within 2.2e-308 of it; "inf" means the exact value overflows.
"""
import json
import sys

from mpmath import mp, mpf

mp.dps = 50

F = mpf
exp, log, sqrt = mp.exp, mp.log, mp.sqrt


def sigmoid(x):
    return 1 / (1 + exp(-x))


def lse(v):
    # m + log1p(the rest): at 50 digits, log(1 + 1e-304) would be 0.
    m = max(v)
    k = v.index(m)
    return m + mp.log1p(sum(exp(t - m) for j, t in enumerate(v) if j != k))


def softmax(v, i):
    # exp(v_i - m) / sum exp(v_j - m): exp(v_i - lse(v)) would lose v_i - lse(v) next to 1e300.
    m = max(v)
    return exp(v[i] - m) / sum(exp(t - m) for t in v)


def num(x):
    """The double nearest x, as text strtod reads back exactly."""
    if mp.isinf(x) or abs(x) > F("1.7976931348623157e308"):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


CASES = []


def case(name, expr, vars_, f, grad, points, kind):
    out = {"name": name, "expr": expr, "vars": vars_, "kind": kind, "points": []}
    for p in points:
        at = [F(float(v)) for v in p]  # the exact binary value of the double
        g = grad(*at)
        out["points"].append({
            "at": {v: repr(float(a)) for v, a in zip(vars_, at)},
            "value": num(f(*at)),
            "grad": {v: num(d) for v, d in zip(vars_, g)},
            "hessian": [],
        })
    CASES.append(out)


def unary(name, expr, f, df, points):
    case(name, expr, ["x"], f, lambda x: [df(x)], [[p] for p in points], "partial")


# ---- each op's partials at extreme arguments ------------------------------------------------
unary("exp", "exp(x)", exp, exp, [-708, 709, 1e-300, -1e-10, 30.5])
unary("log", "log(x)", log, lambda x: 1 / x,
      [1e-300, 1e300, 1 + 2.0**-52, 1 - 2.0**-53, 5e-324])
unary("sqrt", "sqrt(x)", sqrt, lambda x: 1 / (2 * sqrt(x)), [1e-300, 1e300, 5e-324, 2.0])
unary("sin", "sin(x)", mp.sin, mp.cos,
      [1e22, 1e-300, 3.141592653589793, 1.5707963267948966, 1e300, -2.5])
unary("cos", "cos(x)", mp.cos, lambda x: -mp.sin(x),
      [1e22, 1e-300, 3.141592653589793, 1.5707963267948966, 1e300, -2.5])
unary("tan", "tan(x)", mp.tan, lambda x: 1 / mp.cos(x) ** 2,
      [1.5707963267948966, 1e-300, 1e10, -1.57, 0.5])
unary("asin", "asin(x)", mp.asin, lambda x: 1 / sqrt(1 - x * x),
      [0.9999999999999999, -0.9999999999999999, 1e-300, 0.5])
unary("acos", "acos(x)", mp.acos, lambda x: -1 / sqrt(1 - x * x),
      [0.9999999999999999, -0.9999999999999999, 1e-300, 0.5])
unary("atan", "atan(x)", mp.atan, lambda x: 1 / (1 + x * x),
      [1e154, 1.2e154, 1e-300, 1e10, -1e100, 0.75])
unary("sinh", "sinh(x)", mp.sinh, mp.cosh, [700, -700, 1e-300, 1e-5, 20])
unary("cosh", "cosh(x)", mp.cosh, mp.sinh, [700, -700, 1e-300, 1e-8, 20])
unary("tanh", "tanh(x)", mp.tanh, lambda x: 1 / mp.cosh(x) ** 2,
      [20, -20, 10, 5, 19, 40, 300, 354, 1e-300, 0.5, -0.001])
unary("sigmoid", "sigmoid(x)", sigmoid, lambda x: sigmoid(x) * sigmoid(-x),
      [30, -30, 700, -700, 37, 1e-300, 0.25])
unary("softplus", "softplus(x)", lambda x: mp.log1p(exp(x)), sigmoid,
      [700, -700, 1e-300, 30, -30, 800, -740, 2])
unary("log1p", "log1p(x)", mp.log1p, lambda x: 1 / (1 + x),
      [1e-300, -0.9999999999999999, 1e300, -0.5, 1e-17])
unary("expm1", "expm1(x)", mp.expm1, exp, [1e-300, -40, 700, 1e-10, -1e-20])
unary("abs", "abs(x)", abs, lambda x: mp.sign(x), [-1e300, 1e-300, -5e-324])
unary("relu", "relu(x)", lambda x: max(x, F(0)), lambda x: F(1) if x > 0 else F(0), [1e300, -1e300])
unary("neg", "-x", lambda x: -x, lambda x: F(-1), [1e300])
unary("pow-const", "x^3", lambda x: x**3, lambda x: 3 * x**2, [1e100, -1e-100, 1e-150])
unary("pow-half", "x^0.5", lambda x: sqrt(x), lambda x: 1 / (2 * sqrt(x)), [1e-300, 1e300])
unary("pow-neg", "x^-2", lambda x: x**-2, lambda x: -2 * x**-3, [1e-100, 1e100, -3])
unary("const-pow", "2^x", lambda x: 2**x, lambda x: 2**x * log(2), [1000, -1000, 1e-300])


def binary(name, expr, f, gx, gy, points):
    case(name, expr, ["x", "y"], f, lambda x, y: [gx(x, y), gy(x, y)], points, "partial")


binary("add", "x + y", lambda x, y: x + y, lambda x, y: F(1), lambda x, y: F(1), [[1e300, -1e300]])
binary("sub", "x - y", lambda x, y: x - y, lambda x, y: F(1), lambda x, y: F(-1), [[1e300, 1e300]])
binary("mul", "x * y", lambda x, y: x * y, lambda x, y: y, lambda x, y: x,
       [[1e200, 1e-200], [1e-300, 1e300], [-3, 7]])
binary("div", "x / y", lambda x, y: x / y, lambda x, y: 1 / y, lambda x, y: -x / y**2,
       [[7, 1e-150], [1e-300, 3], [1e300, 1e10], [-2, 3]])
binary("pow", "x^y", lambda x, y: x**y, lambda x, y: y * x ** (y - 1), lambda x, y: x**y * log(x),
       [[1.0000000001, 1e10], [1e10, 30.5], [0.999, -1e5], [1e-300, 0.5], [2, -1000], [3, 2.5]])
binary("min", "min(x, y)", min, lambda x, y: F(1) if x <= y else F(0),
       lambda x, y: F(0) if x <= y else F(1), [[1e300, -1e300], [1e-300, 2e-300]])
binary("max", "max(x, y)", max, lambda x, y: F(1) if x >= y else F(0),
       lambda x, y: F(0) if x >= y else F(1), [[1e300, -1e300], [1e-300, 2e-300]])
binary("atan2", "atan2(x, y)", mp.atan2, lambda x, y: y / (x * x + y * y),
       lambda x, y: -x / (x * x + y * y),
       [[1e200, 1e200], [1e-200, 3e-200], [1, 1e-300], [1e150, 1e160], [-2, 0.5], [1e-300, -1]])
binary("hypot", "hypot(x, y)", lambda x, y: sqrt(x * x + y * y), lambda x, y: x / sqrt(x * x + y * y),
       lambda x, y: y / sqrt(x * x + y * y),
       [[1e300, 1e300], [1e-300, 3e-300], [3, 4], [1e200, 1e-200], [-1e-307, 2e-307]])
binary("logaddexp", "logaddexp(x, y)", lambda x, y: lse([x, y]), lambda x, y: sigmoid(x - y),
       lambda x, y: sigmoid(y - x),
       [[1e15, 1e15], [1e16, 1e16], [1000, 1001], [-1e5, -1e5 + 1], [1000, -1000], [0, -700],
        [1e308, 1e308], [-745, -745]])

# ---- softmax and logsumexp at large and very different logits ----------------------------------


def softmaxCase(name, n, i, points):
    vs = ["x", "y", "z"][:n]
    expr = "softmax([" + ", ".join(vs) + "])[" + str(i) + "]"

    def grad(*v):
        s = [softmax(list(v), j) for j in range(n)]
        # s_i (1 - s_i) as s_i times the other entries: 1 - s_i would lose them next to 1.
        return [s[i] * sum(s[k] for k in range(n) if k != i) if j == i else -s[i] * s[j]
                for j in range(n)]

    case(name, expr, vs, lambda *v: softmax(list(v), i), grad, points, "softmax")


def lseCase(name, n, points):
    vs = ["x", "y", "z"][:n]
    expr = "logsumexp([" + ", ".join(vs) + "])"
    case(name, expr, vs, lambda *v: lse(list(v)), lambda *v: [softmax(list(v), j) for j in range(n)],
         points, "softmax")


softmaxCase("softmax2", 2, 0,
            [[1e15, 1e15], [1e16, 1e16], [1e6, 1e6], [1e300, 1e300], [-1e300, -1e300],
             [0, 700], [700, 0], [1e15, 1e15 + 0.125], [-1e15, -1e15 - 1], [1000, 1000.5], [3, -2]])
softmaxCase("softmax3", 3, 1,
            [[1e15, 1e15, 1e15], [700, 0, -700], [0, 700, 1], [1, 2, 3], [-1e15, -1e15, -1e15 + 2],
             [1e10, 1e10 - 30, 1e10 - 60], [0.5, 0.5, 0.5]])
lseCase("logsumexp2", 2,
        [[1e15, 1e15], [1000, 1000], [-1000, -1000], [1e308, 1e308], [0, -700], [-745, -745],
         [1e16, 1e16], [1, 2]])
lseCase("logsumexp3", 3,
        [[1e15, 1e15, 1e15], [700, 0, -700], [-745, -745, -745], [1, 2, 3], [1e10, 1e10 - 30, 1e10 - 60]])

# ---- norm: huge, tiny, zero --------------------------------------------------------------------


def normCase(name, n, points):
    vs = ["x", "y", "z"][:n]
    expr = "norm([" + ", ".join(vs) + "])"

    def value(*v):
        return sqrt(sum(t * t for t in v))

    def grad(*v):
        r = value(*v)
        return [t / r if r != 0 else F(0) for t in v]  # the subgradient 0 at the origin

    case(name, expr, vs, value, grad, points, "norm")


normCase("norm2", 2, [[1e200, 1e200], [1e-200, 1e-200], [3, -4], [0, 0], [1e300, -1e300]])
normCase("norm3", 3, [[1e200, 1e200, -1e200], [1e-200, 2e-200, 2e-200], [0, 0, 0], [1, 2, 2]])

# ---- stable forms of sums that the arithmetic rules reshape first --------------------------------


def stable(name, expr, vars_, f, grad, points):
    case(name, expr, vars_, f, grad, points, "stable")


stable("log2exp", "log(exp(x) + exp(x))", ["x"], lambda x: x + log(2), lambda x: [F(1)],
       [[1000], [-1000], [0.5]])
stable("log2exp2x", "log(exp(2*x) + exp(x+x))", ["x"], lambda x: 2 * x + log(2), lambda x: [F(2)],
       [[1000], [-1000], [0.5]])
stable("log3exp", "log(exp(x) + exp(x) + exp(x))", ["x"], lambda x: x + log(3), lambda x: [F(1)],
       [[1000], [-1000]])
stable("log2exp1", "log(1 + exp(x) + exp(x))", ["x"], lambda x: mp.log1p(2 * exp(x)),
       lambda x: [2 * exp(x) / (1 + 2 * exp(x))], [[1000], [-1000], [-30], [2]])
stable("log2expy", "log(exp(x) + exp(x) + exp(y))", ["x", "y"], lambda x, y: lse([x + log(2), y]),
       lambda x, y: [sigmoid(x + log(2) - y), sigmoid(y - x - log(2))], [[10, 10], [0.5, -3]])

json.dump(CASES, sys.stdout, indent=1)
sys.stdout.write("\n")
