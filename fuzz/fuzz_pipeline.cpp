// Fuzz target: text -> DAG -> derivatives -> interpreter. Every scalar entry of the program (the
// bare expression, each scalar function, the objective over its params) is differentiated with
// and without the simplifier, its Hessian too when it has few variables, and everything is
// evaluated by the interpreter at two points. The printer runs on the results.
//
// Properties: nothing throws but a LimitError; printed derivatives are nabla text that re-parses
// (or hits a limit) and evaluates to the same value as the DAG it came from, bit for bit (any NaN
// matching any NaN).
#include "fuzz_options.h"

#include "graph/interp.h"
#include "graph/print.h"

#include <bit>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace nabla;

struct Entry {
  NodeId value;
  std::vector<NodeId> vars;
};

std::vector<Entry> entriesOf(const LoweredProgram &p) {
  std::vector<Entry> out;
  auto addFunction = [&](const FunctionEntry &f) {
    if (!f.result.shape.isScalar() || f.result.elems.size() != 1) return;
    Entry e{f.result.elems[0], {}};
    for (const VarGroup &g : f.args) e.vars.insert(e.vars.end(), g.nodes.begin(), g.nodes.end());
    out.push_back(std::move(e));
  };
  if (p.bare) addFunction(*p.bare);
  for (const FunctionEntry &f : p.functions) addFunction(f);
  if (p.objective) {
    Entry e{p.objective->expr, {}};
    for (const ParamDecl &d : p.params)
      e.vars.insert(e.vars.end(), d.vars.nodes.begin(), d.vars.nodes.end());
    out.push_back(std::move(e));
  }
  return out;
}

bool sameValue(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

bool plainName(const std::string &s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

/// Re-parses `text` (printed from `root` of a DAG) as a bare expression and evaluates it with the
/// values of the symbols of the same names that `root` reads (two functions' arguments may share
/// a name and be different symbols: only those the text can name count). Returns false when the
/// text ran into a parser limit; the caller skips texts in which two symbols share a name.
bool evalPrinted(const std::string &text, const Graph &graph, NodeId root,
                 const std::vector<double> &values, double &result) {
  SourceBuffer buffer("<printed>", text);
  DiagnosticSink sink(buffer);
  CompileOptions options;  // the default limits: printed text may nest deeper than its source
  options.parse.allowBareExpression = true;
  std::optional<LoweredProgram> p = compileSource(buffer, sink, options);
  if (!p) {
    // The only acceptable failure of printed text is a limit of the parser.
    for (const Diagnostic &d : sink.diagnostics())
      if (d.severity == Severity::Error && d.message.find("nesting deeper than") != 0) {
        std::fprintf(stderr, "printed text does not compile: %s\n%s", text.c_str(),
                     renderDiagnostics(sink).c_str());
        NABLA_FUZZ_CHECK(!"printed text compiles");
      }
    return false;
  }
  NABLA_FUZZ_CHECK(p->bare.has_value() && p->bare->result.elems.size() == 1);
  std::map<std::string, double> byName;
  for (NodeId id : graph.reachable({root}))
    if (graph[id].op == Op::Var) byName[graph.symbolName(graph[id].symbol)] = values[graph[id].symbol];
  std::vector<double> at(p->graph.symbolCount(), 0.0);
  for (const VarGroup &g : p->bare->args) {
    auto it = byName.find(g.name);
    NABLA_FUZZ_CHECK(it != byName.end());  // the printer names only symbols of the graph
    at[g.symbols.at(0)] = it->second;
  }
  result = evaluate(p->graph, {p->bare->result.elems[0]}, at).at(0);
  return true;
}

void checkEntry(Graph &graph, const Entry &entry) {
  const bool withHessian = entry.vars.size() <= fuzz::kMaxHessianVars;
  CompileOptions simplified = fuzz::fuzzOptions(true);
  CompileOptions plain = simplified;
  plain.simplify = false;
  Derivatives s, u;
  try {
    s = differentiate(graph, entry.value, entry.vars, withHessian, simplified);
    u = differentiate(graph, entry.value, entry.vars, withHessian, plain);
  } catch (const LimitError &) {
    return;  // a clean error: the command line and the API report it
  }
  NABLA_FUZZ_CHECK(s.grad.size() == entry.vars.size() && u.grad.size() == entry.vars.size());
  NABLA_FUZZ_CHECK(s.hessian.size() == (withHessian ? entry.vars.size() : 0));
  std::vector<NodeId> roots{s.value, u.value};
  roots.insert(roots.end(), s.grad.begin(), s.grad.end());
  roots.insert(roots.end(), u.grad.begin(), u.grad.end());
  for (const auto &row : s.hessian) roots.insert(roots.end(), row.begin(), row.end());
  for (const auto &row : u.hessian) roots.insert(roots.end(), row.begin(), row.end());
  if (entry.vars.size() > fuzz::kMaxEvaluatedArgs || graph.size() > fuzz::kMaxNodes * 4)
    return;

  // Two points over every symbol of the graph (arguments and inputs alike).
  static const double kPoints[] = {0.5, -1.25, 2, 0.75, -0.5, 3, 1e-3, -2.5, 1, 0};
  constexpr std::size_t kCount = sizeof kPoints / sizeof kPoints[0];
  std::vector<std::vector<double>> points;
  for (std::size_t p = 0; p < 2; ++p) {
    std::vector<double> values(graph.symbolCount());
    for (SymbolId k = 0; k < values.size(); ++k) values[k] = kPoints[(k * 3 + p * 5) % kCount];
    points.push_back(std::move(values));
  }
  std::vector<std::vector<double>> results;
  for (const auto &values : points) results.push_back(evaluate(graph, roots, values));

  // Printing: the shared form and DOT always; each self-contained text, where small, re-parsed.
  PrintedSet shared = printShared(graph, roots);
  NABLA_FUZZ_CHECK(shared.exprs.size() == roots.size());
  std::string dot = printDot(graph, roots, std::vector<std::string>(roots.size(), "r"));
  NABLA_FUZZ_CHECK(dot.rfind("digraph", 0) == 0);
  bool plainSymbols = true;
  for (NodeId id : graph.reachable(roots))
    if (graph[id].op == Op::Var && !plainName(graph.symbolName(graph[id].symbol)))
      plainSymbols = false;
  if (!plainSymbols) return;
  std::vector<std::uint64_t> lengths = printedLengths(graph, roots);
  for (std::size_t r = 0; r < roots.size(); ++r) {
    if (lengths[r] > 4096) continue;
    const std::string text = printExpr(graph, roots[r]);
    NABLA_FUZZ_CHECK(text.size() == lengths[r]);
    // Two symbols of one name in one text cannot be told apart once printed.
    std::map<std::string, SymbolId> named;
    bool ambiguous = false;
    for (NodeId id : graph.reachable({roots[r]}))
      if (graph[id].op == Op::Var) {
        auto [it, fresh] = named.emplace(graph.symbolName(graph[id].symbol), graph[id].symbol);
        ambiguous = ambiguous || (!fresh && it->second != graph[id].symbol);
      }
    if (ambiguous) continue;
    for (std::size_t p = 0; p < points.size(); ++p) {
      double again = 0;
      if (!evalPrinted(text, graph, roots[r], points[p], again)) break;
      if (!sameValue(again, results[p][r]))
        std::fprintf(stderr, "printed %s gives %.17g, its DAG %.17g\n", text.c_str(), again,
                     results[p][r]);
      NABLA_FUZZ_CHECK(sameValue(again, results[p][r]));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string text = size ? std::string(reinterpret_cast<const char *>(data), size) : "";
  SourceBuffer buffer("<fuzz>", text);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> program = compileSource(buffer, sink, fuzz::fuzzOptions(true));
  if (!program) return 0;
  std::vector<Entry> entries = entriesOf(*program);
  if (entries.size() > 8) entries.resize(8);
  for (const Entry &e : entries) checkEntry(program->graph, e);
  return 0;
}
