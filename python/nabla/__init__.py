"""nabla: a symbolic gradient compiler for Python.

Write a function or a model in plain math; nabla differentiates it symbolically, simplifies the
derivatives and compiles value, gradient and Hessian to native code, callable on floats or, in
one call, on numpy arrays of many points::

    import numpy as np, nabla
    m = nabla.compile("f(x, y) = (x^2 + y)^2 * (y - x*y)")
    m.f(0.5, -0.5)                  # -0.015625
    m.f.grad(0.5, -0.5)             # array([0.15625, 0.15625])
    v, G = m.f.value_and_grad(np.random.rand(10**6, 2))   # (n,), (n, 2)
    print(nabla.diff("x^2*sin(y)"))                        # the derivatives as text
    r = nabla.fit("model.nabla", data="train.csv", optimizer="adam", lr=0.01, epochs=20)

The same compiler, optimizers and training loop as the ``nabla`` command; docs/python.md has the
whole API.
"""

from ._errors import (ArgumentError, CompileError, DataError, Diagnostic, Error, FitError,
                      InternalError, IoError, NotFoundError, UnavailableError)
from ._nabla import (FitResult, Function, Module, Objective, Variable, __version__, compile, diff,
                     fit, load)
from . import optim

__all__ = [
    "compile", "load", "diff", "fit", "optim",
    "Module", "Function", "Objective", "Variable", "FitResult",
    "Error", "CompileError", "IoError", "NotFoundError", "ArgumentError", "UnavailableError",
    "DataError", "FitError", "InternalError", "Diagnostic",
    "__version__",
]
