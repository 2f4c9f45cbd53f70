// The C library functions of the NABLA_LIBM ops (ops.def), as function pointers indexed by Op:
// evalOp calls them, and the baseline code generator calls them at these addresses, so the
// interpreter and compiled code compute the same values. Pow's is power() below.
#pragma once

#include "graph/graph.h"

#include <cmath>

namespace nabla {

/// A NABLA_LIBM op's function: `unary` for arity 1, `binary` for arity 2; both null for other ops.
struct LibmFunction {
  double (*unary)(double) = nullptr;
  double (*binary)(double, double) = nullptr;

  constexpr LibmFunction() = default;
  constexpr explicit LibmFunction(double (*f)(double)) : unary(f) {}
  constexpr explicit LibmFunction(double (*f)(double, double)) : binary(f) {}
};

/// The value of `a^b` at every level: the C library's pow, except that cubes and fourth powers
/// are products (pow takes some 20 ns; a polynomial's cubes are most of its gradient's time),
/// compensated with fused multiply-adds so that they round once, as pow does: x^3 is
/// p + ((x*x - h)*x + (h*x - p)) with h = x*x and p = h*x, each parenthesis one fma (exact up to
/// 2^-104 of the result before its one rounding). Where p is 0, infinite or NaN it is p itself
/// (pow's sign of zero, overflow and NaN). Squares are x*x, which is pow(x, 2) exactly. Compiled
/// code emits the same operations (codegen/op_emitter.cpp), so every level gets the same bits.
inline double power(double a, double b) {
  if (b == 2) return a * a;
  if (b == 3 || b == 4) {
    const double h = a * a, l = std::fma(a, a, -h);
    const double p = b == 3 ? h * a : h * h;
    if (!(std::fabs(p) < HUGE_VAL) || p == 0) return p;
    const double e = b == 3 ? std::fma(h, a, -p) : std::fma(h, h, -p);
    return p + (b == 3 ? std::fma(l, a, e) : std::fma(h + h, l, e));
  }
  return std::pow(a, b);
}

namespace libm_detail {
template <int Arity> struct Signature;
template <> struct Signature<1> {
  using type = double (*)(double);
};
template <> struct Signature<2> {
  using type = double (*)(double, double);
};
}  // namespace libm_detail

inline constexpr LibmFunction kLibmFunctions[] = {
#define NABLA_OP(name, arity, spelling) LibmFunction(),
#define NABLA_LIBM(name, arity, spelling, builtin, flags, function)                                \
  Op::name == Op::Pow ? LibmFunction(&power)                                                       \
                      : LibmFunction(static_cast<libm_detail::Signature<arity>::type>(&std::function)),
#include "graph/ops.def"
};
static_assert(std::size(kLibmFunctions) == kOpCount);

constexpr const LibmFunction &libmFunction(Op op) { return kLibmFunctions[static_cast<int>(op)]; }

}  // namespace nabla
