"""Drives libnabla.so from Python's ctypes: the seed function's value and gradient against numbers
worked out by hand, and a compile error's status and message. Usage: seed_ctypes.py LIBNABLA.
Prints `ok` and exits 0 when every check holds; otherwise names the failed check and exits 1."""
import ctypes
import sys


def main(path):
    lib = ctypes.CDLL(path)
    c_double_p = ctypes.POINTER(ctypes.c_double)
    lib.nabla_compile.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.nabla_compile.restype = ctypes.c_int
    lib.nabla_module_function.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                          ctypes.POINTER(ctypes.c_void_p)]
    lib.nabla_module_function.restype = ctypes.c_int
    lib.nabla_function_arity.argtypes = [ctypes.c_void_p]
    lib.nabla_function_arity.restype = ctypes.c_size_t
    lib.nabla_function_arg_name.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.nabla_function_arg_name.restype = ctypes.c_char_p
    lib.nabla_eval.argtypes = [ctypes.c_void_p, c_double_p, ctypes.c_size_t, c_double_p]
    lib.nabla_eval.restype = ctypes.c_int
    lib.nabla_grad.argtypes = [ctypes.c_void_p, c_double_p, ctypes.c_size_t, c_double_p, c_double_p]
    lib.nabla_grad.restype = ctypes.c_int
    lib.nabla_last_error.argtypes = []
    lib.nabla_last_error.restype = ctypes.c_char_p
    lib.nabla_function_free.argtypes = [ctypes.c_void_p]
    lib.nabla_module_free.argtypes = [ctypes.c_void_p]

    failures = []

    def check(condition, what):
        if not condition:
            failures.append(what)

    module = ctypes.c_void_p()
    status = lib.nabla_compile(b"f(x, y) = (x^2 + y)^2 * (y - x*y)", None, ctypes.byref(module))
    if status != 0:
        print("compile failed:", lib.nabla_last_error().decode())
        return 1
    function = ctypes.c_void_p()
    check(lib.nabla_module_function(module, b"f", ctypes.byref(function)) == 0, "lookup of f")
    check(lib.nabla_function_arity(function) == 2, "arity 2")
    check(lib.nabla_function_arg_name(function, 0) == b"x", "argument 0 is x")
    check(lib.nabla_function_arg_name(function, 1) == b"y", "argument 1 is y")

    for x, y in [(0.5, -0.5), (1.25, 0.75), (-2.0, 3.0)]:
        # f = a^2 b with a = x^2 + y, b = y - x y:
        # df/dx = 2 a (2x) b + a^2 (-y), df/dy = 2 a b + a^2 (1 - x).
        a, b = x * x + y, y - x * y
        want = (a * a * b, 4 * x * a * b - a * a * y, 2 * a * b + a * a * (1 - x))
        args = (ctypes.c_double * 2)(x, y)
        value, grad = ctypes.c_double(), (ctypes.c_double * 2)()
        check(lib.nabla_eval(function, args, 2, ctypes.byref(value)) == 0, "eval at %g, %g" % (x, y))
        check(abs(value.value - want[0]) <= 1e-13 * max(1.0, abs(want[0])), "value at %g, %g" % (x, y))
        check(lib.nabla_grad(function, args, 2, ctypes.byref(value), grad) == 0, "grad at %g, %g" % (x, y))
        for i in range(2):
            check(abs(grad[i] - want[1 + i]) <= 1e-13 * max(1.0, abs(want[1 + i])),
                  "gradient entry %d at %g, %g: %r, want %r" % (i, x, y, grad[i], want[1 + i]))
    # At (0.5, -0.5) all three are short binary fractions: exact.
    args = (ctypes.c_double * 2)(0.5, -0.5)
    value, grad = ctypes.c_double(), (ctypes.c_double * 2)()
    lib.nabla_grad(function, args, 2, ctypes.byref(value), grad)
    check((value.value, grad[0], grad[1]) == (-0.015625, 0.15625, 0.15625), "exact seed values")

    check(lib.nabla_eval(function, args, 1, ctypes.byref(value)) == 4, "wrong arity is status 4")
    check(lib.nabla_last_error() == b"'f' takes 2 arguments, got 1", "wrong arity message")
    bad = ctypes.c_void_p()
    check(lib.nabla_compile(b"x + * y", None, ctypes.byref(bad)) == 1, "bad text is status 1")
    check(bad.value is None, "no module for bad text")
    check(lib.nabla_last_error().startswith(b"<expr>:1:5: error: "), "located error message")

    lib.nabla_function_free(function)
    lib.nabla_module_free(module)
    if failures:
        for f in failures:
            print("failed:", f)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
