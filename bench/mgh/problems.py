"""The 35 test problems of More, Garbow and Hillstrom, "Testing unconstrained optimization
software", ACM TOMS 7(1), 17-41, 1981, in numpy: residuals r(x) (f(x) = sum r_i(x)^2), their
Jacobian J(x) (so that SciPy gets hand-written derivatives: g = 2 J^T r, and the Gauss-Newton
part of the Hessian plus the residuals' curvature, by finite differences of g where a closed form
would be long), the standard start x0, the dimensions n and m used here, and the minima f* the
paper lists (several where the paper gives several).

This file is the independent reference for the nabla files beside it (NN_name.nabla):
bench/mgh/check.py compares the two at x0 and at a random point near it.

Every PROBLEMS entry: number, file stem, n, m, x0, residual function r(x), list of known minima
(the paper's f*; the first is the global one, the others local minima or limits at infinity).
"""
import math

import numpy as np

SQ = np.sqrt


def _t(n):
    return np.arange(1, n + 1) / (n + 1.0)


# --- data ------------------------------------------------------------------------------------
BARD_Y = np.array([0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96,
                   1.34, 2.10, 4.39])
GAUSS_Y = np.array([0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989, 0.3521,
                    0.2420, 0.1295, 0.0540, 0.0175, 0.0044, 0.0009])
MEYER_Y = np.array([34780, 28610, 23650, 19630, 16370, 13720, 11540, 9744, 8261, 7030, 6005,
                    5147, 4427, 3820, 3307, 2872], dtype=float)
KOW_Y = np.array([0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323,
                  0.0235, 0.0246])
KOW_U = np.array([4, 2, 1, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625])
OSB1_Y = np.array([0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751,
                   0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490,
                   0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406])
OSB2_Y = np.array([1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746,
                   0.679, 0.608, 0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649,
                   0.694, 0.644, 0.624, 0.661, 0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395,
                   0.375, 0.372, 0.391, 0.396, 0.405, 0.428, 0.429, 0.523, 0.562, 0.607, 0.653,
                   0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559, 0.597, 0.625, 0.739,
                   0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054])


# --- residuals -------------------------------------------------------------------------------
def rosenbrock(x):
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


def freudenstein_roth(x):
    return np.array([-13 + x[0] + ((5 - x[1]) * x[1] - 2) * x[1],
                     -29 + x[0] + ((x[1] + 1) * x[1] - 14) * x[1]])


def powell_badly_scaled(x):
    return np.array([1e4 * x[0] * x[1] - 1, np.exp(-x[0]) + np.exp(-x[1]) - 1.0001])


def brown_badly_scaled(x):
    return np.array([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2])


def beale(x):
    y = np.array([1.5, 2.25, 2.625])
    i = np.arange(1, 4)
    return y - x[0] * (1 - x[1] ** i)


def jennrich_sampson(x, m=10):
    i = np.arange(1, m + 1)
    return 2 + 2 * i - (np.exp(i * x[0]) + np.exp(i * x[1]))


def helical_valley(x):
    th = np.arctan(x[1] / x[0]) / (2 * np.pi) + (0.5 if x[0] < 0 else 0.0)
    return np.array([10 * (x[2] - 10 * th), 10 * (np.sqrt(x[0] ** 2 + x[1] ** 2) - 1), x[2]])


def bard(x):
    u = np.arange(1, 16, dtype=float)
    v = 16 - u
    w = np.minimum(u, v)
    return BARD_Y - (x[0] + u / (v * x[1] + w * x[2]))


def gaussian(x):
    t = (8 - np.arange(1, 16)) / 2.0
    return x[0] * np.exp(-x[1] * (t - x[2]) ** 2 / 2) - GAUSS_Y


def meyer(x):
    t = 45 + 5 * np.arange(1, 17, dtype=float)
    return x[0] * np.exp(x[1] / (t + x[2])) - MEYER_Y


def gulf(x, m=99):
    t = np.arange(1, m + 1) / 100.0
    y = 25 + (-50 * np.log(t)) ** (2.0 / 3.0)
    return np.exp(-np.abs(y - x[1]) ** x[2] / x[0]) - t


def box3d(x, m=10):
    t = 0.1 * np.arange(1, m + 1)
    return np.exp(-t * x[0]) - np.exp(-t * x[1]) - x[2] * (np.exp(-t) - np.exp(-10 * t))


def powell_singular(x):
    return np.array([x[0] + 10 * x[1], SQ(5) * (x[2] - x[3]), (x[1] - 2 * x[2]) ** 2,
                     SQ(10) * (x[0] - x[3]) ** 2])


def wood(x):
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0], SQ(90) * (x[3] - x[2] ** 2), 1 - x[2],
                     SQ(10) * (x[1] + x[3] - 2), (x[1] - x[3]) / SQ(10)])


def kowalik_osborne(x):
    u = KOW_U
    return KOW_Y - x[0] * (u ** 2 + u * x[1]) / (u ** 2 + u * x[2] + x[3])


def brown_dennis(x, m=20):
    t = np.arange(1, m + 1) / 5.0
    return (x[0] + t * x[1] - np.exp(t)) ** 2 + (x[2] + x[3] * np.sin(t) - np.cos(t)) ** 2


def osborne1(x):
    t = 10.0 * np.arange(33)
    return OSB1_Y - (x[0] + x[1] * np.exp(-t * x[3]) + x[2] * np.exp(-t * x[4]))


def biggs_exp6(x, m=13):
    t = 0.1 * np.arange(1, m + 1)
    y = np.exp(-t) - 5 * np.exp(-10 * t) + 3 * np.exp(-4 * t)
    return x[2] * np.exp(-t * x[0]) - x[3] * np.exp(-t * x[1]) + x[5] * np.exp(-t * x[4]) - y


def osborne2(x):
    t = np.arange(65) / 10.0
    return OSB2_Y - (x[0] * np.exp(-t * x[4]) + x[1] * np.exp(-(t - x[8]) ** 2 * x[5])
                     + x[2] * np.exp(-(t - x[9]) ** 2 * x[6])
                     + x[3] * np.exp(-(t - x[10]) ** 2 * x[7]))


def watson(x):
    n = len(x)
    t = np.arange(1, 30) / 29.0
    j = np.arange(1, n)
    s1 = (j * x[1:] * t[:, None] ** (j - 1)).sum(axis=1)
    s2 = (x * t[:, None] ** np.arange(n)).sum(axis=1)
    return np.concatenate([s1 - s2 ** 2 - 1, [x[0], x[1] - x[0] ** 2 - 1]])


def extended_rosenbrock(x):
    r = np.empty(len(x))
    r[0::2] = 10 * (x[1::2] - x[0::2] ** 2)
    r[1::2] = 1 - x[0::2]
    return r


def extended_powell(x):
    r = np.empty(len(x))
    a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
    r[0::4] = a + 10 * b
    r[1::4] = SQ(5) * (c - d)
    r[2::4] = (b - 2 * c) ** 2
    r[3::4] = SQ(10) * (a - d) ** 2
    return r


def penalty1(x):
    return np.concatenate([SQ(1e-5) * (x - 1), [np.sum(x ** 2) - 0.25]])


def penalty2(x):
    n = len(x)
    a = 1e-5
    i = np.arange(2, n + 1)
    y = np.exp(i / 10.0) + np.exp((i - 1) / 10.0)
    r1 = [x[0] - 0.2]
    r2 = SQ(a) * (np.exp(x[1:] / 10) + np.exp(x[:-1] / 10) - y)
    r3 = SQ(a) * (np.exp(x[1:] / 10) - np.exp(-1 / 10.0))
    r4 = [np.sum((n - np.arange(n)) * x ** 2) - 1]
    return np.concatenate([r1, r2, r3, r4])


def variably_dimensioned(x):
    n = len(x)
    s = np.sum(np.arange(1, n + 1) * (x - 1))
    return np.concatenate([x - 1, [s, s ** 2]])


def trigonometric(x):
    n = len(x)
    return n - np.sum(np.cos(x)) + np.arange(1, n + 1) * (1 - np.cos(x)) - np.sin(x)


def brown_almost_linear(x):
    n = len(x)
    r = x + np.sum(x) - (n + 1)
    r[-1] = np.prod(x) - 1
    return r


def discrete_bvp(x):
    n = len(x)
    h = 1.0 / (n + 1)
    t = _t(n)
    xm = np.concatenate([[0.0], x[:-1]])
    xp = np.concatenate([x[1:], [0.0]])
    return 2 * x - xm - xp + h ** 2 * (x + t + 1) ** 3 / 2


def discrete_integral(x):
    n = len(x)
    h = 1.0 / (n + 1)
    t = _t(n)
    c = (x + t + 1) ** 3
    lower = np.cumsum(t * c)                        # sum_{j <= i} t_j c_j
    upper = np.sum((1 - t) * c) - np.cumsum((1 - t) * c)   # sum_{j > i} (1 - t_j) c_j
    return x + h * ((1 - t) * lower + t * upper) / 2


def broyden_tridiagonal(x):
    xm = np.concatenate([[0.0], x[:-1]])
    xp = np.concatenate([x[1:], [0.0]])
    return (3 - 2 * x) * x - xm - 2 * xp + 1


def broyden_banded(x, ml=5, mu=1):
    n = len(x)
    r = x * (2 + 5 * x ** 2) + 1
    q = x * (1 + x)
    for i in range(n):
        lo, hi = max(0, i - ml), min(n - 1, i + mu)
        r[i] -= q[lo:hi + 1].sum() - q[i]
    return r


def linear_full_rank(x, m=20):
    s = np.sum(x)
    r = np.full(m, -2 * s / m - 1)
    r[: len(x)] += x
    return r


def linear_rank1(x, m=20):
    n = len(x)
    return np.arange(1, m + 1) * np.sum(np.arange(1, n + 1) * x) - 1


def linear_rank1_zero(x, m=20):
    n = len(x)
    s = np.sum(np.arange(2, n) * x[1:-1])
    r = (np.arange(1, m + 1) - 1) * s - 1
    r[0] = -1
    r[-1] = -1
    return r


def chebyquad(x, m=None):
    n = len(x)
    m = n if m is None else m
    y = 2 * x - 1
    T = [np.ones(n), y]
    for _ in range(2, m + 1):
        T.append(2 * y * T[-1] - T[-2])
    i = np.arange(1, m + 1)
    exact = np.where(i % 2 == 0, -1.0 / np.maximum(i ** 2 - 1.0, 1.0), 0.0)
    return np.array([np.mean(T[k]) for k in range(1, m + 1)]) - exact


def _linspace_t(n):
    t = _t(n)
    return t * (t - 1)


# number, stem, n, m, x0, r, minima (f*), note
PROBLEMS = [
    (1, "01_rosenbrock", 2, 2, [-1.2, 1], rosenbrock, [0.0], ""),
    (2, "02_freudenstein_roth", 2, 2, [0.5, -2], freudenstein_roth, [0.0, 48.9842],
     "local minimum 48.9842 at (11.41, -0.8968)"),
    (3, "03_powell_badly_scaled", 2, 2, [0, 1], powell_badly_scaled, [0.0], ""),
    (4, "04_brown_badly_scaled", 2, 3, [1, 1], brown_badly_scaled, [0.0], ""),
    (5, "05_beale", 2, 3, [1, 1], beale, [0.0], ""),
    (6, "06_jennrich_sampson", 2, 10, [0.3, 0.4], jennrich_sampson, [124.362], ""),
    (7, "07_helical_valley", 3, 3, [-1, 0, 0], helical_valley, [0.0], ""),
    (8, "08_bard", 3, 15, [1, 1, 1], bard, [8.21487e-3, 17.4286],
     "17.4286 at (0.8406, -inf, -inf)"),
    (9, "09_gaussian", 3, 15, [0.4, 1, 0], gaussian, [1.12793e-8], ""),
    (10, "10_meyer", 3, 16, [0.02, 4000, 250], meyer, [87.9458], ""),
    (11, "11_gulf", 3, 99, [5, 2.5, 0.15], gulf, [0.0], "f = 0 at (50, 25, 1.5)"),
    (12, "12_box3d", 3, 10, [0, 10, 20], box3d, [0.0],
     "f = 0 at (1, 10, 1), (10, 1, -1) and wherever x1 = x2, x3 = 0"),
    (13, "13_powell_singular", 4, 4, [3, -1, 0, 1], powell_singular, [0.0], ""),
    (14, "14_wood", 4, 6, [-3, -1, -3, -1], wood, [0.0], ""),
    (15, "15_kowalik_osborne", 4, 11, [0.25, 0.39, 0.415, 0.39], kowalik_osborne,
     [3.07505e-4, 1.02734e-3], "1.02734e-3 at (+inf, -14.08, -inf, -inf)"),
    (16, "16_brown_dennis", 4, 20, [25, 5, -5, -1], brown_dennis, [85822.2], ""),
    (17, "17_osborne1", 5, 33, [0.5, 1.5, -1, 0.01, 0.02], osborne1, [5.46489e-5], ""),
    (18, "18_biggs_exp6", 6, 13, [1, 2, 1, 1, 1, 1], biggs_exp6, [0.0, 5.65565e-3],
     "f = 0 at (1, 10, 1, 5, 4, 3); 5.65565e-3 is a local minimum"),
    (19, "19_osborne2", 11, 65, [1.3, 0.65, 0.65, 0.7, 0.6, 3, 5, 7, 2, 4.5, 5.5], osborne2,
     [4.01377e-2], ""),
    (20, "20_watson", 9, 31, [0] * 9, watson, [1.39976e-6], "n = 9"),
    (21, "21_extended_rosenbrock", 10, 10, [-1.2, 1] * 5, extended_rosenbrock, [0.0], ""),
    (22, "22_extended_powell", 12, 12, [3, -1, 0, 1] * 3, extended_powell, [0.0], ""),
    (23, "23_penalty1", 10, 11, list(range(1, 11)), penalty1, [7.08765e-5], ""),
    (24, "24_penalty2", 10, 20, [0.5] * 10, penalty2, [2.93660e-4], ""),
    (25, "25_variably_dimensioned", 10, 12, list(1 - np.arange(1, 11) / 10.0),
     variably_dimensioned, [0.0], ""),
    (26, "26_trigonometric", 10, 10, [0.1] * 10, trigonometric, [0.0, 2.79506e-5],
     "2.79506e-5 is a local minimum"),
    (27, "27_brown_almost_linear", 10, 10, [0.5] * 10, brown_almost_linear, [0.0, 1.0],
     "f = 1 at (0, ..., 0, n + 1)"),
    (28, "28_discrete_bvp", 10, 10, list(_linspace_t(10)), discrete_bvp, [0.0], ""),
    (29, "29_discrete_integral", 10, 10, list(_linspace_t(10)), discrete_integral, [0.0], ""),
    (30, "30_broyden_tridiagonal", 10, 10, [-1] * 10, broyden_tridiagonal, [0.0], ""),
    (31, "31_broyden_banded", 10, 10, [-1] * 10, broyden_banded, [0.0], ""),
    (32, "32_linear_full_rank", 10, 20, [1] * 10, linear_full_rank, [10.0], "f* = m - n"),
    (33, "33_linear_rank1", 10, 20, [1] * 10, linear_rank1, [380 / 82],
     "f* = m(m-1)/(2(2m+1))"),
    (34, "34_linear_rank1_zero", 10, 20, [1] * 10, linear_rank1_zero, [454 / 74],
     "f* = (m^2+3m-6)/(2(2m-3))"),
    (35, "35_chebyquad", 10, 10, list(np.arange(1, 11) / 11.0), chebyquad, [6.50395e-3], ""),
]


def objective(r):
    def f(x):
        v = r(np.asarray(x, dtype=float))
        return float(v @ v)
    return f


def jacobian_fd(r, x, h=None):
    """Central differences of r: used only to give SciPy the gradient 2 J^T r where no closed
    form is written here (the hand-written run's gradient is exact for the large problems,
    bench/second_order.py)."""
    x = np.asarray(x, dtype=float)
    m = len(r(x))
    J = np.empty((m, len(x)))
    for j in range(len(x)):
        e = np.zeros_like(x)
        hj = (h or 6e-6) * max(1.0, abs(x[j]))
        e[j] = hj
        J[:, j] = (r(x + e) - r(x - e)) / (2 * hj)
    return J


def solved(f, minima, rel=1e-5, abs_=1e-10):
    """Solved: |f - f*| <= rel |f*| + abs_ for one of the paper's minima f* (printed there to 6
    significant digits, hence rel = 1e-5; for f* = 0, f <= 1e-10), or f below the smallest f*
    (a better point than the paper's). Returns the index of the minimum reached (0: the first
    listed, the global one; "<" for below), or None."""
    if f is None or not np.isfinite(f):
        return None
    for k, fs in enumerate(minima):
        if abs(f - fs) <= rel * abs(fs) + abs_:
            return k
    if f < min(minima):
        return "<"
    return None
