// The syntax tree to array nodes: the objective, the reports and what they read (definitions,
// consts, user functions inlined), over a program that sema has already checked and lowered to
// scalars. No errors are reported here: what this level does not cover yet makes it give up.
#include "array/array.h"
#include "sema/lowerer.h"  // the built-ins' table

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace nabla::array {

namespace {

using sema::BuiltinKind;
using sema::ReduceKind;

/// Gave up: the reason is in Lowering::whyNot.
struct GiveUp {};

/// Deeper chains of definitions and function calls than this are left to the scalar level
/// (lowering them here recurses once per link).
constexpr unsigned kMaxDepth = 200;

class Lowering {
public:
  Lowering(const ast::Program &ast, const LoweredProgram &lowered, std::size_t maxArray,
           bool batched)
      : ast_(ast), lowered_(lowered), maxArray_(maxArray) {
    for (std::size_t i = 0; i < ast.stmts.size(); ++i) {
      const ast::Stmt &s = ast.stmts[i];
      switch (s.kind) {
      case ast::StmtKind::Define:
      case ast::StmtKind::Function: stmtByName_.emplace(s.name.text, i); break;
      default: break;
      }
    }
    for (std::size_t i = 0; i < lowered.params.size(); ++i)
      leaves_.emplace(lowered.params[i].vars.name,
                      graph_.param(static_cast<std::uint32_t>(i), lowered.params[i].vars.shape));
    for (std::size_t i = 0; i < lowered.inputs.size(); ++i)
      leaves_.emplace(lowered.inputs[i].vars.name,
                      graph_.input(static_cast<std::uint32_t>(i), lowered.inputs[i].vars.shape,
                                   batched));
    for (const ConstDecl &c : lowered.consts) {
      std::vector<double> values;
      for (NodeId e : c.value.elems) {
        if (!lowered.graph.isConstant(e)) fail("a const that is not a number");
        values.push_back(lowered.graph[e].value);
      }
      leaves_.emplace(c.name, graph_.constant(c.value.shape, std::move(values)));
    }
  }

  Program run() {
    Program out;
    for (const ParamDecl &p : lowered_.params) {
      out.paramShapes.push_back(p.vars.shape);
      out.paramNames.push_back(p.vars.name);
    }
    for (const InputDecl &in : lowered_.inputs) out.inputNames.push_back(in.vars.name);
    for (const ast::Stmt &s : ast_.stmts) {
      if (s.kind == ast::StmtKind::Minimize || s.kind == ast::StmtKind::Maximize)
        out.loss = lower(s.body, {}, 0);
      else if (s.kind == ast::StmtKind::Report)
        out.reports.push_back(lower(s.body, {}, 0));
    }
    if (out.loss == kNone) fail("the program has no objective");
    if (!graph_[out.loss].shape.isScalar()) fail("the objective is not a scalar");
    if (out.reports.size() != lowered_.reports.size()) fail("the reports do not match");
    for (Id r : out.reports)
      if (!graph_[r].shape.isScalar()) fail("a report that is not a scalar");
    // Every definition and function, used or not, so that a program loaded with its bodies
    // deferred (driver::Options::deferBodies) is checked whole: a function with a NaN for each
    // argument (a constant, so a subscript by an argument is refused as sema refuses it).
    for (const ast::Stmt &s : ast_.stmts) {
      if (s.kind == ast::StmtKind::Define) {
        name(s.name.text, {}, 0);
      } else if (s.kind == ast::StmtKind::Function) {
        Scope scope;
        for (const ast::Name &p : s.params) {
          if (!scope.emplace(p.text, graph_.constant(std::nan(""))).second)
            fail("a function with two arguments of one name");
        }
        lower(s.body, scope, 1);
      }
    }
    std::vector<Id> roots = out.reports;
    roots.push_back(out.loss);
    for (Id id : reachable(graph_, roots)) out.unrolled += unrolledCost(graph_, id);
    out.graph = std::move(graph_);
    return out;
  }

  [[noreturn]] void fail(std::string why) {
    whyNot = std::move(why);
    throw GiveUp{};
  }

  std::string whyNot;

private:
  using Scope = std::unordered_map<std::string, Id>;

  /// The lowered values of a subtree, by ExprId (`ids` sorted).
  struct Values {
    const std::vector<ast::ExprId> &ids;
    std::vector<Id> values;
    Id &operator[](ast::ExprId id) {
      return values[std::lower_bound(ids.begin(), ids.end(), id) - ids.begin()];
    }
  };

  /// The subtree of `root`, children before parents (ids increase: the arena is post-order).
  std::vector<ast::ExprId> subtree(ast::ExprId root) const {
    std::vector<ast::ExprId> out, stack{root};
    while (!stack.empty()) {
      ast::ExprId id = stack.back();
      stack.pop_back();
      out.push_back(id);
      for (ast::ExprId a : ast_[id].args) stack.push_back(a);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  Id name(const std::string &text, const Scope &scope, unsigned depth) {
    if (auto found = scope.find(text); found != scope.end()) return found->second;
    if (auto found = leaves_.find(text); found != leaves_.end()) return found->second;
    if (auto found = definitions_.find(text); found != definitions_.end()) return found->second;
    auto stmt = stmtByName_.find(text);
    if (stmt == stmtByName_.end() || ast_.stmts[stmt->second].kind != ast::StmtKind::Define)
      fail("the name '" + text + "' is not a value here");
    if (depth > kMaxDepth) fail("definitions nested too deep");
    if (!inProgress_.insert(text).second) fail("a definition that refers to itself");
    Id id = lower(ast_.stmts[stmt->second].body, {}, depth + 1);
    inProgress_.erase(text);
    definitions_.emplace(text, id);
    return id;
  }

  /// A constant integer (an index or a slice bound), as sema checked it.
  long long integer(Id id) {
    const Node &n = graph_[id];
    if (n.kind != Kind::Const || n.values.size() != 1) fail("a subscript that is not a constant");
    const double v = n.values[0];
    if (!(std::abs(v) <= 1e15) || v != std::floor(v)) fail("a subscript that is not an integer");
    return static_cast<long long>(v);
  }

  Id index(const ast::Expr &e, Values &v) {
    const Id base = v[e.args[0]];
    const Shape &shape = graph_[base].shape;
    if (e.args.size() - 1 > shape.dims.size()) fail("more subscripts than dimensions");
    std::vector<SliceDim> box;
    for (std::size_t d = 0; d < shape.dims.size(); ++d) {
      const long long length = shape.dims[d];
      SliceDim dim{0, shape.dims[d], true};
      if (d + 1 < e.args.size()) {
        const ast::Expr &sub = ast_[e.args[d + 1]];
        if (sub.kind == ast::ExprKind::Slice) {
          long long lo = 0, hi = length;
          std::size_t k = 0;
          if (sub.bounds & ast::kLowerBound) lo = integer(v[sub.args[k++]]);
          if (sub.bounds & ast::kUpperBound) hi = integer(v[sub.args[k++]]);
          if (lo < 0) lo += length;
          if (hi < 0) hi += length;
          if (lo < 0 || hi > length || lo >= hi) fail("a slice sema should have refused");
          dim = {static_cast<std::uint32_t>(lo), static_cast<std::uint32_t>(hi - lo), true};
        } else {
          long long i = integer(v[e.args[d + 1]]);
          if (i < 0) i += length;
          if (i < 0 || i >= length) fail("an index sema should have refused");
          dim = {static_cast<std::uint32_t>(i), 1, false};
        }
      }
      box.push_back(dim);
    }
    return graph_.slice(base, std::move(box));
  }

  Id reduce(ReduceKind kind, Id a) {
    const Node &x = graph_[a];
    if (x.shape.isScalar() && kind == ReduceKind::Norm) return graph_.map(Op::Abs, a);
    if (x.shape.isScalar() && kind != ReduceKind::Prod) return a;
    switch (kind) {
    case ReduceKind::Sum: return graph_.sum(a);
    case ReduceKind::Mean:
      return graph_.map(Op::Div, graph_.sum(a), graph_.constant(static_cast<double>(x.shape.size())));
    case ReduceKind::LogSumExp: return graph_.reduce(Kind::LogSumExp, a);
    case ReduceKind::Max: return graph_.reduce(Kind::Max, a);
    case ReduceKind::Min: return graph_.reduce(Kind::Min, a);
    case ReduceKind::Prod: fail("prod() is not at the array level yet");
    case ReduceKind::Norm: return graph_.reduce(Kind::Norm, a);
    }
    fail("an unknown reduction");
  }

  Id call(const ast::Expr &e, Values &v, const Scope &scope, unsigned depth) {
    std::vector<Id> args;
    for (ast::ExprId a : e.args) args.push_back(v[a]);
    if (const sema::Builtin *b = sema::findBuiltin(e.name)) {
      if (scope.count(e.name) || args.size() < b->minArgs || args.size() > b->maxArgs)
        fail("a call of '" + e.name + "' that sema would refuse");
      switch (b->kind) {
      case BuiltinKind::Elementwise:
        if (args.size() == 1 && b->reduction) return reduce(*b->reduction, args[0]);
        return args.size() == 1 ? graph_.map(b->op, args[0]) : graph_.map(b->op, args[0], args[1]);
      case BuiltinKind::Where: return graph_.map(Op::Where, args[0], args[1], args[2]);
      case BuiltinKind::Reduce: return reduce(*b->reduction, args[0]);
      case BuiltinKind::Dot:
        if (graph_[args[0]].shape != graph_[args[1]].shape) fail("dot() of different shapes");
        return graph_.sum(graph_.map(Op::Mul, args[0], args[1]));
      case BuiltinKind::Softmax:
        if (graph_[args[0]].shape.dims.size() != 1) fail("softmax of a matrix");
        return graph_.softmax(args[0]);
      case BuiltinKind::Onehot: {
        const long long n = integer(args[1]);
        if (n < 1 || static_cast<std::size_t>(n) > maxArray_) fail("onehot() of a class count sema would refuse");
        return graph_.onehot(args[0], static_cast<std::uint32_t>(n));
      }
      case BuiltinKind::Transpose: return graph_.transpose(args[0]);
      case BuiltinKind::Outer: return graph_.outer(args[0], args[1]);
      case BuiltinKind::ArgExtreme:
        return graph_.argExtreme(b->op == Op::Max ? Kind::ArgMax : Kind::ArgMin, args[0]);
      case BuiltinKind::Pad: {
        const Shape &s = graph_[args[0]].shape;
        const std::size_t rank = s.dims.size();
        if (rank == 0 || args.size() != 1 + 2 * rank) fail("a call of 'pad' that sema would refuse");
        Shape shape;
        std::vector<SliceDim> box;
        for (std::size_t d = 0; d < rank; ++d) {
          const long long before = integer(args[1 + 2 * d]), after = integer(args[2 + 2 * d]);
          const long long size = before + s.dims[d] + after;
          if (before < 0 || after < 0 || size > static_cast<long long>(maxArray_))
            fail("a call of 'pad' that sema would refuse");
          shape.dims.push_back(static_cast<std::uint32_t>(size));
          box.push_back({static_cast<std::uint32_t>(before), s.dims[d], true});
        }
        return graph_.embed(args[0], shape, std::move(box));
      }
      case BuiltinKind::Derivative:
      case BuiltinKind::Grad:
      case BuiltinKind::Hessian: fail("derivatives written in the text are not at the array level yet");
      }
    }
    auto stmt = stmtByName_.find(e.name);
    if (stmt == stmtByName_.end() || ast_.stmts[stmt->second].kind != ast::StmtKind::Function)
      fail("a call of '" + e.name + "', which is not a function here");
    const ast::Stmt &fn = ast_.stmts[stmt->second];
    if (fn.params.size() != args.size()) fail("a call with the wrong number of arguments");
    for (Id a : args)
      if (!graph_[a].shape.isScalar()) fail("a function called with an array");
    if (depth > kMaxDepth) fail("function calls nested too deep");
    Scope inner;
    for (std::size_t i = 0; i < args.size(); ++i) inner[fn.params[i].text] = args[i];
    return lower(fn.body, inner, depth + 1);
  }

  Id lower(ast::ExprId root, const Scope &scope, unsigned depth) {
    const std::vector<ast::ExprId> ids = subtree(root);
    Values v{ids, std::vector<Id>(ids.size(), kNone)};
    for (ast::ExprId id : ids) {
      const ast::Expr &e = ast_[id];
      switch (e.kind) {
      case ast::ExprKind::Number: v[id] = graph_.constant(e.number); break;
      case ast::ExprKind::Name: v[id] = name(e.name, scope, depth); break;
      case ast::ExprKind::Unary:
        v[id] = e.unaryOp == ast::UnaryOp::Plus  ? v[e.args[0]]
                : e.unaryOp == ast::UnaryOp::Neg ? graph_.map(Op::Neg, v[e.args[0]])
                                                 : graph_.map(Op::Not, v[e.args[0]]);
        break;
      case ast::ExprKind::Binary: v[id] = binary(e.binaryOp, v[e.args[0]], v[e.args[1]]); break;
      case ast::ExprKind::Call: v[id] = call(e, v, scope, depth); break;
      case ast::ExprKind::Index: v[id] = index(e, v); break;
      case ast::ExprKind::Vector: {
        std::vector<Id> parts;
        for (ast::ExprId a : e.args) parts.push_back(v[a]);
        if (parts.empty()) fail("an empty vector");
        v[id] = graph_.stack(parts);
        break;
      }
      case ast::ExprKind::Slice: continue;  // read by its Index
      }
      if (graph_[v[id]].shape.size() > maxArray_) fail("an array beyond the array limit");
    }
    return v[root];
  }

  Id binary(ast::BinaryOp op, Id a, Id b) {
    switch (op) {
    case ast::BinaryOp::Or: return graph_.map(Op::Or, a, b);
    case ast::BinaryOp::And: return graph_.map(Op::And, a, b);
    case ast::BinaryOp::Lt: return graph_.map(Op::Lt, a, b);
    case ast::BinaryOp::Le: return graph_.map(Op::Le, a, b);
    case ast::BinaryOp::Gt: return graph_.map(Op::Gt, a, b);
    case ast::BinaryOp::Ge: return graph_.map(Op::Ge, a, b);
    case ast::BinaryOp::Eq: return graph_.map(Op::Eq, a, b);
    case ast::BinaryOp::Ne: return graph_.map(Op::Ne, a, b);
    case ast::BinaryOp::Add: return graph_.map(Op::Add, a, b);
    case ast::BinaryOp::Sub: return graph_.map(Op::Sub, a, b);
    case ast::BinaryOp::Mul: return graph_.map(Op::Mul, a, b);
    case ast::BinaryOp::Div: return graph_.map(Op::Div, a, b);
    case ast::BinaryOp::Pow: return graph_.map(Op::Pow, a, b);
    case ast::BinaryOp::MatMul: return graph_.matmul(a, b);
    }
    fail("an unknown operator");
  }

  const ast::Program &ast_;
  const LoweredProgram &lowered_;
  std::size_t maxArray_ = 0;
  Graph graph_;
  std::unordered_map<std::string, std::size_t> stmtByName_;
  std::unordered_map<std::string, Id> leaves_, definitions_;
  std::unordered_set<std::string> inProgress_;
};

}  // namespace

std::vector<Id> reachable(const Graph &graph, const std::vector<Id> &roots) {
  std::vector<char> seen(graph.size(), 0);
  std::vector<Id> stack;
  for (Id r : roots)
    if (r != kNone && !seen[r]) seen[r] = 1, stack.push_back(r);
  while (!stack.empty()) {
    const Node &n = graph[stack.back()];
    stack.pop_back();
    auto visit = [&](Id a) {
      if (!seen[a]) seen[a] = 1, stack.push_back(a);
    };
    for (std::uint8_t k = 0; k < n.argCount; ++k) visit(n.args[k]);
    for (Id p : n.parts) visit(p);
  }
  std::vector<Id> out;
  for (Id i = 0; i < graph.size(); ++i)
    if (seen[i]) out.push_back(i);
  return out;
}

std::optional<Program> lowerArrays(const ast::Program &ast, const LoweredProgram &lowered,
                                   std::size_t maxArray, std::string *whyNot, bool batched) {
  std::optional<Lowering> lowering;
  try {
    lowering.emplace(ast, lowered, maxArray, batched);
    return lowering->run();
  } catch (const GiveUp &) {
    if (whyNot) *whyNot = lowering ? lowering->whyNot : "a const that is not a number";
  } catch (const std::logic_error &e) {  // shapes that do not fit (graph.cpp)
    if (whyNot) *whyNot = std::string("sema would refuse the program: ") + e.what();
  }
  return std::nullopt;
}

}  // namespace nabla::array
