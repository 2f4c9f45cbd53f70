#include "support/number.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace nabla {

std::string formatNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::bit_cast<std::uint64_t>(std::strtod(buf, nullptr)) == std::bit_cast<std::uint64_t>(v))
      break;
  }
  return buf;
}

}  // namespace nabla
