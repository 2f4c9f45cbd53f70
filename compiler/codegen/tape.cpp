#include "codegen/tape.h"

#include <charconv>
#include <stdexcept>

namespace nabla::codegen {

Tape buildTape(const Graph &graph, std::span<const NodeId> roots) {
  for (NodeId r : roots)
    if (!r.valid() || r.index >= graph.size())
      throw std::logic_error("buildTape: a root that is not a node of the graph");

  Tape tape;
  std::vector<NodeId> order = graph.reachable(std::vector<NodeId>(roots.begin(), roots.end()));
  if (order.empty()) return tape;

  // Slot of each node over the reachable prefix of the graph: one forward loop, children first.
  std::vector<std::uint32_t> slotOf(order.back().index + 1, Tape::kNoSlot);
  tape.entries.reserve(order.size());
  tape.lastUse.assign(order.size(), 0);
  for (NodeId id : order) {
    const Node &n = graph[id];
    Tape::Entry e;
    e.node = id;
    e.op = n.op;
    if (n.op == Op::Const) e.constant = n.value;
    if (n.op == Op::Var) e.symbol = n.symbol;
    const auto slot = static_cast<std::uint32_t>(tape.entries.size());
    for (int k = 0; k < arity(n.op); ++k) {
      std::uint32_t s = slotOf[n.args[k].index];
      if (s == Tape::kNoSlot) throw std::logic_error("buildTape: an argument after its user");
      e.args[k] = s;
      tape.lastUse[s] = slot;
    }
    slotOf[id.index] = slot;
    tape.entries.push_back(e);
  }
  tape.roots.reserve(roots.size());
  for (NodeId r : roots) {
    tape.roots.push_back(slotOf[r.index]);
    tape.lastUse[slotOf[r.index]] = Tape::kLiveOut;
  }
  return tape;
}

Tape buildTape(const Graph &graph, std::span<const NodeId> roots, std::span<const SymbolId> args,
               const std::string &what) {
  // Argument index of each graph symbol (kNoSlot: not an argument).
  std::vector<std::uint32_t> argIndex(graph.symbolCount(), Tape::kNoSlot);
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (args[k] >= graph.symbolCount())
      throw CodegenError(what + ": argument " + std::to_string(k) + " is not a symbol of the graph");
    if (argIndex[args[k]] != Tape::kNoSlot)
      throw CodegenError(what + ": symbol '" + graph.symbolName(args[k]) + "' is two arguments");
    argIndex[args[k]] = static_cast<std::uint32_t>(k);
  }
  for (NodeId r : roots)
    if (!r.valid() || r.index >= graph.size()) throw CodegenError(what + " has a root outside the graph");
  Tape tape = buildTape(graph, roots);
  for (Tape::Entry &e : tape.entries) {
    if (e.op != Op::Var) continue;
    if (e.symbol >= argIndex.size() || argIndex[e.symbol] == Tape::kNoSlot)
      throw CodegenError(what + " uses '" + graph.symbolName(e.symbol) +
                         "', which is not one of its arguments");
    e.argument = argIndex[e.symbol];
  }
  return tape;
}

std::string printTape(const Graph &graph, const Tape &tape) {
  std::string out;
  char buf[64];
  for (std::size_t i = 0; i < tape.entries.size(); ++i) {
    const Tape::Entry &e = tape.entries[i];
    out += '%' + std::to_string(i) + " = ";
    const Node &n = graph[e.node];
    switch (e.op) {
    case Op::Const: {
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n.value);
      out += "const ";
      out.append(buf, ec == std::errc() ? end : buf);
      break;
    }
    case Op::Var:
      out += "var " + graph.symbolName(n.symbol);
      break;
    default:
      out += opName(e.op);
      for (int k = 0; k < arity(e.op); ++k) out += " %" + std::to_string(e.args[k]);
      break;
    }
    out += '\n';
  }
  out += "roots";
  for (std::uint32_t r : tape.roots) out += " %" + std::to_string(r);
  out += '\n';
  return out;
}

}  // namespace nabla::codegen
