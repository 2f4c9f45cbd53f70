// Numbers as nabla writes and reads them: the one formatter that messages, printed expressions,
// dumps, the command line's results, logs, params files, checkpoints' summaries and predictions
// all use, and the one rule by which numbers in files (CSV cells, JSON numbers) are read.
#pragma once

#include <string>
#include <string_view>

namespace nabla {

/// The shortest decimal (15 to 17 significant digits, `%g` style) that reads back as the same
/// double, with a plain exponent (`1e-5`, `2.5e20`: what every nabla reader accepts); `nan`,
/// `inf`, `-inf`; `-0` for negative zero.
std::string formatNumber(double v);

/// What readDecimal made of a text.
enum class DecimalStatus {
  Ok,         // a finite double, zero or normal
  Malformed,  // not a decimal number (`abc`, `0x10`, `1.5x`, empty)
  NotFinite,  // `nan`, `inf`, `infinity` (any case, any sign)
  Overflow,   // beyond the largest double (`1e999`)
  Underflow,  // not zero, but it reads as zero or as a subnormal (`1e-400`, `1e-310`)
};
struct Decimal {
  double value = 0;
  DecimalStatus status = DecimalStatus::Ok;
};

/// The rule for numbers in the files nabla reads (CSV cells, the numbers of params files): all
/// of `text` in strtod's decimal syntax (`1`, `-2.5e-3`, `+.5`; no spaces, no hexadecimal), read
/// to the nearest double. Only Ok numbers are accepted: a non-zero number smaller in magnitude
/// than the smallest normal double (2.2250738585072014e-308) would silently become 0, or a
/// subnormal with fewer significant bits, so it is refused like one beyond the largest.
Decimal readDecimal(std::string_view text);

/// Why a number is refused, to follow the quoted text in a message: "is not a number", "is not a
/// finite number", "is out of the range of a double", "is too small for a double (...)".
/// Empty for Ok.
std::string_view describe(DecimalStatus status);

}  // namespace nabla
