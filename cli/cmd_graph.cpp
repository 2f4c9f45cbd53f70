// `nabla graph`: the DAG of a function (and its gradient) as Graphviz DOT, or its node counts.
#include "cli_common.h"

#include "support/output_file.h"

#include <llvm/Support/JSON.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/Program.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla::cli {

namespace {

/// Renders DOT text to `path` with Graphviz (`dot -T<format>`). Graphviz reads and writes files of
/// a private temporary folder (removed with what it holds, whatever happens); the picture then
/// replaces `path` whole, as every file nabla writes.
int runGraphviz(const Invocation &inv, const std::string &dotText, const std::string &format,
                const std::string &path) {
  llvm::ErrorOr<std::string> dot = llvm::sys::findProgramByName("dot");
  if (!dot)
    return inputError(inv, "cannot write '" + path +
                               "': Graphviz's 'dot' program was not found on PATH "
                               "(install graphviz, or write DOT with -o FILE.dot)");
  try {
    TempDir dir("nabla-graph");
    const std::string in = dir.file("graph.dot"), out = dir.file("graph." + format);
    writeFileAtomically(in, dotText);
    std::string formatArg = "-T" + format;
    llvm::StringRef args[] = {"dot", formatArg, in, "-o", out};
    std::string message;
    int status = llvm::sys::ExecuteAndWait(*dot, args, std::nullopt, {}, 0, 0, &message);
    if (status != 0)
      return inputError(inv, "Graphviz's 'dot' failed to write '" + path + "'" +
                                 (message.empty() ? std::string() : ": " + message));
    return writeFile(inv, path, readWholeFile(out)) ? kExitOk : kExitInput;
  } catch (const FileError &e) {
    return inputError(inv, e.what());
  }
}

}  // namespace

int runGraph(Invocation &inv) {
  if (inv.json && !inv.stats)
    return usageError(inv, "--json goes with --stats");
  return withEntry(inv, [&](driver::Program &program, const driver::Entry &entry) -> int {
    const Derivatives d = inv.grad || inv.stats ? program.differentiate(entry, false)
                                                : program.value(entry);
    std::vector<NodeId> roots{d.value};
    roots.insert(roots.end(), d.grad.begin(), d.grad.end());

    llvm::raw_ostream &os = llvm::outs();
    if (inv.stats) {
      std::size_t nodes = program.nodeCount({d.value});
      std::size_t gradNodes = program.nodeCount(roots);
      if (inv.json) {
        llvm::json::OStream j(os);
        j.object([&] {
          j.attribute("nodes", static_cast<std::int64_t>(nodes));
          j.attribute("grad_nodes", static_cast<std::int64_t>(gradNodes));
        });
        os << "\n";
      } else {
        os << "nodes: " << nodes << "\ngrad_nodes: " << gradNodes << "\n";
      }
      os.flush();
      if (inv.output.empty())
        return kExitOk;
    }

    std::vector<std::string> names{entry.name};
    if (inv.grad) {
      const Graph &graph = program.graph();
      for (NodeId v : entry.vars)
        names.push_back(partialName(entry.name, graph.symbolName(graph[v].symbol)));
    } else {
      roots.resize(1);
    }
    std::string dotText = driver::printDot(program, roots, names);
    if (inv.output.empty()) {
      os << dotText;
      os.flush();
      return kExitOk;
    }
    return writeDot(inv, dotText, inv.output);
  });
}

int writeDot(const Invocation &inv, const std::string &dotText, const std::string &path) {
  std::string ext = llvm::sys::path::extension(path).lower();
  if (ext == ".svg" || ext == ".png" || ext == ".pdf")
    return runGraphviz(inv, dotText, ext.substr(1), path);
  return writeFile(inv, path, dotText) ? kExitOk : kExitInput;
}

}  // namespace nabla::cli
