"""nabla.fit against `nabla fit ... -o params.json` (the same params and loss, bit for bit), data
as arrays, and nabla.optim's steps against hand-computed SGD and Adam steps."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

import nabla
from support import SAMPLES_DIR, run_nabla

MODEL = os.path.join(SAMPLES_DIR, "logreg_breast_cancer.nabla")
DATA = os.path.join(SAMPLES_DIR, "data", "breast_cancer.csv")


def read_columns(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return {name: np.array([float(r[k]) for r in body]) for k, name in enumerate(header)}


class FitAgainstCliTest(unittest.TestCase):
    def cli(self, *options):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "params.json")
            status, stdout, stderr = run_nabla("fit", MODEL, "--data", DATA, *options, "-o", out,
                                               cwd=d)
            self.assertEqual(status, 0, stderr)
            with open(out) as f:
                return json.load(f), stdout

    def assert_same(self, r, params, stdout):
        self.assertEqual(r.loss, params["loss"])
        self.assertEqual(float(r.params["b"]), params["params"]["b"])
        np.testing.assert_array_equal(r.params["w"], np.array(params["params"]["w"]))
        self.assertEqual(r.metrics, params["reports"])
        self.assertEqual((r.steps, r.epochs, r.stop), (params["steps"], params["epochs"],
                                                       params["stop"]))
        self.assertEqual(r.summary, stdout)

    def test_validation_and_early_stopping(self):
        options = ("--standardize", "--lr", "0.05", "--epochs", "200", "--seed", "3")
        params, stdout = self.cli(*options, "--val-split", "0.2", "--early-stop", "3")
        r = nabla.fit(MODEL, data=DATA, lr=0.05, epochs=200, seed=3, standardize=True,
                      val_split=0.2, early_stop=3)
        self.assert_same(r, params, stdout)
        self.assertEqual(r.stop, "early_stop")
        v = r.validation
        self.assertEqual(v["rows"], params["validation"]["rows"])
        self.assertEqual(v["loss"], params["validation"]["loss"])
        self.assertEqual(v["metrics"], params["validation"]["reports"])
        self.assertEqual((v["best_epoch"], v["kept"]), (params["validation"]["best_epoch"], "best"))
        # One validation figure per epoch; the kept params' loss is the least of them, and the run
        # ended three epochs after it.
        self.assertEqual(len(r.history["val_loss"]), r.epochs)
        self.assertEqual(len(r.history["val_acc"]), r.epochs)
        self.assertEqual(float(np.min(r.history["val_loss"])), v["loss"])
        self.assertEqual(int(np.argmin(r.history["val_loss"])) + 1, v["best_epoch"])
        self.assertEqual(r.epochs, v["best_epoch"] + 3)

        # Validation rows given as arrays: the training data itself gives the training figures.
        columns = read_columns(DATA)
        r2 = nabla.fit(MODEL, data=DATA, lr=0.05, epochs=2, standardize=True, val=columns)
        self.assertEqual(r2.validation["loss"], r2.loss)
        self.assertEqual(r2.validation["kept"], "last")
        with self.assertRaises(nabla.ArgumentError):
            nabla.fit(MODEL, data=DATA, early_stop=3)
        with self.assertRaises(nabla.ArgumentError):
            nabla.fit(MODEL, data=DATA, val_split=0.2, keep="first")

    def test_adam_standardized(self):
        params, stdout = self.cli("--optimizer", "adam", "--lr", "0.01", "--standardize",
                                  "--epochs", "20")
        r = nabla.fit(MODEL, data=DATA, optimizer="adam", lr=0.01, epochs=20, standardize=True)
        self.assert_same(r, params, stdout)
        self.assertEqual(len(r.history["loss"]), r.steps)
        self.assertEqual(len(r.history["acc"]), r.steps)
        self.assertEqual(set(r.standardization), {"x"})
        np.testing.assert_array_equal(r.standardization["x"]["mean"],
                                      params["standardize"]["x"]["mean"])

        # The same data as arrays: by the CSV's column names (x reads a run of them, taken in
        # the dict's order), or as a 2-D array per input.
        columns = read_columns(DATA)
        r2 = nabla.fit(MODEL, data=columns, optimizer="adam", lr=0.01, epochs=20, standardize=True)
        self.assert_same(r2, params, stdout)
        names = list(columns)
        x = np.column_stack([columns[n] for n in
                             names[names.index("radius_mean"):names.index("fractal_dimension_worst") + 1]])
        r3 = nabla.fit(MODEL, data={"x": x, "y": columns["benign"]}, optimizer="adam", lr=0.01,
                       epochs=20, standardize=["x"])
        self.assert_same(r3, params, stdout)

    def test_other_optimizers_and_options(self):
        for options, kwargs in [
            (["--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--nesterov", "--batch",
              "64", "--seed", "3", "--steps", "50", "--standardize=x"],
             dict(optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True, batch=64, seed=3, steps=50,
                  standardize="x")),
            (["--optimizer", "lbfgs", "--line-search", "strong_wolfe", "--batch", "569",
              "--in-order", "--steps", "5", "--standardize"],
             dict(optimizer="lbfgs", line_search_fn="strong_wolfe", batch=569, in_order=True,
                  steps=5, standardize=True)),
            (["--optimizer", "adamw", "--betas", "0.8,0.99", "--weight-decay", "0.05",
              "--epochs", "3", "--average", "--standardize"],
             dict(optimizer="adamw", betas=(0.8, 0.99), weight_decay=0.05, epochs=3, average=True,
                  standardize=True)),
        ]:
            with self.subTest(options=options):
                params, stdout = self.cli(*options)
                r = nabla.fit(MODEL, data=DATA, **kwargs)
                self.assert_same(r, params, stdout)
                if "average" in kwargs:
                    self.assertEqual(r.averaged_loss, params["average_loss"])

    def test_output_file_and_init(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "p.json")
            r = nabla.fit(MODEL, data=DATA, lr=0.01, epochs=2, standardize=True, output=out)
            with open(out) as f:
                self.assertEqual(json.load(f)["loss"], r.loss)
            # Continuing from the params, given as a file or as the result's dict.
            a = nabla.fit(MODEL, data=DATA, lr=0.01, epochs=1, standardize=True, init=out)
            b = nabla.fit(MODEL, data=DATA, lr=0.01, epochs=1, standardize=True, init=r.params)
            self.assertEqual(a.loss, b.loss)

    def test_model_without_inputs(self):
        r = nabla.fit("param x = -1.5\nparam y = 2\nminimize (1-x)^2 + 100*(y-x^2)^2",
                      optimizer="lbfgs", line_search="strong_wolfe", steps=20)
        self.assertLess(r.loss, 1e-8)
        self.assertAlmostEqual(float(r.params["x"]), 1.0, places=4)


    def test_ctrl_c_stops_the_run_and_raises_keyboard_interrupt(self):
        # A long run in a child interpreter, interrupted once its log shows steps: the run stops
        # between steps, writes its checkpoint, and nabla.fit raises KeyboardInterrupt.
        with tempfile.TemporaryDirectory() as d:
            log, ck = os.path.join(d, "log.csv"), os.path.join(d, "ck")
            script = ("import nabla\n"
                      "nabla.fit(%r, data=%r, epochs=100000, standardize=True, log=%r, "
                      "checkpoint=%r)\n" % (MODEL, DATA, log, ck))
            child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE,
                                     text=True)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if os.path.exists(log) and os.path.getsize(log) > 2000:
                        break
                    time.sleep(0.05)
                child.send_signal(signal.SIGINT)
                _, err = child.communicate(timeout=60)
            finally:
                if child.poll() is None:
                    child.kill()
            self.assertNotEqual(child.returncode, 0)
            self.assertIn("KeyboardInterrupt: nabla.fit was interrupted after step", err)
            self.assertIn("resume=" + ck, err)
            with open(ck, "rb") as f:
                self.assertTrue(f.read().startswith(b"nabla-checkpoint "))


class OptimTest(unittest.TestCase):
    def test_sgd_step(self):
        p = np.array([1.0, -2.0])
        opt = nabla.optim.SGD(p, lr=0.1, momentum=0.9)
        g1, g2 = np.array([0.5, 1.0]), np.array([0.25, -1.0])
        opt.step(p, g1)
        np.testing.assert_array_equal(p, [1.0 - 0.1 * 0.5, -2.0 - 0.1 * 1.0])
        before = p.copy()
        opt.step(p, g2)  # torch: b = 0.9 b + g; p -= lr b
        b = 0.9 * g1 + g2
        np.testing.assert_array_equal(p, before - 0.1 * b)
        self.assertEqual(opt.last["steps"], 2)

    def test_adam_steps(self):
        p = np.array([0.5, -1.5, 2.0])
        opt = nabla.optim.make("adam", 3, lr=0.01)
        self.assertEqual(opt.name, "adam")
        x, m, v = p.copy(), np.zeros(3), np.zeros(3)
        for t in range(1, 4):
            g = np.array([math.sin(t), 2.0 * t, -0.5])
            loss = opt.step(p, g, loss=float(t))
            self.assertEqual(loss, float(t))
            m = 0.9 * m + (1 - 0.9) * g
            v = 0.999 * v + (1 - 0.999) * g * g
            denom = np.sqrt(v) / math.sqrt(1 - 0.999**t) + 1e-8
            x = x - (0.01 / (1 - 0.9**t)) * m / denom
            np.testing.assert_allclose(p, x, rtol=1e-15, atol=0)

    def test_closures_lbfgs_newton(self):
        f = nabla.compile("f(x, y) = (1-x)^2 + 100*(y-x^2)^2").f
        p = np.array([-1.5, 2.0])
        opt = nabla.optim.LBFGS(p, line_search="strong_wolfe")
        for _ in range(20):
            opt.step(p, f.value_and_grad)
        np.testing.assert_allclose(p, [1.0, 1.0], atol=1e-5)
        q = np.array([-1.5, 2.0])
        newton = nabla.optim.Newton(q)
        for _ in range(30):
            newton.step(q, f.value_and_grad, hessian=f.hessian)
        np.testing.assert_allclose(q, [1.0, 1.0], atol=1e-8)
        with self.assertRaises(nabla.ArgumentError):
            opt.step(p, np.zeros(2))  # L-BFGS needs a closure

    def test_arguments(self):
        with self.assertRaises(nabla.ArgumentError):
            nabla.optim.SGD(2, lr=0.1, betas=(0.9, 0.99))
        opt = nabla.optim.Adam(2)
        with self.assertRaises(nabla.ArgumentError):
            opt.step(np.zeros(2, dtype=np.float32), np.zeros(2))
        with self.assertRaises(nabla.ArgumentError):
            opt.step(np.zeros(3), np.zeros(3))
        self.assertEqual(nabla.optim.defaults("adam")["betas"], (0.9, 0.999))
        self.assertIn("lbfgs", nabla.optim.names())
        state = opt.state()
        opt.set_state(state)


if __name__ == "__main__":
    unittest.main()
