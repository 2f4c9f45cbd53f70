// Derivatives as text: what `nabla diff` prints, for the CLI and the Python module alike.
#include "driver/driver.h"

#include <llvm/Support/JSON.h>
#include <llvm/Support/raw_ostream.h>

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

}  // namespace

std::string partialName(const std::string &f, const std::string &x) { return "∂" + f + "/∂" + x; }

std::string secondPartialName(const std::string &f, const std::string &x, const std::string &y) {
  if (x == y) return "∂²" + f + "/∂" + x + "²";
  return "∂²" + f + "/∂" + x + "∂" + y;
}

std::string diffText(Program &program, const DiffRequest &request,
                     std::vector<Message> &messages) {
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
    b.d = program.differentiate(b.entry, b.vars, request.hessian);
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
