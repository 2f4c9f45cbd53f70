"""nabla from Python, in the order of a notebook: compile a function, evaluate it and its
derivatives, evaluate a million points in one call, then train logistic regression on the bundled
breast-cancer data with several optimizers and plot their losses.

    PYTHONPATH=<build>/python python3 samples/python/train.py      (from the build tree)
    python3 samples/python/train.py                                 (installed)

Run from anywhere: the model and the data are found beside this file. docs/python.md has the API.
"""

import os
import time

import numpy as np

import nabla

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
MODEL = os.path.join(SAMPLES, "logreg_breast_cancer.nabla")
DATA = os.path.join(SAMPLES, "data", "breast_cancer.csv")

# %% A function, its derivatives as text, and its compiled value, gradient and Hessian.
print(nabla.diff("(x^2 + y)^2 * (y - x*y)"))
m = nabla.compile("f(x, y) = (x^2 + y)^2 * (y - x*y)")
f = m.f
print("f(0.5, -0.5)       =", f(0.5, -0.5))
print("grad f(0.5, -0.5)  =", f.grad(0.5, -0.5))
print("Hessian f(0.5, -0.5) =\n", f.hessian(0.5, -0.5))

# %% Many points in one call: rows of X are points; the GIL is released while it runs.
X = np.random.default_rng(0).uniform(-1, 1, (10**6, 2))
f.value_and_grad(X[:8])  # the first vectorized call compiles the vectorized code, as JAX's jit
start = time.perf_counter()
values, grads = f.value_and_grad(X)
print(f"value_and_grad on {len(X):,} points: {1e3 * (time.perf_counter() - start):.1f} ms, "
      f"shapes {values.shape} {grads.shape}")
gx, gy = f.grad(X[:, 0], X[:, 1])  # one array per argument: the gradient by argument

# %% Logistic regression on the breast-cancer data, as `nabla fit` trains it.
r = nabla.fit(MODEL, data=DATA, optimizer="adam", lr=0.01, epochs=20, standardize=True)
print(r.summary, end="")
print("w[:3] =", r.params["w"][:3], " b =", float(r.params["b"]))

# %% The same model with other optimizers (torch.optim's rules and defaults).
runs = {
    "sgd (lr 0.1, momentum 0.9)": dict(optimizer="sgd", lr=0.1, momentum=0.9),
    "adam (lr 0.01)": dict(optimizer="adam", lr=0.01),
    "rmsprop (lr 0.001)": dict(optimizer="rmsprop", lr=0.001),
    "adagrad (lr 0.1)": dict(optimizer="adagrad", lr=0.1),
}
histories = {}
for label, options in runs.items():
    run = nabla.fit(MODEL, data=DATA, epochs=20, standardize=True, **options)
    histories[label] = run.history["loss"]
    print(f"{label:28s} loss {run.loss:.5f}  acc {run.metrics['acc']:.4f}  ({run.steps} steps)")

# %% The loss of every step, per optimizer.
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no plot (Debian's python3-matplotlib draws it)")
else:
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, losses in histories.items():
        ax.plot(np.arange(1, len(losses) + 1), losses, label=label, linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("batch loss")
    ax.set_title("logistic regression on breast_cancer.csv")
    ax.legend()
    fig.tight_layout()
    fig.savefig("loss.png", dpi=120)
    print("wrote loss.png")
