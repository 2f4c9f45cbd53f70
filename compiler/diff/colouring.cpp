// Greedy star colouring and direct recovery (colouring.h). The colouring keeps, per variable, the
// distinct colours of its coloured neighbours, how many have each, and which of them its paths of
// three edges forbid to a new neighbour, in slots beside its row of the pattern. A variable then
// looks at its neighbours' slots and never walks a neighbour's row, so a dense row (an
// arrowhead's hub, 10^6 wide) costs its length once, not once per neighbour.
#include "diff/colouring.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace nabla {

std::vector<std::vector<std::int64_t>> StarColouring::classes() const {
  std::vector<std::vector<std::int64_t>> out(colours);
  for (std::size_t j = 0; j < colour.size(); ++j)
    out[static_cast<std::size_t>(colour[j])].push_back(static_cast<std::int64_t>(j));
  return out;
}

std::vector<double> StarColouring::seedMatrix() const {
  std::vector<double> d(colour.size() * colours, 0.0);
  for (std::size_t j = 0; j < colour.size(); ++j)
    d[j * colours + static_cast<std::size_t>(colour[j])] = 1.0;
  return d;
}

namespace {

/// Per variable x, the distinct colours of its coloured neighbours, with how many of them have
/// each, in slots beside x's row of the pattern (x has at most as many such colours as
/// neighbours); and per colour, whether x forbids it to a new neighbour as a path end (ends(x) in
/// starColouring, which only ever holds colours around x). Nine bytes a nonzero. A colour is found
/// by reading x's slots while they are few (kScan); past that, by a hash table of the slots of
/// such variables (a dense row with many colours around it: a dense Hessian's, n colours).
class Around {
public:
  explicit Around(const HessianPattern &p)
      : start_(p.rowStart), used_(p.n, 0), colour_(p.nonzeros()), count_(p.nonzeros()),
        end_(p.nonzeros(), 0) {}

  /// How many coloured neighbours of x have colour c.
  std::uint32_t count(std::size_t x, std::uint32_t c) const {
    const std::size_t k = find(x, c);
    return k == kAbsent ? 0 : count_[k];
  }
  /// One more coloured neighbour of x has colour c: the new count.
  std::uint32_t add(std::size_t x, std::uint32_t c) { return ++count_[slot(x, c)]; }
  /// Colour c (around x) is a path end for x.
  void addEnd(std::size_t x, std::uint32_t c) { end_[slot(x, c)] = 1; }
  template <class F> void forEachColour(std::size_t x, F &&f) const {
    const std::size_t from = static_cast<std::size_t>(start_[x]);
    for (std::size_t k = from; k < from + used_[x]; ++k) f(colour_[k]);
  }
  template <class F> void forEachEnd(std::size_t x, F &&f) const {
    const std::size_t from = static_cast<std::size_t>(start_[x]);
    for (std::size_t k = from; k < from + used_[x]; ++k)
      if (end_[k]) f(colour_[k]);
  }

private:
  static constexpr std::size_t kAbsent = SIZE_MAX;
  static constexpr std::uint32_t kScan = 16;
  static std::uint64_t key(std::size_t x, std::uint32_t c) {
    return (static_cast<std::uint64_t>(x) << 32) | c;
  }
  std::size_t find(std::size_t x, std::uint32_t c) const {
    const std::size_t from = static_cast<std::size_t>(start_[x]);
    if (used_[x] > kScan) {
      const auto it = index_.find(key(x, c));
      return it == index_.end() ? kAbsent : it->second;
    }
    for (std::size_t k = from; k < from + used_[x]; ++k)
      if (colour_[k] == c) return k;
    return kAbsent;
  }
  /// c's slot around x, taken (with a count of 0) where it has none.
  std::size_t slot(std::size_t x, std::uint32_t c) {
    std::size_t k = find(x, c);
    if (k != kAbsent) return k;
    const std::size_t from = static_cast<std::size_t>(start_[x]);
    k = from + used_[x];
    if (k >= static_cast<std::size_t>(start_[x + 1]))
      throw std::logic_error("starColouring: more colours around a variable than neighbours");
    colour_[k] = c;
    count_[k] = 0;
    if (++used_[x] == kScan + 1)  // past the scan: every slot of x into the table
      for (std::size_t j = from; j <= k; ++j) index_.emplace(key(x, colour_[j]), j);
    else if (used_[x] > kScan + 1)
      index_.emplace(key(x, c), k);
    return k;
  }
  const std::vector<std::int64_t> &start_;
  std::vector<std::uint32_t> used_;
  std::vector<std::uint32_t> colour_, count_;
  std::vector<std::uint8_t> end_;
  std::unordered_map<std::uint64_t, std::size_t> index_;  // (x, colour) -> slot, past kScan
};

}  // namespace

StarColouring starColouring(const HessianPattern &pattern) {
  const std::size_t n = pattern.n;
  if (n > UINT32_MAX) throw std::length_error("starColouring: more than 2^32 variables");
  constexpr std::int64_t kNone = -1;
  StarColouring out;
  out.colour.assign(n, kNone);
  const std::vector<std::int64_t> &col = out.colour;
  auto colourOf = [&](std::size_t x) { return static_cast<std::uint32_t>(col[x]); };
  // around: the colours of each variable's coloured neighbours and how often each occurs. Its
  // ends, for a coloured w: the colours of the coloured neighbours x of w that have colour(w)
  // twice among their neighbours (w and some y): a path v-w-x-y for any new neighbour v of w,
  // which may then not take colour(x).
  Around around(pattern);
  // Stamped per colour: forbidden for the variable being coloured; its neighbours' colour counts.
  std::vector<std::size_t> forbidden, seenStamp;
  std::vector<std::uint32_t> seen;
  auto grow = [&](std::size_t c) {
    if (forbidden.size() < c + 1) {
      forbidden.resize(c + 1, 0);
      seenStamp.resize(c + 1, 0);
      seen.resize(c + 1, 0);
    }
  };
  std::size_t stamp = 0;
  auto forbid = [&](std::uint32_t c) {
    grow(c);
    forbidden[c] = stamp;
  };

  for (std::size_t v = 0; v < n; ++v) {
    stamp = v + 1;
    // Coloured neighbours: their colours, and how often each occurs among them.
    for (std::int64_t w : pattern.row(v)) {
      const std::size_t ws = static_cast<std::size_t>(w);
      if (ws == v || col[ws] == kNone) continue;
      const std::uint32_t cw = colourOf(ws);
      forbid(cw);
      if (seenStamp[cw] != stamp) {
        seenStamp[cw] = stamp;
        seen[cw] = 0;
      }
      ++seen[cw];
    }
    for (std::int64_t w : pattern.row(v)) {
      const std::size_t ws = static_cast<std::size_t>(w);
      if (ws == v || col[ws] == kNone) continue;
      // v inside, w-v-x-y with colour(w) = colour(x): v may not take the colour of any other
      // coloured neighbour y of x (here x is w, and another neighbour of v has its colour).
      if (seen[colourOf(ws)] >= 2) around.forEachColour(ws, forbid);
      // v at the end, v-w-x-y with colour(y) = colour(w): v may not take colour(x).
      around.forEachEnd(ws, forbid);
    }
    std::size_t least = 0;
    while (least < forbidden.size() && forbidden[least] == stamp) ++least;
    grow(least);
    const std::uint32_t c = static_cast<std::uint32_t>(least);
    out.colour[v] = c;
    out.colours = std::max(out.colours, least + 1);

    // The counts after v takes c. A coloured neighbour u of v that now has c twice around it
    // is a path end for its other neighbour w of colour c (v itself comes below).
    for (std::int64_t u : pattern.row(v)) {
      const std::size_t us = static_cast<std::size_t>(u);
      if (us == v) continue;
      if (around.add(us, c) == 2 && col[us] != kNone)
        for (std::int64_t w : pattern.row(us)) {
          const std::size_t ws = static_cast<std::size_t>(w);
          if (ws != us && ws != v && col[ws] == c) around.addEnd(ws, colourOf(us));
        }
    }
    for (std::int64_t w : pattern.row(v)) {
      const std::size_t ws = static_cast<std::size_t>(w);
      if (ws == v || col[ws] == kNone) continue;
      // v as the path's x for its coloured neighbour w; then w as x for v.
      if (around.count(v, colourOf(ws)) >= 2) around.addEnd(ws, c);
      if (around.count(ws, c) >= 2) around.addEnd(v, colourOf(ws));
    }
  }
  return out;
}

std::vector<std::int64_t> recoveryIndex(const HessianPattern &pattern,
                                        const StarColouring &colouring) {
  const std::size_t n = pattern.n, C = colouring.colours;
  if (colouring.colour.size() != n)
    throw std::invalid_argument("recoverHessian: the colouring does not fit the pattern");
  const std::vector<std::int64_t> &col = colouring.colour;
  // Each row's colours, sorted: whether a colour occurs once in a row is a binary search.
  std::vector<std::int64_t> rowColours(pattern.nonzeros());
  for (std::size_t i = 0; i < n; ++i) {
    const auto from = rowColours.begin() + pattern.rowStart[i];
    const auto to = rowColours.begin() + pattern.rowStart[i + 1];
    std::transform(pattern.row(i).begin(), pattern.row(i).end(), from,
                   [&](std::int64_t j) { return col[static_cast<std::size_t>(j)]; });
    std::sort(from, to);
  }
  auto uniqueIn = [&](std::size_t row, std::int64_t c) {
    const auto [lo, hi] = std::equal_range(rowColours.begin() + pattern.rowStart[row],
                                           rowColours.begin() + pattern.rowStart[row + 1], c);
    return hi - lo == 1;
  };
  std::vector<std::int64_t> index(pattern.nonzeros());
  for (std::size_t i = 0; i < n; ++i) {
    for (std::int64_t k = pattern.rowStart[i]; k < pattern.rowStart[i + 1]; ++k) {
      const std::size_t j = static_cast<std::size_t>(pattern.columns[static_cast<std::size_t>(k)]);
      const std::int64_t cj = col[j], ci = col[i];
      if (j == i || uniqueIn(i, cj))
        index[static_cast<std::size_t>(k)] = static_cast<std::int64_t>(i * C) + cj;
      else if (uniqueIn(j, ci))
        index[static_cast<std::size_t>(k)] = static_cast<std::int64_t>(j * C) + ci;
      else
        throw std::invalid_argument("recoverHessian: entry (" + std::to_string(i) + ", " +
                                    std::to_string(j) + ") is not recovered: not a star colouring");
    }
  }
  return index;
}

void sparseHessianByProducts(const StarColouring &colouring, std::span<const std::int64_t> recovery,
                             const HessianProduct &product, std::span<double> values,
                             ProductScratch &scratch) {
  if (values.size() != recovery.size())
    throw std::invalid_argument("sparseHessianByProducts: values and recovery differ in size");
  const std::size_t n = colouring.colour.size(), C = colouring.colours;
  // B = H D, one product per colour, stored n x colours (row-major) for the recovery.
  scratch.direction.resize(n);
  scratch.column.resize(n);
  scratch.compressed.resize(n * C);
  for (std::size_t c = 0; c < C; ++c) {
    for (std::size_t j = 0; j < n; ++j)
      scratch.direction[j] = colouring.colour[j] == static_cast<std::int64_t>(c) ? 1.0 : 0.0;
    product(scratch.direction, scratch.column);
    for (std::size_t i = 0; i < n; ++i) scratch.compressed[i * C + c] = scratch.column[i];
  }
  for (std::size_t k = 0; k < values.size(); ++k)
    values[k] = scratch.compressed[static_cast<std::size_t>(recovery[k])];
}

std::vector<double> recoverHessian(const HessianPattern &pattern, const StarColouring &colouring,
                                   std::span<const double> compressed) {
  if (colouring.colour.size() != pattern.n || compressed.size() != pattern.n * colouring.colours)
    throw std::invalid_argument("recoverHessian: the colouring or the products do not fit the pattern");
  const std::vector<std::int64_t> index = recoveryIndex(pattern, colouring);
  std::vector<double> values(index.size());
  for (std::size_t k = 0; k < index.size(); ++k)
    values[k] = compressed[static_cast<std::size_t>(index[k])];
  return values;
}

}  // namespace nabla
