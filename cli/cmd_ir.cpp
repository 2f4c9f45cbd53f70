// `nabla ir`: the optimized LLVM IR (or the host's assembly) of one entry point, as the JIT
// compiles it.
#include "cli_common.h"

#include "jit/aot.h"

#include <cstdio>
#include <set>

namespace nabla::cli {

std::vector<SymbolId> entryArguments(const LoweredProgram &program, const Entry &entry) {
  const Graph &graph = program.graph;
  std::vector<SymbolId> args;
  std::set<SymbolId> seen;
  auto add = [&](SymbolId s) {
    if (seen.insert(s).second)
      args.push_back(s);
  };
  for (NodeId v : entry.vars)
    add(graph[v].symbol);
  if (entry.objective)
    for (const InputDecl &in : program.inputs)
      for (SymbolId s : in.vars.symbols)
        add(s);
  for (NodeId id : graph.reachable({entry.value}))
    if (graph[id].op == Op::Var)
      add(graph[id].symbol);
  return args;
}

std::optional<std::string> entryPointText(const Invocation &inv, LoweredProgram &program,
                                          const Entry &entry) {
  Graph &graph = program.graph;
  std::vector<SymbolId> args = entryArguments(program, entry);
  Derivatives d;
  d.value = entry.value;
  if (inv.grad)
    d = differentiate(graph, entry.value, entry.vars, false, inv.compile);
  else if (inv.compile.simplify)
    d.value = simplify(graph, {entry.value}, inv.compile.simplifyOptions).front();

  jit::AotOptions options;
  options.optLevel = static_cast<jit::OptLevel>(inv.optLevel);
  options.emit.fastMath = inv.fastMath;
  try {
    return jit::entryPointCode(graph, entry.name, args, d, inv.grad, inv.assembly, options);
  } catch (const codegen::CodegenError &e) {
    inputError(inv, "cannot compile '" + entry.name + "': " + e.what());
    return std::nullopt;
  }
}

int runIr(Invocation &inv) {
  std::optional<LoweredProgram> program = loadAndCompile(inv);
  if (!program)
    return kExitInput;
  int code = kExitOk;
  std::optional<Entry> entry = selectEntry(inv, *program, code);
  if (!entry)
    return code;
  std::optional<std::string> text = entryPointText(inv, *program, *entry);
  if (!text)
    return kExitInput;
  std::fwrite(text->data(), 1, text->size(), stdout);
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace nabla::cli
