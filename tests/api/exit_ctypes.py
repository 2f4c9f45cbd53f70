"""Compiles a large function through libnabla.so from Python's ctypes and exits at once, while the
optimized tier is still being compiled on the JIT's background thread: the process must end
cleanly (status 0, no crash in LLVM's teardown). Usage: exit_ctypes.py LIBNABLA. Prints `ok`."""
import ctypes
import sys


def main(path):
    lib = ctypes.CDLL(path)
    lib.nabla_compile.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.nabla_compile.restype = ctypes.c_int
    lib.nabla_last_error.restype = ctypes.c_char_p
    # Hundreds of terms: the O2 tier takes far longer than the baseline tier does.
    terms = " + ".join("sin(%g*x + y)*cos(x - %g*y)" % (1 + i * 1e-3, 1 + i * 1e-3) for i in range(800))
    module = ctypes.c_void_p()
    if lib.nabla_compile(("f(x, y) = " + terms).encode(), None, ctypes.byref(module)) != 0:
        print("compile failed:", lib.nabla_last_error().decode())
        return 1
    print("ok")
    sys.stdout.flush()
    return 0  # the module is not freed: the process ends with the compilation in flight


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
