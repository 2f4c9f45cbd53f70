#include "pipeline.h"

#include "diff/colouring.h"
#include "diff/reverse.h"

#include <cstdint>
#include <stdexcept>
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

void addHessianVectorProduct(Graph &graph, Derivatives &d, const std::vector<NodeId> &vars,
                             const std::vector<NodeId> &direction, const CompileOptions &options) {
  if (direction.size() != vars.size() || d.grad.size() != vars.size())
    throw std::logic_error("addHessianVectorProduct: the direction, the gradient and the vars "
                           "differ in size");
  // s = sum_i g_i v_i as a balanced tree of additions (no chain n deep for the sweep to walk).
  std::vector<NodeId> terms;
  terms.reserve(vars.size());
  for (std::size_t i = 0; i < vars.size(); ++i)
    terms.push_back(graph.make(Op::Mul, d.grad[i], direction[i]));
  while (terms.size() > 1) {
    std::vector<NodeId> next;
    next.reserve((terms.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < terms.size(); i += 2)
      next.push_back(graph.make(Op::Add, terms[i], terms[i + 1]));
    if (terms.size() % 2) next.push_back(terms.back());
    terms = std::move(next);
  }
  const NodeId s = terms.empty() ? graph.constant(0) : terms.front();
  d.direction = direction;
  d.hvp = gradient(graph, s, vars, options.cancel);
  if (options.simplify) d.hvp = simplify(graph, d.hvp, options.simplifyOptions);
}

void addSparseHessian(Graph &graph, Derivatives &d, const std::vector<NodeId> &vars,
                      const CompileOptions &options) {
  if (d.grad.size() != vars.size())
    throw std::logic_error("addSparseHessian: the gradient and the vars differ in size");
  auto pattern = std::make_shared<HessianPattern>(hessianPattern(graph, d.value, vars));
  const StarColouring colouring = starColouring(*pattern);
  const std::uint64_t swept = colouring.colours > 1 ? graph.reachable(d.grad).size() : 0;
  if (sparseProductsFavoured(pattern->nonzeros(), colouring.colours, swept,
                             options.lower.maxNodes)) {
    auto products = std::make_shared<SparseProducts>();
    products->recovery = recoveryIndex(*pattern, colouring);
    products->colouring = colouring;
    d.pattern = std::move(pattern);
    d.sparseHessian.clear();
    d.sparseProducts = std::move(products);
    return;
  }
  // Column c of the compressed Hessian: the gradient of the sum of c's gradient entries.
  std::vector<std::vector<NodeId>> compressed;
  for (const std::vector<std::int64_t> &members : colouring.classes()) {
    NodeId s = graph.constant(0);
    for (std::size_t k = 0; k < members.size(); ++k) {
      const NodeId g = d.grad[static_cast<std::size_t>(members[k])];
      s = k == 0 ? g : graph.make(Op::Add, s, g);
    }
    compressed.push_back(gradient(graph, s, vars, options.cancel));
  }
  // Direct recovery: each entry is one row of one colour's column (recoveryIndex: i * C + c).
  const std::size_t C = colouring.colours;
  std::vector<NodeId> entries;
  entries.reserve(pattern->nonzeros());
  for (std::int64_t at : recoveryIndex(*pattern, colouring)) {
    const auto k = static_cast<std::size_t>(at);
    entries.push_back(compressed[k % C][k / C]);
  }
  if (options.simplify) entries = simplify(graph, entries, options.simplifyOptions);
  d.pattern = std::move(pattern);
  d.sparseHessian = std::move(entries);
  d.sparseProducts = nullptr;
}

bool sparseProductsFavoured(std::uint64_t nonzeros, std::uint64_t colours, std::uint64_t swept,
                            std::uint64_t maxNodes) {
  // The symbolic sweeps are nodes before simplification, and LLVM compiles what remains: beyond
  // a quarter of the limit, products at run time (a few gradients' cost each) are cheaper.
  const std::uint64_t budget = maxNodes / 4;
  return nonzeros > maxNodes || (colours > 1 && swept > budget / colours);
}

}  // namespace nabla
