// Derivatives as text: what `nabla diff` prints, for the CLI and the Python module alike; with
// `sparsity`, the Hessian's sparsity pattern instead (from the scalar level, or from the array level
// for the objective of a program loaded with its bodies deferred).
#include "array/sparsity.h"
#include "diff/sparsity.h"
#include "driver/driver.h"
#include "driver/program_impl.h"

#include <llvm/Support/JSON.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace nabla::driver {

namespace {

struct Block {
  Entry entry;
  std::vector<NodeId> vars;
  std::vector<std::string> varNames;
  Derivatives d;
};

/// One block of `∂f/∂x = EXPR` lines, with a `where` list when naming shared subexpressions makes
/// the whole shorter.
std::string printText(const Program &program, const Block &b, bool hessian) {
  std::vector<std::string> labels;
  std::vector<NodeId> roots;
  for (std::size_t i = 0; i < b.vars.size(); ++i) {
    labels.push_back(partialName(b.entry.name, b.varNames[i]));
    roots.push_back(b.d.grad[i]);
  }
  if (hessian) {
    for (std::size_t i = 0; i < b.vars.size(); ++i)
      for (std::size_t j = i; j < b.vars.size(); ++j) {
        labels.push_back(secondPartialName(b.entry.name, b.varNames[i], b.varNames[j]));
        roots.push_back(b.d.hessian[i][j]);
      }
  }
  return printRoots(program, labels, roots);
}

std::vector<NodeId> allRoots(const Block &b) {
  std::vector<NodeId> roots = b.d.grad;
  for (const auto &row : b.d.hessian) roots.insert(roots.end(), row.begin(), row.end());
  return roots;
}

void printJsonBlock(const Block &b, const std::vector<std::string> &exprs, bool hessian,
                    llvm::json::OStream &j) {
  std::size_t k = 0;
  for (std::size_t i = 0; i < b.vars.size(); ++i) j.attribute(b.varNames[i], exprs[k++]);
  if (!hessian) return;
  j.attributeArray("hessian", [&] {
    for (std::size_t r = 0; r < b.vars.size(); ++r)
      j.array([&] {
        for (std::size_t c = 0; c < b.vars.size(); ++c) j.value(exprs[k++]);
      });
  });
}

/// One entry's Hessian pattern, its variables named.
struct PatternBlock {
  std::string name;                // the entry's
  std::vector<std::string> vars;   // the rows' (and columns') names
  HessianPattern pattern;
};

/// Patterns of up to this many variables print as a picture, one row per variable; larger ones
/// as a summary and their first kPatternRows rows as lists of (at most kPatternColumns) columns.
constexpr std::size_t kPatternPicture = 40;
constexpr std::size_t kPatternRows = 10;
constexpr std::size_t kPatternColumns = 12;

/// The pairs of coupled variables a pattern may have: kPatternPairsPerNode per node of the limit
/// (--max-nodes), 32M by default (a few hundred MiB while the sweep holds them), which a dense
/// Hessian of 10^6 variables would far exceed. The sweep may meet kPatternWorkPerPair times
/// as many, counting repeats.
constexpr std::size_t kPatternPairsPerNode = 8;

/// `78%`, `0.12%`, `0.0003%`: two significant digits below 10%.
std::string percent(std::size_t part, std::size_t whole) {
  if (whole == 0) return "0%";
  const double p = 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  char buffer[64];
  if (p >= 10 || p == 0) std::snprintf(buffer, sizeof buffer, "%.0f%%", p);
  else std::snprintf(buffer, sizeof buffer, "%.2g%%", p);
  return buffer;
}

std::string printPattern(const PatternBlock &b) {
  const HessianPattern &p = b.pattern;
  const std::size_t n = p.n;
  std::string out = "∂²" + b.name + ": " + std::to_string(n) + " × " + std::to_string(n) + ", " +
                    std::to_string(p.nonzeros()) + (p.nonzeros() == 1 ? " nonzero" : " nonzeros") +
                    " (" + percent(p.nonzeros(), n * n) + ")";
  if (n > kPatternPicture) {
    std::size_t widest = 0;
    std::int64_t band = 0;  // the largest |i - j| of an entry
    for (std::size_t i = 0; i < n; ++i) {
      const auto r = p.row(i);
      widest = std::max(widest, r.size());
      const std::int64_t row = static_cast<std::int64_t>(i);
      if (!r.empty()) band = std::max({band, std::abs(row - r.front()), std::abs(r.back() - row)});
    }
    out += ", at most " + std::to_string(widest) + " in a row, bandwidth " + std::to_string(band);
  }
  out += "\n";
  std::size_t width = 0;
  for (std::size_t i = 0; i < std::min(n, n > kPatternPicture ? kPatternRows : n); ++i)
    width = std::max(width, b.vars[i].size());
  if (n <= kPatternPicture) {
    for (std::size_t i = 0; i < n; ++i) {
      out += "  " + b.vars[i] + std::string(width - b.vars[i].size(), ' ') + " ";
      for (std::size_t j = 0; j < n; ++j) out += p.contains(i, j) ? " x" : " .";
      out += "\n";
    }
    return out;
  }
  for (std::size_t i = 0; i < kPatternRows; ++i) {
    out += "  " + b.vars[i] + ":" + std::string(width - b.vars[i].size(), ' ');
    const auto r = p.row(i);
    for (std::size_t k = 0; k < std::min(r.size(), kPatternColumns); ++k)
      out += " " + b.vars[static_cast<std::size_t>(r[k])];
    if (r.size() > kPatternColumns) out += " ... " + std::to_string(r.size() - kPatternColumns) + " more";
    out += "\n";
  }
  out += "  ... " + std::to_string(n - kPatternRows) + " more rows\n";
  return out;
}

void printPatternJson(const PatternBlock &b, llvm::json::OStream &j) {
  j.attribute("n", static_cast<std::int64_t>(b.pattern.n));
  j.attribute("nonzeros", static_cast<std::int64_t>(b.pattern.nonzeros()));
  j.attributeArray("vars", [&] {
    for (const std::string &v : b.vars) j.value(v);
  });
  j.attributeArray("row_start", [&] {
    for (std::int64_t s : b.pattern.rowStart) j.value(s);
  });
  j.attributeArray("columns", [&] {
    for (std::int64_t c : b.pattern.columns) j.value(c);
  });
}

std::string patternText(const Program &program, const std::vector<PatternBlock> &blocks, bool json) {
  std::string out;
  if (!json) {
    for (const PatternBlock &b : blocks) {
      if (b.vars.empty()) continue;
      if (!out.empty()) out += "\n";
      out += printPattern(b);
    }
    return out;
  }
  llvm::raw_string_ostream os(out);
  {
    llvm::json::OStream j(os);
    j.object([&] {
      if (program.lowered().bare && !blocks.empty()) {
        printPatternJson(blocks.front(), j);
        return;
      }
      for (const PatternBlock &b : blocks)
        j.attributeObject(b.name, [&] { printPatternJson(b, j); });
    });
  }
  os << "\n";
  os.flush();
  return out;
}

/// The objective's pattern from the array level, with respect to every param element, for a
/// program whose bodies were deferred (never unrolled to scalars); nothing when the array level
/// cannot take it (`*whyNot`).
std::optional<PatternBlock> arrayPattern(const Program &program, std::string *whyNot) {
  const Program::Impl &p = program.impl();
  if (!p.ast || !p.lowered.objective) return std::nullopt;
  std::optional<array::Program> lowered =
      array::lowerArrays(*p.ast, p.lowered, p.options.limits.maxArray, whyNot);
  if (!lowered) return std::nullopt;
  PatternBlock b;
  b.name = program.objectiveName();
  for (const VariableInfo &v : program.params())
    b.vars.insert(b.vars.end(), v.elements.begin(), v.elements.end());
  try {
    b.pattern = array::hessianPattern(*lowered, maxPatternPairs(program));
  } catch (const std::length_error &) {
    throw patternLimit(b.name, maxPatternPairs(program));
  }
  return b;
}

}  // namespace

std::size_t maxPatternPairs(const Program &program) {
  const std::size_t nodes = program.options().limits.maxNodes;
  return nodes > SIZE_MAX / kPatternPairsPerNode ? SIZE_MAX : nodes * kPatternPairsPerNode;
}

Error patternLimit(const std::string &name, std::size_t maxPairs, std::string_view alternative) {
  std::string ways = "raise the limit with --max-nodes";
  if (!alternative.empty()) ways += ", or " + std::string(alternative);
  return Error(ErrorKind::Limit, "the Hessian's sparsity pattern of '" + name + "' has more than " +
                                     std::to_string(maxPairs) +
                                     " pairs of variables, or its sweep meets more than " +
                                     std::to_string(patternWork(maxPairs)) + " (" + ways + ")");
}

std::string partialName(const std::string &f, const std::string &x) { return "∂" + f + "/∂" + x; }

std::string secondPartialName(const std::string &f, const std::string &x, const std::string &y) {
  if (x == y) return "∂²" + f + "/∂" + x + "²";
  return "∂²" + f + "/∂" + x + "∂" + y;
}

std::string diffText(Program &program, const DiffRequest &request,
                     std::vector<Message> &messages) {
  if (program.deferred()) {
    // The array level takes the objective of a program whose bodies were left out at load
    // (a large model): its pattern without unrolling. Anything else needs the scalar level.
    const bool objectiveOnly =
        request.function.empty() ? !program.hasFunctions() : request.function == program.objectiveName();
    if (request.sparsity && objectiveOnly && request.wrt.empty()) {
      try {
        std::string why;
        if (std::optional<PatternBlock> b = arrayPattern(program, &why))
          return patternText(program, {std::move(*b)}, request.json);
      } catch (const std::bad_alloc &) {
        throw Error(ErrorKind::Limit, "the Hessian's sparsity pattern does not fit in memory");
      }
    }
    program.complete();
  }
  std::vector<Entry> entries;
  if (!request.function.empty()) {
    entries.push_back(program.entry(request.function));
  } else {
    const std::vector<Message> skipped = program.skippedEntries();
    messages.insert(messages.end(), skipped.begin(), skipped.end());
    entries = program.entries();
  }
  if (entries.empty())
    throw Error(ErrorKind::Semantic,
                program.lowered().bare
                    ? "nothing to differentiate: the expression is not a scalar"
                    : "nothing to differentiate: the input has no scalar function and no objective");

  // wrt: each entry takes the names it has; a name no entry has is differentiated as a variable
  // of each that the entry does not use (its derivatives are 0), with a warning.
  std::vector<Block> blocks;
  for (const Entry &e : entries) {
    Block b;
    b.entry = e;
    if (request.wrt.empty()) {
      b.vars = e.vars;
      for (NodeId v : b.vars)
        b.varNames.push_back(program.graph().symbolName(program.graph()[v].symbol));
    } else {
      std::vector<std::string> names;
      for (const std::string &n : request.wrt) {
        bool anyHasIt = false;
        for (const Entry &other : entries)
          anyHasIt = anyHasIt || program.hasVariable(other, n);
        if (entries.size() == 1 || program.hasVariable(e, n) || !anyHasIt) names.push_back(n);
      }
      if (names.empty()) continue;
      Variables vars = program.resolveVariables(e, names, request.wrtOption);
      messages.insert(messages.end(), vars.messages.begin(), vars.messages.end());
      b.vars = std::move(vars.nodes);
      b.varNames = std::move(vars.names);
    }
    blocks.push_back(std::move(b));
  }

  for (Block &b : blocks) {
    if (b.vars.empty())
      messages.push_back({Severity::Note, "'" + b.entry.name +
                                              "' has no variables to differentiate with respect to"});
    if (!request.sparsity) b.d = program.differentiate(b.entry, b.vars, request.hessian);
  }
  if (request.sparsity) {
    // The pattern of the function the Hessian would differentiate (simplified per the options),
    // without building the Hessian.
    std::vector<PatternBlock> patterns;
    for (const Block &b : blocks) {
      PatternBlock p;
      p.name = b.entry.name;
      p.vars = b.varNames;
      try {
        p.pattern = hessianPattern(program.graph(), program.value(b.entry).value, b.vars,
                                   maxPatternPairs(program));
      } catch (const std::length_error &) {
        throw patternLimit(b.entry.name, maxPatternPairs(program));
      } catch (const std::bad_alloc &) {
        throw Error(ErrorKind::Limit, "the Hessian's sparsity pattern of '" + b.entry.name +
                                          "' does not fit in memory");
      }
      patterns.push_back(std::move(p));
    }
    return patternText(program, patterns, request.json);
  }

  std::string out;
  if (!request.json) {
    for (const Block &b : blocks) {
      if (b.vars.empty()) continue;
      if (!out.empty()) out += "\n";  // a blank line between functions
      out += printText(program, b, request.hessian);
    }
    return out;
  }

  std::vector<NodeId> roots;
  for (const Block &b : blocks) {
    std::vector<NodeId> mine = allRoots(b);
    roots.insert(roots.end(), mine.begin(), mine.end());
  }
  std::vector<std::string> exprs;
  try {
    exprs = printExprs(program, roots, "the derivatives");
  } catch (const Error &e) {
    if (e.kind() != ErrorKind::Limit) throw;
    throw Error(ErrorKind::Limit,
                e.message() + "; the text output names shared subexpressions instead");
  }
  llvm::raw_string_ostream os(out);
  {
    llvm::json::OStream j(os);
    std::size_t at = 0;
    auto blockExprs = [&](const Block &b) {
      const std::size_t n = allRoots(b).size();
      std::vector<std::string> mine(exprs.begin() + static_cast<std::ptrdiff_t>(at),
                                    exprs.begin() + static_cast<std::ptrdiff_t>(at + n));
      at += n;
      return mine;
    };
    j.object([&] {
      if (program.lowered().bare) {
        printJsonBlock(blocks.front(), blockExprs(blocks.front()), request.hessian, j);
        return;
      }
      for (const Block &b : blocks) {
        std::vector<std::string> mine = blockExprs(b);
        j.attributeObject(b.entry.name, [&] { printJsonBlock(b, mine, request.hessian, j); });
      }
    });
  }
  os << "\n";
  os.flush();
  return out;
}

}  // namespace nabla::driver
