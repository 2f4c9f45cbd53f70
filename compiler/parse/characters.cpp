#include "parse/characters.h"

#include <array>
#include <cstdio>

namespace nabla::parse {

CharInfo decodeChar(const std::string &text, std::uint32_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const std::size_t n = text.size();
  unsigned char b0 = byte(at);
  CharInfo bad{b0, 1, false};
  if (b0 < 0x80) return {b0, 1, true};
  std::uint32_t length, cp, min;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2, cp = b0 & 0x1f, min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3, cp = b0 & 0x0f, min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return bad;  // a continuation byte, an overlong lead (0xc0, 0xc1) or 0xf5..0xff
  }
  if (at + length > n) return bad;
  for (std::uint32_t k = 1; k < length; ++k) {
    unsigned char b = byte(at + k);
    if ((b & 0xc0) != 0x80) return bad;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return bad;
  return {cp, length, true};
}

namespace {

std::string hex(const char *format, std::uint32_t v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

const char *controlName(std::uint32_t cp) {
  static constexpr std::array<const char *, 32> kC0 = {
      "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS",  "TAB", "LF",
      "VT",  "FF",  "CR",  "SO",  "SI",  "DLE", "DC1", "DC2", "DC3", "DC4", "NAK",
      "SYN", "ETB", "CAN", "EM",  "SUB", "ESC", "FS",  "GS",  "RS",  "US"};
  if (cp < 0x20) return kC0[cp];
  if (cp == 0x7f) return "DEL";
  if (cp >= 0x80 && cp <= 0x9f) return "a control character";
  return nullptr;
}

/// Characters that print as nothing (or as a plain space) or reorder the text: named, never echoed.
const char *invisibleName(std::uint32_t cp) {
  switch (cp) {
  case 0x00a0: return "no-break space";
  case 0x00ad: return "soft hyphen";
  case 0x034f: return "combining grapheme joiner";
  case 0x061c: return "arabic letter mark";
  case 0x180e: return "mongolian vowel separator";
  case 0x200b: return "zero-width space";
  case 0x200c: return "zero-width non-joiner";
  case 0x200d: return "zero-width joiner";
  case 0x200e: return "left-to-right mark";
  case 0x200f: return "right-to-left mark";
  case 0x2028: return "line separator";
  case 0x2029: return "paragraph separator";
  case 0x202a: return "left-to-right embedding";
  case 0x202b: return "right-to-left embedding";
  case 0x202c: return "pop directional formatting";
  case 0x202d: return "left-to-right override";
  case 0x202e: return "right-to-left override";
  case 0x202f: return "narrow no-break space";
  case 0x205f: return "medium mathematical space";
  case 0x2060: return "word joiner";
  case 0x2066: return "left-to-right isolate";
  case 0x2067: return "right-to-left isolate";
  case 0x2068: return "first strong isolate";
  case 0x2069: return "pop directional isolate";
  case 0x3000: return "ideographic space";
  case 0xfeff: return "byte order mark";
  case 0xfffd: return "replacement character";
  default: break;
  }
  if (cp >= 0x2000 && cp <= 0x200a) return "a space character";
  if (cp >= 0xfe00 && cp <= 0xfe0f) return "a variation selector";
  if (cp >= 0xe000 && cp <= 0xf8ff) return "a private-use character";
  if (cp >= 0xf0000) return "a private-use character";
  if ((cp & 0xfffe) == 0xfffe || (cp >= 0xfdd0 && cp <= 0xfdef)) return "a noncharacter";
  if (cp >= 0xe0000 && cp <= 0xe007f) return "a tag character";
  return nullptr;
}

}  // namespace

std::string describeInvalid(const CharInfo &c, const std::string &text, std::uint32_t at) {
  if (!c.valid) return hex("invalid byte 0x%02x", c.codePoint) + ": the input is not valid UTF-8";
  std::string code = hex("U+%04X", c.codePoint);
  if (const char *name = controlName(c.codePoint))
    return "invalid character " + code + " (" + name + ")";
  if (const char *name = invisibleName(c.codePoint))
    return "invalid character " + code + " (" + name + ")";
  return "invalid character " + code + " '" + text.substr(at, c.length) + "'";
}

std::string lookalikeHint(const CharInfo &c) {
  if (!c.valid) return {};
  std::uint32_t cp = c.codePoint;
  // Full-width forms of printable ASCII (U+FF01..U+FF5E) map back by a fixed offset.
  if (cp >= 0xff01 && cp <= 0xff5e)
    return std::string("did you mean '") + char(cp - 0xff01 + 0x21) + "'?";
  switch (cp) {
  case 0x2212:
  case 0x2013:
  case 0x2014:
  case 0x2010:
  case 0x2011: return "did you mean '-'?";
  case 0x00d7:
  case 0x22c5:
  case 0x00b7:
  case 0x2217:
  case 0x2219: return "did you mean '*'?";
  case 0x00f7:
  case 0x2215:
  case 0x2044: return "did you mean '/'?";
  case 0x00b2: return "did you mean '^2'?";
  case 0x00b3: return "did you mean '^3'?";
  case 0x2264: return "did you mean '<='?";
  case 0x2265: return "did you mean '>='?";
  case 0x2260: return "did you mean '!='?";
  case 0x221a: return "did you mean 'sqrt(...)'?";
  case 0x03c0: return "did you mean 'pi' (a name you define, e.g. 'const pi = 3.141592653589793')?";
  case 0x2018:
  case 0x2019:
  case 0x201c:
  case 0x201d: return "quotes have no meaning in nabla";
  case 0x00a0:
  case 0x202f:
  case 0x3000: return "did you mean a plain space?";
  default: return {};
  }
}

}  // namespace nabla::parse
