// User functions and derivatives. A function is lowered once, as a template over fresh Var nodes
// for its arguments; a call inlines it by substitution, rebuilding only the template nodes that
// depend on an argument. Because `d` inside a body differentiates the template wrt its own
// argument Vars, substitution gives the derivative at the actual arguments.
#include "sema/lowerer.h"

#include "diff/reverse.h"
#include "simplify/simplifier.h"

#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace nabla::sema {

void Lowerer::lowerFunction(std::size_t stmtIndex, Global &global) {
  const ast::Stmt &stmt = program_.stmts[stmtIndex];
  FunctionTemplate &fn = functions_[global.index];
  fn.entry.name = stmt.name.text;
  fn.entry.range = stmt.range;
  bool ok = true;
  std::unordered_map<std::string_view, std::size_t> first;  // argument name -> its index
  first.reserve(stmt.params.size());
  for (std::size_t i = 0; i < stmt.params.size(); ++i) {
    const ast::Name &p = stmt.params[i];
    if (!checkDeclaredName(p, "an argument name")) {
      ok = false;
      continue;
    }
    auto [earlier, isNew] = first.emplace(p.text, i);
    if (!isNew) {
      error(p.range, "duplicate argument '" + p.text + "'")
          .notes.push_back({stmt.params[earlier->second].range,
                            "'" + p.text + "' is first declared here"});
      ok = false;
      continue;
    }
    fn.entry.args.push_back(makeVarGroup(p.text, Shape{}, p.range));
    fn.argNodes.push_back(fn.entry.args.back().nodes[0]);
  }
  if (!ok) {
    global.status = GlobalStatus::Failed;
    return;
  }
  const NamedGroups args(fn.entry.args);
  ExprScope scope;
  scope.args = &args;
  scope.inFunction = true;
  std::optional<Value> result = lowerExpr(stmt.body, scope);
  if (!result) {
    global.status = GlobalStatus::Failed;
    return;
  }
  fn.entry.result = std::move(*result);

  // The nodes a call must rebuild: those that depend on an argument, found in one forward loop.
  std::unordered_set<std::uint32_t> dependent(fn.argNodes.size() * 2 + 16);
  for (NodeId a : fn.argNodes) dependent.insert(a.index);
  const Graph &g = out_.graph;
  for (NodeId n : g.reachable(fn.entry.result.elems)) {
    const Node &node = g[n];
    bool depends = dependent.count(n.index) > 0;
    for (NodeId a : node.args) depends = depends || (a.valid() && dependent.count(a.index) > 0);
    if (!depends) continue;
    dependent.insert(n.index);
    if (node.op != Op::Var) fn.dependent.push_back(n);
  }
  fn.ok = true;
  global.status = GlobalStatus::Done;
}

std::optional<Value> Lowerer::inlineCall(ast::ExprId id, const FunctionTemplate &fn,
                                         const std::vector<ValueRef> &args) {
  const ast::Expr &call = program_[id];
  std::vector<NodeId> actual;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!args[i]->shape.isScalar()) {
      error(program_[call.args[i]].range, "argument " + std::to_string(i + 1) + " of '" +
                                              fn.entry.name + "' must be a scalar, but has shape " +
                                              toString(args[i]->shape));
      return std::nullopt;
    }
    actual.push_back(args[i]->elems[0]);
  }
  if (actual == fn.argNodes) return fn.entry.result;

  Graph &g = out_.graph;
  std::unordered_map<std::uint32_t, NodeId> replaced(fn.dependent.size() * 2 + actual.size());
  for (std::size_t i = 0; i < actual.size(); ++i) replaced[fn.argNodes[i].index] = actual[i];
  auto lookup = [&](NodeId n) {
    if (!n.valid()) return n;
    auto found = replaced.find(n.index);
    return found == replaced.end() ? n : found->second;
  };
  for (NodeId n : fn.dependent) {
    const Node node = g[n];  // a copy: make() may grow the node vector
    replaced[n.index] = g.make(node.op, lookup(node.args[0]), lookup(node.args[1]),
                               lookup(node.args[2]));
    if (overBudget()) return std::nullopt;  // the caller reports the limit
  }
  Value v{fn.entry.result.shape, {}};
  v.elems.reserve(fn.entry.result.elems.size());
  for (NodeId e : fn.entry.result.elems) v.elems.push_back(lookup(e));
  return v;
}

std::vector<NodeId> Lowerer::simplifyDerivative(std::vector<NodeId> roots) {
  if (!options_.simplifyDerivatives || roots.empty()) return roots;
  return simplify(out_.graph, roots);
}

std::optional<Value> Lowerer::derivative(ast::ExprId id, const ExprScope &scope,
                                         const std::vector<ValueRef> &args) {
  const ast::Expr &call = program_[id];
  const Value &f = *args[0];
  if (!f.shape.isScalar()) {
    error(program_[call.args[0]].range,
          "d(e, v): e must be a scalar, but has shape " + toString(f.shape));
    return std::nullopt;
  }
  // v must name variables: a param, input, function argument or free variable, or an element or
  // row of one (`w[2]`).
  const ast::Expr &v = program_[call.args[1]];
  const ast::Expr *base = &v;
  while (base->kind == ast::ExprKind::Index && !base->args.empty()) base = &program_[base->args[0]];
  bool isVariable = false;
  if (base->kind == ast::ExprKind::Name) {
    const bool isArg = scope.args && scope.args->find(base->name) != nullptr;
    const Global *global = isArg ? nullptr : findGlobal(base->name);
    isVariable = isArg || (global && (global->kind == GlobalKind::Param ||
                                      global->kind == GlobalKind::Input));
    if (!isArg && !global && scope.freeVars)
      isVariable = scope.freeVars->find(base->name) != nullptr;
  }
  if (!isVariable) {
    error(v.range, "d(e, v): '" + sourceText(v.range) + "' is not a variable");
    return std::nullopt;
  }
  const Value &wrt = *args[1];
  return Value{wrt.shape, simplifiedGradient(f.elems[0], wrt.elems)};
}

std::vector<NodeId> Lowerer::simplifiedGradient(NodeId f, const std::vector<NodeId> &wrt) {
  auto key = std::make_pair(f, wrt);
  if (auto found = gradients_.find(key); found != gradients_.end()) return found->second;
  // The function as simplified: its stability rewrites then reach the derivative too.
  const NodeId body = simplifyDerivative({f}).front();
  std::vector<NodeId> grads = simplifyDerivative(gradient(out_.graph, body, wrt));
  gradients_.emplace(std::move(key), grads);
  return grads;
}

std::optional<Value> Lowerer::gradOrHessian(ast::ExprId id, const ExprScope &scope, const Value &f,
                                            bool wantHessian) {
  const ast::Expr &call = program_[id];
  const char *what = wantHessian ? "hessian(e)" : "grad(e)";
  if (!f.shape.isScalar()) {
    error(program_[call.args[0]].range,
          std::string(what) + ": e must be a scalar, but has shape " + toString(f.shape));
    return std::nullopt;
  }
  std::vector<NodeId> vars;
  const char *kind = "params";
  if (scope.inFunction) {
    kind = "function arguments";
    for (const VarGroup &a : scope.args->all())
      vars.insert(vars.end(), a.nodes.begin(), a.nodes.end());
  } else if (scope.freeVars) {
    kind = "variables";
    for (const VarGroup &a : scope.freeVars->all())
      vars.insert(vars.end(), a.nodes.begin(), a.nodes.end());
  } else {
    for (std::size_t gi : paramOrder_) {
      const Global &p = globals_[gi];
      if (p.status != GlobalStatus::Done) return std::nullopt;  // its error is reported
      vars.insert(vars.end(), p.value->elems.begin(), p.value->elems.end());
    }
  }
  if (vars.empty()) {
    error(call.range, std::string(what) + ": there are no " + kind + " to differentiate with respect to");
    return std::nullopt;
  }
  const std::size_t n = vars.size();
  if (!wantHessian) {
    if (!checkArraySize(n, call.range)) return std::nullopt;
    return Value{Shape{{static_cast<std::uint32_t>(n)}}, simplifiedGradient(f.elems[0], vars)};
  }
  const NodeId body = simplifyDerivative({f.elems[0]}).front();  // as in simplifiedGradient()
  if (!checkedProduct(n, n, options_.maxArrayElements)) {
    reportArrayLimit(call.range);
    return std::nullopt;
  }
  std::vector<NodeId> flat;
  flat.reserve(n * n);
  // Row by row the Hessian may grow the graph far past the limit: it stops as soon as it has.
  const std::size_t room =
      out_.graph.size() < options_.maxNodes ? options_.maxNodes - out_.graph.size() : 0;
  try {
    for (const auto &row : hessian(out_.graph, body, vars, room))
      flat.insert(flat.end(), row.begin(), row.end());
  } catch (const std::length_error &) {
    reportNodeLimit(call.range);
    return std::nullopt;
  }
  flat = simplifyDerivative(std::move(flat));
  return Value{Shape{{static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(n)}}, std::move(flat)};
}

}  // namespace nabla::sema
