#include "support/text.h"

#include <algorithm>
#include <cctype>

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

}  // namespace

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
