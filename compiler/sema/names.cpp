// Names and scopes: the one namespace of declarations, and the order definitions are lowered in.
// A definition may use names defined later in the file, so statements are lowered in dependency
// order; a cycle is an error ("recursive definition"). The search is an explicit-stack DFS: a chain
// of 10^5 definitions costs no call stack.
#include "sema/lowerer.h"

#include <algorithm>
#include <queue>
#include <string_view>
#include <unordered_set>

namespace nabla::sema {

namespace {

bool declaresName(ast::StmtKind kind) {
  switch (kind) {
  case ast::StmtKind::Param:
  case ast::StmtKind::Input:
  case ast::StmtKind::Const:
  case ast::StmtKind::Define:
  case ast::StmtKind::Function:
  case ast::StmtKind::Report:
    return true;
  case ast::StmtKind::Minimize:
  case ast::StmtKind::Maximize:
  case ast::StmtKind::Bare:
    return false;
  }
  return false;
}

GlobalKind globalKind(ast::StmtKind kind) {
  switch (kind) {
  case ast::StmtKind::Param: return GlobalKind::Param;
  case ast::StmtKind::Input: return GlobalKind::Input;
  case ast::StmtKind::Const: return GlobalKind::Const;
  case ast::StmtKind::Function: return GlobalKind::Function;
  case ast::StmtKind::Report: return GlobalKind::Report;
  case ast::StmtKind::Define:
  case ast::StmtKind::Minimize:
  case ast::StmtKind::Maximize:
  case ast::StmtKind::Bare:
    return GlobalKind::Define;
  }
  return GlobalKind::Define;
}

/// Every expression root of a statement: body, dims and initializer.
std::vector<ast::ExprId> stmtRoots(const ast::Stmt &stmt) {
  std::vector<ast::ExprId> roots;
  auto add = [&](ast::ExprId id) {
    if (id != ast::kNoExpr) roots.push_back(id);
  };
  add(stmt.body);
  for (auto d : stmt.dims) add(d);
  add(stmt.initValue);
  for (auto a : stmt.initArgs) add(a);
  return roots;
}

}  // namespace

std::vector<ast::ExprId> Lowerer::subtree(const std::vector<ast::ExprId> &roots) const {
  // Children have smaller ids than their parent, so popping the largest pending id visits every
  // node after all its ancestors; the reversed visit order is increasing.
  std::priority_queue<ast::ExprId> pending;
  for (ast::ExprId r : roots)
    if (r < program_.exprs.size()) pending.push(r);
  std::vector<ast::ExprId> ids;
  while (!pending.empty()) {
    ast::ExprId id = pending.top();
    pending.pop();
    if (!ids.empty() && ids.back() == id) continue;  // shared by two roots
    ids.push_back(id);
    for (ast::ExprId a : program_[id].args)
      if (a < id) pending.push(a);  // anything else would break post-order: ignore it
  }
  std::reverse(ids.begin(), ids.end());
  return ids;
}

bool Lowerer::checkDeclaredName(const ast::Name &name, std::string_view what) {
  if (findBuiltin(name.text)) {
    error(name.range, "'" + name.text + "' is a built-in function and cannot be used as " +
                          std::string(what));
    return false;
  }
  if (isKeyword(name.text)) {
    error(name.range, "'" + name.text + "' is a keyword and cannot be used as " + std::string(what));
    return false;
  }
  return true;
}

void Lowerer::registerNames() {
  const auto &stmts = program_.stmts;
  stmtGlobal_.assign(stmts.size(), std::nullopt);
  for (std::size_t i = 0; i < stmts.size(); ++i) {
    const ast::Stmt &stmt = stmts[i];
    if (stmt.kind == ast::StmtKind::Bare && stmts.size() > 1) {
      if (!options_.bareAmongStatements) {
        error(stmt.range, "a bare expression must be the only statement");
      } else if (bareStmt_) {
        error(stmt.range, "a program has at most one bare expression");
      } else {
        bareStmt_ = i;
      }
      continue;
    }
    if (stmt.kind == ast::StmtKind::Bare) {
      bareStmt_ = i;
      continue;
    }
    if (stmt.kind == ast::StmtKind::Minimize || stmt.kind == ast::StmtKind::Maximize) {
      if (objectiveStmt_) {
        error(stmt.range, "a program has at most one objective")
            .notes.push_back({stmts[*objectiveStmt_].range, "the first objective is here"});
      } else {
        objectiveStmt_ = i;
      }
      continue;
    }
    if (!declaresName(stmt.kind)) continue;
    if (!checkDeclaredName(stmt.name, "a name")) continue;
    auto found = globalIndex_.find(stmt.name.text);
    if (found != globalIndex_.end()) {
      const ast::Stmt &first = stmts[globals_[found->second].stmt];
      error(stmt.name.range, "redefinition of '" + stmt.name.text + "'")
          .notes.push_back({first.name.range, "'" + stmt.name.text + "' is first defined here"});
      continue;
    }
    Global global;
    global.kind = globalKind(stmt.kind);
    global.stmt = i;
    switch (global.kind) {
    case GlobalKind::Param:
      global.index = out_.params.size();
      out_.params.emplace_back();
      paramOrder_.push_back(globals_.size());
      break;
    case GlobalKind::Input:
      global.index = out_.inputs.size();
      out_.inputs.emplace_back();
      break;
    case GlobalKind::Function:
      global.index = functions_.size();
      functions_.emplace_back();
      break;
    default: break;
    }
    stmtGlobal_[i] = globals_.size();
    globalIndex_.emplace(stmt.name.text, globals_.size());
    globals_.push_back(std::move(global));
  }
}

std::vector<std::size_t> Lowerer::loweringOrder() {
  const auto &stmts = program_.stmts;
  struct Edge {
    std::size_t target;  // a statement
    SourceRange use;
  };
  std::vector<std::vector<Edge>> edges(stmts.size());
  for (std::size_t i = 0; i < stmts.size(); ++i) {
    const ast::Stmt &stmt = stmts[i];
    if (stmt.kind == ast::StmtKind::Bare && bareStmt_ != i) continue;  // a rejected one
    const bool inFunction = stmt.kind == ast::StmtKind::Function;
    // A function's arguments shadow globals of their names (looked up, not scanned: a function
    // may have 10^5 arguments).
    std::unordered_set<std::string_view> params;
    if (inFunction)
      for (const ast::Name &p : stmt.params) params.insert(p.text);
    auto shadowed = [&](const std::string &name) { return params.count(name) > 0; };
    for (ast::ExprId id : subtree(stmtRoots(stmt))) {
      const ast::Expr &e = program_[id];
      if (e.kind != ast::ExprKind::Name && e.kind != ast::ExprKind::Call) continue;
      const bool isCall = e.kind == ast::ExprKind::Call;
      if (isCall && !inFunction && (e.name == "grad" || e.name == "hessian")) {
        // grad/hessian outside a function differentiate wrt every param: they depend on all.
        for (std::size_t g : paramOrder_) edges[i].push_back({globals_[g].stmt, e.nameRange});
        continue;
      }
      if (shadowed(e.name)) continue;
      auto found = globalIndex_.find(e.name);
      if (found == globalIndex_.end()) continue;
      edges[i].push_back({globals_[found->second].stmt, isCall ? e.nameRange : e.range});
    }
  }

  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < stmts.size(); ++i)
    if (stmts[i].kind == ast::StmtKind::Param || stmts[i].kind == ast::StmtKind::Input)
      starts.push_back(i);
  for (std::size_t i = 0; i < stmts.size(); ++i) starts.push_back(i);

  enum : char { kNew, kActive, kDone };
  std::vector<char> state(stmts.size(), kNew);
  struct Frame {
    std::size_t stmt;
    std::size_t nextEdge = 0;
  };
  std::vector<Frame> stack;
  std::vector<std::size_t> order;
  for (std::size_t start : starts) {
    if (state[start] != kNew) continue;
    state[start] = kActive;
    stack.push_back({start});
    while (!stack.empty()) {
      Frame &top = stack.back();
      if (top.nextEdge == edges[top.stmt].size()) {
        state[top.stmt] = kDone;
        order.push_back(top.stmt);
        stack.pop_back();
        continue;
      }
      const Edge edge = edges[top.stmt][top.nextEdge++];
      if (state[edge.target] == kNew) {
        state[edge.target] = kActive;
        stack.push_back({edge.target});
        continue;
      }
      if (state[edge.target] == kDone) continue;
      // A cycle: the stack from the target up to here, closed by this edge.
      std::size_t from = stack.size();
      while (from > 0 && stack[from - 1].stmt != edge.target) --from;
      --from;
      Global &target = globals_[*stmtGlobal_[edge.target]];
      if (target.status == GlobalStatus::Failed) continue;  // this cycle was already reported
      std::string chain;
      for (std::size_t k = from; k < stack.size(); ++k)
        chain += stmts[stack[k].stmt].name.text + " -> ";
      chain += stmts[edge.target].name.text;
      const std::string &name = stmts[edge.target].name.text;
      std::string note = stack.size() - from == 1 ? "'" + name + "' refers to itself"
                                                  : "the cycle is " + chain;
      error(stmts[edge.target].name.range, "recursive definition of '" + name + "'")
          .notes.push_back({edge.use, note});
      for (std::size_t k = from; k < stack.size(); ++k)
        if (stmtGlobal_[stack[k].stmt]) globals_[*stmtGlobal_[stack[k].stmt]].status = GlobalStatus::Failed;
    }
  }
  return order;
}

const Global *Lowerer::findGlobal(std::string_view name) const {
  auto found = globalIndex_.find(std::string(name));
  return found == globalIndex_.end() ? nullptr : &globals_[found->second];
}

std::vector<std::string> Lowerer::valueNames(const ExprScope &scope) const {
  std::vector<std::string> names;
  if (scope.args)
    for (const VarGroup &a : scope.args->all()) names.push_back(a.name);
  for (const Global &g : globals_)
    if (g.kind != GlobalKind::Function) names.push_back(program_.stmts[g.stmt].name.text);
  return names;
}

std::vector<std::string> Lowerer::functionNames() const {
  std::vector<std::string> names = builtinNames();
  for (const Global &g : globals_)
    if (g.kind == GlobalKind::Function) names.push_back(program_.stmts[g.stmt].name.text);
  return names;
}

}  // namespace nabla::sema

