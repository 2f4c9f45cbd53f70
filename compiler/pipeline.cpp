#include "pipeline.h"

#include "diff/reverse.h"

#include <cstdint>
#include <string>

namespace nabla {

namespace {

constexpr std::uint64_t kHessianWorkFactor = 64;

std::string raiseHint() { return " (raise the limit with --max-nodes)"; }

/// hessian(), refused up front when its entries or its sweeps would exceed the node limit.
std::vector<std::vector<NodeId>> boundedHessian(Graph &graph, NodeId f,
                                                const std::vector<NodeId> &grad,
                                                const std::vector<NodeId> &vars,
                                                std::size_t maxNodes,
                                                const std::atomic<bool> *cancel) {
  const std::uint64_t n = vars.size();
  if (n > 0 && n > maxNodes / n)
    throw LimitError("the Hessian of " + std::to_string(n) + " variables has " +
                     std::to_string(n * n) + " entries, more than the limit of " +
                     std::to_string(maxNodes) + raiseHint());
  // Row i sweeps the nodes that d f / d vars[i] reaches, at most those all the gradient reaches.
  const std::uint64_t swept = n > 1 ? graph.reachable(grad).size() : 0;
  const std::uint64_t budget = kHessianWorkFactor * maxNodes;
  if (n > 1 && swept > budget / n)
    throw LimitError("the Hessian of " + std::to_string(n) + " variables takes " +
                     std::to_string(n) + " sweeps over a gradient of " + std::to_string(swept) +
                     " nodes, more than " + std::to_string(kHessianWorkFactor) +
                     " times the node limit of " + std::to_string(maxNodes) + raiseHint());
  try {
    return hessian(graph, f, vars, maxNodes, cancel);
  } catch (const std::length_error &) {
    throw LimitError("the Hessian of " + std::to_string(n) + " variables adds more than " +
                     std::to_string(maxNodes) + " nodes to the graph" + raiseHint());
  }
}

}  // namespace

std::optional<LoweredProgram> compileSource(const SourceBuffer &buffer, DiagnosticSink &sink,
                                            const CompileOptions &options) {
  std::optional<ast::Program> program = parseProgram(buffer, sink, options.parse);
  if (!program) return std::nullopt;
  std::optional<LoweredProgram> lowered = lowerProgram(*program, sink, options.lower);
  if (!lowered || sink.hasErrors()) return std::nullopt;
  return lowered;
}

Derivatives differentiate(Graph &graph, NodeId f, const std::vector<NodeId> &vars, bool withHessian,
                          const CompileOptions &options) {
  // Differentiate the simplified function: rewrites never change a value, so its derivatives are
  // the same, and the stability rewrites then reach them too (the gradient of log(sigmoid(z)),
  // rewritten to -softplus(-z), is sigmoid(-z): finite where 1/sigmoid(z) * sigmoid'(z) is
  // inf * 0 = NaN).
  if (options.simplify) f = simplify(graph, {f}, options.simplifyOptions).front();
  Derivatives out;
  out.value = f;
  out.grad = gradient(graph, f, vars, options.cancel);
  if (withHessian)
    out.hessian = boundedHessian(graph, f, out.grad, vars, options.lower.maxNodes, options.cancel);
  if (!options.simplify) return out;

  // Simplify all roots in one call so that shared subexpressions stay shared.
  std::vector<NodeId> roots{out.value};
  roots.insert(roots.end(), out.grad.begin(), out.grad.end());
  for (const auto &row : out.hessian) roots.insert(roots.end(), row.begin(), row.end());
  roots = simplify(graph, roots, options.simplifyOptions);
  std::size_t k = 0;
  out.value = roots[k++];
  for (NodeId &g : out.grad) g = roots[k++];
  for (auto &row : out.hessian)
    for (NodeId &h : row) h = roots[k++];
  return out;
}

}  // namespace nabla
