"""Errors: each C++ failure arrives as nabla's exception of the right kind, with diagnostics where
the text is at fault, and never crashes the interpreter."""

import os
import tempfile
import unittest

import numpy as np

import nabla


class ErrorTest(unittest.TestCase):
    def test_syntax_error_has_located_diagnostics(self):
        with self.assertRaises(nabla.CompileError) as cm:
            nabla.compile("f(x, y) = x +* y")
        e = cm.exception
        self.assertIsInstance(e, nabla.Error)
        self.assertIsInstance(e, SyntaxError)
        first = e.diagnostics[0]
        self.assertEqual((first.file, first.line, first.column, first.severity),
                         ("<expr>", 1, 14, "error"))
        self.assertIn("<expr>:1:14: error:", str(e))
        self.assertIn("^", str(e))  # the source line and a caret

    def test_every_error_of_a_file_with_notes(self):
        text = "param w[3]\ninput x[3]\nloss = sinh2(dot(w, x)) + b\nminimize loss^2\n"
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.nabla")
            with open(path, "w") as f:
                f.write(text)
            with self.assertRaises(nabla.CompileError) as cm:
                nabla.load(path)
        diags = cm.exception.diagnostics
        self.assertEqual([(d.line, d.column, d.severity) for d in diags],
                         [(3, 8, "error"), (3, 8, "note"), (3, 27, "error")])
        self.assertEqual(diags[0].message, "unknown function 'sinh2'")
        self.assertEqual(diags[0].file, path)

    def test_missing_file_is_an_io_error(self):
        with self.assertRaises(nabla.IoError) as cm:
            nabla.load("no/such/model.nabla")
        self.assertIsInstance(cm.exception, OSError)
        self.assertEqual(cm.exception.filename, "no/such/model.nabla")
        with self.assertRaises(OSError):
            nabla.fit("no/such/model.nabla")

    def test_unknown_function_is_not_found(self):
        m = nabla.compile("f(x) = x^2\ng(x) = x^3")
        with self.assertRaises(nabla.NotFoundError) as cm:
            m.function("h")
        self.assertIsInstance(cm.exception, KeyError)
        self.assertIn("'h'", str(cm.exception))
        with self.assertRaises(KeyError):
            m["h"]
        with self.assertRaises(AttributeError):
            m.h
        with self.assertRaises(nabla.NotFoundError):
            m.objective

    def test_wrong_argument_count(self):
        f = nabla.compile("f(x, y) = x*y").f
        for args in [(1.0,), (1.0, 2.0, 3.0), (np.zeros((4, 3)),), (np.zeros(3),)]:
            with self.subTest(args=args), self.assertRaises(nabla.ArgumentError) as cm:
                f(*args)
            self.assertIsInstance(cm.exception, TypeError)
            self.assertIsInstance(cm.exception, ValueError)
        with self.assertRaises(nabla.ArgumentError):
            f.grad(np.zeros(3), np.zeros(4))  # different lengths
        with self.assertRaises(nabla.ArgumentError):
            f("a", 1.0)
        with self.assertRaises(nabla.ArgumentError):
            f(np.zeros((4, 2)), fancy=1)

    def test_unavailable_hessian(self):
        f = nabla.compile("f(x) = x^3", hessian=False).f
        self.assertFalse(f.has_hessian)
        with self.assertRaises(nabla.UnavailableError):
            f.hessian(1.0)

    def test_limits(self):
        with self.assertRaises(nabla.CompileError) as cm:
            nabla.compile("(" * 300 + "x" + ")" * 300)
        self.assertIn("nest", str(cm.exception))
        with self.assertRaises(nabla.ArgumentError):
            nabla.compile("x", limits={"max_apples": 1})
        with self.assertRaises(nabla.ArgumentError):
            nabla.compile("x", opt_level=7)

    def test_fit_errors(self):
        model = "param w = 1\ninput x\ninput y\nminimize (w*x - y)^2"
        with self.assertRaises(nabla.ArgumentError):
            nabla.fit(model)  # inputs without data
        with self.assertRaises(nabla.ArgumentError) as cm:
            nabla.fit(model, {"x": [1.0], "y": [2.0]}, optimizer="adamm")
        self.assertIn("did you mean 'adam'", str(cm.exception))
        with self.assertRaises(nabla.ArgumentError):
            nabla.fit(model, {"x": [1.0], "y": [2.0]}, optimizer="sgd", betas=(0.9, 0.99))
        with self.assertRaises(nabla.ArgumentError):
            nabla.fit(model, {"x": [1.0], "y": [2.0]}, learning_rate=0.1)
        with self.assertRaises(nabla.ArgumentError):
            nabla.fit(model, {"x": [1.0], "y": [2.0]}, standardize=["z"])
        with self.assertRaises(nabla.NotFoundError):
            nabla.fit(model, {"x": [1.0]})
        with self.assertRaises(nabla.FitError) as cm:
            nabla.fit("param w = 1\nminimize log(w - 2)", optimizer="sgd", steps=3)
        self.assertIn("the loss is nan", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
