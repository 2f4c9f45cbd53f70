#include "support/number.h"

#include <bit>
#include <cctype>
#include <cerrno>
#include <limits>
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

namespace nabla {

Decimal readDecimal(std::string_view text) {
  Decimal out;
  out.status = DecimalStatus::Malformed;
  // strtod would skip leading spaces and read hexadecimal: neither is a decimal number here.
  if (text.empty()) return out;
  const unsigned char first = static_cast<unsigned char>(text.front());
  if (!(std::isdigit(first) || first == '+' || first == '-' || first == '.' || std::isalpha(first)))
    return out;
  if (text.find_first_of("xX") != std::string_view::npos) return out;
  const std::string s(text);  // strtod needs the terminating NUL
  char *stop = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &stop);
  if (stop != s.c_str() + s.size()) return out;
  out.value = v;
  if (std::isnan(v) || (std::isinf(v) && errno != ERANGE)) {
    out.status = DecimalStatus::NotFinite;
    return out;
  }
  if (std::isinf(v)) {
    out.status = DecimalStatus::Overflow;
    return out;
  }
  // The digits before the exponent: a non-zero one means a non-zero number.
  bool nonZero = false;
  for (char c : s) {
    if (c == 'e' || c == 'E') break;
    if (c >= '1' && c <= '9') nonZero = true;
  }
  if (nonZero && std::fabs(v) < std::numeric_limits<double>::min()) {
    out.status = DecimalStatus::Underflow;
    return out;
  }
  out.status = DecimalStatus::Ok;
  return out;
}

std::string_view describe(DecimalStatus status) {
  switch (status) {
  case DecimalStatus::Ok: return "";
  case DecimalStatus::Malformed: return "is not a number";
  case DecimalStatus::NotFinite: return "is not a finite number";
  case DecimalStatus::Overflow: return "is out of the range of a double";
  case DecimalStatus::Underflow:
    return "is too small for a double (a non-zero number below 2.2250738585072014e-308 in "
           "magnitude would read as 0 or lose precision)";
  }
  return "is not a number";
}

}  // namespace nabla
