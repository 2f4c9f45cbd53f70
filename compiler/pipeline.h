// The stages in order, as a plain list of calls: text -> AST -> lowered DAG, and the derivative
// DAGs of an entry point. The command line, the tests and (later) the JIT all start here.
#pragma once

#include "parse/parse.h"
#include "sema/sema.h"
#include "simplify/simplifier.h"

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
struct Derivatives {
  NodeId value;
  std::vector<NodeId> grad;                   // one per var
  std::vector<std::vector<NodeId>> hessian;   // vars x vars, empty unless asked
};
Derivatives differentiate(Graph &graph, NodeId f, const std::vector<NodeId> &vars, bool withHessian,
                          const CompileOptions &options = {});

}  // namespace nabla
