// Internal to sema/: the state of one lowerProgram call, shared by the files that implement it
// (names.cpp, shapes.cpp, builtins.cpp, lower_expr.cpp, functions.cpp, sema.cpp).
#pragma once

#include "sema/sema.h"
#include "support/number.h"

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nabla::sema {

// ---- shapes.cpp -------------------------------------------------------------------------------

/// The shape of an elementwise result: equal shapes, or a scalar broadcast over the other operand.
std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b);
/// a * b, or nothing when the product exceeds `limit` (no overflow for any inputs).
std::optional<std::size_t> checkedProduct(std::size_t a, std::size_t b, std::size_t limit);
/// Numbers in messages: integers without a fraction, others with round-trip precision.

// ---- builtins.cpp -----------------------------------------------------------------------------

enum class BuiltinKind : std::uint8_t {
  Elementwise,  // unary or binary op per element, with scalar broadcasting
  Where,        // where(c, a, b)
  Reduce,       // sum mean prod norm logsumexp: array -> scalar
  Dot,          // dot(a, b)
  Softmax,      // softmax(v)
  Onehot,       // onehot(k, n)
  Transpose,    // transpose(A)
  Outer,        // outer(u, v)
  ArgExtreme,   // argmax(v), argmin(v): the index of the first largest (smallest) element
  Pad,          // pad(A, before, after, ...): zeros around an array, per dimension
  Derivative,   // d(e, v)
  Grad,         // grad(e)
  Hessian,      // hessian(e)
};

enum class ReduceKind : std::uint8_t { Sum, Mean, Prod, Norm, LogSumExp, Max, Min };

struct Builtin {
  std::string_view name;
  BuiltinKind kind;
  unsigned minArgs;
  unsigned maxArgs;
  Op op = Op::Const;                      // Elementwise: the op
  std::optional<ReduceKind> reduction{};  // Reduce; Elementwise max/min with one argument
};

const Builtin *findBuiltin(std::string_view name);
/// Words the grammar reserves for statements.
bool isKeyword(std::string_view name);

// ---- the lowering state -----------------------------------------------------------------------

/// A lowered value shared without copying: a name that refers to a large array costs a pointer.
/// Null marks a failed subexpression (its error is already reported).
using ValueRef = std::shared_ptr<const Value>;

enum class GlobalKind : std::uint8_t { Param, Input, Const, Define, Function, Report };
enum class GlobalStatus : std::uint8_t { Pending, Done, Failed };

/// One entry of the shared namespace of params, inputs, consts, definitions, functions and reports.
struct Global {
  GlobalKind kind = GlobalKind::Define;
  std::size_t stmt = 0;  // index into Program::stmts
  GlobalStatus status = GlobalStatus::Pending;
  ValueRef value;         // Param/Input: the Var nodes; Const/Define/Report: the value
  std::size_t index = 0;  // Param/Input: slot in LoweredProgram; Function: slot in functions_
};

/// A lowered user function plus what inlining a call needs: the nodes that depend on an argument.
struct FunctionTemplate {
  FunctionEntry entry;
  std::vector<NodeId> argNodes;   // the Var node of each argument
  std::vector<NodeId> dependent;  // reachable nodes that depend on an argument, increasing ids
  bool ok = false;
};

/// A list of variable groups (a function's arguments, a bare expression's free variables) with
/// an index by name: a name is found in constant time, so that an expression over 10^5 variables
/// is lowered in time linear in its size. The groups must not change while this refers to them.
class NamedGroups {
public:
  explicit NamedGroups(const std::vector<VarGroup> &groups) : groups_(&groups) {
    index_.reserve(groups.size());
    for (std::size_t i = 0; i < groups.size(); ++i) index_.emplace(groups[i].name, i);
  }
  const std::vector<VarGroup> &all() const { return *groups_; }
  /// The group called `name` (the first, if several are), or nullptr.
  const VarGroup *find(std::string_view name) const {
    auto found = index_.find(name);
    return found == index_.end() ? nullptr : &(*groups_)[found->second];
  }

private:
  const std::vector<VarGroup> *groups_;
  std::unordered_map<std::string_view, std::size_t> index_;  // views of the groups' names
};

/// Where an expression is lowered: what its names can see and what grad/hessian differentiate.
struct ExprScope {
  const NamedGroups *args = nullptr;      // function arguments (they shadow globals)
  const NamedGroups *freeVars = nullptr;  // a bare expression's free variables
  bool inFunction = false;
};

class Lowerer {
public:
  Lowerer(const ast::Program &program, DiagnosticSink &sink, const LowerOptions &options)
      : program_(program), sink_(sink), options_(options) {}

  /// Runs every stage of lowering; the program is complete only if no error was reported.
  LoweredProgram run();

  // names.cpp
  void registerNames();
  std::vector<std::size_t> loweringOrder();
  const Global *findGlobal(std::string_view name) const;
  std::vector<std::string> valueNames(const ExprScope &scope) const;
  std::vector<std::string> functionNames() const;
  bool checkDeclaredName(const ast::Name &name, std::string_view what);

  // lower_expr.cpp
  /// Lowers the expression tree rooted at `root` without recursion; nothing after an error.
  std::optional<Value> lowerExpr(ast::ExprId root, const ExprScope &scope);
  /// Lowers a constant expression (array dims, initializers, consts); nothing after an error.
  std::optional<Value> lowerConstant(ast::ExprId root, std::string_view what);
  std::optional<std::uint32_t> lowerDimension(ast::ExprId root, std::string_view what);
  /// base[subscripts]: integers (negative ones from the end) and slices, one per leading dimension.
  std::optional<Value> lowerIndex(ast::ExprId id, const std::vector<ValueRef> &args);
  std::optional<Value> lowerCall(ast::ExprId id, const ExprScope &scope,
                                 const std::vector<ValueRef> &args);
  std::optional<Value> lowerBuiltin(ast::ExprId id, const Builtin &builtin, const ExprScope &scope,
                                    const std::vector<ValueRef> &args);

  // functions.cpp
  void lowerFunction(std::size_t stmtIndex, Global &global);
  std::optional<Value> inlineCall(ast::ExprId id, const FunctionTemplate &fn,
                                  const std::vector<ValueRef> &args);
  std::optional<Value> derivative(ast::ExprId id, const ExprScope &scope,
                                  const std::vector<ValueRef> &args);
  std::optional<Value> gradOrHessian(ast::ExprId id, const ExprScope &scope, const Value &f,
                                     bool hessian);
  std::vector<NodeId> simplifyDerivative(std::vector<NodeId> roots);
  /// The simplified gradient of `f` (simplified first) wrt `wrt`, for d() and grad(): computed
  /// once per pair, so that the same derivative written again costs a lookup, not another sweep
  /// over f (the graph is hash-consed: a second computation would give the same nodes).
  std::vector<NodeId> simplifiedGradient(NodeId f, const std::vector<NodeId> &wrt);

  // sema.cpp
  void lowerStatement(std::size_t stmtIndex);
  void lowerParam(const ast::Stmt &stmt, Global &global);
  void lowerInput(const ast::Stmt &stmt, Global &global);
  VarGroup makeVarGroup(const std::string &name, const Shape &shape, SourceRange range);

  // helpers shared by all
  Diagnostic &error(SourceRange range, std::string message);
  /// The source text of a range, shortened for messages.
  std::string sourceText(SourceRange range) const;
  /// True once the graph has outgrown options.maxNodes; loops that add many nodes poll it.
  bool overBudget() const { return out_.graph.size() > options_.maxNodes; }
  /// Reports the node limit once (at `range`) and stops all further lowering.
  void reportNodeLimit(SourceRange range);
  bool checkArraySize(std::size_t elements, SourceRange range);
  /// The error of checkArraySize, for sizes too large to even compute.
  void reportArrayLimit(SourceRange range);
  bool stopped() const { return stopped_ || sink_.full(); }

  /// All subtree ids of the roots, in increasing order (children before parents).
  std::vector<ast::ExprId> subtree(const std::vector<ast::ExprId> &roots) const;

  const ast::Program &program_;
  DiagnosticSink &sink_;
  const LowerOptions &options_;
  LoweredProgram out_;

  std::unordered_map<std::string, std::size_t> globalIndex_;  // name -> globals_
  std::vector<Global> globals_;
  std::vector<std::optional<std::size_t>> stmtGlobal_;  // stmt -> globals_, if it declares a name
  std::vector<FunctionTemplate> functions_;
  std::map<std::pair<NodeId, std::vector<NodeId>>, std::vector<NodeId>> gradients_;
  std::vector<VarGroup> bareVars_;
  std::vector<std::size_t> paramOrder_;  // globals_ of the params, declaration order
  std::optional<std::size_t> objectiveStmt_;
  std::optional<std::size_t> bareStmt_;  // the bare expression (alone, or bareAmongStatements)
  bool stopped_ = false;  // the node limit was hit
};

}  // namespace nabla::sema
