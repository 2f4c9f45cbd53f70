// `nabla compile`: a program's scalar functions and its objective, ahead of time, as a shared
// library with a C ABI (or its object, assembly or IR), and the C header that declares it.
#include "cli_common.h"

#include "jit/aot.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace nabla::cli {

namespace {

std::string baseName(const std::string &path) {
  std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// `seed` for libseed.so, libseed.so.1, seed.o, seed.s or seed.ll.
std::string moduleName(const std::string &output) {
  std::string name = baseName(output);
  if (std::size_t so = name.find(".so"); so != std::string::npos && so > 0)
    name = name.substr(0, so);
  else if (std::size_t dot = name.rfind('.'); dot != std::string::npos && dot > 0)
    name = name.substr(0, dot);
  if (name.size() > 3 && name.rfind("lib", 0) == 0) name = name.substr(3);
  return name.empty() ? "module" : name;
}

/// The words of $CC (`ccache gcc` is two), or `cc` when it is unset or blank.
jit::LinkOptions linkOptions() {
  jit::LinkOptions options;
  const char *cc = std::getenv("CC");
  std::vector<std::string> words;
  std::string word;
  for (const char *p = cc ? cc : ""; *p; ++p) {
    if (std::isspace(static_cast<unsigned char>(*p))) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += *p;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  if (!words.empty()) {
    options.driver = std::move(words);
    options.driverOrigin = "$CC";
  }
  return options;
}

std::string sourceText(const SourceBuffer &buffer, SourceRange range) {
  if (!range.valid() || range.end > buffer.text().size()) return {};
  return buffer.text().substr(range.begin, range.end - range.begin);
}

/// The first variable `value` reads that is not in `allowed`, if any.
std::optional<std::string> foreignVariable(const Graph &graph, NodeId value,
                                           const std::set<SymbolId> &allowed) {
  for (NodeId id : graph.reachable({value}))
    if (graph[id].op == Op::Var && !allowed.count(graph[id].symbol))
      return graph.symbolName(graph[id].symbol);
  return std::nullopt;
}

}  // namespace

int runCompile(Invocation &inv) {
  if (inv.output.empty())
    return usageError(inv, "missing -o FILE: the library to write (for example -o libmodel.so)");
  if (!inv.header.empty() && inv.header == inv.output)
    return usageError(inv, "--header and -o name the same file '" + inv.output + "'");
  std::optional<LoadedInput> input = loadInput(inv, true);
  if (!input)
    return kExitInput;
  std::optional<LoweredProgram> program = compileInput(inv, *input);
  if (!program)
    return kExitInput;
  Graph &graph = program->graph;
  const SourceBuffer &buffer = *input->buffer;
  const bool withHessian = !inv.noHessian;

  jit::AotModule module;
  module.graph = &graph;
  module.name = moduleName(inv.output);
  module.source = buffer.name();
  for (const FunctionEntry &fn : program->functions) {
    if (!fn.result.shape.isScalar() || fn.result.elems.size() != 1) {
      note(inv, "skipping '" + fn.name + "': its value has shape " + toString(fn.result.shape) +
                    ", and a library exports scalar functions only");
      continue;
    }
    std::set<SymbolId> allowed;
    std::vector<NodeId> vars;
    for (const VarGroup &g : fn.args) {
      allowed.insert(g.symbols.begin(), g.symbols.end());
      vars.insert(vars.end(), g.nodes.begin(), g.nodes.end());
    }
    if (std::optional<std::string> other = foreignVariable(graph, fn.result.elems[0], allowed)) {
      note(inv, "skipping '" + fn.name + "': it reads '" + *other +
                    "', which is not one of its arguments, so it cannot be called on its own");
      continue;
    }
    jit::AotFunction f;
    f.name = fn.name;
    f.args = fn.args;
    f.d = differentiate(graph, fn.result.elems[0], vars, withHessian, inv.compile);
    f.definition = sourceText(buffer, fn.range);
    // Diagnostics about the exported name point at the name (the definition starts with it).
    f.range = f.definition.rfind(fn.name, 0) == 0
                  ? SourceRange::of(fn.range.begin,
                                    fn.range.begin + static_cast<std::uint32_t>(fn.name.size()))
                  : fn.range;
    module.functions.push_back(std::move(f));
  }
  if (program->objective) {
    jit::AotObjective o;
    o.maximize = program->objective->maximize;
    o.params = program->params;
    o.inputs = program->inputs;
    std::vector<NodeId> vars;
    for (const ParamDecl &p : program->params)
      vars.insert(vars.end(), p.vars.nodes.begin(), p.vars.nodes.end());
    o.d = differentiate(graph, program->objective->expr, vars, withHessian, inv.compile);
    o.range = program->objective->range;
    o.definition = sourceText(buffer, o.range);
    module.objective = std::move(o);
  }
  if (module.functions.empty() && !module.objective)
    return inputError(inv,
                      "'" + buffer.name() +
                          "' has no scalar function and no objective: the library would be empty");

  // Names that cannot be C symbols, reported where their functions are defined.
  std::vector<jit::AotNameProblem> problems = jit::checkExportedNames(module);
  if (!problems.empty()) {
    DiagnosticSink sink(buffer);
    for (const jit::AotNameProblem &p : problems) {
      Diagnostic &d = sink.error(p.range, p.message);
      if (!p.otherNote.empty())
        d.notes.push_back({p.otherRange, p.otherNote});
    }
    std::fputs(renderDiagnostics(sink, inv.color).c_str(), stderr);
    return kExitInput;
  }

  jit::AotOptions options;
  options.optLevel = static_cast<jit::OptLevel>(inv.optLevel);
  options.emit.fastMath = inv.fastMath;
  std::string bytes;
  try {
    if (inv.emit == "asm")
      bytes = jit::emitAot(module, options, jit::AotEmitKind::Assembly);
    else if (inv.emit == "llvm-ir")
      bytes = jit::emitAot(module, options, jit::AotEmitKind::LlvmIr);
    else
      bytes = jit::emitAot(module, options, jit::AotEmitKind::Object);
    if (inv.emit.empty())
      bytes = jit::linkSharedLibrary(bytes, baseName(inv.output), linkOptions());
  } catch (const jit::AotError &e) {
    return inputError(inv, e.what());
  } catch (const codegen::CodegenError &e) {
    return inputError(inv, std::string("cannot compile '") + buffer.name() + "': " + e.what());
  }
  if (!writeFile(inv, inv.output, bytes))
    return kExitInput;
  if (!inv.header.empty() &&
      !writeFile(inv, inv.header,
                 jit::cHeader(module, baseName(inv.header), baseName(inv.output), options)))
    return kExitInput;
  return kExitOk;
}

}  // namespace nabla::cli
