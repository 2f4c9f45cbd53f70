"""nabla.compile and Function: values, gradients and Hessians against the reference data, and the
vectorized calls against one point at a time in every layout."""

import json
import os
import threading
import unittest

import numpy as np

import nabla
from support import REFERENCE_DIR

SEED = "f(x, y) = (x^2 + y)^2 * (y - x*y)"


def close(got, ref, scale):
    """tests/reference/README.md's rule: 1e-9 relative, with a floor of 1e-3 of the largest entry."""
    if scale == 0:
        return abs(got) <= 1e-12
    return abs(got - ref) <= 1e-9 * max(abs(ref), 1e-3 * scale)


class ReferenceTest(unittest.TestCase):
    """Every case of tests/reference/gradients.json, compiled as a function of its `vars`."""

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(REFERENCE_DIR, "gradients.json")) as f:
            cls.cases = json.load(f)

    def test_values_gradients_hessians(self):
        checked = 0
        for case in self.cases:
            vars_ = case["vars"]
            f = nabla.compile(f"g({', '.join(vars_)}) = {case['expr']}").g
            for point in case["points"]:
                at = [float(point["at"][v]) for v in vars_]
                with self.subTest(case=case["name"], at=at):
                    value, grad = f.value_and_grad(*at)
                    ref = float(point["value"])
                    self.assertTrue(close(value, ref, abs(ref)) if ref else abs(value) <= 1e-12,
                                    f"value {value!r}, reference {ref!r}")
                    refGrad = [float(point["grad"][v]) for v in vars_]
                    G = max(abs(g) for g in refGrad)
                    for got, r in zip(grad, refGrad):
                        self.assertTrue(close(got, r, G), f"gradient {grad}, reference {refGrad}")
                    refHess = [[float(h) for h in row] for row in point["hessian"]]
                    H = max(abs(h) for row in refHess for h in row)
                    hess = f.hessian(*at)
                    for i in range(len(vars_)):
                        for j in range(len(vars_)):
                            self.assertTrue(close(hess[i, j], refHess[i][j], H),
                                            f"Hessian {hess}, reference {refHess}")
                    # The vectorized call agrees with the one-point call (libmvec may round a
                    # math function an ulp apart from libm).
                    v2, g2 = f.value_and_grad(np.array([at]))
                    np.testing.assert_allclose(v2[0], value, rtol=1e-13, atol=1e-300)
                    np.testing.assert_allclose(g2[0], grad, rtol=1e-12, atol=1e-14 * max(G, 1))
                    checked += 1
        self.assertGreater(checked, 600)


class ScalarCallTest(unittest.TestCase):
    def setUp(self):
        self.m = nabla.compile(SEED)
        self.f = self.m.f

    def test_module(self):
        self.assertEqual(self.m.functions, ["f"])
        self.assertIs(type(self.m.function("f")), nabla.Function)
        self.assertIn("f", self.m)
        self.assertEqual(self.m["f"].name, "f")
        self.assertEqual(self.m.name, "<expr>")
        self.assertFalse(self.m.has_objective)
        self.assertEqual(self.m.warnings, [])

    def test_one_point(self):
        f = self.f
        self.assertEqual((f.name, f.arity, f.arg_names, f.has_hessian), ("f", 2, ["x", "y"], True))
        self.assertEqual(f(0.5, -0.5), -0.015625)
        self.assertIsInstance(f(0.5, -0.5), float)
        np.testing.assert_array_equal(f.grad(0.5, -0.5), [0.15625, 0.15625])
        v, g = f.value_and_grad(0.5, -0.5)
        self.assertEqual(v, -0.015625)
        np.testing.assert_array_equal(g, [0.15625, 0.15625])
        np.testing.assert_array_equal(f.hessian(0.5, -0.5), [[-0.75, -1.0625], [-1.0625, -1]])
        # Ints, numpy scalars and one array of k coordinates are one point too.
        self.assertEqual(f(1, 2), f(1.0, 2.0))
        self.assertEqual(f(np.float32(0.5), np.int64(-1)), f(0.5, -1.0))
        self.assertEqual(f(np.array([0.5, -0.5])), -0.015625)
        self.assertEqual(f([0.5, -0.5]), -0.015625)

    def test_text(self):
        self.assertEqual(self.f.text, "(x^2 + y)^2*(y - x*y)")
        self.assertEqual(len(self.f.gradient_text), 2)
        self.assertEqual(len(self.f.hessian_text), 2)
        g = nabla.compile(f"g(x, y) = {self.f.gradient_text[0]}").g
        self.assertAlmostEqual(g(0.5, -0.5), 0.15625, places=15)


class VectorizedTest(unittest.TestCase):
    """Many points in one call equal one point at a time, in every layout, to 1e-13: sin and exp
    go through the vector math library, and the one-point calls may run nabla's baseline code
    until LLVM's is in, an ulp or so from the vectorized code (which the JIT's own tests compare
    bit for bit with LLVM's one-point code). Layouts, conversions and threads give the same bits,
    as one compiled kernel computes them all."""

    def setUp(self):
        self.rng = np.random.default_rng(7)
        self.fns = [nabla.compile(SEED).f,
                    nabla.compile("h(a, b, c) = sin(a)*exp(b/3) + log1p(c^2)*a").h]

    def one_by_one(self, f, X):
        k = f.arity
        values = np.array([f(*p) for p in X])
        grads = np.array([f.grad(*p) for p in X]).reshape(len(X), k)
        hess = np.array([f.hessian(*p) for p in X]).reshape(len(X), k, k)
        return values, grads, hess

    def check(self, f, X):
        cmp = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
        ref_v, ref_g, ref_h = self.one_by_one(f, np.asarray(X, dtype=np.float64))
        # Every layout and conversion of the same points: the bits of the C-ordered call.
        rows = np.ascontiguousarray(X, dtype=np.float64).reshape(len(X), f.arity)
        np.testing.assert_array_equal(f.value_and_grad(X)[1], f.value_and_grad(rows)[1])
        v, G = f.value_and_grad(X)
        self.assertEqual(v.shape, (len(X),))
        self.assertEqual(G.shape, (len(X), f.arity))
        cmp(v, ref_v)
        cmp(G, ref_g)
        cmp(f(X), ref_v)
        cmp(f.grad(X), ref_g)
        H = f.hessian(X)
        self.assertEqual(H.shape, (len(X), f.arity, f.arity))
        cmp(H, ref_h)

    def test_layouts_and_sizes(self):
        for f in self.fns:
            k = f.arity
            for n in (0, 1, 7, 1000, 1029):
                with self.subTest(f=f.name, n=n):
                    X = self.rng.uniform(-2, 2, (n, k))
                    self.check(f, X)                              # C order: rows
                    F = np.asfortranarray(X)
                    self.check(f, F)                              # F order: columns
                    if n > 1:
                        self.assertTrue(f.grad(F).flags["F_CONTIGUOUS"])
                    self.check(f, np.ascontiguousarray(X.T).T)   # X.T of a (k, n) array
                    wide = self.rng.uniform(-2, 2, (n, 2 * k))
                    self.check(f, wide[:, ::2])                   # strided: converted
                    ints = self.rng.integers(-3, 3, (n, k))
                    self.check(f, ints)                           # int: converted
                    self.check(f, X.tolist() if n else np.zeros((0, k)))

    def test_separate_arrays(self):
        f = self.fns[0]
        xs, ys = self.rng.uniform(-2, 2, (2, 1000))
        X = np.column_stack([xs, ys])
        np.testing.assert_array_equal(f(xs, ys), f(X))
        gx, gy = f.grad(xs, ys)
        np.testing.assert_array_equal(np.stack([gx, gy], axis=1), f.grad(X))
        v, G = f.value_and_grad(xs, ys)
        self.assertEqual(G.shape, (2, 1000))
        np.testing.assert_array_equal(v, f(X))
        H = f.hessian(xs, ys)
        self.assertEqual(H.shape, (2, 2, 1000))
        np.testing.assert_array_equal(np.moveaxis(H, 2, 0), f.hessian(X))
        # A number is broadcast over the points.
        np.testing.assert_array_equal(f(xs, 0.25), f(np.column_stack([xs, np.full(1000, 0.25)])))
        np.testing.assert_array_equal(f(xs, [0.25] * 1000), f(xs, 0.25))

    def test_one_argument(self):
        g = nabla.compile("g(t) = t^3 - t").g
        ts = np.linspace(-1, 1, 11)
        # A 1-D array is n points of a function of one argument (nabla fuses into FMAs: a few ulps).
        np.testing.assert_allclose(g(ts), ts**3 - ts, rtol=1e-14, atol=1e-15)
        self.assertEqual(g.grad(ts).shape, (1, 11))
        np.testing.assert_allclose(g.grad(ts), [3 * ts**2 - 1], rtol=1e-14, atol=1e-15)

    def test_threads(self):
        f = self.fns[1]
        X = self.rng.uniform(-2, 2, (5000, 3))
        np.testing.assert_array_equal(f(X, threads=1), f(X, threads=2))
        np.testing.assert_array_equal(f.grad(X, threads=1), f.grad(X, threads=0))

    def test_concurrent_calls_release_the_gil(self):
        """Two Python threads call one function on large arrays at once: the GIL is released while
        compiled code runs, and both get the results of a call made alone."""
        f = self.fns[1]
        X = self.rng.uniform(-2, 2, (200000, 3))
        expected = f.value_and_grad(X, threads=1)
        results, errors = [None, None], []

        def work(i):
            try:
                for _ in range(3):
                    results[i] = f.value_and_grad(X, threads=1)
            except Exception as e:  # reported below: a thread's exception would be lost
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for v, G in results:
            np.testing.assert_array_equal(v, expected[0])
            np.testing.assert_array_equal(G, expected[1])


class ObjectiveTest(unittest.TestCase):
    def test_rows_and_batches(self):
        m = nabla.compile("param w[2]\nparam b = 0\ninput x[2]\ninput y\n"
                          "minimize (dot(w, x) + b - y)^2")
        obj = m.objective
        self.assertEqual(obj.name, "L")
        self.assertEqual([(p.name, p.shape) for p in obj.params], [("w", (2,)), ("b", ())])
        self.assertEqual([(i.name, i.shape) for i in obj.inputs], [("x", (2,)), ("y", ())])
        self.assertEqual((obj.param_count, obj.input_count), (3, 3))
        p = np.array([1.0, -2.0, 0.5])
        self.assertEqual(obj.value(p, [1.0, 1.0, 0.0]), 0.25)
        v, g = obj.value_and_grad({"w": [1.0, -2.0], "b": 0.5}, [1.0, 1.0, 0.0])
        self.assertEqual(v, 0.25)
        np.testing.assert_array_equal(g, [-1.0, -1.0, -1.0])
        self.assertEqual(obj.hessian(p, [1.0, 1.0, 0.0]).shape, (3, 3))
        rng = np.random.default_rng(1)
        X, y = rng.normal(size=(100, 2)), rng.normal(size=100)
        loss, grad = obj.batch(p, {"x": X, "y": y})
        r = X @ p[:2] + p[2] - y
        self.assertAlmostEqual(loss, np.mean(r**2), places=12)
        np.testing.assert_allclose(grad, [np.mean(2 * r * X[:, 0]), np.mean(2 * r * X[:, 1]),
                                          np.mean(2 * r)], rtol=1e-12)
        # The same data by element name, and as one 2-D array of columns.
        by_element = obj.batch(p, {"x[0]": X[:, 0], "x[1]": X[:, 1], "y": y})
        table = obj.batch(p, np.column_stack([X, y]))
        self.assertEqual(by_element[0], loss)
        self.assertEqual(table[0], loss)
        with self.assertRaises(nabla.NotFoundError):
            obj.batch(p, {"x": X})
        with self.assertRaises(nabla.ArgumentError):
            obj.batch(p, {"x": X, "y": y[:50]})


if __name__ == "__main__":
    unittest.main()
