// The adjoint sweep: one loop over the reachable nodes in decreasing NodeId order (children always
// have smaller ids), accumulating each node's adjoint and passing it on through partials.cpp.
//
// An adjoint is a short list of groups, one per set of branch masks: the adjoint is
//   sum over groups of  where(c1, where(c2, ..., term, 0) ..., 0)
// with the masks kept symbolic until the end. A factor met later is multiplied into each group's
// term, i.e. inside the masks, so the mask (not 0 * NaN) decides what a branch not taken gives:
// d(where(x > 0, sqrt(x), 0), x) at x = -1 is where(x > 0, 0.5/sqrt(x), 0) = 0, never NaN.
#include "diff/reverse.h"

#include "diff/partials.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

namespace nabla {

namespace {

using diff::Contribution;
using diff::Signed;
using diff::TermBuilder;

// One branch mask: the condition node's index and which side of it the term lives on.
using Mask = std::pair<std::uint32_t, bool>;
using MaskSet = std::vector<Mask>; // sorted by condition, at most one entry per condition

// More distinct mask sets than this meeting at one node are merged into their common masks (the
// rest become where() nodes inside the term): keeps the derivative DAG linear in size when many
// relu/max/where branches fan into one shared node, at the price of multiplying later factors
// outside those inner masks.
constexpr std::size_t kMaxMaskGroups = 8;
// A mask set that reaches this many conditions (a deep chain of relus or nested where) moves them
// into its term as where() nodes: keeps the cost per node bounded, at the same price.
constexpr std::size_t kMaxMasksPerSet = 32;

/// Mask sets interned to small ids, so that adjoint groups compare by id. Id 0 is "no mask".
class MaskTable {
public:
  static constexpr std::uint32_t kNoMask = 0;
  static constexpr std::uint32_t kContradiction = UINT32_MAX; // both sides of one condition

  MaskTable() { intern({}); }

  const MaskSet &operator[](std::uint32_t id) const { return sets_[id]; }

  std::uint32_t with(std::uint32_t set, NodeId cond, bool when) {
    auto key = std::make_tuple(set, cond.index, when);
    auto cached = withCache_.find(key);
    if (cached != withCache_.end())
      return cached->second;
    MaskSet s = sets_[set];
    auto at = std::lower_bound(s.begin(), s.end(), Mask{cond.index, false});
    std::uint32_t result;
    if (at != s.end() && at->first == cond.index) {
      result = at->second == when ? set : kContradiction;
    } else {
      s.insert(at, Mask{cond.index, when});
      result = intern(std::move(s));
    }
    withCache_.emplace(key, result);
    return result;
  }

private:
  std::uint32_t intern(MaskSet s) {
    auto [it, inserted] = ids_.try_emplace(s, static_cast<std::uint32_t>(sets_.size()));
    if (inserted)
      sets_.push_back(std::move(s));
    return it->second;
  }

  std::vector<MaskSet> sets_;
  std::map<MaskSet, std::uint32_t> ids_;
  std::map<std::tuple<std::uint32_t, std::uint32_t, bool>, std::uint32_t> withCache_;
};

struct Group {
  std::uint32_t mask = MaskTable::kNoMask;
  Signed term;
};
using Adjoint = std::vector<Group>;

class Sweep {
public:
  Sweep(Graph &graph, const std::atomic<bool> *cancel)
      : graph_(graph), builder_(graph), cancel_(cancel) {}

  std::vector<NodeId> run(NodeId f, const std::vector<NodeId> &wrt);

private:
  void accumulate(Adjoint &adj, std::uint32_t mask, Signed term) {
    if (term.isZero())
      return;
    for (Group &g : adj) {
      if (g.mask == mask) {
        g.term = builder_.add(g.term, term);
        return;
      }
    }
    adj.push_back({mask, term});
    if (adj.size() > kMaxMaskGroups)
      adj = {merge(adj)};
  }

  /// `term` under the masks, as where() nodes (the sign stays outside).
  Signed wrap(const MaskSet &masks, Signed term) {
    if (term.isZero())
      return term;
    NodeId zero = graph_.constant(0.0);
    NodeId node = term.node;
    for (auto it = masks.rbegin(); it != masks.rend(); ++it) {
      NodeId cond{it->first};
      node = it->second ? graph_.make(Op::Where, cond, node, zero)
                        : graph_.make(Op::Where, cond, zero, node);
    }
    return {node, term.negative};
  }

  /// One group equal to the sum of `adj`: its mask is what all groups share; the rest of each
  /// group's masks become where() nodes inside the term. Two terms on opposite sides of one
  /// condition (max, min, where) become one where(c, a, b) rather than where(c, a, 0) +
  /// where(c, 0, b).
  Group merge(const Adjoint &adj) {
    if (adj.size() == 1)
      return adj.front();
    MaskSet common = masks_[adj.front().mask];
    for (const Group &g : adj) {
      const MaskSet &s = masks_[g.mask];
      MaskSet kept;
      std::set_intersection(common.begin(), common.end(), s.begin(), s.end(),
                            std::back_inserter(kept));
      common = std::move(kept);
    }
    struct Part {
      MaskSet own;
      Signed term;
      bool merged = false;
    };
    std::vector<Part> parts;
    for (const Group &g : adj) {
      if (g.term.isZero())
        continue; // contributions that cancelled to a constant 0
      const MaskSet &s = masks_[g.mask];
      Part p{{}, g.term};
      std::set_difference(s.begin(), s.end(), common.begin(), common.end(),
                          std::back_inserter(p.own));
      parts.push_back(std::move(p));
    }
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        for (std::size_t j = i + 1; j < parts.size() && !parts[i].merged; ++j) {
          if (parts[j].merged || !pairUp(parts[i].own, parts[i].term, parts[j].own, parts[j].term))
            continue;
          parts[j].merged = true;
          changed = true;
        }
      }
    }
    Signed sum;
    for (const Part &p : parts)
      if (!p.merged)
        sum = builder_.add(sum, wrap(p.own, p.term));
    std::uint32_t id = MaskTable::kNoMask;
    for (const Mask &m : common)
      id = masks_.with(id, NodeId{m.first}, m.second);
    return {id, sum};
  }

  /// If (a, ta) and (b, tb) differ only in the side of one condition c and have one sign, makes
  /// (a, ta) the pair's sum: a without c, ta = where(c, ta, tb) (or where(c, tb, ta)).
  bool pairUp(MaskSet &a, Signed &ta, const MaskSet &b, Signed tb) {
    if (a.size() != b.size() || ta.negative != tb.negative)
      return false;
    std::size_t differ = a.size();
    for (std::size_t k = 0; k < a.size(); ++k) {
      if (a[k] == b[k])
        continue;
      if (a[k].first != b[k].first || differ != a.size())
        return false;
      differ = k;
    }
    if (differ == a.size())
      return false;
    NodeId cond{a[differ].first};
    NodeId node = a[differ].second ? graph_.make(Op::Where, cond, ta.node, tb.node)
                                   : graph_.make(Op::Where, cond, tb.node, ta.node);
    ta = {node, ta.negative};
    a.erase(a.begin() + static_cast<std::ptrdiff_t>(differ));
    return true;
  }

  Graph &graph_;
  TermBuilder builder_;
  MaskTable masks_;
  const std::atomic<bool> *cancel_;
};

std::vector<NodeId> Sweep::run(NodeId f, const std::vector<NodeId> &wrt) {
  NodeId zero = graph_.constant(0.0);
  std::vector<NodeId> result(wrt.size(), zero);
  if (!f.valid() || f.index >= graph_.size())
    throw std::logic_error("nabla: gradient of a node that is not in the graph");

  const std::vector<NodeId> order = graph_.reachable({f});
  constexpr std::uint32_t kUnreached = NodePositions::kNone;
  const NodePositions slot(order);  // node -> position in order

  std::vector<char> isWrt(order.size(), 0);
  for (NodeId w : wrt) {
    if (w.valid() && w.index <= f.index && slot[w] != kUnreached && graph_[w].op == Op::Var)
      isWrt[slot[w]] = 1;
  }

  // depends[k]: a derivative can flow from order[k] to a wrt variable. Nothing is built for the
  // rest (constants, other variables, conditions and piecewise-constant ops).
  std::vector<char> depends(order.size(), 0);
  for (std::size_t k = 0; k < order.size(); ++k) {
    const Node &n = graph_[order[k]];
    if (n.op == Op::Var || n.op == Op::Const || isPiecewiseConstant(n.op)) {
      depends[k] = isWrt[k];
      continue;
    }
    int first = n.op == Op::Where ? 1 : 0;
    for (int i = first; i < arity(n.op); ++i)
      depends[k] = depends[k] || depends[slot[n.args[i]]];
  }
  if (!depends[order.size() - 1])
    return result;

  std::vector<Adjoint> adjoint(order.size());
  adjoint.back().push_back({MaskTable::kNoMask, builder_.constant(1.0)});
  std::vector<Contribution> out;
  for (std::size_t k = order.size(); k-- > 0;) {
    if (k % kCancelCheckEvery == 0)
      checkCancelled(cancel_);
    if (!depends[k] || adjoint[k].empty() || isWrt[k])
      continue;
    NodeId id = order[k];
    const Op op = graph_[id].op;
    Adjoint adj = std::move(adjoint[k]);
    adjoint[k] = {};
    for (Group &g : adj) {
      if (masks_[g.mask].size() < kMaxMasksPerSet)
        continue;
      g.term = wrap(masks_[g.mask], g.term);
      g.mask = MaskTable::kNoMask;
    }
    std::array<bool, 3> needed{};
    for (int i = (op == Op::Where ? 1 : 0); i < arity(op); ++i)
      needed[i] = depends[slot[graph_[id].args[i]]];
    for (const Group &g : adj) {
      out.clear();
      diff::partials(builder_, id, g.term, needed, out);
      for (const Contribution &c : out) {
        std::uint32_t mask = g.mask;
        if (c.maskCond.valid())
          mask = masks_.with(mask, c.maskCond, c.maskWhen);
        if (mask == MaskTable::kContradiction)
          continue; // zero on both sides of one condition
        // graph_[id] may have moved: partials added nodes. Re-read the argument by value.
        accumulate(adjoint[slot[graph_[id].args[c.arg]]], mask, c.term);
      }
    }
  }

  for (std::size_t i = 0; i < wrt.size(); ++i) {
    NodeId w = wrt[i];
    if (!w.valid() || w.index > f.index || slot[w] == kUnreached)
      continue;
    const Adjoint &adj = adjoint[slot[w]];
    if (!isWrt[slot[w]] || adj.empty())
      continue;
    Group g = merge(adj);
    result[i] = builder_.materialize(wrap(masks_[g.mask], g.term));
  }
  return result;
}

} // namespace

std::vector<NodeId> gradient(Graph &graph, NodeId f, const std::vector<NodeId> &wrt,
                             const std::atomic<bool> *cancel) {
  return Sweep(graph, cancel).run(f, wrt);
}

std::vector<std::vector<NodeId>> hessian(Graph &graph, NodeId f, const std::vector<NodeId> &wrt,
                                         std::size_t maxNewNodes, const std::atomic<bool> *cancel) {
  const std::size_t n = wrt.size();
  const std::size_t sizeBefore = graph.size();
  auto checkGrowth = [&] {
    if (graph.size() - sizeBefore > maxNewNodes)
      throw std::length_error("the Hessian adds more than " + std::to_string(maxNewNodes) +
                              " nodes to the graph");
  };
  std::vector<NodeId> grad = gradient(graph, f, wrt, cancel);
  checkGrowth();
  std::vector<std::vector<NodeId>> h(n, std::vector<NodeId>(n));
  // Reverse over reverse: row i differentiates d f/d wrt[i] with respect to wrt[i..]; the lower
  // triangle is the mirror image, so the result is exactly symmetric.
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<NodeId> rest(wrt.begin() + static_cast<std::ptrdiff_t>(i), wrt.end());
    std::vector<NodeId> row = gradient(graph, grad[i], rest, cancel);
    for (std::size_t j = i; j < n; ++j)
      h[i][j] = h[j][i] = row[j - i];
    checkGrowth();
  }
  return h;
}

} // namespace nabla
