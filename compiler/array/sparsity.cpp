// The Hessian's pattern at the array level (sparsity.h): dependency sets per element and the pairs
// of nonlinear elements, by the scalar level's rules (diff/sparsity.h) applied per element.
#include "array/sparsity.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace nabla::array {

namespace {

using Index = std::uint32_t;
using Pair = std::pair<Index, Index>;

/// Per element, a sorted set of param indices, as compressed rows. No rows at all: every set is
/// empty.
struct Sets {
  std::vector<std::size_t> start;
  std::vector<Index> items;
  std::span<const Index> at(std::size_t e) const {
    if (start.empty()) return {};
    return {items.data() + start[e], start[e + 1] - start[e]};
  }
};

/// Builds Sets element by element: add() the sets whose union an element is, then close() it.
class SetBuilder {
public:
  explicit SetBuilder(std::size_t elements) {
    sets_.start.reserve(elements + 1);
    sets_.start.push_back(0);
  }
  void add(std::span<const Index> s) {
    if (s.empty()) return;
    sets_.items.insert(sets_.items.end(), s.begin(), s.end());
    ++parts_;
  }
  void close() {
    if (parts_ > 1) {
      const auto from = sets_.items.begin() + static_cast<std::ptrdiff_t>(sets_.start.back());
      std::sort(from, sets_.items.end());
      sets_.items.erase(std::unique(from, sets_.items.end()), sets_.items.end());
    }
    parts_ = 0;
    sets_.start.push_back(sets_.items.size());
  }
  Sets finish() {
    if (sets_.items.empty()) return {};
    sets_.items.shrink_to_fit();
    return std::move(sets_);
  }

private:
  Sets sets_;
  int parts_ = 0;
};

/// The flat indices in the larger array `big` of the elements of a box, in the box's row-major
/// order (a dropped dimension counts once).
std::vector<std::size_t> boxIndices(const Shape &big, const std::vector<SliceDim> &box) {
  const std::size_t rank = big.dims.size();
  std::size_t total = 1;
  for (const SliceDim &d : box) total *= d.count;
  std::vector<std::size_t> out;
  out.reserve(total);
  if (total == 0) return out;
  std::vector<std::uint32_t> idx(rank, 0);
  for (std::size_t e = 0; e < total; ++e) {
    std::size_t flat = 0;
    for (std::size_t d = 0; d < rank; ++d) flat = flat * big.dims[d] + box[d].start + idx[d];
    out.push_back(flat);
    for (std::size_t d = rank; d-- > 0;) {
      if (++idx[d] < box[d].count) break;
      idx[d] = 0;
    }
  }
  return out;
}

class Sweep {
public:
  Sweep(const Program &program, std::size_t maxPairs)
      : p_(program), g_(program.graph), maxPairs_(maxPairs), threshold_(maxPairs),
        maxMet_(patternWork(maxPairs)) {}

  HessianPattern run() {
    std::size_t n = 0;
    for (const Shape &s : p_.paramShapes) {
      offsets_.push_back(n);
      n += s.size();
    }
    n_ = n;
    if (n > UINT32_MAX) throw std::length_error("hessianPattern: more than 2^32 params");
    if (p_.loss == kNone) return patternFromPairs(n, std::span<const Pair>{});
    order_ = reachable(g_, {p_.loss});
    const std::size_t size = g_.size();
    live_.assign(size, {});
    need_.assign(size, 0);
    depends_.assign(size, 0);
    sets_.assign(size, {});
    for (Id id : order_) depends_[id] = dependsOnParams(id);
    if (depends_[p_.loss]) live_[p_.loss].assign(g_[p_.loss].shape.size(), 1);
    for (std::size_t k = order_.size(); k-- > 0;) backward(order_[k]);
    // The last node that reads each node's sets.
    std::vector<Id> lastUse(size, kNone);
    for (Id id : order_)
      if (need_[id] || producesPairs(id))
        forOperands(id, [&](Id a) { lastUse[a] = id; });
    for (Id id : order_) {
      if (need_[id] && depends_[id]) sets_[id] = setsOf(id);
      if (producesPairs(id)) pairsOf(id);
      // A node's liveness is read by its own pairs alone.
      std::vector<char>().swap(live_[id]);
      forOperands(id, [&](Id a) {
        if (lastUse[a] == id) sets_[a] = {};
      });
    }
    sets_.clear();
    sets_.shrink_to_fit();
    if (stored_ > maxPairs_) compact();  // the limit is on the pattern's pairs, not on those met
    return patternFromPairs(n, std::move(pairs_));
  }

private:
  const Node &node(Id id) const { return g_[id]; }
  std::size_t count(Id id) const { return g_[id].shape.size(); }
  /// The element of operand `a` that element e of an elementwise node reads (scalars broadcast).
  std::size_t elem(Id a, std::size_t e) const { return g_[a].shape.isScalar() ? 0 : e; }
  std::optional<double> constantAt(Id a, std::size_t e) const {
    const Node &x = g_[a];
    if (x.kind != Kind::Const) return std::nullopt;
    return x.values[x.shape.isScalar() ? 0 : e];
  }
  bool isZero(Id a, std::size_t e) const {
    const std::optional<double> c = constantAt(a, e);
    return c && *c == 0;
  }
  template <class F> void forOperands(Id id, F f) const {
    const Node &n = node(id);
    for (std::uint8_t k = 0; k < n.argCount; ++k) f(n.args[k]);
    for (Id part : n.parts) f(part);
  }
  bool anyLive(Id id) const {
    const std::vector<char> &l = live_[id];
    return std::find(l.begin(), l.end(), 1) != l.end();
  }
  void mark(Id id, std::size_t e) {
    if (!depends_[id]) return;
    std::vector<char> &l = live_[id];
    if (l.empty()) l.assign(count(id), 0);
    l[e] = 1;
  }
  void markAll(Id id) {
    if (depends_[id]) live_[id].assign(count(id), 1);
  }
  void needs(Id id) {
    if (depends_[id]) need_[id] = 1;
  }

  /// Which operands a map's first derivative carries when none of them is a constant.
  static std::array<bool, 3> carriesWithout(const Node &n) {
    std::array<bool, 3> out{};
    for (std::uint8_t k = 0; k < n.argCount; ++k) out[k] = sparsity::carries(n.op, k, {});
    return out;
  }

  sparsity::Constants constantsAt(const Node &n, std::size_t e) const {
    sparsity::Constants c;
    for (std::uint8_t k = 0; k < n.argCount; ++k) c[k] = constantAt(n.args[k], e);
    return c;
  }

  /// A matrix product's operands as m x K and K x q (a vector on the left is one row, on the
  /// right one column).
  struct Product {
    Id a, b;
    std::size_t m, K, q;
    std::size_t ai(std::size_t i, std::size_t k) const { return i * K + k; }
    std::size_t bi(std::size_t k, std::size_t j) const { return k * q + j; }
  };
  Product product(const Node &n) const {
    const Shape &sa = g_[n.args[0]].shape, &sb = g_[n.args[1]].shape;
    Product p{n.args[0], n.args[1], 1, sa.dims.back(), 1};
    if (sa.dims.size() == 2) p.m = sa.dims[0];
    if (sb.dims.size() == 2) p.q = sb.dims[1];
    return p;
  }

  bool dependsOnParams(Id id) const {
    const Node &n = node(id);
    bool any = false;
    switch (n.kind) {
    case Kind::Param: return n.group < offsets_.size();  // not a direction (Program::hvp's)
    case Kind::Input:
    case Kind::Const:
    case Kind::Onehot:
    case Kind::FirstMax:
    case Kind::FirstMin:
    case Kind::ArgMax:
    case Kind::ArgMin: return false;
    case Kind::Map:
      if (isPiecewiseConstant(n.op)) return false;
      for (std::uint8_t k = n.op == Op::Where ? 1 : 0; k < n.argCount; ++k)
        any = any || depends_[n.args[k]];
      return any;
    case Kind::MatMul:
    case Kind::Transpose:
    case Kind::Outer:
    case Kind::Sum:
    case Kind::Max:
    case Kind::Min:
    case Kind::Norm:
    case Kind::LogSumExp:
    case Kind::Softmax:
    case Kind::SoftmaxAdjoint:
    case Kind::Slice:
    case Kind::Embed:
    case Kind::Stack:
    case Kind::Broadcast:
    case Kind::BatchSum:
    case Kind::OuterSum: forOperands(id, [&](Id a) { any = any || depends_[a]; }); return any;
    }
    return false;
  }

  /// Whether the node's own second derivatives couple its operands (where it is live).
  bool producesPairs(Id id) const {
    const Node &n = node(id);
    if (!depends_[id]) return false;
    switch (n.kind) {
    case Kind::Map: {
      sparsity::Constants none;
      std::pair<int, int> out[3];
      // With constant operands the op may be linear at some elements: decided per element.
      return sparsity::secondPairs(n.op, n.args[0] == n.args[1], none, out) > 0;
    }
    case Kind::MatMul:
    case Kind::Outer:
    case Kind::OuterSum: return depends_[n.args[0]] && depends_[n.args[1]];
    case Kind::LogSumExp: return count(n.args[0]) > 1;  // of one element: the element itself
    case Kind::Norm:
    case Kind::Softmax:
    case Kind::SoftmaxAdjoint: return true;
    case Kind::Param:
    case Kind::Input:
    case Kind::Const:
    case Kind::Transpose:
    case Kind::Sum:
    case Kind::Max:
    case Kind::Min:
    case Kind::FirstMax:
    case Kind::FirstMin:
    case Kind::ArgMax:
    case Kind::ArgMin:
    case Kind::Onehot:
    case Kind::Slice:
    case Kind::Embed:
    case Kind::Stack:
    case Kind::Broadcast:
    case Kind::BatchSum: return false;
    }
    return false;
  }

  // ---- backwards: live elements and needed sets -----------------------------------------------

  void backward(Id id) {
    const Node &n = node(id);
    const bool live = anyLive(id);
    if (!live && !need_[id]) return;
    // A needed node needs the operands its sets are made of; a live nonlinear node, the
    // operands it pairs.
    if (need_[id] || (live && producesPairs(id))) forOperands(id, [&](Id a) { needs(a); });
    if (!live) return;
    const std::vector<char> &L = live_[id];
    switch (n.kind) {
    case Kind::Param:
    case Kind::Input:
    case Kind::Const:
    case Kind::Onehot:
    case Kind::FirstMax:
    case Kind::FirstMin:
    case Kind::ArgMax:
    case Kind::ArgMin: return;
    case Kind::Map: {
      bool constants = false;
      for (std::uint8_t k = 0; k < n.argCount; ++k) constants = constants || node(n.args[k]).kind == Kind::Const;
      const std::array<bool, 3> always = carriesWithout(n);
      for (std::size_t e = 0; e < L.size(); ++e) {
        if (!L[e]) continue;
        const sparsity::Constants c = constants ? constantsAt(n, e) : sparsity::Constants{};
        for (std::uint8_t k = 0; k < n.argCount; ++k)
          if (constants ? sparsity::carries(n.op, k, c) : always[k]) mark(n.args[k], elem(n.args[k], e));
      }
      return;
    }
    case Kind::MatMul: {
      const Product p = product(n);
      const bool constant = node(p.a).kind == Kind::Const || node(p.b).kind == Kind::Const;
      if (!constant) {
        // Row i of A is live where any C_ij is, column j of B where any C_ij is.
        std::vector<char> rows(p.m, 0), cols(p.q, 0);
        for (std::size_t i = 0; i < p.m; ++i)
          for (std::size_t j = 0; j < p.q; ++j)
            if (L[i * p.q + j]) rows[i] = cols[j] = 1;
        for (std::size_t i = 0; i < p.m; ++i)
          if (rows[i])
            for (std::size_t k = 0; k < p.K; ++k) mark(p.a, p.ai(i, k));
        for (std::size_t j = 0; j < p.q; ++j)
          if (cols[j])
            for (std::size_t k = 0; k < p.K; ++k) mark(p.b, p.bi(k, j));
        return;
      }
      for (std::size_t i = 0; i < p.m; ++i)
        for (std::size_t j = 0; j < p.q; ++j) {
          if (!L[i * p.q + j]) continue;
          for (std::size_t k = 0; k < p.K; ++k) {
            if (!isZero(p.b, p.bi(k, j))) mark(p.a, p.ai(i, k));
            if (!isZero(p.a, p.ai(i, k))) mark(p.b, p.bi(k, j));
          }
        }
      return;
    }
    case Kind::Transpose: {
      const std::size_t rows = n.shape.dims[0], cols = n.shape.dims[1];
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j)
          if (L[i * cols + j]) mark(n.args[0], j * rows + i);
      return;
    }
    case Kind::Outer:
    case Kind::OuterSum: {
      const std::size_t cols = n.shape.dims[1];
      for (std::size_t e = 0; e < L.size(); ++e)
        if (L[e]) {
          if (!isZero(n.args[1], e % cols)) mark(n.args[0], e / cols);
          if (!isZero(n.args[0], e / cols)) mark(n.args[1], e % cols);
        }
      return;
    }
    case Kind::BatchSum:
      for (std::size_t e = 0; e < L.size(); ++e)
        if (L[e]) mark(n.args[0], e);
      return;
    case Kind::Sum:
    case Kind::Max:
    case Kind::Min:
    case Kind::Norm:
    case Kind::LogSumExp:
    case Kind::Softmax:
    case Kind::SoftmaxAdjoint:
    case Kind::Broadcast: forOperands(id, [&](Id a) { markAll(a); }); return;
    case Kind::Slice: {
      const std::vector<std::size_t> at = boxIndices(node(n.args[0]).shape, n.box);
      for (std::size_t e = 0; e < L.size(); ++e)
        if (L[e]) mark(n.args[0], at[e]);
      return;
    }
    case Kind::Embed: {
      const std::vector<std::size_t> at = boxIndices(n.shape, n.box);
      for (std::size_t e = 0; e < at.size(); ++e)
        if (L[at[e]]) mark(n.args[0], e);
      return;
    }
    case Kind::Stack: {
      const std::size_t each = count(n.parts[0]);
      for (std::size_t e = 0; e < L.size(); ++e)
        if (L[e]) mark(n.parts[e / each], e % each);
      return;
    }
    }
  }

  // ---- forwards: dependency sets ----------------------------------------------------------------

  /// The union of every element's set of `a`.
  std::vector<Index> unionOf(Id a) const {
    const Sets &s = sets_[a];
    std::vector<Index> u(s.items.begin(), s.items.end());
    std::sort(u.begin(), u.end());
    u.erase(std::unique(u.begin(), u.end()), u.end());
    return u;
  }

  Sets repeated(std::size_t elements, const std::vector<Index> &u) const {
    SetBuilder b(elements);
    for (std::size_t e = 0; e < elements; ++e) {
      b.add(u);
      b.close();
    }
    return b.finish();
  }

  Sets setsOf(Id id) {
    const Node &n = node(id);
    const std::size_t E = count(id);
    SetBuilder b(E);
    switch (n.kind) {
    case Kind::Param: {
      const Index first = static_cast<Index>(offsets_[n.group]);
      for (std::size_t e = 0; e < E; ++e) {
        const Index x = first + static_cast<Index>(e);
        b.add({&x, 1});
        b.close();
      }
      return b.finish();
    }
    case Kind::Input:
    case Kind::Const:
    case Kind::Onehot:
    case Kind::FirstMax:
    case Kind::FirstMin:
    case Kind::ArgMax:
    case Kind::ArgMin: return {};
    case Kind::Map: {
      bool constants = false;
      for (std::uint8_t k = 0; k < n.argCount; ++k) constants = constants || node(n.args[k]).kind == Kind::Const;
      const std::array<bool, 3> always = carriesWithout(n);
      for (std::size_t e = 0; e < E; ++e) {
        const sparsity::Constants c = constants ? constantsAt(n, e) : sparsity::Constants{};
        for (std::uint8_t k = 0; k < n.argCount; ++k)
          if (constants ? sparsity::carries(n.op, k, c) : always[k])
            b.add(sets_[n.args[k]].at(elem(n.args[k], e)));
        b.close();
      }
      return b.finish();
    }
    case Kind::MatMul: {
      const Product p = product(n);
      if (node(p.a).kind == Kind::Const || node(p.b).kind == Kind::Const) {
        for (std::size_t i = 0; i < p.m; ++i)
          for (std::size_t j = 0; j < p.q; ++j) {
            for (std::size_t k = 0; k < p.K; ++k) {
              if (!isZero(p.b, p.bi(k, j))) b.add(sets_[p.a].at(p.ai(i, k)));
              if (!isZero(p.a, p.ai(i, k))) b.add(sets_[p.b].at(p.bi(k, j)));
            }
            b.close();
          }
        return b.finish();
      }
      // C_ij depends on row i of A and column j of B: their unions, once each.
      SetBuilder rows(p.m), cols(p.q);
      for (std::size_t i = 0; i < p.m; ++i) {
        for (std::size_t k = 0; k < p.K; ++k) rows.add(sets_[p.a].at(p.ai(i, k)));
        rows.close();
      }
      for (std::size_t j = 0; j < p.q; ++j) {
        for (std::size_t k = 0; k < p.K; ++k) cols.add(sets_[p.b].at(p.bi(k, j)));
        cols.close();
      }
      const Sets r = rows.finish(), c = cols.finish();
      for (std::size_t i = 0; i < p.m; ++i)
        for (std::size_t j = 0; j < p.q; ++j) {
          b.add(r.at(i));
          b.add(c.at(j));
          b.close();
        }
      return b.finish();
    }
    case Kind::Transpose: {
      const std::size_t rows = n.shape.dims[0], cols = n.shape.dims[1];
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) {
          b.add(sets_[n.args[0]].at(j * rows + i));
          b.close();
        }
      return b.finish();
    }
    case Kind::Outer:
    case Kind::OuterSum: {
      const std::size_t cols = n.shape.dims[1];
      for (std::size_t e = 0; e < E; ++e) {
        if (!isZero(n.args[1], e % cols)) b.add(sets_[n.args[0]].at(e / cols));
        if (!isZero(n.args[0], e / cols)) b.add(sets_[n.args[1]].at(e % cols));
        b.close();
      }
      return b.finish();
    }
    case Kind::BatchSum: return sets_[n.args[0]];
    case Kind::Sum:
    case Kind::Max:
    case Kind::Min:
    case Kind::Norm:
    case Kind::LogSumExp: return repeated(1, unionOf(n.args[0]));
    case Kind::Softmax: return repeated(E, unionOf(n.args[0]));
    case Kind::SoftmaxAdjoint: {
      std::vector<Index> u = unionOf(n.args[0]), v = unionOf(n.args[1]);
      u.insert(u.end(), v.begin(), v.end());
      std::sort(u.begin(), u.end());
      u.erase(std::unique(u.begin(), u.end()), u.end());
      return repeated(E, u);
    }
    case Kind::Broadcast: return repeated(E, unionOf(n.args[0]));
    case Kind::Slice: {
      const std::vector<std::size_t> at = boxIndices(node(n.args[0]).shape, n.box);
      for (std::size_t e = 0; e < E; ++e) {
        b.add(sets_[n.args[0]].at(at[e]));
        b.close();
      }
      return b.finish();
    }
    case Kind::Embed: {
      const std::vector<std::size_t> at = boxIndices(n.shape, n.box);
      std::vector<std::size_t> from(E, SIZE_MAX);  // big element -> operand element
      for (std::size_t e = 0; e < at.size(); ++e) from[at[e]] = e;
      for (std::size_t e = 0; e < E; ++e) {
        if (from[e] != SIZE_MAX) b.add(sets_[n.args[0]].at(from[e]));
        b.close();
      }
      return b.finish();
    }
    case Kind::Stack: {
      const std::size_t each = count(n.parts[0]);
      for (std::size_t e = 0; e < E; ++e) {
        b.add(sets_[n.parts[e / each]].at(e % each));
        b.close();
      }
      return b.finish();
    }
    }
    return {};
  }

  // ---- forwards: pairs ------------------------------------------------------------------------

  /// Pairs go to chunks of a fixed size: no chunk is ever copied to grow, and each is freed as
  /// soon as the pattern has read it. Where the chunks reach their threshold the pairs met twice
  /// are dropped (compact).
  void push(Index x, Index y) {
    if (stored_ == threshold_) compact();
    if (pairs_.empty() || pairs_.back().size() >= kChunk) {
      pairs_.emplace_back();
      pairs_.back().reserve(kChunk);
    }
    pairs_.back().push_back({x, y});
    ++stored_;
  }

  /// Every element of a with every element of b (a set with itself: each pair once). What they
  /// cost is bounded first: a sweep that meets more than kPatternWorkPerPair pairs per pair of
  /// its limit stops before it makes them.
  void cross(std::span<const Index> a, std::span<const Index> b) {
    const bool self = a.data() == b.data() && a.size() == b.size();
    const std::size_t count = self ? a.size() * (a.size() + 1) / 2 : a.size() * b.size();
    if (count > maxMet_ - std::min(maxMet_, met_))
      throw std::length_error(
          "the Hessian's sparsity pattern takes too many pairs of params to find");
    met_ += count;
    if (self) {
      for (std::size_t x = 0; x < a.size(); ++x)
        for (std::size_t y = x; y < a.size(); ++y) push(a[x], a[y]);
      return;
    }
    for (Index x : a)
      for (Index y : b) push(x, y);
  }

  /// The stored pairs without those met twice, in one chunk (distinctPairs: the chunks are freed
  /// as they are read). Throws where more than maxPairs_ remain. The next compaction comes after
  /// at least maxPairs_ / 2 more pairs, so the sorts cost about log of a row's length per pair
  /// met.
  void compact() {
    std::vector<Pair> unique = distinctPairs(n_, std::move(pairs_));
    pairs_.clear();
    if (unique.size() > maxPairs_)
      throw std::length_error("the Hessian's sparsity pattern has too many pairs of params");
    stored_ = unique.size();
    threshold_ = std::max(maxPairs_, stored_ + maxPairs_ / 2);
    pairs_.push_back(std::move(unique));
  }

  void pairsOf(Id id) {
    const Node &n = node(id);
    const std::vector<char> &L = live_[id];
    if (L.empty()) return;
    switch (n.kind) {
    case Kind::Map: {
      const bool same = n.args[0] == n.args[1];
      bool constants = false;
      for (std::uint8_t k = 0; k < n.argCount; ++k) constants = constants || node(n.args[k]).kind == Kind::Const;
      std::pair<int, int> second[3];
      int made = sparsity::secondPairs(n.op, same, {}, second);
      for (std::size_t e = 0; e < L.size(); ++e) {
        if (!L[e]) continue;
        if (constants) made = sparsity::secondPairs(n.op, same, constantsAt(n, e), second);
        for (int s = 0; s < made; ++s) {
          const Id a = n.args[second[s].first], b = n.args[second[s].second];
          cross(sets_[a].at(elem(a, e)), sets_[b].at(elem(b, e)));
        }
      }
      return;
    }
    case Kind::MatMul: {
      const Product p = product(n);
      for (std::size_t i = 0; i < p.m; ++i)
        for (std::size_t j = 0; j < p.q; ++j)
          if (L[i * p.q + j])
            for (std::size_t k = 0; k < p.K; ++k)
              cross(sets_[p.a].at(p.ai(i, k)), sets_[p.b].at(p.bi(k, j)));
      return;
    }
    case Kind::Outer:
    case Kind::OuterSum: {
      const std::size_t cols = n.shape.dims[1];
      for (std::size_t e = 0; e < L.size(); ++e)
        if (L[e]) cross(sets_[n.args[0]].at(e / cols), sets_[n.args[1]].at(e % cols));
      return;
    }
    case Kind::Norm:
    case Kind::LogSumExp:
    case Kind::Softmax:
    case Kind::SoftmaxAdjoint: {
      // Every element with every other, through the shared sum (or norm).
      std::vector<Index> u;
      forOperands(id, [&](Id a) {
        const std::vector<Index> v = unionOf(a);
        u.insert(u.end(), v.begin(), v.end());
      });
      std::sort(u.begin(), u.end());
      u.erase(std::unique(u.begin(), u.end()), u.end());
      cross(u, u);
      return;
    }
    case Kind::Param:
    case Kind::Input:
    case Kind::Const:
    case Kind::Transpose:
    case Kind::Sum:
    case Kind::Max:
    case Kind::Min:
    case Kind::FirstMax:
    case Kind::FirstMin:
    case Kind::ArgMax:
    case Kind::ArgMin:
    case Kind::Onehot:
    case Kind::Slice:
    case Kind::Embed:
    case Kind::Stack:
    case Kind::Broadcast:
    case Kind::BatchSum: return;
    }
  }

  const Program &p_;
  const Graph &g_;
  std::vector<std::size_t> offsets_;  // of each param's first element
  std::vector<Id> order_;
  std::vector<std::vector<char>> live_;  // per element; empty: none
  std::vector<char> need_, depends_;
  std::vector<Sets> sets_;
  static constexpr std::size_t kChunk = std::size_t{1} << 18;
  std::size_t n_ = 0;  // params
  std::vector<std::vector<Pair>> pairs_;
  std::size_t stored_ = 0;  // in pairs_, some twice until compact()
  std::size_t maxPairs_;    // in the pattern
  std::size_t threshold_;   // of stored_, for compact()
  std::size_t met_ = 0;     // by cross(), each time it meets one: the sweep's work
  std::size_t maxMet_;
};

}  // namespace

HessianPattern hessianPattern(const Program &program, std::size_t maxPairs) {
  return Sweep(program, maxPairs).run();
}

}  // namespace nabla::array
