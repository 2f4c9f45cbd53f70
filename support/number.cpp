#include "support/number.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace nabla {

namespace {

/// `1e+20` -> `1e20`, `1e-05` -> `1e-5`.
std::string tidyExponent(std::string s) {
  const std::size_t e = s.find('e');
  if (e == std::string::npos) return s;
  const std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  bool negative = false;
  std::size_t i = 0;
  if (i < exponent.size() && (exponent[i] == '+' || exponent[i] == '-'))
    negative = exponent[i++] == '-';
  while (i + 1 < exponent.size() && exponent[i] == '0') ++i;
  return mantissa + "e" + (negative ? "-" : "") + exponent.substr(i);
}

}  // namespace

std::string formatNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::bit_cast<std::uint64_t>(std::strtod(buf, nullptr)) == std::bit_cast<std::uint64_t>(v))
      break;
  }
  return tidyExponent(buf);
}

}  // namespace nabla
