// Helpers for the embedding API's tests: the interpreter's answer for a function of a program
// (an independent path through compiler/graph/interp.h), finite differences, and the paths of
// the built library and tools.
#pragma once

#include "graph/interp.h"
#include "jit/jit_test_util.h"  // ulpDistance
#include "pipeline.h"

#include <nabla/nabla.hpp>

#include <cmath>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace nabla::apitest {

using jittest::ulpDistance;

/// Value, gradient and Hessian of one scalar function (or of the objective, for fn == "") of a
/// program, by the interpreter, lowered and differentiated here without the API.
class Interpreted {
public:
  /// `text` as compile() reads it (a bare expression is the function `f`).
  Interpreted(const std::string &text, const std::string &fn) {
    CompileOptions options;
    options.parse.allowBareExpression = true;
    SourceBuffer buffer("<test>", text);
    DiagnosticSink sink(buffer);
    std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
    if (!program) throw std::runtime_error("does not compile: " + renderDiagnostics(sink));
    program_ = std::move(*program);
    Graph &graph = program_.graph;
    NodeId value;
    std::vector<NodeId> vars;
    auto addGroup = [&](const VarGroup &g) {
      vars.insert(vars.end(), g.nodes.begin(), g.nodes.end());
      args_.insert(args_.end(), g.symbols.begin(), g.symbols.end());
    };
    if (fn.empty()) {
      value = program_.objective->expr;
      for (const ParamDecl &p : program_.params) addGroup(p.vars);
      n_ = vars.size();
      for (const InputDecl &in : program_.inputs)
        args_.insert(args_.end(), in.vars.symbols.begin(), in.vars.symbols.end());
    } else {
      const FunctionEntry *entry = program_.bare ? &*program_.bare : nullptr;
      for (const FunctionEntry &f : program_.functions)
        if (f.name == fn) entry = &f;
      if (!entry) throw std::runtime_error("no function " + fn);
      value = entry->result.elems.at(0);
      for (const VarGroup &g : entry->args) addGroup(g);
      n_ = vars.size();
    }
    Derivatives d = differentiate(graph, value, vars, true, options);
    roots_ = jittest::allRoots(d);
  }

  /// value, gradient (n), Hessian (n x n, row-major) at `args` (params and then inputs for the
  /// objective).
  std::vector<double> at(std::span<const double> args) const {
    std::vector<double> symbols(program_.graph.symbolCount(), std::nan(""));
    for (std::size_t i = 0; i < args_.size(); ++i) symbols[args_.at(i)] = args[i];
    return evaluate(program_.graph, roots_, symbols);
  }
  std::size_t gradSize() const { return n_; }

private:
  LoweredProgram program_;
  std::vector<SymbolId> args_;
  std::vector<NodeId> roots_;
  std::size_t n_ = 0;
};

/// Central difference of `f` along coordinate i at x, with a step scaled to x[i].
inline double centralDifference(const std::function<double(std::span<const double>)> &f,
                                std::vector<double> x, std::size_t i) {
  const double h = 1e-5 * std::max(1.0, std::fabs(x[i]));
  const double x0 = x[i];
  x[i] = x0 + h;
  const double up = f(x);
  x[i] = x0 - h;
  const double down = f(x);
  return (up - down) / (2 * h);
}

/// |a - b| <= tol * max(1, |b|).
inline bool close(double a, double b, double tol) {
  return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b));
}

}  // namespace nabla::apitest
