"""nabla.diff prints what `nabla diff` prints for the same input and options."""

import os
import unittest
import warnings

import nabla
from support import SAMPLES_DIR, run_nabla


class DiffTest(unittest.TestCase):
    def test_same_text_as_the_cli(self):
        softmax = os.path.join(SAMPLES_DIR, "softmax_iris.nabla")
        cases = [
            ("(x^2 + y)^2 * (y - x*y)", {}, []),
            ("(x^2 + y)^2 * (y - x*y)", {"hessian": True}, ["--hessian"]),
            ("(x^2 + y)^2 * (y - x*y)", {"json": True, "hessian": True}, ["--json", "--hessian"]),
            ("x^2*sin(y)", {"wrt": ["y", "x"]}, ["--wrt", "y,x"]),
            ("f(a, b) = a*b\ng(c) = exp(c)", {"function": "g"}, ["--fn", "g"]),
            ("f(a, b) = a*b\ng(c) = exp(c)", {}, []),
            (softmax, {}, []),
            (softmax, {"matrix": True}, ["--matrix"]),
            ("x*x + x", {"simplify": False}, ["--no-simplify"]),
        ]
        for text, kwargs, options in cases:
            with self.subTest(text=text, options=options):
                status, stdout, stderr = run_nabla("diff", text, *options)
                self.assertEqual(status, 0, stderr)
                self.assertEqual(nabla.diff(text, **kwargs), stdout)

    def test_messages_and_errors(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            text = nabla.diff("x + y", wrt=["x", "z"])
        self.assertIn("∂f/∂z = 0", text)
        self.assertTrue(any("'z'" in str(w.message) for w in caught))
        with self.assertRaises(nabla.CompileError):
            nabla.diff("x +")
        with self.assertRaises(nabla.NotFoundError):
            nabla.diff("f(x) = x", function="g")
        with self.assertRaises(nabla.IoError):
            nabla.diff("no/such/file.nabla")


if __name__ == "__main__":
    unittest.main()
