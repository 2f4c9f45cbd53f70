// Helpers for the JIT tests: distances in ulps, compiling a bare expression the way the
// acceptance tests do (compileSource, then differentiate), and random data for batches.
#pragma once

#include "graph/interp.h"
#include "jit/compiled_function.h"
#include "pipeline.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace nabla::jittest {

/// Distance in units in the last place: the number of doubles strictly between a and b, plus one
/// (0 when equal; ±0 are 0 apart). Two NaNs are 0 apart; a NaN and a number are infinitely far.
inline std::uint64_t ulpDistance(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b) ? 0 : std::numeric_limits<std::uint64_t>::max();
  // Map the bit patterns onto a line where adjacent doubles are adjacent integers.
  auto ordered = [](double x) {
    auto bits = std::bit_cast<std::int64_t>(x);
    return bits < 0 ? std::numeric_limits<std::int64_t>::min() - bits : bits;
  };
  std::int64_t ia = ordered(a), ib = ordered(b);
  return ia > ib ? static_cast<std::uint64_t>(ia) - static_cast<std::uint64_t>(ib)
                 : static_cast<std::uint64_t>(ib) - static_cast<std::uint64_t>(ia);
}

/// The same bit pattern, or both NaN (NaN payloads are not part of nabla's arithmetic).
inline bool sameDouble(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

inline const double kInf = std::numeric_limits<double>::infinity();
inline const double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The points every op is checked at: ±0, ±1, ordinary values, subnormals, the overflow edges of
/// exp, huge values, ±inf and NaN of both signs.
inline const std::vector<double> kSpecialPoints = {
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -3.25, 0.7853981633974483, 1e-310, -4.9e-324,
    709.8, -745.2, 40.0, -40.0, 1e300, -1e300, kInf, -kInf, kNaN, -kNaN,
    3.0, 4.0, -1.7e-108, 6e102, -1e77};  // exponents and bases of power()'s cubes and fourth powers

/// A double with every digit that matters, for messages.
inline std::string show(double x) {
  std::ostringstream s;
  s.precision(17);
  s << x;
  return s.str();
}

/// A bare expression lowered and differentiated over `vars` (by name; a name the expression does
/// not mention becomes a fresh symbol).
struct Differentiated {
  LoweredProgram program;
  std::vector<SymbolId> args;
  Derivatives d;
};

inline std::optional<Differentiated> differentiateText(const std::string &text,
                                                       const std::vector<std::string> &vars,
                                                       bool withHessian, bool simplifyOn,
                                                       std::string *diagnostics = nullptr) {
  CompileOptions options;
  options.parse.allowBareExpression = true;
  options.simplify = simplifyOn;
  options.lower.simplifyDerivatives = simplifyOn;
  SourceBuffer buffer("<expr>", text);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
  if (diagnostics) *diagnostics = renderDiagnostics(sink);
  if (!program || !program->bare || program->bare->result.elems.size() != 1) return std::nullopt;
  Differentiated out{std::move(*program), {}, {}};
  Graph &graph = out.program.graph;
  std::vector<NodeId> nodes;
  for (const std::string &name : vars) {
    NodeId node;
    for (const VarGroup &arg : out.program.bare->args)
      if (arg.name == name && arg.nodes.size() == 1) node = arg.nodes[0];
    if (!node.valid()) node = graph.variable(graph.addSymbol(name));
    nodes.push_back(node);
    out.args.push_back(graph[node].symbol);
  }
  out.d = differentiate(graph, out.program.bare->result.elems[0], nodes, withHessian, options);
  return out;
}

/// The roots value, gradient..., Hessian row-major, as the interpreter takes them.
inline std::vector<NodeId> allRoots(const Derivatives &d) {
  std::vector<NodeId> roots{d.value};
  roots.insert(roots.end(), d.grad.begin(), d.grad.end());
  for (const auto &row : d.hessian) roots.insert(roots.end(), row.begin(), row.end());
  return roots;
}

/// Columns of n rows of normally distributed data (seeded), and their pointers.
struct Data {
  std::vector<std::vector<double>> columns;
  std::vector<const double *> pointers;
  std::size_t rows = 0;
};
inline Data randomData(std::size_t inputs, std::size_t n, std::uint64_t seed, double scale = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, scale);
  Data d;
  d.rows = n;
  d.columns.assign(inputs, std::vector<double>(std::max<std::size_t>(n, 1)));
  for (auto &column : d.columns)
    for (double &v : column) v = normal(rng);
  for (auto &column : d.columns) d.pointers.push_back(column.data());
  return d;
}

/// A row-major table of `rows` rows of `stride` doubles (the inputs first, then filler), and an
/// index that picks n of them at random, repeats included.
struct Table {
  std::vector<double> cells;
  std::size_t stride = 0;
  std::vector<std::uint64_t> index;
};
inline Table randomTable(std::size_t inputs, std::size_t stride, std::size_t rows, std::size_t n,
                         std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  Table t;
  t.stride = stride;
  t.cells.resize(std::max<std::size_t>(rows * stride, 1));  // rows of no inputs: not null
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < stride; ++c)
      t.cells[r * stride + c] = c < inputs ? normal(rng) : std::numeric_limits<double>::quiet_NaN();
  std::uniform_int_distribution<std::uint64_t> pick(0, rows - 1);
  for (std::size_t k = 0; k < n; ++k) t.index.push_back(pick(rng));
  return t;
}

/// The picked rows copied into columns, as the column kernel takes them.
inline Data columnsOf(const Table &t, std::size_t inputs) {
  Data d;
  d.rows = t.index.size();
  d.columns.assign(inputs, std::vector<double>(std::max<std::size_t>(d.rows, 1)));
  for (std::size_t r = 0; r < d.rows; ++r)
    for (std::size_t c = 0; c < inputs; ++c) d.columns[c][r] = t.cells[t.index[r] * t.stride + c];
  for (auto &column : d.columns) d.pointers.push_back(column.data());
  return d;
}

}  // namespace nabla::jittest
