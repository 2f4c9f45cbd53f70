// `nabla diff`: the partial derivatives (and Hessian) of each function, printed as nabla text.
#include "cli_common.h"

#include <llvm/Support/JSON.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla::cli {

namespace {

struct Block {
  driver::Entry entry;
  std::vector<NodeId> vars;
  std::vector<std::string> varNames;
  Derivatives d;
};

/// One block of `∂f/∂x = EXPR` lines, with a `where` list when naming shared subexpressions makes
/// the whole shorter.
std::string printText(const driver::Program &program, const Block &b, bool hessian) {
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
  return driver::printRoots(program, labels, roots);
}

std::vector<NodeId> allRoots(const Block &b) {
  std::vector<NodeId> roots = b.d.grad;
  for (const auto &row : b.d.hessian)
    roots.insert(roots.end(), row.begin(), row.end());
  return roots;
}

void printJsonBlock(const Block &b, const std::vector<std::string> &exprs, bool hessian,
                    llvm::json::OStream &j) {
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
  int code = kExitOk;
  if (inv.matrix && (inv.hessian || inv.json || !inv.wrt.empty() || !inv.function.empty()))
    return usageError(inv, "--matrix prints the objective's gradient alone: it takes no --hessian, "
                           "--json, --wrt or --fn");
  // --matrix reads the syntax tree at the array level: the bodies are not unrolled to scalars
  // (a network's millions of elements), unless the array level gives up; then the full lowering
  // reports any error in them as always.
  Invocation load = inv;
  load.options.deferBodies = inv.matrix;
  std::optional<driver::Program> program = loadProgram(load, driver::ArgumentKind::ExpressionOrFile, code);
  if (!program)
    return code;
  if (inv.matrix) {
    if (!program->objective())
      return inputError(inv, "--matrix: '" + inv.input + "' has no objective");
    std::string why;
    std::optional<std::string> text = driver::printArrayGradient(*program, &why);
    if (!text) {
      try {
        program->complete();
      } catch (const driver::Error &e) {
        return reportError(inv, e);
      }
      return inputError(inv, "--matrix: the array level cannot take '" + inv.input + "': " + why);
    }
    llvm::outs() << *text;
    llvm::outs().flush();
    return kExitOk;
  }
  std::vector<driver::Entry> entries;
  if (!inv.function.empty()) {
    entries.push_back(program->entry(inv.function));
  } else {
    printMessages(inv, program->skippedEntries());
    entries = program->entries();
  }
  if (entries.empty())
    return inputError(
        inv, program->lowered().bare
                 ? "nothing to differentiate: the expression is not a scalar"
                 : "nothing to differentiate: the input has no scalar function and no objective");

  // --wrt: each entry takes the names it has; a name no entry has is differentiated as a
  // variable of each that the entry does not use (its derivatives are 0), with a warning.
  std::vector<Block> blocks;
  for (const driver::Entry &e : entries) {
    Block b;
    b.entry = e;
    if (inv.wrt.empty()) {
      b.vars = e.vars;
      for (NodeId v : b.vars)
        b.varNames.push_back(program->graph().symbolName(program->graph()[v].symbol));
    } else {
      std::vector<std::string> names;
      for (const std::string &n : inv.wrt) {
        bool anyHasIt = false;
        for (const driver::Entry &other : entries)
          anyHasIt = anyHasIt || program->hasVariable(other, n);
        if (entries.size() == 1 || program->hasVariable(e, n) || !anyHasIt)
          names.push_back(n);
      }
      if (names.empty())
        continue;
      driver::Variables vars = program->resolveVariables(e, names, "--wrt");
      printMessages(inv, vars.messages);
      b.vars = std::move(vars.nodes);
      b.varNames = std::move(vars.names);
    }
    blocks.push_back(std::move(b));
  }

  for (Block &b : blocks) {
    if (b.vars.empty())
      note(inv, "'" + b.entry.name + "' has no variables to differentiate with respect to");
    b.d = program->differentiate(b.entry, b.vars, inv.hessian);
  }

  llvm::raw_ostream &os = llvm::outs();
  if (!inv.json) {
    bool printed = false;
    for (const Block &b : blocks) {
      if (b.vars.empty())
        continue;
      if (printed)
        os << "\n";  // a blank line between functions
      os << printText(*program, b, inv.hessian);
      printed = true;
    }
    os.flush();
    return kExitOk;
  }

  std::vector<NodeId> roots;
  for (const Block &b : blocks) {
    std::vector<NodeId> mine = allRoots(b);
    roots.insert(roots.end(), mine.begin(), mine.end());
  }
  std::vector<std::string> exprs;
  try {
    exprs = driver::printExprs(*program, roots, "the derivatives");
  } catch (const driver::Error &e) {
    return inputError(inv, e.message() + "; the text output names shared subexpressions instead");
  }
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
      if (program->lowered().bare) {
        printJsonBlock(blocks.front(), blockExprs(blocks.front()), inv.hessian, j);
        return;
      }
      for (const Block &b : blocks) {
        std::vector<std::string> mine = blockExprs(b);
        j.attributeObject(b.entry.name, [&] { printJsonBlock(b, mine, inv.hessian, j); });
      }
    });
  }
  os << "\n";
  os.flush();
  return kExitOk;
}

}  // namespace nabla::cli
