// lowerProgram: declarations (params, inputs, consts), definitions, the objective, reports and
// bare expressions, lowered statement by statement in dependency order (names.cpp).
#include "sema/lowerer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <unordered_set>

namespace nabla {

namespace sema {

namespace {
/// Names may be a million characters long; a message quotes at most the first 60 of them.
std::string shortenQuotedNames(std::string message) {
  constexpr std::size_t kMaxQuoted = 64, kKept = 60;
  std::string out;
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t open = message.find('\'', pos);
    std::size_t close = open == std::string::npos ? open : message.find('\'', open + 1);
    if (close == std::string::npos) break;
    out.append(message, pos, open + 1 - pos);
    if (close - open - 1 > kMaxQuoted)
      out.append(message, open + 1, kKept).append("...");
    else
      out.append(message, open + 1, close - open - 1);
    out.push_back('\'');
    pos = close + 1;
  }
  out.append(message, std::min(pos, message.size()), std::string::npos);
  return out;
}
}  // namespace

Diagnostic &Lowerer::error(SourceRange range, std::string message) {
  if (message.size() > 200) message = shortenQuotedNames(std::move(message));
  return sink_.error(range, std::move(message));
}

std::string Lowerer::sourceText(SourceRange range) const {
  const std::string &text = sink_.buffer().text();
  if (!range.valid() || range.begin >= text.size()) return "?";
  std::string s = text.substr(range.begin, std::min<std::size_t>(range.end, text.size()) - range.begin);
  for (char &c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

void Lowerer::reportNodeLimit(SourceRange range) {
  if (stopped_) return;
  error(range, "the expression graph exceeds " + std::to_string(options_.maxNodes) +
                   " nodes (raise the limit with --max-nodes)")
      .limit = true;
  stopped_ = true;
}

bool Lowerer::checkArraySize(std::size_t elements, SourceRange range) {
  if (elements <= options_.maxArrayElements) return true;
  reportArrayLimit(range);
  return false;
}

void Lowerer::reportArrayLimit(SourceRange range) {
  error(range, "the array has more than " + std::to_string(options_.maxArrayElements) +
                   " elements (raise the limit with --max-array)")
      .limit = true;
}

VarGroup Lowerer::makeVarGroup(const std::string &name, const Shape &shape, SourceRange range) {
  VarGroup group{name, shape, {}, {}, range};
  // Declarations alone (the array level lowers the rest): no scalar symbol per element, so that
  // a param of 10^6 elements costs nothing here. The full lowering makes them.
  if (options_.declarationsOnly) return group;
  const std::size_t n = shape.size();
  group.symbols.reserve(n);
  group.nodes.reserve(n);
  out_.graph.reserveVariables(n);
  std::vector<std::uint32_t> index(shape.dims.size(), 0);
  std::string symbol = name;
  for (std::size_t k = 0; k < n; ++k) {
    symbol.resize(name.size());
    for (auto i : index) {
      char digits[16];
      auto end = std::to_chars(digits, digits + sizeof digits, i).ptr;
      symbol += '[';
      symbol.append(digits, end);
      symbol += ']';
    }
    SymbolId s = out_.graph.addSymbol(symbol);
    group.symbols.push_back(s);
    group.nodes.push_back(out_.graph.variable(s));
    // Row-major: the last index runs fastest.
    for (std::size_t d = index.size(); d-- > 0;) {
      if (++index[d] < shape.dims[d]) break;
      index[d] = 0;
    }
  }
  return group;
}

namespace {

/// The declared shape of a param or input, or nothing after an error.
std::optional<Shape> declaredShape(Lowerer &lowerer, const ast::Stmt &stmt) {
  Shape shape;
  bool ok = true;
  for (ast::ExprId d : stmt.dims) {
    std::optional<std::uint32_t> n = lowerer.lowerDimension(d, "an array size");
    if (n) shape.dims.push_back(*n);
    ok = ok && n.has_value();
  }
  if (!ok) return std::nullopt;
  if (shape.dims.size() > 2) {
    lowerer.error(stmt.name.range, "arrays have at most 2 dimensions");
    return std::nullopt;
  }
  std::size_t total = 1;
  for (auto d : shape.dims) {
    auto product = checkedProduct(total, d, lowerer.options_.maxArrayElements);
    if (!product) {
      lowerer.reportArrayLimit(stmt.name.range);
      return std::nullopt;
    }
    total = *product;
  }
  return shape;
}

}  // namespace

void Lowerer::lowerParam(const ast::Stmt &stmt, Global &global) {
  std::optional<Shape> shape = declaredShape(*this, stmt);
  if (!shape) {
    global.status = GlobalStatus::Failed;
    return;
  }
  ParamDecl &decl = out_.params[global.index];
  decl.vars = makeVarGroup(stmt.name.text, *shape, stmt.name.range);
  global.value = std::make_shared<const Value>(Value{*shape, decl.vars.nodes});
  global.status = GlobalStatus::Done;  // usable even if its initializer is wrong

  const std::string &name = stmt.name.text;
  switch (stmt.init) {
  case ast::InitKind::None: decl.init = InitKind::Zero; break;
  case ast::InitKind::Value: {
    decl.init = InitKind::Value;
    std::optional<Value> v = lowerConstant(stmt.initValue, "the initial value of '" + name + "'");
    if (!v) break;
    if (!v->shape.isScalar() && v->shape != *shape) {
      error(program_[stmt.initValue].range, "the initial value of '" + name + "' has shape " +
                                                toString(v->shape) + ", but '" + name + "' is " +
                                                toString(*shape));
      break;
    }
    for (std::size_t k = 0; k < shape->size(); ++k)
      decl.initValues.push_back(out_.graph[v->elems[v->shape.isScalar() ? 0 : k]].value);
    break;
  }
  case ast::InitKind::Normal:
  case ast::InitKind::Uniform: {
    const bool normal = stmt.init == ast::InitKind::Normal;
    decl.init = normal ? InitKind::Normal : InitKind::Uniform;
    const char *call = normal ? "normal(mean, std)" : "uniform(lo, hi)";
    if (stmt.initArgs.size() != 2) {
      error(stmt.initRange, std::string(call) + " takes 2 arguments, but " +
                                std::to_string(stmt.initArgs.size()) +
                                (stmt.initArgs.size() == 1 ? " was" : " were") + " given");
      break;
    }
    double values[2] = {0, 0};
    bool ok = true;
    for (int i = 0; i < 2; ++i) {
      const ast::ExprId arg = stmt.initArgs[i];
      const char *argName = normal ? (i == 0 ? "mean" : "std") : (i == 0 ? "lo" : "hi");
      std::string what = std::string("the ") + argName + " of " + call;
      std::optional<Value> v = lowerConstant(arg, what);
      bool good = v.has_value();
      if (good && !v->shape.isScalar()) {
        error(program_[arg].range, what + " must be a scalar, but has shape " + toString(v->shape));
        good = false;
      } else if (good && !std::isfinite(out_.graph[v->elems[0]].value)) {
        error(program_[arg].range, what + " must be finite");
        good = false;
      }
      if (good) values[i] = out_.graph[v->elems[0]].value;
      ok = ok && good;
    }
    if (!ok) break;
    if (normal && values[1] < 0)
      error(program_[stmt.initArgs[1]].range,
            "the std of normal(mean, std) must not be negative, but is " + formatNumber(values[1]));
    if (!normal && values[0] > values[1])
      error(stmt.initRange, "uniform(lo, hi) needs lo <= hi, but lo is " + formatNumber(values[0]) +
                                " and hi is " + formatNumber(values[1]));
    decl.initA = values[0];
    decl.initB = values[1];
    break;
  }
  }
}

void Lowerer::lowerInput(const ast::Stmt &stmt, Global &global) {
  std::optional<Shape> shape = declaredShape(*this, stmt);
  if (!shape) {
    global.status = GlobalStatus::Failed;
    return;
  }
  InputDecl &decl = out_.inputs[global.index];
  decl.vars = makeVarGroup(stmt.name.text, *shape, stmt.name.range);
  global.value = std::make_shared<const Value>(Value{*shape, decl.vars.nodes});
  global.status = GlobalStatus::Done;

  const std::size_t n = shape->size();
  if (stmt.fromColumns.empty()) {
    if (shape->isScalar()) {
      decl.columns.push_back(stmt.name.text);
    } else {
      for (std::size_t k = 0; k < n; ++k) decl.columns.push_back(stmt.name.text + std::to_string(k));
    }
  } else if (stmt.fromIsRange) {
    if (stmt.fromColumns.size() != 2) {
      error(stmt.range, "a column range names its first and last column");
      return;
    }
    decl.columns = {stmt.fromColumns[0].text, stmt.fromColumns[1].text};
    decl.columnRange = true;
  } else {
    if (stmt.fromColumns.size() != n) {
      const std::size_t c = stmt.fromColumns.size();
      SourceRange range = SourceRange::join(stmt.fromColumns.front().range, stmt.fromColumns.back().range);
      error(range, "input '" + stmt.name.text + "' has " + std::to_string(n) +
                       (n == 1 ? " element" : " elements") + ", but " + std::to_string(c) +
                       (c == 1 ? " column is" : " columns are") + " listed");
      return;
    }
    for (const ast::Name &c : stmt.fromColumns) decl.columns.push_back(c.text);
  }
}

void Lowerer::lowerStatement(std::size_t stmtIndex) {
  const ast::Stmt &stmt = program_.stmts[stmtIndex];
  Global *global = stmtGlobal_[stmtIndex] ? &globals_[*stmtGlobal_[stmtIndex]] : nullptr;
  if (global && global->status != GlobalStatus::Pending) return;  // a cycle, already reported
  const bool named = global != nullptr;
  switch (stmt.kind) {
  case ast::StmtKind::Param:
    if (named) lowerParam(stmt, *global);
    return;
  case ast::StmtKind::Input:
    if (named) lowerInput(stmt, *global);
    return;
  case ast::StmtKind::Function:
    if (named && !options_.declarationsOnly) lowerFunction(stmtIndex, *global);
    return;
  case ast::StmtKind::Const:
  case ast::StmtKind::Define:
  case ast::StmtKind::Report: {
    if (!named) return;  // a duplicate or reserved name, already reported
    if (options_.declarationsOnly && stmt.kind != ast::StmtKind::Const) {
      if (stmt.kind == ast::StmtKind::Report) {
        global->status = GlobalStatus::Done;
        global->value = std::make_shared<const Value>(Value{Shape{}, {NodeId{}}});
      }
      return;
    }
    std::optional<Value> v =
        stmt.kind == ast::StmtKind::Const
            ? lowerConstant(stmt.body, "the value of const '" + stmt.name.text + "'")
            : lowerExpr(stmt.body, ExprScope{});
    bool good = v.has_value();
    if (good && stmt.kind == ast::StmtKind::Report && !v->shape.isScalar()) {
      error(program_[stmt.body].range, "report '" + stmt.name.text +
                                           "' must be a scalar, but has shape " + toString(v->shape));
      good = false;
    }
    global->status = good ? GlobalStatus::Done : GlobalStatus::Failed;
    if (good) global->value = std::make_shared<const Value>(std::move(*v));
    return;
  }
  case ast::StmtKind::Minimize:
  case ast::StmtKind::Maximize: {
    if (options_.declarationsOnly) {
      if (objectiveStmt_ == stmtIndex)
        out_.objective = ObjectiveEntry{stmt.kind == ast::StmtKind::Maximize, NodeId{}, stmt.range};
      return;
    }
    std::optional<Value> v = lowerExpr(stmt.body, ExprScope{});
    if (!v) return;
    if (!v->shape.isScalar()) {
      error(program_[stmt.body].range,
            "the objective must be a scalar, but has shape " + toString(v->shape));
      return;
    }
    if (objectiveStmt_ == stmtIndex)
      out_.objective = ObjectiveEntry{stmt.kind == ast::StmtKind::Maximize, v->elems[0], stmt.range};
    return;
  }
  case ast::StmtKind::Bare: {
    // A rejected one (already reported), or left out.
    if (bareStmt_ != stmtIndex || options_.declarationsOnly) return;
    const NamedGroups freeVars(bareVars_);
    ExprScope scope;
    scope.freeVars = &freeVars;
    std::optional<Value> v = lowerExpr(stmt.body, scope);
    if (v) out_.bare = FunctionEntry{"", bareVars_, std::move(*v), stmt.range};
    return;
  }
  }
}

LoweredProgram Lowerer::run() {
  registerNames();
  const auto &stmts = program_.stmts;
  if (bareStmt_ && options_.bareFreeVariables && stmts[*bareStmt_].body != ast::kNoExpr) {
    // Free variables in order of first appearance: leaves in post-order are left to right. The
    // names of the program's declarations are not free.
    std::unordered_set<std::string_view> seen;  // views of the AST's names
    for (ast::ExprId id : subtree({stmts[*bareStmt_].body})) {
      const ast::Expr &e = program_[id];
      if (e.kind != ast::ExprKind::Name || findBuiltin(e.name) || isKeyword(e.name) ||
          globalIndex_.count(e.name))
        continue;
      if (seen.insert(e.name).second) bareVars_.push_back(makeVarGroup(e.name, Shape{}, e.range));
    }
  }
  for (std::size_t i : loweringOrder()) {
    if (stopped()) break;
    try {
      lowerStatement(i);
      // Declarations add Var nodes without passing through lowerExpr's check.
      if (overBudget()) reportNodeLimit(stmts[i].range);
    } catch (const std::exception &e) {
      // A bug of ours, or memory exhausted: say where, never crash.
      error(stmts[i].range, std::string("internal error while lowering this statement: ") + e.what());
      if (stmtGlobal_[i]) globals_[*stmtGlobal_[i]].status = GlobalStatus::Failed;
    }
  }
  // Named results in declaration order, whatever order they were lowered in.
  for (const Global &g : globals_) {
    if (g.status != GlobalStatus::Done) continue;
    const ast::Stmt &stmt = stmts[g.stmt];
    switch (g.kind) {
    case GlobalKind::Const: out_.consts.push_back({stmt.name.text, *g.value, stmt.range}); break;
    case GlobalKind::Define: out_.definitions.push_back({stmt.name.text, *g.value, stmt.range}); break;
    case GlobalKind::Report: out_.reports.push_back({stmt.name.text, *g.value, stmt.range}); break;
    case GlobalKind::Function: out_.functions.push_back(functions_[g.index].entry); break;
    case GlobalKind::Param:
    case GlobalKind::Input: break;
    }
  }
  return std::move(out_);
}

}  // namespace sema

std::optional<LoweredProgram> lowerProgram(const ast::Program &program, DiagnosticSink &sink,
                                           const LowerOptions &options) {
  // Statements are lowered in dependency order; collecting the diagnostics apart and sorting them
  // by position shows them in source order all the same.
  DiagnosticSink local(sink.buffer(), 100);
  LoweredProgram lowered;
  if (program.stmts.empty()) {
    // An empty file is almost always the wrong file; say so rather than compile nothing.
    sink.error(SourceRange::point(0), "empty program: no statements");
    return std::nullopt;
  }
  try {
    lowered = sema::Lowerer(program, local, options).run();
  } catch (const std::exception &e) {
    local.error(SourceRange{}, std::string("internal error in semantic analysis: ") + e.what());
  }
  std::vector<Diagnostic> diagnostics = local.diagnostics();
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic &a, const Diagnostic &b) {
    return a.range.valid() && (!b.range.valid() || a.range.begin < b.range.begin);
  });
  for (Diagnostic &d : diagnostics) {
    if (sink.full()) break;
    Diagnostic &copy = d.severity == Severity::Warning ? sink.warning(d.range, std::move(d.message))
                                                       : sink.error(d.range, std::move(d.message));
    copy.notes = std::move(d.notes);
    copy.limit = d.limit;
  }
  if (local.hasErrors()) return std::nullopt;
  return lowered;
}

}  // namespace nabla
