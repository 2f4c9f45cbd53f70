"""Second derivatives at scale from Python: Function.hvp and Objective.hvp against the Hessian
times v and against differences of the gradient, the array level's H v on a large objective, the
Hessian's sparsity pattern and sparse values against the dense Hessian, scipy.sparse without a
copy of the pattern, and nabla.optim's newton-cg with hvp=."""

import unittest

import numpy as np

import nabla

try:
    import scipy.sparse  # noqa: F401
    HAVE_SCIPY = True
except ImportError:
    HAVE_SCIPY = False


def chain(n):
    return (f"param x[{n}] = -1.2\n"
            "minimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n")


def tridiagonal_hvp(x, v):
    """Chained Rosenbrock's Hessian times v, by hand."""
    out = np.zeros_like(x)
    out[:-1] += (1200 * x[:-1] ** 2 - 400 * x[1:] + 2) * v[:-1] - 400 * x[:-1] * v[1:]
    out[1:] += 200 * v[1:] - 400 * x[:-1] * v[:-1]
    return out


class HvpTest(unittest.TestCase):
    def test_function_hvp_is_hessian_times_v(self):
        f = nabla.compile("f(x, y, z) = exp(x*y) * sin(z) + x^3 / (1 + y^2)").f
        self.assertTrue(f.has_hvp)
        at, v = np.array([0.3, -1.2, 0.7]), np.array([1.5, -0.5, 2.0])
        np.testing.assert_allclose(f.hvp(at, v), f.hessian(*at) @ v, rtol=1e-14, atol=1e-14)
        with self.assertRaises(nabla.ArgumentError):
            f.hvp(at, v[:2])
        g = nabla.compile("f(x, y) = x*y", hvp=False).f
        self.assertFalse(g.has_hvp)
        with self.assertRaises(nabla.UnavailableError):
            g.hvp([1.0, 2.0], [1.0, 0.0])

    def test_objective_hvp_one_row_and_batch(self):
        obj = nabla.compile("param w[2]\nparam b\ninput x[2]\ninput y\n"
                            "minimize (tanh(dot(w, x) + b) - y)^2").objective
        rng = np.random.default_rng(4)
        params, v = rng.normal(size=3), rng.normal(size=3)
        X, y = rng.normal(size=(12, 2)), rng.normal(size=12)
        rows = [obj.hessian(params, np.append(X[r], y[r])) @ v for r in range(12)]
        for r in range(12):
            np.testing.assert_allclose(obj.hvp(params, v, np.append(X[r], y[r])), rows[r],
                                       rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(obj.hvp_batch(params, v, {"x": X, "y": y}),
                                   np.mean(rows, axis=0), rtol=1e-12, atol=1e-14)

    def test_array_level_hvp_at_a_million_params_scale(self):
        n = 200000
        obj = nabla.compile(chain(n), hessian=False).objective
        rng = np.random.default_rng(2)
        x, v = rng.uniform(-1.5, 1.5, n), rng.uniform(-1, 1, n)
        hv = obj.hvp(x, v)
        want = tridiagonal_hvp(x, v)
        np.testing.assert_allclose(hv, want, rtol=1e-12, atol=1e-9)
        h = 1e-6
        gp = obj.value_and_grad(x + h * v)[1]
        gm = obj.value_and_grad(x - h * v)[1]
        np.testing.assert_allclose((gp - gm) / (2 * h), hv, rtol=1e-4, atol=1e-3)


class SparseHessianTest(unittest.TestCase):
    def test_pattern_and_values_equal_the_dense_hessian(self):
        # The scalar level (with the Hessian) and the array level (without) on the same function.
        n = 120  # large enough for the array level without the Hessian
        text = chain(n)
        scalar = nabla.compile(text).objective
        arrays = nabla.compile(text, hessian=False).objective
        x = np.random.default_rng(7).uniform(-1.5, 1.5, n)
        dense = scalar.hessian(x)
        for obj in (scalar, arrays):
            indptr, indices = obj.hessian_sparsity()
            self.assertEqual(len(indptr), n + 1)
            self.assertEqual(len(indices), 3 * n - 2)
            self.assertFalse(indices.flags.writeable)
            values = obj.sparse_hessian_values(x)
            rebuilt = np.zeros((n, n))
            for i in range(n):
                rebuilt[i, indices[indptr[i]:indptr[i + 1]]] = values[indptr[i]:indptr[i + 1]]
            np.testing.assert_allclose(rebuilt, dense, rtol=1e-12, atol=1e-12)

    @unittest.skipUnless(HAVE_SCIPY, "needs python3-scipy")
    def test_csr_matrix_shares_the_pattern(self):
        obj = nabla.compile(chain(1000), hessian=False).objective
        x = np.random.default_rng(1).uniform(-1, 1, 1000)
        H = obj.sparse_hessian(x)
        self.assertEqual(H.shape, (1000, 1000))
        self.assertEqual(H.nnz, 2998)
        indptr, indices = obj.hessian_sparsity()
        self.assertTrue(np.shares_memory(H.indices, indices))
        self.assertTrue(np.shares_memory(H.indptr, indptr))
        v = np.random.default_rng(3).normal(size=1000)
        np.testing.assert_allclose(H @ v, obj.hvp(x, v), rtol=1e-12, atol=1e-9)


class NewtonCgTest(unittest.TestCase):
    def test_newton_cg_with_nablas_hvp(self):
        obj = nabla.compile(chain(500), hessian=False).objective
        x = np.full(500, 0.5)
        opt = nabla.optim.NewtonCG(x, tolerance_grad=1e-12)
        for _ in range(300):
            opt.step(x, obj.value_and_grad, hvp=obj.hvp)
            if np.max(np.abs(obj.value_and_grad(x)[1])) <= 1e-9:
                break
        np.testing.assert_allclose(x, np.ones(500), atol=1e-8)
        with self.assertRaises(nabla.ArgumentError):
            opt.step(x, np.zeros(500))


if __name__ == "__main__":
    unittest.main()
