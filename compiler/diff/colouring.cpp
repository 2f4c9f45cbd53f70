// Greedy star colouring and direct recovery (colouring.h). The colouring keeps, per variable, how
// many of its coloured neighbours have each colour, and two lists that only grow: the distinct
// colours around it, and the colours its paths of three edges forbid to a new neighbour. A
// variable then looks at its neighbours' lists and never walks a neighbour's row, so a dense row
// (an arrowhead's hub, 10^6 wide) costs its length once, not once per neighbour.
#include "diff/colouring.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

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

/// Per variable, a list of colours, each at most once (lists only grow): the distinct colours
/// of a variable's coloured neighbours, or of the path ends it forbids (starColouring).
class ColourLists {
public:
  explicit ColourLists(std::size_t n) : head_(n, -1) {}
  /// Adds c to x's list unless it is there (a set of the pairs keeps them unique).
  void add(std::size_t x, std::int64_t c) {
    if (members_.insert(key(x, c)).second) append(x, c);
  }
  /// Adds c to x's list, which the caller knows does not hold it.
  void append(std::size_t x, std::int64_t c) {
    nodes_.push_back({c, head_[x]});
    head_[x] = static_cast<std::int64_t>(nodes_.size()) - 1;
  }
  template <class F> void forEach(std::size_t x, F &&f) const {
    for (std::int64_t k = head_[x]; k >= 0; k = nodes_[static_cast<std::size_t>(k)].next)
      f(nodes_[static_cast<std::size_t>(k)].colour);
  }
  static std::uint64_t key(std::size_t x, std::int64_t c) {
    return (static_cast<std::uint64_t>(x) << 32) | static_cast<std::uint64_t>(c);
  }

private:
  struct Node {
    std::int64_t colour, next;
  };
  std::vector<std::int64_t> head_;
  std::vector<Node> nodes_;
  std::unordered_set<std::uint64_t> members_;
};

}  // namespace

StarColouring starColouring(const HessianPattern &pattern) {
  const std::size_t n = pattern.n;
  constexpr std::int64_t kNone = -1;
  StarColouring out;
  out.colour.assign(n, kNone);
  const std::vector<std::int64_t> &col = out.colour;
  // (variable, colour) -> how many coloured neighbours of the variable have the colour.
  std::unordered_map<std::uint64_t, std::uint32_t> around;
  around.reserve(pattern.nonzeros());
  auto neighboursWith = [&](std::size_t x, std::int64_t c) -> std::uint32_t {
    auto it = around.find(ColourLists::key(x, c));
    return it == around.end() ? 0 : it->second;
  };
  // colours(w): the colours of w's coloured neighbours. ends(w): the colours of the coloured
  // neighbours x of a coloured w that have colour(w) twice among their neighbours (w and some
  // y): a path v-w-x-y for any new neighbour v of w, which may then not take colour(x).
  ColourLists colours(n), ends(n);
  // Stamped per colour: forbidden for the variable being coloured; its neighbours' colour counts.
  std::vector<std::size_t> forbidden, seenStamp;
  std::vector<std::uint32_t> seen;
  auto grow = [&](std::int64_t c) {
    const std::size_t need = static_cast<std::size_t>(c) + 1;
    if (forbidden.size() < need) {
      forbidden.resize(need, 0);
      seenStamp.resize(need, 0);
      seen.resize(need, 0);
    }
  };
  std::size_t stamp = 0;
  auto forbid = [&](std::int64_t c) {
    grow(c);
    forbidden[static_cast<std::size_t>(c)] = stamp;
  };

  for (std::size_t v = 0; v < n; ++v) {
    stamp = v + 1;
    // Coloured neighbours: their colours, and how often each occurs among them.
    for (std::int64_t w : pattern.row(v)) {
      const std::int64_t cw = col[static_cast<std::size_t>(w)];
      if (static_cast<std::size_t>(w) == v || cw == kNone) continue;
      forbid(cw);
      if (seenStamp[static_cast<std::size_t>(cw)] != stamp) {
        seenStamp[static_cast<std::size_t>(cw)] = stamp;
        seen[static_cast<std::size_t>(cw)] = 0;
      }
      ++seen[static_cast<std::size_t>(cw)];
    }
    for (std::int64_t w : pattern.row(v)) {
      const std::size_t ws = static_cast<std::size_t>(w);
      const std::int64_t cw = col[ws];
      if (ws == v || cw == kNone) continue;
      // v inside, w-v-x-y with colour(w) = colour(x): v may not take the colour of any other
      // coloured neighbour y of x (here x is w, and another neighbour of v has its colour).
      if (seen[static_cast<std::size_t>(cw)] >= 2) colours.forEach(ws, forbid);
      // v at the end, v-w-x-y with colour(y) = colour(w): v may not take colour(x).
      ends.forEach(ws, forbid);
    }
    std::int64_t c = 0;
    while (static_cast<std::size_t>(c) < forbidden.size() &&
           forbidden[static_cast<std::size_t>(c)] == stamp)
      ++c;
    grow(c);
    out.colour[v] = c;
    out.colours = std::max(out.colours, static_cast<std::size_t>(c) + 1);

    // The lists after v takes c. A coloured neighbour u of v that now has c twice around it
    // is a path end for its other neighbour w of colour c (v itself comes below).
    for (std::int64_t u : pattern.row(v)) {
      const std::size_t us = static_cast<std::size_t>(u);
      if (us == v) continue;
      const std::uint32_t count = ++around[ColourLists::key(us, c)];
      if (count == 1) colours.append(us, c);  // c's first coloured neighbour of u
      if (count == 2 && col[us] != kNone)
        for (std::int64_t w : pattern.row(us)) {
          const std::size_t ws = static_cast<std::size_t>(w);
          if (ws != us && ws != v && col[ws] == c) ends.add(ws, col[us]);
        }
    }
    for (std::int64_t w : pattern.row(v)) {
      const std::size_t ws = static_cast<std::size_t>(w);
      if (ws == v || col[ws] == kNone) continue;
      // v as the path's x for its coloured neighbour w; then w as x for v.
      if (neighboursWith(v, col[ws]) >= 2) ends.add(ws, c);
      if (neighboursWith(ws, c) >= 2) ends.add(v, col[ws]);
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
