// The characters nabla source may contain, and how to name the ones it may not (UTF-8 aware).
#pragma once

#include <cstdint>
#include <string>

namespace nabla::parse {

/// Printable ASCII, space, tab, CR and LF: everything the grammar may see outside comments.
inline bool isSourceChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return (u >= 0x20 && u < 0x7f) || c == '\t' || c == '\r' || c == '\n';
}

/// One decoded character: a code point, or a byte that does not start valid UTF-8 (overlong,
/// truncated, a surrogate, above U+10FFFF, 0xfe/0xff...).
struct CharInfo {
  std::uint32_t codePoint = 0;
  std::uint32_t length = 1;  // bytes
  bool valid = true;         // false: `codePoint` is the offending byte
};

/// Decodes the character at `at` (which must be < text.size()).
CharInfo decodeChar(const std::string &text, std::uint32_t at);

/// "invalid character U+00B2 '²'", "invalid character U+0000 (NUL)",
/// "invalid byte 0xff: the input is not valid UTF-8".
std::string describeInvalid(const CharInfo &c, const std::string &text, std::uint32_t at);

/// "did you mean '-'?" for characters that look like an operator (U+2212 minus, '×', '²', ...),
/// or empty.
std::string lookalikeHint(const CharInfo &c);

}  // namespace nabla::parse
