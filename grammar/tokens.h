// Character-level helpers shared by the grammar and its error messages (Boost-free).
#pragma once

#include "parse/ast_builder.h"

#include <array>
#include <string_view>

namespace nabla::grammar {

using It = const char *;
using parse::isDigit;
using parse::isIdentChar;
using parse::isIdentStart;

inline bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/// Skips blanks and comments, as the skipper does.
inline It skipBlanks(It p, It end) {
  while (p != end) {
    if (isBlank(*p)) {
      ++p;
    } else if (*p == '#') {
      while (p != end && *p != '\n') ++p;
    } else {
      break;
    }
  }
  return p;
}

inline It identEnd(It p, It end) {
  while (p != end && isIdentChar(*p)) ++p;
  return p;
}

/// The run a malformed number is reported as: `1.2.3`, `0x1F`, `1e5.5`.
inline It numberRunEnd(It p, It end) {
  while (p != end && (isIdentChar(*p) || *p == '.')) ++p;
  return p;
}

inline bool startsNumber(It p, It end) {
  return p != end && (isDigit(*p) || (*p == '.' && p + 1 != end && isDigit(p[1])));
}

inline constexpr std::array<std::string_view, 7> kTwoCharOperators = {
    "||", "&&", "<=", ">=", "==", "!=", ".."};

/// ASCII characters that no token starts with.
inline constexpr const char kOutsideGrammar[] = "$%~?:\\\"'{}`;";

inline bool startsAtom(It p, It end) {
  return p != end && (isIdentStart(*p) || startsNumber(p, end));
}

}  // namespace nabla::grammar
