// Lowering one expression tree to graph nodes: a loop over the post-order arena with a table of
// lowered Values per ExprId. No recursion, so a sum of 10^5 terms (a chain 10^5 deep) costs no stack.
#include "sema/lowerer.h"

#include <cmath>

namespace nabla::sema {

namespace {

const char *arguments(std::size_t n) { return n == 1 ? "argument" : "arguments"; }

std::string arityMessage(const std::string &name, unsigned minArgs, unsigned maxArgs,
                         std::size_t given) {
  std::string takes = std::to_string(minArgs);
  if (maxArgs != minArgs) takes += " or " + std::to_string(maxArgs);
  return "'" + name + "' takes " + takes + " " + arguments(maxArgs) + ", but " +
         std::to_string(given) + (given == 1 ? " was" : " were") + " given";
}

/// Whether an expression of this kind may have `n` operands (calls and vectors: any number).
bool hasArity(ast::ExprKind kind, std::size_t n) {
  switch (kind) {
  case ast::ExprKind::Number:
  case ast::ExprKind::Name: return n == 0;
  case ast::ExprKind::Unary: return n == 1;
  case ast::ExprKind::Binary: return n == 2;
  case ast::ExprKind::Index: return n >= 2;
  case ast::ExprKind::Slice: return n <= 2;
  case ast::ExprKind::Call:
  case ast::ExprKind::Vector: return true;
  }
  return false;
}

struct BinaryInfo {
  Op op;
  const char *verb;  // "cannot <verb> [3] and [2]"
};

BinaryInfo binaryInfo(ast::BinaryOp op) {
  switch (op) {
  case ast::BinaryOp::Or: return {Op::Or, "combine with '||'"};
  case ast::BinaryOp::And: return {Op::And, "combine with '&&'"};
  case ast::BinaryOp::Lt: return {Op::Lt, "compare"};
  case ast::BinaryOp::Le: return {Op::Le, "compare"};
  case ast::BinaryOp::Gt: return {Op::Gt, "compare"};
  case ast::BinaryOp::Ge: return {Op::Ge, "compare"};
  case ast::BinaryOp::Eq: return {Op::Eq, "compare"};
  case ast::BinaryOp::Ne: return {Op::Ne, "compare"};
  case ast::BinaryOp::Add: return {Op::Add, "add"};
  case ast::BinaryOp::Sub: return {Op::Sub, "subtract"};
  case ast::BinaryOp::Mul: return {Op::Mul, "multiply"};
  case ast::BinaryOp::Div: return {Op::Div, "divide"};
  case ast::BinaryOp::MatMul: return {Op::Mul, "matrix-multiply"};
  case ast::BinaryOp::Pow: return {Op::Pow, "raise"};
  }
  return {Op::Add, "combine"};
}

}  // namespace

std::optional<Value> Lowerer::lowerIndex(ast::ExprId id, const std::vector<ValueRef> &args) {
  const ast::Expr &e = program_[id];
  const Graph &g = out_.graph;
  const Value &base = *args[0];
  const ast::Expr &baseExpr = program_[e.args[0]];
  const std::string baseText = sourceText(baseExpr.range);
  const std::size_t rank = base.shape.dims.size(), count = args.size() - 1;
  if (base.shape.isScalar()) {
    error(e.range, "cannot index '" + baseText + "', which is a scalar");
    return std::nullopt;
  }
  if (count > rank) {
    error(program_[e.args[rank + 1]].range,
          std::to_string(count) + " subscripts for '" + baseText + "', which has shape " +
              toString(base.shape) + " (" + std::to_string(rank) + " " +
              (rank == 1 ? "dimension" : "dimensions") + ")");
    return std::nullopt;
  }
  // A bound as an integer in [-length, length] (or [-length, length) for an index), negative
  // ones counted from the end as in Python: nothing when it is not one (reported).
  auto integer = [&](NodeId node, SourceRange range, std::uint32_t length,
                     bool isIndex) -> std::optional<std::size_t> {
    if (!node.valid() || !g.isConstant(node)) {
      error(range, isIndex ? "an index must be a constant integer"
                           : "a slice bound must be a constant integer");
      return std::nullopt;
    }
    const double i = g[node].value;
    if (i != std::floor(i)) {
      error(range, std::string(isIndex ? "index " : "slice bound ") + formatNumber(i) +
                       " is not an integer");
      return std::nullopt;
    }
    const double n = length;
    if (!(i >= -n && (isIndex ? i < n : i <= n))) {
      error(range, std::string(isIndex ? "index " : "slice bound ") + formatNumber(i) +
                       " is out of bounds for '" + baseText + "' of shape " + toString(base.shape));
      return std::nullopt;
    }
    return static_cast<std::size_t>(i < 0 ? i + n : i);
  };
  // Per dimension: the first element taken and how many; a plain index drops its dimension.
  struct Range {
    std::size_t from, length;
  };
  std::vector<Range> ranges;
  Shape shape;
  for (std::size_t d = 0; d < rank; ++d) {
    const std::uint32_t length = base.shape.dims[d];
    if (d >= count) {
      ranges.push_back({0, length});
      shape.dims.push_back(length);
      continue;
    }
    const ast::Expr &sub = program_[e.args[d + 1]];
    const Value &value = *args[d + 1];
    if (sub.kind != ast::ExprKind::Slice) {
      if (!value.shape.isScalar()) {
        error(sub.range, "an index must be a constant integer");
        return std::nullopt;
      }
      std::optional<std::size_t> i = integer(value.elems[0], sub.range, length, true);
      if (!i) return std::nullopt;
      ranges.push_back({*i, 1});
      continue;
    }
    std::size_t from = 0, to = length, next = 0;
    if (sub.bounds & ast::kLowerBound) {
      std::optional<std::size_t> lo =
          integer(value.elems[next], program_[sub.args[next]].range, length, false);
      if (!lo) return std::nullopt;
      from = *lo;
      ++next;
    }
    if (sub.bounds & ast::kUpperBound) {
      std::optional<std::size_t> hi =
          integer(value.elems[next], program_[sub.args[next]].range, length, false);
      if (!hi) return std::nullopt;
      to = *hi;
    }
    if (from >= to) {
      error(sub.range, "slice '" + sourceText(sub.range) + "' of '" + baseText + "' (of length " +
                           std::to_string(length) + ") is empty");
      return std::nullopt;
    }
    ranges.push_back({from, to - from});
    shape.dims.push_back(static_cast<std::uint32_t>(to - from));
  }
  // The elements, row-major over the ranges.
  std::vector<std::size_t> strides(rank, 1);
  for (std::size_t d = rank; d-- > 1;) strides[d - 1] = strides[d] * base.shape.dims[d];
  Value v{shape, {}};
  v.elems.reserve(shape.size());
  std::vector<std::size_t> at(rank, 0);
  for (;;) {
    std::size_t offset = 0;
    for (std::size_t d = 0; d < rank; ++d) offset += (ranges[d].from + at[d]) * strides[d];
    v.elems.push_back(base.elems[offset]);
    std::size_t d = rank;
    while (d > 0 && ++at[d - 1] == ranges[d - 1].length) at[--d] = 0;
    if (d == 0) break;
  }
  return v;
}

std::optional<Value> Lowerer::lowerExpr(ast::ExprId root, const ExprScope &scope) {
  if (root >= program_.exprs.size()) {
    error(SourceRange{}, "internal error: an expression is missing");
    return std::nullopt;
  }
  const std::vector<ast::ExprId> ids = subtree({root});
  std::unordered_map<ast::ExprId, std::size_t> slot;
  slot.reserve(ids.size());
  for (std::size_t k = 0; k < ids.size(); ++k) slot.emplace(ids[k], k);
  std::vector<ValueRef> values(ids.size());
  Graph &g = out_.graph;

  for (std::size_t k = 0; k < ids.size(); ++k) {
    if (stopped()) return std::nullopt;
    const ast::ExprId id = ids[k];
    const ast::Expr &e = program_[id];
    // Each child has one parent, so its value moves into the parent's argument list.
    std::vector<ValueRef> args;
    args.reserve(e.args.size());
    bool argsOk = true;
    for (ast::ExprId a : e.args) {
      auto found = a < id ? slot.find(a) : slot.end();
      if (found == slot.end()) {
        args.emplace_back();
      } else {
        args.push_back(std::move(values[found->second]));
      }
      argsOk = argsOk && args.back() != nullptr;
    }
    bool wellFormed = hasArity(e.kind, args.size());
    for (ast::ExprId a : e.args) wellFormed = wellFormed && a < id;
    if (!wellFormed) {
      error(e.range, "internal error: malformed expression tree");
      return std::nullopt;
    }
    ValueRef &result = values[k];
    auto share = [](Value v) { return std::make_shared<const Value>(std::move(v)); };

    switch (e.kind) {
    case ast::ExprKind::Number:
      result = share(Value{Shape{}, {g.constant(e.number)}});
      break;

    case ast::ExprKind::Name: {
      if (const VarGroup *a = scope.args ? scope.args->find(e.name) : nullptr) {
        result = share(Value{a->shape, a->nodes});
        break;
      }
      if (const Global *global = findGlobal(e.name)) {
        if (options_.declarationsOnly &&
            (global->kind == GlobalKind::Param || global->kind == GlobalKind::Input)) {
          // Their elements are not made in this mode; a declaration that reads one is an error
          // in any mode, reported by the full lowering (driver::Program::load retries).
          error(e.range, "'" + e.name + "' is not a constant");
          break;
        }
        if (global->kind == GlobalKind::Function) {
          error(e.range, "'" + e.name + "' is a function, not a value");
        } else if (global->status == GlobalStatus::Done) {
          result = global->value;
        } else if (global->status == GlobalStatus::Pending) {
          error(e.range, "internal error: '" + e.name + "' is used before it is lowered");
        }  // Failed: already reported
        break;
      }
      if (const VarGroup *v = scope.freeVars ? scope.freeVars->find(e.name) : nullptr) {
        result = share(Value{v->shape, v->nodes});
        break;
      }
      if (findBuiltin(e.name)) {
        error(e.range, "'" + e.name + "' is a function, not a value");
        break;
      }
      Diagnostic &d = error(e.range, "unknown name '" + e.name + "'");
      std::string suggestion = closestName(e.name, valueNames(scope));
      if (!suggestion.empty()) d.notes.push_back({e.range, "did you mean '" + suggestion + "'?"});
      break;
    }

    case ast::ExprKind::Unary: {
      if (!argsOk) break;
      Value v = *args[0];
      if (e.unaryOp == ast::UnaryOp::Neg)
        for (NodeId &x : v.elems) x = g.make(Op::Neg, x);
      else if (e.unaryOp == ast::UnaryOp::Not)
        for (NodeId &x : v.elems) x = g.make(Op::Not, x);
      result = share(std::move(v));
      break;
    }

    case ast::ExprKind::Binary: {
      if (!argsOk) break;
      const Value &a = *args[0], &b = *args[1];
      const BinaryInfo info = binaryInfo(e.binaryOp);
      if (e.binaryOp == ast::BinaryOp::MatMul) {
        const std::size_t ra = a.shape.dims.size(), rb = b.shape.dims.size();
        // A vector on the left is a row [1][k]; on the right a column [k][1].
        const std::size_t m = ra == 2 ? a.shape.dims[0] : 1;
        const std::size_t ka = ra == 0 ? 0 : a.shape.dims.back();
        const std::size_t kb = rb == 0 ? 0 : b.shape.dims[0];
        const std::size_t n = rb == 2 ? b.shape.dims[1] : 1;
        if (ra == 0 || rb == 0 || ra > 2 || rb > 2 || ka != kb) {
          error(e.range, std::string("cannot matrix-multiply ") + toString(a.shape) + " and " +
                             toString(b.shape));
          break;
        }
        Shape shape;
        if (ra == 2) shape.dims.push_back(static_cast<std::uint32_t>(m));
        if (rb == 2) shape.dims.push_back(static_cast<std::uint32_t>(n));
        if (!checkArraySize(m * n, e.range)) break;
        Value v{shape, {}};
        v.elems.reserve(m * n);
        for (std::size_t i = 0; i < m && !overBudget(); ++i) {
          for (std::size_t j = 0; j < n; ++j) {
            NodeId acc = g.make(Op::Mul, a.elems[i * ka], b.elems[j]);
            for (std::size_t l = 1; l < ka; ++l)
              acc = g.make(Op::Add, acc, g.make(Op::Mul, a.elems[i * ka + l], b.elems[l * n + j]));
            v.elems.push_back(acc);
          }
        }
        if (!overBudget()) result = share(std::move(v));
        break;
      }
      std::optional<Shape> shape = broadcastShapes(a.shape, b.shape);
      if (!shape) {
        std::string verb = info.verb;
        if (e.binaryOp == ast::BinaryOp::Pow)
          error(e.range, "cannot raise " + toString(a.shape) + " to the power " + toString(b.shape));
        else if (e.binaryOp == ast::BinaryOp::And || e.binaryOp == ast::BinaryOp::Or)
          error(e.range, std::string("cannot combine ") + toString(a.shape) + " and " +
                             toString(b.shape) + " with '" +
                             (e.binaryOp == ast::BinaryOp::And ? "&&" : "||") + "'");
        else
          error(e.range, "cannot " + verb + " " + toString(a.shape) + " and " + toString(b.shape));
        break;
      }
      Value v{*shape, {}};
      const std::size_t n = shape->size();
      v.elems.reserve(n);
      for (std::size_t i = 0; i < n; ++i)
        v.elems.push_back(g.make(info.op, a.elems[a.shape.isScalar() ? 0 : i],
                                 b.elems[b.shape.isScalar() ? 0 : i]));
      result = share(std::move(v));
      break;
    }

    case ast::ExprKind::Call:
      if (std::optional<Value> v = lowerCall(id, scope, args)) result = share(std::move(*v));
      break;

    case ast::ExprKind::Slice: {
      // Only a carrier for the Index above it: the bounds as written, checked there.
      if (!argsOk) break;
      Value bounds{Shape{{static_cast<std::uint32_t>(args.size())}}, {}};
      for (const ValueRef &a : args)
        bounds.elems.push_back(a->shape.isScalar() ? a->elems[0] : NodeId{});
      result = share(std::move(bounds));
      break;
    }

    case ast::ExprKind::Index: {
      if (!argsOk) break;
      if (std::optional<Value> v = lowerIndex(id, args)) result = share(std::move(*v));
      break;
    }

    case ast::ExprKind::Vector: {
      if (!argsOk) break;
      if (args.empty()) {
        error(e.range, "a vector needs at least one element");
        break;
      }
      const Shape &first = args[0]->shape;
      bool same = true;
      for (std::size_t j = 1; j < args.size() && same; ++j) {
        if (args[j]->shape != first) {
          error(program_[e.args[j]].range,
                "the elements of a vector must have one shape, but the first is " +
                    toString(first) + " and element " + std::to_string(j + 1) + " is " +
                    toString(args[j]->shape));
          same = false;
        }
      }
      if (!same) break;
      if (first.dims.size() >= 2) {
        error(e.range, "arrays have at most 2 dimensions");
        break;
      }
      auto total = checkedProduct(args.size(), first.size(), options_.maxArrayElements);
      if (!total) {
        reportArrayLimit(e.range);
        break;
      }
      Value v;
      v.shape.dims.push_back(static_cast<std::uint32_t>(args.size()));
      v.shape.dims.insert(v.shape.dims.end(), first.dims.begin(), first.dims.end());
      v.elems.reserve(*total);
      for (auto &a : args) v.elems.insert(v.elems.end(), a->elems.begin(), a->elems.end());
      result = share(std::move(v));
      break;
    }
    }

    if (overBudget()) {
      reportNodeLimit(e.range);
      return std::nullopt;
    }
  }
  if (!values.back()) return std::nullopt;
  return *values.back();
}

std::optional<Value> Lowerer::lowerCall(ast::ExprId id, const ExprScope &scope,
                                        const std::vector<ValueRef> &args) {
  const ast::Expr &call = program_[id];
  const std::string &name = call.name;
  bool argsOk = true;
  for (const auto &a : args) argsOk = argsOk && a != nullptr;

  auto notAFunction = [&] {
    error(call.nameRange, "'" + name + "' is not a function");
    return std::nullopt;
  };
  if (scope.args && scope.args->find(name)) return notAFunction();

  if (const Global *global = findGlobal(name)) {
    if (global->kind != GlobalKind::Function) {
      Diagnostic &d = error(call.nameRange, "'" + name + "' is not a function");
      d.notes.push_back({program_.stmts[global->stmt].name.range, "'" + name + "' is defined here"});
      return std::nullopt;
    }
    const FunctionTemplate &fn = functions_[global->index];
    const ast::Stmt &stmt = program_.stmts[global->stmt];
    if (args.size() != stmt.params.size()) {
      Diagnostic &d = error(call.range, arityMessage(name, static_cast<unsigned>(stmt.params.size()),
                                                     static_cast<unsigned>(stmt.params.size()),
                                                     args.size()));
      d.notes.push_back({stmt.name.range, "'" + name + "' is defined here"});
      return std::nullopt;
    }
    if (!argsOk || global->status != GlobalStatus::Done || !fn.ok) return std::nullopt;
    return inlineCall(id, fn, args);
  }

  if (const Builtin *builtin = findBuiltin(name)) {
    if (args.size() < builtin->minArgs || args.size() > builtin->maxArgs) {
      error(call.range, arityMessage(name, builtin->minArgs, builtin->maxArgs, args.size()));
      return std::nullopt;
    }
    if (!argsOk) return std::nullopt;
    return lowerBuiltin(id, *builtin, scope, args);
  }

  if (scope.freeVars && scope.freeVars->find(name)) return notAFunction();

  Diagnostic &d = error(call.nameRange, "unknown function '" + name + "'");
  std::string suggestion = closestName(name, functionNames());
  if (!suggestion.empty()) d.notes.push_back({call.nameRange, "did you mean '" + suggestion + "'?"});
  return std::nullopt;
}

std::optional<Value> Lowerer::lowerConstant(ast::ExprId root, std::string_view what) {
  std::optional<Value> v = lowerExpr(root, ExprScope{});
  if (!v) return std::nullopt;
  for (NodeId x : v->elems) {
    if (!out_.graph.isConstant(x)) {
      error(program_[root].range, std::string(what) + " must be a constant expression");
      return std::nullopt;
    }
  }
  return v;
}

std::optional<std::uint32_t> Lowerer::lowerDimension(ast::ExprId root, std::string_view what) {
  std::optional<Value> v = lowerConstant(root, what);
  if (!v) return std::nullopt;
  const SourceRange range = program_[root].range;
  if (!v->shape.isScalar()) {
    error(range, std::string(what) + " must be a scalar, but has shape " + toString(v->shape));
    return std::nullopt;
  }
  const double n = out_.graph[v->elems[0]].value;
  if (!(n >= 1 && n == std::floor(n))) {
    error(range, std::string(what) + " must be a positive integer, but is " + formatNumber(n));
    return std::nullopt;
  }
  if (n > 4e9) {  // beyond any representable array size
    reportArrayLimit(range);
    return std::nullopt;
  }
  if (!checkArraySize(static_cast<std::size_t>(n), range)) return std::nullopt;
  return static_cast<std::uint32_t>(n);
}

}  // namespace nabla::sema
