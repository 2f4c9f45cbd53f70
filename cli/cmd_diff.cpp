// `nabla diff`: the partial derivatives (and Hessian) of each function, printed as nabla text.
#include "cli_common.h"

#include "graph/print.h"

#include <llvm/Support/JSON.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla::cli {

namespace {

// The self-contained form of every derivative together may not exceed this (JSON has no
// temporaries; a DAG can stand for an exponentially larger tree).
constexpr std::uint64_t kMaxSelfContainedBytes = std::uint64_t{1} << 27;

struct Block {
  Entry entry;
  std::vector<NodeId> vars;
  std::vector<std::string> varNames;
  Derivatives d;
};

std::uint64_t addSat(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/// One block of `∂f/∂x = EXPR` lines, with a `where` list when naming shared subexpressions makes
/// the whole shorter.
void printText(const Graph &graph, const Block &b, bool hessian, llvm::raw_ostream &os) {
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
  printRoots(graph, labels, roots, os);
}

void printJsonBlock(const Graph &graph, const Block &b, bool hessian, llvm::json::OStream &j) {
  std::vector<NodeId> roots = b.d.grad;
  if (hessian)
    for (const auto &row : b.d.hessian)
      roots.insert(roots.end(), row.begin(), row.end());
  std::vector<std::string> exprs = printExprs(graph, roots);
  std::size_t k = 0;
  for (std::size_t i = 0; i < b.vars.size(); ++i)
    j.attribute(b.varNames[i], exprs[k++]);
  if (!hessian)
    return;
  j.attributeArray("hessian", [&] {
    for (std::size_t r = 0; r < b.vars.size(); ++r)
      j.array([&] {
        for (std::size_t c = 0; c < b.vars.size(); ++c)
          j.value(exprs[k++]);
      });
  });
}

}  // namespace

int runDiff(Invocation &inv) {
  std::optional<LoweredProgram> program = loadAndCompile(inv);
  if (!program)
    return kExitInput;
  Graph &graph = program->graph;

  int code = kExitOk;
  std::vector<Entry> entries;
  if (!inv.function.empty()) {
    std::optional<Entry> e = selectEntry(inv, *program, code);
    if (!e)
      return code;
    entries.push_back(std::move(*e));
  } else {
    entries = allEntries(inv, *program, true);
  }
  if (entries.empty())
    return inputError(
        inv, program->bare
                 ? "nothing to differentiate: the expression is not a scalar"
                 : "nothing to differentiate: the input has no scalar function and no objective");

  // --wrt: each entry takes the names it knows; a name no entry knows is an error.
  std::vector<Block> blocks;
  for (const Entry &e : entries) {
    Block b;
    b.entry = e;
    if (inv.wrt.empty()) {
      b.vars = e.vars;
    } else {
      std::vector<std::string> names;
      for (const std::string &n : inv.wrt)
        if (entries.size() == 1 || knowsVariable(graph, e, n))
          names.push_back(n);
      if (names.empty())
        continue;
      std::optional<std::vector<NodeId>> vars =
          resolveVars(inv, graph, e, names, false, "--wrt", code);
      if (!vars)
        return code;
      b.vars = std::move(*vars);
    }
    for (NodeId v : b.vars)
      b.varNames.push_back(graph.symbolName(graph[v].symbol));
    blocks.push_back(std::move(b));
  }
  for (const std::string &n : inv.wrt) {
    bool known = false;
    for (const Entry &e : entries)
      known = known || knowsVariable(graph, e, n);
    if (!known)
      return inputError(inv, "'" + n + "' in --wrt is not a variable of any function of the input");
  }

  for (Block &b : blocks) {
    if (b.vars.empty())
      note(inv, "'" + b.entry.name + "' has no variables to differentiate with respect to");
    b.d = differentiate(graph, b.entry.value, b.vars, inv.hessian, inv.compile);
  }

  llvm::raw_ostream &os = llvm::outs();
  if (!inv.json) {
    bool printed = false;
    for (const Block &b : blocks) {
      if (b.vars.empty())
        continue;
      if (printed)
        os << "\n";  // a blank line between functions
      printText(graph, b, inv.hessian, os);
      printed = true;
    }
    os.flush();
    return kExitOk;
  }

  std::uint64_t total = 0;
  for (const Block &b : blocks) {
    std::vector<NodeId> roots = b.d.grad;
    for (const auto &row : b.d.hessian)
      roots.insert(roots.end(), row.begin(), row.end());
    for (std::uint64_t len : printedLengths(graph, roots))
      total = addSat(total, len);
  }
  if (total > kMaxSelfContainedBytes)
    return inputError(
        inv, "the derivatives are too large to print as self-contained expressions (" +
                 (total == UINT64_MAX ? std::string("more than 2^64") : std::to_string(total)) +
                 " bytes); the text output names shared subexpressions instead");
  {
    llvm::json::OStream j(os);
    j.object([&] {
      if (program->bare) {
        printJsonBlock(graph, blocks.front(), inv.hessian, j);
        return;
      }
      for (const Block &b : blocks)
        j.attributeObject(b.entry.name, [&] { printJsonBlock(graph, b, inv.hessian, j); });
    });
  }
  os << "\n";
  os.flush();
  return kExitOk;
}

}  // namespace nabla::cli
