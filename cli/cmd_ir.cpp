// `nabla ir`: the optimized LLVM IR (or the host's assembly) of one entry point, as the JIT
// compiles it.
#include "cli_common.h"

#include "jit/aot.h"

#include <cstdio>

namespace nabla::cli {

int runIr(Invocation &inv) {
  std::optional<LoweredProgram> program = loadAndCompile(inv);
  if (!program)
    return kExitInput;
  Graph &graph = program->graph;
  int code = kExitOk;
  std::optional<Entry> entry = selectEntry(inv, *program, code);
  if (!entry)
    return code;

  // The arguments: a function's own, or the objective's params and then its inputs.
  std::vector<SymbolId> args;
  for (NodeId v : entry->vars)
    args.push_back(graph[v].symbol);
  if (entry->objective)
    for (const InputDecl &in : program->inputs)
      args.insert(args.end(), in.vars.symbols.begin(), in.vars.symbols.end());

  Derivatives d;
  d.value = entry->value;
  if (inv.grad)
    d = differentiate(graph, entry->value, entry->vars, false, inv.compile);
  else if (inv.compile.simplify)
    d.value = simplify(graph, {entry->value}, inv.compile.simplifyOptions).front();

  jit::AotOptions options;
  options.optLevel = static_cast<jit::OptLevel>(inv.optLevel);
  options.emit.fastMath = inv.fastMath;
  std::string text;
  try {
    text = jit::entryPointCode(graph, entry->name, args, d, inv.grad, inv.assembly, options);
  } catch (const codegen::CodegenError &e) {
    return inputError(inv, "cannot compile '" + entry->name + "': " + e.what());
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace nabla::cli
