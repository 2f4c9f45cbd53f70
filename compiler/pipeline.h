// The stages in order, as a plain list of calls: text -> AST -> lowered DAG, and the derivative
// DAGs of an entry point. The command line, the tests and (later) the JIT all start here.
#pragma once

#include "diff/colouring.h"
#include "diff/sparsity.h"
#include "parse/parse.h"
#include "sema/sema.h"
#include "simplify/simplifier.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace nabla {

struct CompileOptions {
  ParseOptions parse;
  LowerOptions lower;
  bool simplify = true;
  SimplifyOptions simplifyOptions;
  /// Set: differentiate() stops, throwing Cancelled (graph/cancel.h). simplifyOptions.cancel is
  /// the simplifier's.
  const std::atomic<bool> *cancel = nullptr;
};

/// Parse and lower. Diagnostics go to `sink`; nothing on failure.
std::optional<LoweredProgram> compileSource(const SourceBuffer &buffer, DiagnosticSink &sink,
                                            const CompileOptions &options = {});

/// A limit of CompileOptions reached after lowering, by differentiate(). The message starts
/// lower-case and names the flag that raises the limit.
class LimitError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The value, gradient and (when asked) Hessian of one scalar function of `vars`, as nodes of
/// `graph`. With `options.simplify`, the function is simplified before it is differentiated (so the
/// stability rewrites reach the derivatives) and all results are simplified together.
/// The Hessian is bounded by `options.lower.maxNodes` (--max-nodes): its n^2 entries, the nodes it
/// adds, and its n sweeps over the gradient (at most 64 times the limit in nodes visited); beyond
/// any of them it throws LimitError before the work is done.
/// A sparse Hessian computed by products (addSparseHessian, where the pattern favours them): one
/// Hessian-vector product per colour of a star colouring, along the colour's indicator, then
/// each nonzero read from one of them.
struct SparseProducts {
  StarColouring colouring;
  std::vector<std::int64_t> recovery;  // recoveryIndex: per nonzero, i * colours + c
};

struct Derivatives {
  NodeId value;
  std::vector<NodeId> grad;                   // one per var
  std::vector<std::vector<NodeId>> hessian;   // vars x vars, empty unless asked
  /// The Hessian-vector product H v (addHessianVectorProduct): one entry per var, and the Var
  /// nodes of the direction v, one per var. Empty unless asked.
  std::vector<NodeId> hvp, direction;
  /// The Hessian's structural nonzeros and their values (addSparseHessian): one node per entry
  /// of `pattern`, in its order, or (sparseProducts set, sparseHessian empty) products at run
  /// time. Null and empty unless asked.
  std::shared_ptr<const HessianPattern> pattern;
  std::vector<NodeId> sparseHessian;
  std::shared_ptr<const SparseProducts> sparseProducts;
};
Derivatives differentiate(Graph &graph, NodeId f, const std::vector<NodeId> &vars, bool withHessian,
                          const CompileOptions &options = {});

/// Sets d.hvp to H v, the Hessian of d's function times the direction `direction` (Var nodes, one
/// per var, which the caller makes: they are arguments of the code like the vars): the gradient
/// of sum_i grad_i v_i with respect to `vars`, one reverse sweep over the gradient's graph. Its
/// nodes are a few times the gradient's whatever the number of vars (the Hessian's n^2 entries
/// are never built), simplified per `options`. `d.grad` must be the gradient over `vars`.
void addHessianVectorProduct(Graph &graph, Derivatives &d, const std::vector<NodeId> &vars,
                             const std::vector<NodeId> &direction,
                             const CompileOptions &options = {});

/// Sets d.pattern (hessianPattern) and the way to its values, from a star colouring of the
/// pattern (diff/colouring.h), whichever the pattern favours:
///  - symbolic, d.sparseHessian: per colour c, the gradient of the sum of the gradient entries
///    of colour c is H times c's indicator, and each entry is read from one of them as the
///    colouring's direct recovery says; `colours` sweeps over the gradient instead of the dense
///    Hessian's n (3 for a tridiagonal Hessian, whatever n), simplified: an entry is often a
///    constant or a short expression;
///  - products, d.sparseProducts (sparseProductsFavoured): the same columns as Hessian-vector
///    products at run time, where the sweeps would add more than a quarter of the node limit
///    (many colours over a large gradient) or the nonzeros would exceed it. The caller adds
///    d.hvp.
void addSparseHessian(Graph &graph, Derivatives &d, const std::vector<NodeId> &vars,
                      const CompileOptions &options = {});

/// Whether a sparse Hessian of `nonzeros` entries and `colours` colours over a gradient of
/// `swept` nodes is computed by products rather than symbolically, under the node limit.
bool sparseProductsFavoured(std::uint64_t nonzeros, std::uint64_t colours, std::uint64_t swept,
                            std::uint64_t maxNodes);

}  // namespace nabla
