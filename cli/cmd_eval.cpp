// `nabla eval`: value, gradient and Hessian of one function at a point, by compiled code (the
// JIT) or, with --interp, by the reference interpreter.
#include "cli_common.h"

#include <llvm/Support/JSON.h>
#include <llvm/Support/raw_ostream.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace nabla::cli {

namespace {

/// A JSON number, or the strings "nan", "inf", "-inf" that JSON needs instead.
void jsonNumber(llvm::json::OStream &j, double v) {
  if (std::isfinite(v))
    j.value(v);
  else
    j.value(formatNumber(v));
}

/// Prints the value (and derivatives) that `results` holds in the interpreter's layout.
int printResults(const Invocation &inv, const driver::Program &program, const driver::Entry &entry,
                 const std::vector<NodeId> &vars, const Derivatives &d,
                 const std::vector<double> &results) {
  const Graph &graph = program.graph();
  std::vector<std::string> names;
  for (NodeId v : vars)
    names.push_back(graph.symbolName(graph[v].symbol));
  const std::size_t n = vars.size();
  auto grad = [&](std::size_t i) { return results[1 + i]; };
  auto hess = [&](std::size_t i, std::size_t j) { return results[1 + d.grad.size() + i * n + j]; };

  llvm::raw_ostream &os = llvm::outs();
  if (!inv.json) {
    os << entry.name << " = " << formatNumber(results[0]) << "\n";
    if (inv.grad)
      for (std::size_t i = 0; i < n; ++i)
        os << partialName(entry.name, names[i]) << " = " << formatNumber(grad(i)) << "\n";
    if (inv.hessian)
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i; j < n; ++j)
          os << secondPartialName(entry.name, names[i], names[j]) << " = "
             << formatNumber(hess(i, j)) << "\n";
    os.flush();
    return kExitOk;
  }
  {
    llvm::json::OStream j(os);
    j.object([&] {
      j.attributeArray("vars", [&] {
        for (const std::string &name : names)
          j.value(name);
      });
      j.attributeBegin("value");
      jsonNumber(j, results[0]);
      j.attributeEnd();
      if (inv.grad) {
        j.attributeObject("grad", [&] {
          for (std::size_t i = 0; i < n; ++i) {
            j.attributeBegin(names[i]);
            jsonNumber(j, grad(i));
            j.attributeEnd();
          }
        });
      }
      if (inv.hessian) {
        j.attributeArray("hessian", [&] {
          for (std::size_t i = 0; i < n; ++i)
            j.array([&] {
              for (std::size_t k = 0; k < n; ++k)
                jsonNumber(j, hess(i, k));
            });
        });
      }
    });
  }
  os << "\n";
  os.flush();
  return kExitOk;
}


}  // namespace

int runEval(Invocation &inv) {
  return withEntry(inv, [&](driver::Program &program, const driver::Entry &entry) -> int {
    std::vector<NodeId> vars = entry.vars;
    if (!inv.vars.empty()) {
      driver::Variables chosen = program.resolveVariables(entry, inv.vars, "--vars");
      printMessages(inv, chosen.messages);
      vars = std::move(chosen.nodes);
    }
    const Graph &graph = program.graph();

    // Every variable needs a value: the arguments, and whatever else the function uses (an
    // objective's inputs). Checked before any derivative is built. The differentiated variables
    // come first: compiled code takes its arguments in this order.
    std::vector<SymbolId> required;
    std::set<SymbolId> seen;
    for (NodeId v : vars)
      if (seen.insert(graph[v].symbol).second)
        required.push_back(graph[v].symbol);
    for (SymbolId s : program.arguments(entry))
      if (seen.insert(s).second)
        required.push_back(s);

    std::map<std::string, double> at(inv.at.begin(), inv.at.end());
    std::vector<double> values(graph.symbolCount(), std::numeric_limits<double>::quiet_NaN());
    std::set<std::string> usedNames;
    for (SymbolId s : required) {
      const std::string &name = graph.symbolName(s);
      auto it = at.find(name);
      if (it == at.end())
        return inputError(inv, "no value for '" + name + "' (give it with --at " + name + "=...)");
      values[s] = it->second;
      usedNames.insert(name);
    }
    for (const auto &[name, v] : inv.at)
      if (!usedNames.count(name))
        warn(inv, "--at gives a value for '" + name + "', which is not a variable of " +
                      (entry.isObjective() ? std::string("the objective") : "'" + entry.name + "'"));

    const Derivatives d = inv.grad || inv.hessian ? program.differentiate(entry, vars, inv.hessian)
                                                  : program.value(entry);
    std::vector<NodeId> roots{d.value};
    roots.insert(roots.end(), d.grad.begin(), d.grad.end());
    for (const auto &row : d.hessian)
      roots.insert(roots.end(), row.begin(), row.end());
    std::vector<double> results;
    if (inv.interp) {
      results = driver::evaluate(program, roots, values);
    } else {
      // One evaluation per run: the first tier (nabla's baseline code, ready at once) is all it
      // needs; nothing is optimized in the background.
      driver::Jit jit({driver::JitOptions::Tier::FirstOnly});
      results = evaluateCompiled(jit, program, entry.name, required, d, values);
    }
    return printResults(inv, program, entry, vars, d, results);
  });
}

}  // namespace nabla::cli
