// The checked program as scalar DAGs: what sema/ produces from the AST and what every later stage
// (derivatives, simplification, printing, interpretation, code generation, the runtime) consumes.
#pragma once

#include "graph/graph.h"
#include "source/source.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nabla {

/// Scalars have no dims, vectors one, matrices two (outermost first). Elements are row-major.
struct Shape {
  std::vector<std::uint32_t> dims;
  std::size_t size() const {
    std::size_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
  bool isScalar() const { return dims.empty(); }
  friend bool operator==(const Shape &, const Shape &) = default;
};
/// "scalar", "[3]", "[2][3]": for messages.
std::string toString(const Shape &shape);

/// A value of any shape: one node per element, row-major.
struct Value {
  Shape shape;
  std::vector<NodeId> elems;
};

/// A named group of scalar variables: a function argument, a free variable of a bare expression,
/// or a param/input array. Element k is the graph symbol `symbols[k]`, named `w`, `w[k]` or
/// `W[i][j]`.
struct VarGroup {
  std::string name;
  Shape shape;
  std::vector<SymbolId> symbols;
  std::vector<NodeId> nodes;  // the Var node of each element
  SourceRange range;          // where it was declared (or first used, for a free variable)
};

enum class InitKind : std::uint8_t { Zero, Value, Normal, Uniform };

struct ParamDecl {
  VarGroup vars;
  InitKind init = InitKind::Zero;
  std::vector<double> initValues;  // InitKind::Value: one per element (a scalar is broadcast)
  double initA = 0, initB = 0;     // Normal: mean, std; Uniform: lo, hi
};

struct InputDecl {
  VarGroup vars;
  /// The data columns, one per element, as written or defaulted (`y`; `x0, x1, x2`). For
  /// `from (first .. last)` the list holds only first and last and `columnRange` is set; the
  /// runtime expands it against the file's header.
  std::vector<std::string> columns;
  bool columnRange = false;
};

struct ConstDecl {
  std::string name;
  Value value;  // constant nodes
  SourceRange range;
};

/// A user function exported as an entry point: its body over fresh Var nodes for its arguments.
struct FunctionEntry {
  std::string name;
  std::vector<VarGroup> args;
  Value result;
  SourceRange range;
};

struct ObjectiveEntry {
  bool maximize = false;
  NodeId expr;  // the per-row loss (or objective) exactly as written; optimizers negate for maximize
  SourceRange range;
};

struct NamedValue {  // a top-level definition or a report metric
  std::string name;
  Value value;
  SourceRange range;
};

struct LoweredProgram {
  Graph graph;
  std::vector<ParamDecl> params;        // declaration order
  std::vector<InputDecl> inputs;        // declaration order
  std::vector<ConstDecl> consts;
  std::vector<NamedValue> definitions;  // top-level `name = expr`, over params and inputs
  std::vector<NamedValue> reports;
  std::vector<FunctionEntry> functions;  // declaration order
  std::optional<ObjectiveEntry> objective;
  /// A bare expression (`nabla eval 'x^2 + y'`): an anonymous function whose arguments are its
  /// free variables in order of first appearance.
  std::optional<FunctionEntry> bare;
};

}  // namespace nabla
