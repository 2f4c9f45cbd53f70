// Built-in functions: the table (names, arities, ops) and how each lowers to scalar nodes.
#include "sema/lowerer.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace nabla::sema {

namespace {

using BK = BuiltinKind;

/// With one argument, max and min reduce an array to its largest (smallest) element.
constexpr std::optional<ReduceKind> reductionOf(Op op) {
  if (op == Op::Min) return ReduceKind::Min;
  if (op == Op::Max) return ReduceKind::Max;
  return std::nullopt;
}

/// The rest: built-ins that are not one op applied elementwise.
constexpr Builtin kOtherBuiltins[] = {
    {"where", BK::Where, 3, 3},
    {"sum", BK::Reduce, 1, 1, Op::Const, ReduceKind::Sum},
    {"mean", BK::Reduce, 1, 1, Op::Const, ReduceKind::Mean},
    {"prod", BK::Reduce, 1, 1, Op::Const, ReduceKind::Prod},
    {"norm", BK::Reduce, 1, 1, Op::Const, ReduceKind::Norm},
    {"logsumexp", BK::Reduce, 1, 1, Op::Const, ReduceKind::LogSumExp},
    {"dot", BK::Dot, 2, 2},
    {"softmax", BK::Softmax, 1, 1},
    {"onehot", BK::Onehot, 2, 2},
    {"transpose", BK::Transpose, 1, 1},
    {"outer", BK::Outer, 2, 2},
    {"argmax", BK::ArgExtreme, 1, 1, Op::Max},
    {"argmin", BK::ArgExtreme, 1, 1, Op::Min},
    {"pad", BK::Pad, 3, 5},
    {"d", BK::Derivative, 2, 2},
    {"grad", BK::Grad, 1, 1},
    {"hessian", BK::Hessian, 1, 1},
};

constexpr std::size_t countElementwise() {
  std::size_t n = 0;
  for (const OpInfo &info : kOpInfo) n += !info.builtin.empty();
  return n;
}

/// The elementwise built-ins, in ops.def's order (exp, log, ..., pow, min, max, ...: an op with a
/// `builtin` name), then the others.
constexpr auto kBuiltins = [] {
  std::array<Builtin, countElementwise() + std::size(kOtherBuiltins)> table{};
  std::size_t n = 0;
  for (int i = 0; i < kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    if (kOpInfo[i].builtin.empty()) continue;
    const auto k = static_cast<unsigned>(arity(op));
    const std::optional<ReduceKind> reduction = reductionOf(op);
    table[n++] = {kOpInfo[i].builtin, BK::Elementwise, reduction ? 1 : k, k, op, reduction};
  }
  for (const Builtin &b : kOtherBuiltins) table[n++] = b;
  return table;
}();
static_assert(
    [] {
      for (const Builtin &b : kBuiltins)
        if (b.kind == BK::Elementwise && (b.maxArgs < 1 || b.maxArgs > 2)) return false;
      return true;
    }(),
    "lowerBuiltin applies an elementwise op of one or two operands");

const std::string_view kKeywords[] = {"param", "input", "const", "minimize", "maximize", "report"};

// Reductions fold left to right, so element order is evaluation order.
NodeId foldLeft(Graph &g, Op op, const std::vector<NodeId> &v) {
  NodeId acc = v[0];
  for (std::size_t i = 1; i < v.size(); ++i) acc = g.make(op, acc, v[i]);
  return acc;
}

// A balanced tree of logaddexp: every step is stable on its own (no overflow at large inputs, no
// lost terms at very negative ones), rounding grows with log2(n), and the derivative wrt v_i is a
// product of sigmoids that equals softmax(v)_i, with no max() whose derivative must cancel.
NodeId logSumExp(Graph &g, std::vector<NodeId> v) {
  while (v.size() > 1) {
    std::vector<NodeId> next;
    next.reserve((v.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) next.push_back(g.make(Op::LogAddExp, v[i], v[i + 1]));
    if (v.size() % 2) next.push_back(v.back());
    v = std::move(next);
  }
  return v[0];
}

// v - floor(max(v)): the largest element becomes exactly a value in [0, 1) (v_i - floor(v_i) is
// exact by Sterbenz's lemma outside (-1, 0)), the rest keep their differences to it. The shift
// has derivative 0 (floor), which is right for logsumexp and softmax: logsumexp(v) - shift and
// softmax(v) do not depend on it.
// An infinite or NaN largest element shifts by 0 (inf - inf would make every w NaN, where
// logsumexp([-inf, -inf]) is -inf and logsumexp([inf, 0]) is inf).
NodeId shiftOf(Graph &g, const std::vector<NodeId> &v) {
  NodeId top = g.make(Op::Floor, foldLeft(g, Op::Max, v));
  NodeId finite = g.make(Op::Eq, g.make(Op::Sub, top, top), g.constant(0));
  return g.make(Op::Where, finite, top, g.constant(0));
}

std::vector<NodeId> shifted(Graph &g, const std::vector<NodeId> &v) {
  NodeId shift = shiftOf(g, v);
  std::vector<NodeId> w;
  w.reserve(v.size());
  for (NodeId e : v) w.push_back(g.make(Op::Sub, e, shift));
  return w;
}

NodeId reduce(Graph &g, ReduceKind kind, const std::vector<NodeId> &v) {
  switch (kind) {
  case ReduceKind::Sum: return foldLeft(g, Op::Add, v);
  case ReduceKind::Mean:
    return g.make(Op::Div, foldLeft(g, Op::Add, v), g.constant(static_cast<double>(v.size())));
  case ReduceKind::Prod: return foldLeft(g, Op::Mul, v);
  case ReduceKind::Norm:
    // hypot(hypot(v_0, v_1), v_2)...: no square overflows or underflows (norm([1e200, 1e200])
    // is 1.4e200, not inf), and the derivative at 0 is hypot's subgradient 0, as for abs,
    // where sqrt(sum(v^2)) gives 0 * inf = NaN. One element: abs.
    if (v.size() == 1) return g.make(Op::Abs, v[0]);
    return foldLeft(g, Op::Hypot, v);
  case ReduceKind::LogSumExp: {
    // shift + logsumexp(v - shift): at v = [1e15, 1e15, 1e15] the tree over v rounds
    // logaddexp(v_0, v_1) to 1e15 + 0.75 and the derivative comes out 0.34 for 1/3.
    if (v.size() == 1) return v[0];
    return g.make(Op::Add, shiftOf(g, v), logSumExp(g, shifted(g, v)));
  }
  case ReduceKind::Max: return foldLeft(g, Op::Max, v);
  case ReduceKind::Min: return foldLeft(g, Op::Min, v);
  }
  return v[0];
}

}  // namespace

const Builtin *findBuiltin(std::string_view name) {
  for (const Builtin &b : kBuiltins)
    if (b.name == name) return &b;
  return nullptr;
}

const std::vector<std::string> &builtinNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Builtin &b : kBuiltins) v.emplace_back(b.name);
    return v;
  }();
  return names;
}

bool isKeyword(std::string_view name) {
  return std::find(std::begin(kKeywords), std::end(kKeywords), name) != std::end(kKeywords);
}

std::optional<Value> Lowerer::lowerBuiltin(ast::ExprId id, const Builtin &builtin,
                                           const ExprScope &scope,
                                           const std::vector<ValueRef> &args) {
  const ast::Expr &call = program_[id];
  Graph &g = out_.graph;
  const std::string name(builtin.name);
  switch (builtin.kind) {
  case BuiltinKind::Elementwise: {
    if (args.size() == 1 && builtin.reduction) {
      return Value{Shape{}, {reduce(g, *builtin.reduction, args[0]->elems)}};
    }
    if (args.size() == 1) {
      Value v = *args[0];
      for (NodeId &e : v.elems) e = g.make(builtin.op, e);
      return v;
    }
    const Value &a = *args[0], &b = *args[1];
    std::optional<Shape> shape = broadcastShapes(a.shape, b.shape);
    if (!shape) {
      error(call.range, "cannot apply '" + name + "' to " + toString(a.shape) + " and " +
                            toString(b.shape));
      return std::nullopt;
    }
    Value v{*shape, {}};
    const std::size_t n = shape->size();
    v.elems.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      v.elems.push_back(g.make(builtin.op, a.elems[a.shape.isScalar() ? 0 : i],
                               b.elems[b.shape.isScalar() ? 0 : i]));
    return v;
  }
  case BuiltinKind::Where: {
    const Value &c = *args[0], &a = *args[1], &b = *args[2];
    std::optional<Shape> shape = broadcastShapes(c.shape, a.shape);
    if (shape) shape = broadcastShapes(*shape, b.shape);
    if (!shape) {
      error(call.range, "cannot apply 'where' to " + toString(c.shape) + ", " + toString(a.shape) +
                            " and " + toString(b.shape));
      return std::nullopt;
    }
    Value v{*shape, {}};
    const std::size_t n = shape->size();
    v.elems.reserve(n);
    auto at = [](const Value &x, std::size_t i) { return x.elems[x.shape.isScalar() ? 0 : i]; };
    for (std::size_t i = 0; i < n; ++i)
      v.elems.push_back(g.make(Op::Where, at(c, i), at(a, i), at(b, i)));
    return v;
  }
  case BuiltinKind::Reduce:
    return Value{Shape{}, {reduce(g, *builtin.reduction, args[0]->elems)}};
  case BuiltinKind::Dot: {
    const Value &a = *args[0], &b = *args[1];
    if (a.shape != b.shape) {
      error(call.range, "cannot apply 'dot' to " + toString(a.shape) + " and " + toString(b.shape));
      return std::nullopt;
    }
    std::vector<NodeId> products;
    products.reserve(a.elems.size());
    for (std::size_t i = 0; i < a.elems.size(); ++i)
      products.push_back(g.make(Op::Mul, a.elems[i], b.elems[i]));
    return Value{Shape{}, {foldLeft(g, Op::Add, products)}};
  }
  case BuiltinKind::Softmax: {
    // softmax(v)_i = sigmoid(w_i - logsumexp(w without w_i)), w = v - floor(max(v)); the
    // logsumexps of all but one element come from a prefix and a suffix chain of logaddexp.
    //  - The shift keeps small differences: at v = [1e15, 1e15], logsumexp(v) = 1e15 + log(2)
    //    rounds to a multiple of 1/8 and exp(v_0 - logsumexp(v)) was 0.47; w is [0, 0] exactly.
    //    v_i - floor(v_i) is exact (Sterbenz) for the largest element outside (-1, 0). floor()
    //    has derivative 0 and softmax does not depend on the shift, so no max() derivative has
    //    to cancel.
    //  - sigmoid(d) rather than exp(w_i - logsumexp(w)): the derivative is sigmoid(d)*sigmoid(-d)
    //    times products of sigmoids (logaddexp's partials), each accurate to a few ulps, where
    //    s_i - s_i*s_i cancels as s_i -> 1 (83 ulps at v = [3, -2]).
    Value v = *args[0];
    const std::size_t n = v.elems.size();
    if (n == 1) {
      v.elems[0] = g.make(Op::Exp, g.make(Op::Sub, v.elems[0], v.elems[0]));  // 1, NaN for ±inf
      return v;
    }
    const std::vector<NodeId> w = shifted(g, v.elems);
    std::vector<NodeId> prefix(n), suffix(n);  // logsumexp of w[0..k] and of w[k..n-1]
    prefix[0] = w[0];
    for (std::size_t k = 1; k < n; ++k) prefix[k] = g.make(Op::LogAddExp, prefix[k - 1], w[k]);
    suffix[n - 1] = w[n - 1];
    for (std::size_t k = n - 1; k-- > 0;) suffix[k] = g.make(Op::LogAddExp, w[k], suffix[k + 1]);
    for (std::size_t i = 0; i < n; ++i) {
      NodeId others = i == 0       ? suffix[1]
                      : i == n - 1 ? prefix[n - 2]
                                   : g.make(Op::LogAddExp, prefix[i - 1], suffix[i + 1]);
      v.elems[i] = g.make(Op::Sigmoid, g.make(Op::Sub, w[i], others));
    }
    return v;
  }
  case BuiltinKind::Onehot: {
    const Value &k = *args[0], &n = *args[1];
    const ast::Expr &nExpr = program_[call.args[1]];
    if (!k.shape.isScalar()) {
      error(program_[call.args[0]].range,
            "onehot(k, n): the class index k must be a scalar, but has shape " + toString(k.shape));
      return std::nullopt;
    }
    if (!n.shape.isScalar() || !g.isConstant(n.elems[0])) {
      error(nExpr.range, "onehot(k, n): the number of classes n must be a constant");
      return std::nullopt;
    }
    double count = g[n.elems[0]].value;
    if (!(count >= 1 && count <= 1e15 && count == std::floor(count))) {
      error(nExpr.range, "onehot(k, n): the number of classes n must be a positive integer, but is " +
                             formatNumber(count));
      return std::nullopt;
    }
    if (!checkArraySize(static_cast<std::size_t>(count), nExpr.range)) return std::nullopt;
    Value v{Shape{{static_cast<std::uint32_t>(count)}}, {}};
    NodeId one = g.constant(1), zero = g.constant(0);
    for (std::uint32_t j = 0; j < static_cast<std::uint32_t>(count); ++j)
      v.elems.push_back(g.make(Op::Where, g.make(Op::Eq, k.elems[0], g.constant(j)), one, zero));
    return v;
  }
  case BuiltinKind::Transpose: {
    const Value &a = *args[0];
    if (a.shape.dims.size() != 2) {
      error(call.range, "transpose(A): A must be a matrix, but has shape " + toString(a.shape));
      return std::nullopt;
    }
    const std::uint32_t rows = a.shape.dims[0], cols = a.shape.dims[1];
    Value v{Shape{{cols, rows}}, {}};
    v.elems.reserve(a.elems.size());
    for (std::uint32_t j = 0; j < cols; ++j)
      for (std::uint32_t i = 0; i < rows; ++i) v.elems.push_back(a.elems[std::size_t{i} * cols + j]);
    return v;
  }
  case BuiltinKind::Outer: {
    const Value &u = *args[0], &w = *args[1];
    if (u.shape.dims.size() != 1 || w.shape.dims.size() != 1) {
      error(call.range, "outer(u, v): u and v must be vectors, but have shapes " +
                            toString(u.shape) + " and " + toString(w.shape));
      return std::nullopt;
    }
    std::optional<std::size_t> size = checkedProduct(u.elems.size(), w.elems.size(), SIZE_MAX);
    if (!size || !checkArraySize(*size, call.range)) return std::nullopt;
    Value v{Shape{{u.shape.dims[0], w.shape.dims[0]}}, {}};
    v.elems.reserve(*size);
    for (std::size_t i = 0; i < u.elems.size() && !overBudget(); ++i)
      for (NodeId x : w.elems) v.elems.push_back(g.make(Op::Mul, u.elems[i], x));
    if (overBudget()) {
      reportNodeLimit(call.range);
      return std::nullopt;
    }
    return v;
  }
  case BuiltinKind::ArgExtreme: {
    // The index of the first element equal to max(v) (min(v)), row-major: where(v_0 == m, 0,
    // where(v_1 == m, 1, ...)), NaN when there is none (a NaN in v makes max(v) NaN). Its
    // derivative is 0: the branches are constants.
    const Value &v = *args[0];
    const NodeId m = foldLeft(g, builtin.op, v.elems);
    NodeId index = g.constant(std::nan(""));
    for (std::size_t i = v.elems.size(); i-- > 0 && !overBudget();)
      index = g.make(Op::Where, g.make(Op::Eq, v.elems[i], m), g.constant(static_cast<double>(i)), index);
    if (overBudget()) {
      reportNodeLimit(call.range);
      return std::nullopt;
    }
    return Value{Shape{}, {index}};
  }
  case BuiltinKind::Pad: {
    // pad(v, before, after) for a vector, pad(A, top, bottom, left, right) for a matrix: zeros
    // around the array (the adjoint of a slice, as `nabla diff --matrix` prints it).
    const Value &a = *args[0];
    const std::size_t rank = a.shape.dims.size();
    if (rank == 0 || args.size() != 1 + 2 * rank) {
      error(call.range, rank == 0 ? "pad(A, ...): A must be a vector or a matrix, not a scalar"
                                  : "pad(A, ...) of " + toString(a.shape) + " takes " +
                                        std::to_string(2 * rank) +
                                        " counts (zeros before and after, per dimension), not " +
                                        std::to_string(args.size() - 1));
      return std::nullopt;
    }
    std::vector<std::uint32_t> before(rank), dims(rank);
    std::size_t total = 1;
    for (std::size_t d = 0; d < rank; ++d) {
      std::uint64_t around[2];
      for (int k = 0; k < 2; ++k) {
        const Value &count = *args[1 + 2 * d + k];
        const ast::Expr &expr = program_[call.args[1 + 2 * d + k]];
        if (!count.shape.isScalar() || !g.isConstant(count.elems[0])) {
          error(expr.range, "pad(A, ...): the counts of zeros must be constants");
          return std::nullopt;
        }
        const double c = g[count.elems[0]].value;
        if (!(c >= 0 && c <= 1e15 && c == std::floor(c))) {
          error(expr.range, "pad(A, ...): a count of zeros must be an integer >= 0, but is " +
                                formatNumber(c));
          return std::nullopt;
        }
        around[k] = static_cast<std::uint64_t>(c);
      }
      const std::uint64_t size = around[0] + a.shape.dims[d] + around[1];
      if (size > UINT32_MAX || !checkedProduct(total, size, SIZE_MAX)) {
        reportArrayLimit(call.range);
        return std::nullopt;
      }
      total *= size;
      before[d] = static_cast<std::uint32_t>(around[0]);
      dims[d] = static_cast<std::uint32_t>(size);
    }
    if (!checkArraySize(total, call.range)) return std::nullopt;
    Value v{Shape{dims}, std::vector<NodeId>(total, g.constant(0))};
    const std::size_t cols = rank == 2 ? a.shape.dims[1] : a.elems.size();
    for (std::size_t e = 0; e < a.elems.size(); ++e) {
      const std::size_t i = rank == 2 ? e / cols : e, j = rank == 2 ? e % cols : 0;
      const std::size_t at = rank == 2 ? (before[0] + i) * dims[1] + before[1] + j : before[0] + i;
      v.elems[at] = a.elems[e];
    }
    return v;
  }
  case BuiltinKind::Derivative: return derivative(id, scope, args);
  case BuiltinKind::Grad:
  case BuiltinKind::Hessian:
    return gradOrHessian(id, scope, *args[0], builtin.kind == BuiltinKind::Hessian);
  }
  return std::nullopt;
}

}  // namespace nabla::sema
