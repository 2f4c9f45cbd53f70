// Stage 2: AST -> checked program lowered to the scalar DAG (names, shapes, arity, built-ins,
// functions inlined, d/grad/hessian expanded).
#pragma once

#include "parse/ast.h"
#include "sema/lowered.h"
#include "source/source.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace nabla {

struct LowerOptions {
  /// Unknown names in a bare expression become its free variables (`nabla eval 'x^2 + y'`).
  bool bareFreeVariables = true;
  /// A bare expression may follow other statements (the REPL evaluates one in the context of its
  /// session): it sees their names, and its other names are its free variables. There is still
  /// at most one bare expression.
  bool bareAmongStatements = false;
  /// Graph size limit (--max-nodes): exceeding it is a located error, not an exhausted machine
  /// (4M nodes take about 0.5 GiB).
  std::size_t maxNodes = std::size_t{1} << 22;
  /// Largest number of elements of one array (--max-array).
  std::size_t maxArrayElements = std::size_t{1} << 20;
  /// Simplify each derivative that d/grad/hessian produce before it is used further (keeps nested
  /// derivatives from swelling).
  bool simplifyDerivatives = true;
  /// Lower the declarations only (params, inputs, consts): definitions, functions and the bare
  /// expression are left out, the objective keeps its kind with an invalid node, and each report
  /// is a scalar with an invalid node. For the array level, which lowers the rest from the syntax
  /// tree itself; errors in what is left out are not found.
  bool declarationsOnly = false;
};

namespace sema {
/// Every built-in function's name, for "did you mean" suggestions and completion.
const std::vector<std::string> &builtinNames();
}  // namespace sema

std::optional<LoweredProgram> lowerProgram(const ast::Program &program, DiagnosticSink &sink,
                                           const LowerOptions &options = {});

}  // namespace nabla
