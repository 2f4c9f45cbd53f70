"""Drives the C API's objective from Python's ctypes: logistic regression on a few rows, its loss
and gradient against the same formulas in Python, the batch mean against the mean of the rows, an
error's status and message, and gradient descent that lowers the loss: what a Python host needs to
train. Usage: objective_ctypes.py LIBNABLA. Prints `ok` and exits 0 when every check holds;
otherwise names the failed checks and exits 1."""
import ctypes
import math
import sys

MODEL = b"""param w[2]
param b
input x[2]
input y
p = sigmoid(dot(w, x) + b)
minimize -(y*log(p) + (1 - y)*log(1 - p))
"""

ROWS = [((0.5, -1.0), 1.0), ((2.0, 0.25), 0.0), ((-1.5, 1.0), 1.0), ((0.0, 3.0), 0.0)]


def loss_and_grad(params, x, y):
    w0, w1, b = params
    z = w0 * x[0] + w1 * x[1] + b
    p = 1 / (1 + math.exp(-z))
    loss = -(y * math.log(p) + (1 - y) * math.log(1 - p))
    return loss, [(p - y) * x[0], (p - y) * x[1], p - y]


def main(path):
    lib = ctypes.CDLL(path)
    vp, sz, dbl = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_double
    dp = ctypes.POINTER(ctypes.c_double)
    lib.nabla_compile.argtypes = [ctypes.c_char_p, vp, ctypes.POINTER(vp)]
    lib.nabla_module_objective.argtypes = [vp, ctypes.POINTER(vp)]
    lib.nabla_objective_param_count.argtypes = [vp]
    lib.nabla_objective_param_count.restype = sz
    lib.nabla_objective_input_count.argtypes = [vp]
    lib.nabla_objective_input_count.restype = sz
    lib.nabla_objective_param_name.argtypes = [vp, sz]
    lib.nabla_objective_param_name.restype = ctypes.c_char_p
    lib.nabla_objective_value_grad.argtypes = [vp, dp, sz, dp, sz, dp, dp]
    lib.nabla_objective_batch.argtypes = [vp, dp, sz, sz, ctypes.POINTER(dp), sz, dp, dp]
    lib.nabla_objective_batch_sums.argtypes = [vp, dp, sz, sz, sz, ctypes.POINTER(dp), sz, dp]
    lib.nabla_last_error.restype = ctypes.c_char_p
    lib.nabla_objective_free.argtypes = [vp]
    lib.nabla_module_free.argtypes = [vp]

    failures = []

    def check(condition, what):
        if not condition:
            failures.append(what)

    module, objective = vp(), vp()
    if lib.nabla_compile(MODEL, None, ctypes.byref(module)) != 0:
        print("compile failed:", lib.nabla_last_error().decode())
        return 1
    check(lib.nabla_module_objective(module, ctypes.byref(objective)) == 0, "the objective")
    P = lib.nabla_objective_param_count(objective)
    check(P == 3, "3 params")
    check(lib.nabla_objective_input_count(objective) == 3, "3 inputs")
    check([lib.nabla_objective_param_name(objective, i) for i in range(3)] == [b"w[0]", b"w[1]", b"b"],
          "the params' names")

    params = (dbl * 3)(0.2, -0.3, 0.1)
    grad, value = (dbl * 3)(), dbl()
    mean, mean_grad = 0.0, [0.0] * 3
    for x, y in ROWS:
        inputs = (dbl * 3)(x[0], x[1], y)
        check(lib.nabla_objective_value_grad(objective, params, 3, inputs, 3, ctypes.byref(value), grad) == 0,
              "value_grad")
        want, want_grad = loss_and_grad(list(params), x, y)
        check(abs(value.value - want) <= 1e-12 * (1 + abs(want)), f"the loss at {x}, {y}")
        for i in range(3):
            check(abs(grad[i] - want_grad[i]) <= 1e-12 * (1 + abs(want_grad[i])), f"gradient {i} at {x}, {y}")
        mean += want / len(ROWS)
        mean_grad = [m + g / len(ROWS) for m, g in zip(mean_grad, want_grad)]

    n = len(ROWS)
    columns_data = [(dbl * n)(*[r[0][0] for r in ROWS]), (dbl * n)(*[r[0][1] for r in ROWS]),
                    (dbl * n)(*[r[1] for r in ROWS])]
    columns = (dp * 3)(*[ctypes.cast(c, dp) for c in columns_data])
    check(lib.nabla_objective_batch(objective, params, 3, n, columns, 3, ctypes.byref(value), grad) == 0, "batch")
    check(abs(value.value - mean) <= 1e-12 * (1 + abs(mean)), "the batch mean")
    for i in range(3):
        check(abs(grad[i] - mean_grad[i]) <= 1e-12 * (1 + abs(mean_grad[i])), f"batch gradient {i}")

    # The sums over two halves add up to n times the mean: how a host splits rows over workers.
    halves = [(dbl * 4)(), (dbl * 4)()]
    check(lib.nabla_objective_batch_sums(objective, params, 3, 0, 2, columns, 3, halves[0]) == 0, "sums")
    check(lib.nabla_objective_batch_sums(objective, params, 3, 2, n, columns, 3, halves[1]) == 0, "sums")
    total = [halves[0][i] + halves[1][i] for i in range(4)]
    check(abs(total[0] - n * mean) <= 1e-12 * (1 + abs(n * mean)), "the sums of the loss")
    for i in range(3):
        check(abs(total[1 + i] - n * mean_grad[i]) <= 1e-12 * (1 + abs(n * mean_grad[i])), f"the sums {i}")

    status = lib.nabla_objective_batch(objective, params, 2, n, columns, 3, ctypes.byref(value), grad)
    check(status == 4, "two params are an argument error")
    check(b"param" in lib.nabla_last_error(), "the message names the params")

    first = None
    for _ in range(300):
        lib.nabla_objective_batch(objective, params, 3, n, columns, 3, ctypes.byref(value), grad)
        first = value.value if first is None else first
        for i in range(3):
            params[i] -= 0.5 * grad[i]
    check(value.value < 0.5 * first, "gradient descent halves the loss")

    lib.nabla_objective_free(objective)
    lib.nabla_module_free(module)
    if failures:
        for f in failures:
            print("failed:", f)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
