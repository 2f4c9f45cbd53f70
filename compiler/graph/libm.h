// The C library functions of the NABLA_LIBM ops (ops.def), as function pointers indexed by Op:
// evalOp calls them, and the baseline code generator calls them at these addresses, so the
// interpreter and compiled code compute the same values.
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
  LibmFunction(static_cast<libm_detail::Signature<arity>::type>(&std::function)),
#include "graph/ops.def"
};
static_assert(std::size(kLibmFunctions) == kOpCount);

constexpr const LibmFunction &libmFunction(Op op) { return kLibmFunctions[static_cast<int>(op)]; }

}  // namespace nabla
