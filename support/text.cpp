#include "support/text.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>

namespace nabla {

namespace {

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

/// Levenshtein distance (insertions, deletions, replacements), or `cap` once it is certain to be
/// at least that.
unsigned editDistance(std::string_view a, std::string_view b, unsigned cap) {
  const std::size_t m = a.size(), n = b.size();
  if ((m > n ? m - n : n - m) >= cap) return cap;
  std::vector<unsigned> row(n + 1);
  for (std::size_t j = 0; j <= n; ++j) row[j] = static_cast<unsigned>(j);
  for (std::size_t i = 1; i <= m; ++i) {
    unsigned diagonal = row[0];
    row[0] = static_cast<unsigned>(i);
    unsigned best = row[0];
    for (std::size_t j = 1; j <= n; ++j) {
      const unsigned above = row[j];
      row[j] = std::min({row[j - 1] + 1, above + 1, diagonal + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      diagonal = above;
      best = std::min(best, row[j]);
    }
    if (best >= cap) return cap;
  }
  return std::min(row[n], cap);
}

/// The length of the UTF-8 sequence at `s[i]` and its code point, or 0 when it is not one
/// (overlong forms, surrogates and code points beyond U+10FFFF are not).
std::size_t decodeUtf8(std::string_view s, std::size_t i, std::uint32_t &cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b = byte(0);
  std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  cp = n == 1 ? b : b & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kSmallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

/// Characters that a terminal must not get raw: controls, and those that reorder, join or hide
/// the text around them.
bool isUnsafe(std::uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C ||
         (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
         (cp >= 0x2060 && cp <= 0x2069) || cp == 0xFEFF;
}

}  // namespace

std::string escapeForTerminal(std::string_view text, bool keepLines) {
  std::string out;
  out.reserve(text.size());
  char buf[16];
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = decodeUtf8(text, i, cp);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(text[i]));
      out += buf;
      ++i;
      continue;
    }
    if (isUnsafe(cp) && !(keepLines && (cp == '\n' || cp == '\t'))) {
      std::snprintf(buf, sizeof buf, cp < 0x80 ? "\\x%02X" : "\\u%04X", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string closestName(std::string_view name, const std::vector<std::string> &candidates) {
  std::string best;
  unsigned bestDistance = 0;
  // One edit per three characters (at least one): `sinh2` -> `sinh`, `wx` -> `w`. A one- or
  // two-letter name is not "close" to another of the same length (`b` is no typo of `w`).
  const unsigned limit = std::max<unsigned>(1, static_cast<unsigned>(name.size()) / 3);
  if (name.size() > 64) return best;
  for (const std::string &c : candidates) {
    if (c == name || c.size() > 64) continue;
    // Case-only differences (`Sin` for `sin`) are the likeliest slip: prefer them.
    const bool caseOnly = equalsIgnoringCase(c, name);
    if (name.size() <= 2 && c.size() == name.size() && !caseOnly) continue;
    const unsigned d = caseOnly ? 0 : editDistance(c, name, limit + 1);
    if (d <= limit && (best.empty() || d < bestDistance)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

}  // namespace nabla
