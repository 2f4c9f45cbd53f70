// The bounded driver: bottom-up sweeps over the reachable nodes in NodeId order. Each node is
// rebuilt from its rewritten children (hash-consing makes an unchanged node free) and then
// rewritten by the first matching rule, repeatedly. Nodes that a replacement builds are
// rewritten at once, on an explicit stack, so a chain such as the logsumexp expansion finishes
// in one sweep without native recursion.
#include "simplify/simplifier.h"

#include "simplify/rule.h"

#include <algorithm>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace nabla {

namespace {

using rules::CompiledRule;
using rules::Match;
using rules::NodeFacts;
using rules::PatternNode;
using rules::RuleSet;

// Rules fired in a row at one node: the rules terminate, this only backs that up.
constexpr unsigned kMaxFiresPerNode = 16;
// Replacement nodes rewritten inside a replacement, nested; deeper ones wait for the next sweep.
constexpr std::size_t kMaxNesting = 1u << 16;

class Rewriter {
public:
  Rewriter(Graph &graph, const SimplifyOptions &options)
      : graph_(graph), options_(options), rules_(rules::ruleSet()), facts_(graph),
        startSize_(graph.size()), committed_(rules_.rules.size(), 0),
        pending_(rules_.rules.size(), 0) {}

  /// Starts a sweep over `nodes` reachable nodes: a budget of rule fires in proportion.
  void beginSweep(std::size_t nodes) {
    budget_ = 16 * nodes + 4096;
    firedInSweep_ = 0;
    std::fill(pending_.begin(), pending_.end(), 0);
  }
  /// Ends a complete sweep: its fires count. Returns how many rules fired in it.
  std::size_t commitSweep() {
    for (std::size_t i = 0; i < pending_.size(); ++i)
      committed_[i] += pending_[i];
    return firedInSweep_;
  }
  bool overNodeLimit() const { return graph_.size() - startSize_ > options_.limits.maxNewNodes; }

  void fillStats(SimplifyStats &stats) const {
    for (std::size_t i = 0; i < committed_.size(); ++i)
      if (committed_[i] > 0)
        stats.fired[std::string(rules_.rules[i].rule->name)] += committed_[i];
  }

  /// The rewritten form of `id`, whose children are already rewritten.
  NodeId rewrite(NodeId id);

private:
  struct Frame {
    NodeId node;
    unsigned fires = 0;
    const CompiledRule *rule = nullptr; // set while its replacement is being built
    Match match;
    std::size_t pc = 0;        // next replacement node to build
    std::vector<NodeId> built; // per replacement node
  };

  const CompiledRule *findRule(NodeId id, Match &match);
  void push(NodeId id);
  void trace(const CompiledRule &rule, NodeId before, NodeId after) const;
  std::string describe(NodeId id) const;

  Graph &graph_;
  const SimplifyOptions &options_;
  const RuleSet &rules_;
  NodeFacts facts_;
  std::size_t startSize_;
  std::size_t budget_ = 0;
  std::size_t firedInSweep_ = 0;
  std::vector<std::size_t> committed_, pending_; // fires per rule index
  std::vector<Frame> stack_;                     // reused between calls; `depth_` are live
  std::size_t depth_ = 0;
};

const CompiledRule *Rewriter::findRule(NodeId id, Match &match) {
  for (std::uint32_t index : rules_.byRootOp[static_cast<int>(graph_[id].op)]) {
    const CompiledRule &rule = rules_.rules[index];
    if (rule.stability && !options_.stability)
      continue;
    match = Match{};
    match.graph = &graph_;
    match.facts = &facts_;
    if (!rules::matchPattern(rule.lhs, id, match))
      continue;
    if (rule.rule->when && !rule.rule->when(match))
      continue;
    return &rule;
  }
  return nullptr;
}

void Rewriter::push(NodeId id) {
  if (depth_ == stack_.size())
    stack_.emplace_back();
  Frame &f = stack_[depth_++];
  f.node = id;
  f.fires = 0;
  f.rule = nullptr;
}

NodeId Rewriter::rewrite(NodeId id) {
  if (arity(graph_[id].op) == 0)
    return id;
  NodeId result = id;
  push(id);
  while (depth_ > 0) {
    Frame &f = stack_[depth_ - 1];
    if (!f.rule) {
      const CompiledRule *rule = nullptr;
      if (f.fires < kMaxFiresPerNode && budget_ > 0 && !overNodeLimit())
        rule = findRule(f.node, f.match);
      if (!rule) {
        NodeId done = f.node;
        if (--depth_ == 0) {
          result = done;
        } else {
          Frame &parent = stack_[depth_ - 1];
          parent.built[parent.pc++] = done;
        }
        continue;
      }
      f.rule = rule;
      f.pc = 0;
      f.built.assign(rule->rhs.nodes.size(), NodeId{});
    }

    // Build the replacement in post-order; a new operation node is rewritten first (a nested
    // frame), and its result lands in `built` when that frame finishes.
    const std::vector<PatternNode> &rhs = f.rule->rhs.nodes;
    NodeId nested;
    while (f.pc < rhs.size() && !nested.valid()) {
      const PatternNode &p = rhs[f.pc];
      if (p.insideFold) { // computed by the fold, never built
        ++f.pc;
        continue;
      }
      NodeId v;
      switch (p.kind) {
      case PatternNode::Kind::Any:
        v = f.match.any[p.slot];
        break;
      case PatternNode::Kind::Const:
        v = f.match.konst[p.slot];
        break;
      case PatternNode::Kind::Literal:
        v = graph_.constant(p.value);
        break;
      case PatternNode::Kind::Fold:
        v = graph_.constant(rules::foldValue(f.rule->rhs, p.args[0], f.match));
        break;
      case PatternNode::Kind::Apply: {
        NodeId a[3];
        for (int k = 0; k < arity(p.op); ++k)
          a[k] = f.built[p.args[k]];
        v = graph_.make(p.op, a[0], a[1], a[2]);
        if (arity(graph_[v].op) > 0 && depth_ < kMaxNesting)
          nested = v;
        break;
      }
      }
      if (!nested.valid())
        f.built[f.pc++] = v;
    }
    if (nested.valid()) {
      push(nested); // invalidates `f`
      continue;
    }

    NodeId before = f.node, after = f.built.back();
    const CompiledRule &rule = *f.rule;
    f.rule = nullptr;
    f.node = after;
    // A rule that rebuilds the node it matched has nothing more to offer here.
    f.fires = after == before ? kMaxFiresPerNode : f.fires + 1;
    ++pending_[&rule - rules_.rules.data()];
    ++firedInSweep_;
    if (budget_ > 0)
      --budget_;
    if (options_.trace)
      trace(rule, before, after);
  }
  return result;
}

std::string Rewriter::describe(NodeId id) const {
  const Node &n = graph_[id];
  std::ostringstream out;
  out << '%' << id.index << ' ';
  if (n.op == Op::Const) {
    out << n.value;
  } else if (n.op == Op::Var) {
    out << graph_.symbolName(n.symbol);
  } else {
    out << opName(n.op) << '(';
    for (int i = 0; i < arity(n.op); ++i)
      out << (i ? ", %" : "%") << n.args[i].index;
    out << ')';
  }
  return out.str();
}

void Rewriter::trace(const CompiledRule &rule, NodeId before, NodeId after) const {
  std::cerr << "rewrite " << rule.rule->name << ": " << describe(before) << " -> "
            << describe(after) << '\n';
}

/// The rewritten form of each node of one sweep: a vector indexed by NodeId when the sweep
/// covers a good part of the ids below its highest, else a hash map, so that simplifying a small
/// expression late in a large graph costs that expression, not the graph.
class SweepResults {
public:
  void reset(const std::vector<NodeId> &order) {
    const std::size_t span = order.empty() ? 0 : order.back().index + 1;
    isDense_ = order.size() * 64 >= span;
    byMap_.clear();
    if (isDense_) {
      byIndex_.assign(span, NodeId{});
    } else {
      byIndex_.clear();
      byMap_.reserve(order.size());
    }
  }
  NodeId &operator[](NodeId id) { return isDense_ ? byIndex_[id.index] : byMap_[id.index]; }

private:
  bool isDense_ = true;
  std::vector<NodeId> byIndex_;
  std::unordered_map<std::uint32_t, NodeId> byMap_;
};

} // namespace

std::vector<NodeId> simplify(Graph &graph, const std::vector<NodeId> &roots,
                             const SimplifyOptions &options, SimplifyStats *stats) {
  for (NodeId r : roots)
    if (r.valid() && r.index >= graph.size())
      throw std::logic_error("nabla: simplify of a node that is not in the graph");

  Rewriter rewriter(graph, options);
  SimplifyStats local;
  local.stop = StopReason::PassLimit;
  std::vector<NodeId> current = roots;
  SweepResults rewritten; // over one sweep's reachable nodes
  for (unsigned pass = 0; pass < options.limits.maxPasses; ++pass) {
    std::vector<NodeId> order = graph.reachable(current);
    rewritten.reset(order);
    rewriter.beginSweep(order.size());
    bool overLimit = false;
    std::size_t visited = 0;
    for (NodeId id : order) {
      if (++visited % kCancelCheckEvery == 0) checkCancelled(options.cancel);
      const Node n = graph[id]; // a copy: make() may grow the node vector
      const int k = arity(n.op);
      if (k == 0) {
        rewritten[id] = id;
        continue;
      }
      NodeId a[3];
      bool same = true;
      for (int i = 0; i < k; ++i) {
        a[i] = rewritten[n.args[i]];
        same = same && a[i] == n.args[i];
      }
      NodeId rebuilt = same ? id : graph.make(n.op, a[0], a[1], a[2]);
      rewritten[id] = rewriter.rewrite(rebuilt);
      if (rewriter.overNodeLimit()) {
        overLimit = true;
        break;
      }
    }
    if (overLimit) {
      local.stop = StopReason::NodeLimit; // the last complete sweep's roots stand
      break;
    }
    ++local.passes;
    std::vector<NodeId> next;
    next.reserve(current.size());
    for (NodeId r : current)
      next.push_back(r.valid() ? rewritten[r] : r);
    bool changed = rewriter.commitSweep() > 0 || next != current;
    current = std::move(next);
    if (!changed) {
      local.stop = StopReason::FixedPoint;
      break;
    }
  }
  if (stats) {
    rewriter.fillStats(local);
    *stats = std::move(local);
  }
  return current;
}

} // namespace nabla
