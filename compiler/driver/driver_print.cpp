// The driver's way to the reference interpreter and the printer.
#include "driver/driver.h"

#include "driver/program_impl.h"

#include "graph/interp.h"
#include "graph/print.h"
#include "support/number.h"

#include <cmath>

namespace nabla::driver {

namespace {

// Self-contained text of this many bytes or more is refused: a DAG can stand for an exponentially
// larger tree.
constexpr std::uint64_t kMaxSelfContainedBytes = std::uint64_t{1} << 27;

std::uint64_t addSaturating(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

}  // namespace

std::vector<double> evaluate(const Program &program, const std::vector<NodeId> &roots,
                             std::span<const double> symbolValues) {
  return nabla::evaluate(program.graph(), roots, symbolValues);
}

std::optional<std::string> explainNonFinite(const Program &program, const Derivatives &d,
                                            std::span<const SymbolId> args,
                                            std::span<const double> argValues) {
  const Graph &graph = program.graph();
  std::vector<NodeId> roots{d.value};
  roots.insert(roots.end(), d.grad.begin(), d.grad.end());
  const std::vector<NodeId> order = graph.reachable(roots);
  // Which nodes the value itself needs (the rest belong to the gradient only).
  std::vector<bool> forward(graph.size(), false);
  for (NodeId id : graph.reachable({d.value})) forward[id.index] = true;

  std::vector<double> symbolValues(graph.symbolCount(), std::nan(""));
  for (std::size_t k = 0; k < args.size() && k < argValues.size(); ++k)
    symbolValues[args[k]] = argValues[k];
  std::vector<double> value(graph.size(), 0.0);
  std::optional<NodeId> first;
  for (NodeId id : order) {
    const Node &n = graph[id];
    double v;
    switch (n.op) {
    case Op::Const: v = n.value; break;
    case Op::Var: v = symbolValues[n.symbol]; break;
    default: v = evalNode(graph, id, value.data());
    }
    value[id.index] = v;
    if (!first && !std::isfinite(v)) first = id;
  }
  const bool badValue = !std::isfinite(value[d.value.index]);
  std::size_t badGrad = d.grad.size();
  for (std::size_t k = 0; k < d.grad.size() && badGrad == d.grad.size(); ++k)
    if (!std::isfinite(value[d.grad[k].index])) badGrad = k;
  if (!badValue && badGrad == d.grad.size()) return std::nullopt;

  std::string what =
      badValue ? "the loss is " + formatNumber(value[d.value.index])
               : "the derivative with respect to '" + graph.symbolName(args[badGrad]) + "' is " +
                     formatNumber(value[d.grad[badGrad].index]);
  if (!first) return what;
  const Node &n = graph[*first];
  if (n.op == Op::Var)
    return what + "; the value of '" + graph.symbolName(n.symbol) + "' is " +
           formatNumber(value[first->index]);
  // A long expression is shown by its operation, with its operands' values.
  std::string text;
  if (printedLengths(graph, {*first})[0] <= 160) {
    text = printExpr(graph, *first);
  } else {
    text = std::string(spelling(n.op)) + "(";
    for (int a = 0; a < arity(n.op); ++a)
      text += (a ? ", " : "") + formatNumber(value[n.args[a].index]);
    text += ")";
  }
  return what + "; the first non-finite value is " + text + " = " +
         formatNumber(value[first->index]) +
         (forward[first->index] ? " (in the loss)" : " (in the gradient)");
}

std::vector<std::string> printExprs(const Program &program, const std::vector<NodeId> &roots,
                                    const std::string &what) {
  std::uint64_t total = 0;
  for (std::uint64_t len : printedLengths(program.graph(), roots)) total = addSaturating(total, len);
  if (total > kMaxSelfContainedBytes)
    throw Error(ErrorKind::Limit,
                what + " are too large to print as self-contained expressions (" +
                    (total == UINT64_MAX ? std::string("more than 2^64") : std::to_string(total)) +
                    " bytes)");
  return nabla::printExprs(program.graph(), roots);
}

std::string printRoots(const Program &program, const std::vector<std::string> &labels,
                       const std::vector<NodeId> &roots) {
  const Graph &graph = program.graph();
  auto prefix = [&](std::size_t k) { return labels[k].empty() ? std::string() : labels[k] + " = "; };
  std::vector<std::uint64_t> lengths = printedLengths(graph, roots);
  std::uint64_t inlineBytes = 0;
  for (std::size_t k = 0; k < roots.size(); ++k)
    inlineBytes = addSaturating(inlineBytes, addSaturating(lengths[k], prefix(k).size() + 1));

  PrintedSet shared = printShared(graph, roots);
  std::uint64_t sharedBytes = 6;  // "where\n"
  for (std::size_t k = 0; k < roots.size(); ++k)
    sharedBytes += prefix(k).size() + 1 + shared.exprs[k].size();
  for (const auto &[name, text] : shared.temporaries) sharedBytes += name.size() + text.size() + 6;

  std::string out;
  if (shared.temporaries.empty() || inlineBytes <= sharedBytes) {
    std::vector<std::string> exprs = nabla::printExprs(graph, roots);
    for (std::size_t k = 0; k < roots.size(); ++k) out += prefix(k) + exprs[k] + "\n";
    return out;
  }
  for (std::size_t k = 0; k < roots.size(); ++k) out += prefix(k) + shared.exprs[k] + "\n";
  out += "where\n";
  for (const auto &[name, text] : shared.temporaries) out += "  " + name + " = " + text + "\n";
  return out;
}

std::string printDot(const Program &program, const std::vector<NodeId> &roots,
                     const std::vector<std::string> &rootNames) {
  return nabla::printDot(program.graph(), roots, rootNames);
}

}  // namespace nabla::driver
