#include "array/map_partials.h"

namespace nabla::array {

const MapPartials::Template &MapPartials::templateOf(Op op, std::uint8_t count,
                                                     std::array<bool, 3> needed) {
  const auto key = std::make_tuple(static_cast<int>(op), needed[0], needed[1], needed[2]);
  auto found = templates_.find(key);
  if (found != templates_.end()) return found->second;
  Template &t = templates_[key];
  NodeId ids[3];
  for (std::uint8_t k = 0; k < count; ++k)
    ids[k] = t.args[k] = t.graph.variable(t.graph.addSymbol("a" + std::to_string(k)));
  t.seed = t.graph.variable(t.graph.addSymbol("seed"));
  t.value = t.graph.make(op, ids[0], count > 1 ? ids[1] : NodeId{}, count > 2 ? ids[2] : NodeId{});
  if (t.graph[t.value].op != op) {
    templates_.erase(key);
    throw Unsupported{"an op whose template folds"};
  }
  diff::TermBuilder builder(t.graph);
  diff::partials(builder, t.value, diff::Signed{t.seed, false}, needed, t.contributions);
  // Materialize now: the terms' nodes then stay valid while the graph is read.
  for (diff::Contribution &c : t.contributions) c.term = diff::Signed{builder.materialize(c.term), false};
  return t;
}

/// The scalar template node `n` as array nodes, given the array nodes of its variables (the
/// operands, the value, the seed).
Id MapPartials::translate(const Template &t, NodeId n, const Id vars[5],
                          std::map<std::uint32_t, Id> &memo) {
  if (auto found = memo.find(n.index); found != memo.end()) return found->second;
  const nabla::Node &s = t.graph[n];
  Id out = kNone;
  if (s.op == Op::Const) {
    out = g_.constant(s.value);
  } else if (s.op == Op::Var) {
    for (int k = 0; k < 3; ++k)
      if (t.args[k].valid() && t.args[k] == n) out = vars[k];
    if (n == t.value) out = vars[3];
    if (n == t.seed) out = vars[4];
    if (out == kNone) throw Unsupported{"a template variable without a value"};
  } else {
    Id a[3] = {kNone, kNone, kNone};
    for (int k = 0; k < arity(s.op); ++k) a[k] = translate(t, s.args[k], vars, memo);
    out = g_.map(s.op, a[0], a[1], a[2]);
  }
  memo.emplace(n.index, out);
  return out;
}

std::vector<MapPartials::Term> MapPartials::terms(Id id, Id seed, std::array<bool, 3> needed) {
  const Node n = g_[id];  // a copy: building nodes may move the graph's storage
  std::vector<Term> out;
  if (!needed[0] && !needed[1] && !needed[2]) return out;
  if (isPiecewiseConstant(n.op)) return out;
  const Template &t = templateOf(n.op, n.argCount, needed);
  // The template's value variable stands for this node: its Var is distinct from the op node,
  // so refer to the op node itself when a rule reads the value.
  const Id vars[5] = {n.args[0], n.args[1], n.args[2], id, seed};
  std::map<std::uint32_t, Id> memo;
  memo.emplace(t.value.index, id);
  for (const diff::Contribution &c : t.contributions) {
    Id term = translate(t, c.term.node, vars, memo);
    if (c.maskCond.valid()) {
      const Id cond = translate(t, c.maskCond, vars, memo);
      const Id zero = g_.constant(0.0);
      term = c.maskWhen ? g_.map(Op::Where, cond, term, zero) : g_.map(Op::Where, cond, zero, term);
    }
    out.push_back({static_cast<std::uint8_t>(c.arg), term});
  }
  return out;
}

}  // namespace nabla::array
