// Shapes: printing for messages, scalar broadcasting, overflow-safe sizes.
#include "sema/lowerer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace nabla {

std::string toString(const Shape &shape) {
  if (shape.isScalar()) return "scalar";
  std::string s;
  for (auto d : shape.dims) s += "[" + std::to_string(d) + "]";
  return s;
}

namespace sema {

std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b) {
  if (a == b || b.isScalar()) return a;
  if (a.isScalar()) return b;
  return std::nullopt;
}

std::optional<std::size_t> checkedProduct(std::size_t a, std::size_t b, std::size_t limit) {
  if (a != 0 && b > limit / a) return std::nullopt;
  if (a * b > limit) return std::nullopt;
  return a * b;
}


}  // namespace sema
}  // namespace nabla
