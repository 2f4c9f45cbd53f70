// The Hessian's pattern by edge pushing: a backwards sweep over the nodes f reaches that holds, at
// each node, the nodes it is coupled with (a pair {a, b} stands for a nonzero d^2 f / d a d b).
// Passing node i on replaces each pair {i, p} with {j, p} for the operands j that i's first
// derivative carries, and {i, i} with every pair of such operands; a node whose adjoint is nonzero
// (live) adds the pairs its own second derivatives make. What reaches the variables is the
// pattern. A pair is kept at the endpoint processed first (the larger that is not a variable), so
// each node finds all of its pairs in one list when its turn comes.
#include "diff/sparsity.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace nabla {

bool HessianPattern::contains(std::size_t i, std::size_t j) const {
  if (i >= n) return false;
  const std::span<const std::int64_t> r = row(i);
  return std::binary_search(r.begin(), r.end(), static_cast<std::int64_t>(j));
}

namespace {

using Pairs = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

/// Pairs as rows of a counting sort: by each index (`both`: the two triangles of the pattern), or
/// by the smaller with the larger as its column; each row then sorted and its duplicates dropped.
/// Row r is cols[start[r] .. start[r] + count[r]). `release(k)` frees chunk k once the rows hold
/// its pairs.
struct Rows {
  std::vector<std::size_t> start, count;
  std::vector<std::uint32_t> cols;
};

template <class Chunks, class Release>
Rows sortedRows(std::size_t n, const Chunks &chunks, bool both, Release release) {
  Rows rows;
  std::vector<std::size_t> &start = rows.start;
  start.assign(n + 1, 0);
  for (const auto &chunk : chunks)
    for (const auto &[i, j] : chunk) {
      if (i >= n || j >= n) throw std::logic_error("patternFromPairs: an index beyond n");
      if (both) {
        ++start[i + 1];
        if (i != j) ++start[j + 1];
      } else {
        ++start[std::min(i, j) + std::size_t{1}];
      }
    }
  for (std::size_t r = 0; r < n; ++r) start[r + 1] += start[r];
  rows.cols.resize(start[n]);
  {
    std::vector<std::size_t> at(start.begin(), start.end() - 1);
    for (std::size_t k = 0; k < std::size(chunks); ++k) {
      for (const auto &[i, j] : chunks[k]) {
        if (!both) {
          rows.cols[at[std::min(i, j)]++] = std::max(i, j);
        } else {
          rows.cols[at[i]++] = j;
          if (i != j) rows.cols[at[j]++] = i;
        }
      }
      release(k);
    }
  }
  rows.count.resize(n);
  for (std::size_t r = 0; r < n; ++r) {
    const auto from = rows.cols.begin() + static_cast<std::ptrdiff_t>(start[r]);
    const auto to = rows.cols.begin() + static_cast<std::ptrdiff_t>(start[r + 1]);
    std::sort(from, to);
    rows.count[r] = static_cast<std::size_t>(std::unique(from, to) - from);
  }
  return rows;
}

template <class Chunks, class Release>
HessianPattern buildPattern(std::size_t n, const Chunks &chunks, Release release) {
  const Rows rows = sortedRows(n, chunks, true, release);
  HessianPattern p;
  p.n = n;
  p.rowStart.assign(n + 1, 0);
  for (std::size_t r = 0; r < n; ++r)
    p.rowStart[r + 1] = p.rowStart[r] + static_cast<std::int64_t>(rows.count[r]);
  p.columns.reserve(static_cast<std::size_t>(p.rowStart[n]));
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t k = 0; k < rows.count[r]; ++k)
      p.columns.push_back(rows.cols[rows.start[r] + k]);
  return p;
}

}  // namespace

HessianPattern patternFromPairs(std::size_t n,
                                std::span<const std::pair<std::uint32_t, std::uint32_t>> pairs) {
  const std::span<const std::pair<std::uint32_t, std::uint32_t>> one[1] = {pairs};
  return buildPattern(n, one, [](std::size_t) {});
}

HessianPattern patternFromPairs(std::size_t n, std::vector<Pairs> chunks) {
  return buildPattern(n, chunks, [&](std::size_t k) { Pairs().swap(chunks[k]); });
}

Pairs distinctPairs(std::size_t n, std::vector<Pairs> chunks) {
  const Rows rows = sortedRows(n, chunks, false, [&](std::size_t k) { Pairs().swap(chunks[k]); });
  std::size_t total = 0;
  for (std::size_t c : rows.count) total += c;
  Pairs out;
  out.reserve(total);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t k = 0; k < rows.count[r]; ++k)
      out.push_back({static_cast<std::uint32_t>(r), rows.cols[rows.start[r] + k]});
  return out;
}

namespace sparsity {

bool carries(Op op, int arg, const Constants &constants) {
  auto is = [&](int k, double v) { return constants[k] && *constants[k] == v; };
  switch (op) {
  case Op::Const:
  case Op::Var:
    return false;
#define NABLA_STEP(name, arity, spelling, builtin, flags) case Op::name:
#include "graph/ops.def"
    return false;
  case Op::Where:
    return arg != 0;
  case Op::Mul:
    return !is(1 - arg, 0.0);  // x*0: the builder drops the term (x*-0 too: -0 == 0)
  case Op::Pow:
    if (arg == 0) return !is(1, 0.0);              // u^0 is 1
    return !is(0, 0.0) && !is(0, 1.0) && !constants[1];  // 0^v, 1^v; a constant exponent
  case Op::Neg:
  case Op::Exp:
  case Op::Log:
  case Op::Sqrt:
  case Op::Sin:
  case Op::Cos:
  case Op::Tan:
  case Op::Asin:
  case Op::Acos:
  case Op::Atan:
  case Op::Sinh:
  case Op::Cosh:
  case Op::Tanh:
  case Op::Sigmoid:
  case Op::Softplus:
  case Op::Relu:
  case Op::Log1p:
  case Op::Expm1:
  case Op::Abs:
  // x - x and atan2(x, x) are constant, but their operand's two derivatives cancel only as sums
  // (which the builder may or may not see, by the order of its terms): structural nonzeros.
  case Op::Sub:
  case Op::Atan2:
  case Op::Add:
  case Op::Div:
  case Op::Min:
  case Op::Max:
  case Op::Hypot:
  case Op::LogAddExp:
    return true;
#define NABLA_FUSED(name, spelling) case Op::name:
#include "graph/ops.def"
    throw std::logic_error("hessianPattern: a fused multiply-add in the graph");
  }
  return false;
}

bool exclusiveOperands(Op op) { return op == Op::Min || op == Op::Max || op == Op::Where; }

int secondPairs(Op op, bool sameOperands, const Constants &constants, std::pair<int, int> out[3]) {
  auto is = [&](int k, double v) { return constants[k] && *constants[k] == v; };
  switch (op) {
  case Op::Const:
  case Op::Var:
#define NABLA_STEP(name, arity, spelling, builtin, flags) case Op::name:
#include "graph/ops.def"
  // Linear, or piecewise linear: relu, abs, min, max and where() pass their adjoint on under a
  // mask, and the mask has derivative 0.
  case Op::Neg:
  case Op::Relu:
  case Op::Abs:
  case Op::Add:
  case Op::Sub:
  case Op::Min:
  case Op::Max:
  case Op::Where:
    return 0;
  case Op::Exp:
  case Op::Log:
  case Op::Sqrt:
  case Op::Sin:
  case Op::Cos:
  case Op::Tan:
  case Op::Asin:
  case Op::Acos:
  case Op::Atan:
  case Op::Sinh:
  case Op::Cosh:
  case Op::Tanh:
  case Op::Sigmoid:
  case Op::Softplus:
  case Op::Log1p:
  case Op::Expm1:
    out[0] = {0, 0};
    return 1;
  case Op::Mul:
    if (constants[0] || constants[1]) return 0;  // a constant factor: linear
    out[0] = sameOperands ? std::pair{0, 0} : std::pair{0, 1};
    return 1;
  case Op::Div:
    if (constants[1]) return 0;  // u/c is linear in u
    out[0] = {0, 1};
    out[1] = {1, 1};
    return 2;
  case Op::Pow:
    if (constants[1]) {  // u^c: linear for c = 1, constant for c = 0
      if (is(1, 0.0) || is(1, 1.0)) return 0;
      out[0] = {0, 0};
      return 1;
    }
    if (constants[0]) {  // c^v: 0^v and 1^v have derivative 0
      if (is(0, 0.0) || is(0, 1.0)) return 0;
      out[0] = {1, 1};
      return 1;
    }
    [[fallthrough]];
  case Op::Atan2:
  case Op::Hypot:
  case Op::LogAddExp:
    out[0] = {0, 0};
    out[1] = {0, 1};
    out[2] = {1, 1};
    return 3;
#define NABLA_FUSED(name, spelling) case Op::name:
#include "graph/ops.def"
    throw std::logic_error("hessianPattern: a fused multiply-add in the graph");
  }
  return 0;
}

}  // namespace sparsity

namespace {

/// The pairs of the sweep, each kept in the list of one of its endpoints (a position in the
/// reachable order); a list drops its duplicates whenever it has doubled since it last did.
/// Throws std::length_error once more than kPatternWorkPerPair pairs per pair of the limit have
/// been added (the sweep's work, and a bound on what the lists hold).
class PairLists {
public:
  PairLists(std::size_t size, const std::vector<char> &leaf, std::size_t maxPairs)
      : lists_(size), clean_(size, 0), leaf_(leaf), left_(patternWork(maxPairs)) {}

  void add(std::uint32_t a, std::uint32_t b) {
    if (left_-- == 0)
      throw std::length_error(
          "the Hessian's sparsity pattern takes too many pairs of variables to find");
    // The endpoint processed first: the larger one that is not a variable; a pair of two
    // variables stays at the larger.
    std::uint32_t hi = std::max(a, b), lo = std::min(a, b);
    if (leaf_[hi] && !leaf_[lo]) std::swap(hi, lo);
    std::vector<std::uint32_t> &list = lists_[hi];
    list.push_back(lo);
    if (list.size() >= 2 * std::size_t{clean_[hi]} + 64) clean_[hi] = dedupe(list);
  }

  /// The partners of `k`, sorted and without duplicates.
  std::vector<std::uint32_t> &partners(std::uint32_t k) {
    dedupe(lists_[k]);
    return lists_[k];
  }
  void release(std::uint32_t k) { std::vector<std::uint32_t>().swap(lists_[k]); }

private:
  static std::uint32_t dedupe(std::vector<std::uint32_t> &list) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    return static_cast<std::uint32_t>(list.size());
  }
  std::vector<std::vector<std::uint32_t>> lists_;
  std::vector<std::uint32_t> clean_;
  const std::vector<char> &leaf_;
  std::size_t left_;  // pairs that may still be added
};

sparsity::Constants constantsOf(const Graph &graph, const Node &n) {
  sparsity::Constants c;
  for (int k = 0; k < arity(n.op); ++k)
    if (graph.isConstant(n.args[k])) c[k] = graph[n.args[k]].value;
  return c;
}

}  // namespace

HessianPattern hessianPattern(const Graph &graph, NodeId f, const std::vector<NodeId> &vars,
                              std::size_t maxPairs) {
  const std::size_t n = vars.size();
  if (!f.valid() || f.index >= graph.size())
    throw std::logic_error("hessianPattern: f is not a node of the graph");
  const std::vector<NodeId> order = graph.reachable({f});
  const NodePositions slot(order);
  const std::size_t size = order.size();

  // The variables' positions, and which of the variables (several, when vars repeats one) each is.
  std::vector<char> isWrt(size, 0), leaf(size, 0);
  for (std::size_t k = 0; k < size; ++k) leaf[k] = graph[order[k]].op == Op::Var;
  std::vector<std::uint32_t> posOf(n, NodePositions::kNone);
  for (std::size_t i = 0; i < n; ++i) {
    const NodeId v = vars[i];
    if (!v.valid() || v.index >= graph.size() || graph[v].op != Op::Var) continue;
    posOf[i] = slot[v];
    if (posOf[i] != NodePositions::kNone) isWrt[posOf[i]] = 1;
  }

  // depends[k]: a first derivative reaches a variable of `vars` from order[k].
  std::vector<char> depends(size, 0);
  for (std::size_t k = 0; k < size; ++k) {
    const Node &node = graph[order[k]];
    if (node.op == Op::Var) {
      depends[k] = isWrt[k];
      continue;
    }
    const sparsity::Constants c = constantsOf(graph, node);
    for (int a = 0; a < arity(node.op) && !depends[k]; ++a)
      depends[k] = sparsity::carries(node.op, a, c) && depends[slot[node.args[a]]];
  }

  PairLists pairs(size, leaf, maxPairs);
  std::vector<char> live(size, 0);
  live[size - 1] = 1;
  for (std::size_t k = size; k-- > 0;) {
    const Node &node = graph[order[k]];
    if (leaf[k] || !depends[k]) continue;
    const sparsity::Constants c = constantsOf(graph, node);
    // The operands a first derivative reaches (a variable through): their positions.
    std::uint32_t operand[3];
    int count = 0;
    int index[3] = {-1, -1, -1};  // operand position -> entry of `operand`
    for (int a = 0; a < arity(node.op); ++a) {
      const std::uint32_t p = slot[node.args[a]];
      if (sparsity::carries(node.op, a, c) && depends[p]) {
        index[a] = count;
        operand[count++] = p;
      }
    }
    const std::uint32_t self = static_cast<std::uint32_t>(k);
    for (std::uint32_t p : pairs.partners(self)) {
      if (p == self) {
        // d^2 f / d i^2 times the products of i's first derivatives: of min, max and where()
        // only one operand's is nonzero at a time, so they pair each operand with itself alone.
        const bool exclusive = sparsity::exclusiveOperands(node.op);
        for (int x = 0; x < count; ++x)
          for (int y = x; y < count; ++y)
            if (x == y || !exclusive || operand[x] == operand[y]) pairs.add(operand[x], operand[y]);
      } else {
        for (int x = 0; x < count; ++x) pairs.add(operand[x], p);
      }
    }
    pairs.release(self);
    if (!live[k]) continue;
    std::pair<int, int> second[3];
    const int made = sparsity::secondPairs(node.op, node.args[0] == node.args[1], c, second);
    for (int s = 0; s < made; ++s) {
      const int x = index[second[s].first], y = index[second[s].second];
      if (x >= 0 && y >= 0) pairs.add(operand[x], operand[y]);
    }
    for (int x = 0; x < count; ++x) live[operand[x]] = 1;
  }

  // What reached the variables: pairs of positions of `vars`, as pairs of indices.
  std::vector<std::uint32_t> first(size, NodePositions::kNone);
  bool repeated = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (posOf[i] == NodePositions::kNone) continue;
    if (first[posOf[i]] == NodePositions::kNone) first[posOf[i]] = static_cast<std::uint32_t>(i);
    else repeated = true;
  }
  std::vector<std::pair<std::uint32_t, std::uint32_t>> found;
  for (std::size_t k = 0; k < size; ++k) {
    if (!isWrt[k]) continue;
    for (std::uint32_t p : pairs.partners(static_cast<std::uint32_t>(k)))
      if (isWrt[p]) found.push_back({first[k], first[p]});
    pairs.release(static_cast<std::uint32_t>(k));
  }
  // Each pair reached the variables once, at one of its ends (partners() dropped the repeats).
  if (found.size() > maxPairs)
    throw std::length_error("the Hessian's sparsity pattern has too many pairs of variables");
  if (repeated) {
    // A variable listed twice has the rows and columns of its first listing.
    std::vector<std::vector<std::uint32_t>> copies(n);
    for (std::size_t i = 0; i < n; ++i)
      if (posOf[i] != NodePositions::kNone && first[posOf[i]] != i)
        copies[first[posOf[i]]].push_back(static_cast<std::uint32_t>(i));
    const std::size_t direct = found.size();
    for (std::size_t e = 0; e < direct; ++e) {
      const auto [a, b] = found[e];
      std::vector<std::uint32_t> as{a}, bs{b};
      as.insert(as.end(), copies[a].begin(), copies[a].end());
      bs.insert(bs.end(), copies[b].begin(), copies[b].end());
      for (std::uint32_t x : as)
        for (std::uint32_t y : bs) found.push_back({x, y});
    }
  }
  return patternFromPairs(n, found);
}

}  // namespace nabla
