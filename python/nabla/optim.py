"""torch.optim's optimizers over numpy arrays: the same update rules, defaults and names as
``nabla fit --optimizer`` (nabla's runtime, the C++ code that ``nabla fit`` runs).

First-order methods take the gradient itself, or a closure::

    opt = nabla.optim.Adam(params, lr=0.01)      # params: a float64 numpy array, updated in place
    for _ in range(100):
        loss, grad = f.value_and_grad(params)
        opt.step(params, grad, loss=loss)

L-BFGS evaluates several times per step, and Newton's method needs the Hessian, so they take a
closure ``closure(x) -> (loss, grad)``, as torch's ``step(closure)``::

    opt = nabla.optim.LBFGS(params, line_search="strong_wolfe")
    opt.step(params, f.value_and_grad)
    opt = nabla.optim.Newton(params)
    opt.step(params, f.value_and_grad, hessian=f.hessian)
"""

from ._nabla import Optimizer, defaults, make, names, options

__all__ = ["Optimizer", "make", "names", "options", "defaults",
           "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "NAdam", "AdamW", "LBFGS", "LBFGSMT",
           "Newton", "NewtonCG"]


def _optimizer(name: str, title: str, doc: str):
    def __init__(self, params, **hyper):
        Optimizer.__init__(self, name, params, **hyper)
    __init__.__doc__ = (f"{title}(params, **hyper): ``params`` is the number of parameters or a "
                        f"float64 array of them; ``hyper`` takes torch's keywords "
                        f"({', '.join(options(name))}).")
    return type(title, (Optimizer,), {"__init__": __init__, "__doc__": doc,
                                      "__module__": __name__})


SGD = _optimizer("sgd", "SGD", "Stochastic gradient descent, torch.optim.SGD's rule (momentum, "
                 "dampening, Nesterov, weight decay).")
Adagrad = _optimizer("adagrad", "Adagrad", "torch.optim.Adagrad's rule.")
RMSprop = _optimizer("rmsprop", "RMSprop", "torch.optim.RMSprop's rule (centered, momentum).")
Adadelta = _optimizer("adadelta", "Adadelta", "torch.optim.Adadelta's rule.")
Adam = _optimizer("adam", "Adam", "torch.optim.Adam's rule (amsgrad).")
NAdam = _optimizer("nadam", "NAdam", "torch.optim.NAdam's rule (torch 2.x).")
AdamW = _optimizer("adamw", "AdamW", "torch.optim.AdamW's rule (decoupled weight decay).")
LBFGS = _optimizer("lbfgs", "LBFGS", "torch.optim.LBFGS, with its strong Wolfe line search "
                   "(line_search='strong_wolfe'); step() takes a closure.")
Newton = _optimizer("newton", "Newton", "Newton's method with the Hessian and a line search; "
                    "step() takes a closure and hessian=.")
LBFGSMT = _optimizer("lbfgs-mt", "LBFGSMT", "L-BFGS with the More-Thuente line search and "
                     "tests on the gradient, f and x (as SciPy's L-BFGS-B, unconstrained); "
                     "step() takes a closure.")
NewtonCG = _optimizer("newton-cg", "NewtonCG", "Truncated Newton: Steihaug-Toint trust-region "
                      "conjugate gradients with Hessian-vector products; step() takes a closure "
                      "and hvp=.")
