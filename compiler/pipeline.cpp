#include "pipeline.h"

#include "diff/reverse.h"

namespace nabla {

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
  out.grad = gradient(graph, f, vars);
  if (withHessian) out.hessian = hessian(graph, f, vars);
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
