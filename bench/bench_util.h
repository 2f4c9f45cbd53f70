// What the benchmarks share: compiling nabla text into JIT functions the way a host program does
// (parse, lower, differentiate, simplify, generate code).
#pragma once

#include "jit/compiled_function.h"
#include "pipeline.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace nabla::bench {

inline LoweredProgram lowerText(const std::string &text, bool bare) {
  CompileOptions options;
  options.parse.allowBareExpression = bare;
  SourceBuffer buffer("<bench>", text);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
  if (!program) throw std::runtime_error(renderDiagnostics(sink));
  return std::move(*program);
}

/// The one function of `text` (`f(x, y) = ...`), value and gradient.
inline jit::CompiledFunction compileFunctionText(jit::Session &session, const std::string &text,
                                                 jit::FunctionOptions options) {
  LoweredProgram program = lowerText(text, false);
  if (program.functions.size() != 1) throw std::runtime_error("expected one function");
  const FunctionEntry &entry = program.functions[0];
  std::vector<NodeId> vars;
  for (const VarGroup &g : entry.args) vars.insert(vars.end(), g.nodes.begin(), g.nodes.end());
  Derivatives d = differentiate(program.graph, entry.result.elems[0], vars, false);
  return jit::compileFunction(session, program.graph, entry, d, options);
}

/// A bare expression (`x0 * sin(x1) + ...`), value and gradient over its free variables: what the
/// compile-latency benchmark times, text to callable.
inline jit::CompiledFunction compileExpressionText(jit::Session &session, const std::string &text,
                                                  const jit::FunctionOptions &options = {}) {
  LoweredProgram program = lowerText(text, true);
  const FunctionEntry &entry = *program.bare;
  std::vector<NodeId> vars;
  for (const VarGroup &g : entry.args) vars.insert(vars.end(), g.nodes.begin(), g.nodes.end());
  Derivatives d = differentiate(program.graph, entry.result.elems[0], vars, false);
  return jit::compileFunction(session, program.graph, entry, d, options);
}

/// The objective of a model file: arguments are its params then its inputs (declaration order,
/// arrays row-major), the gradient is over the params, with the batched kernel.
inline jit::CompiledFunction compileObjectiveText(jit::Session &session, const std::string &text) {
  LoweredProgram program = lowerText(text, false);
  if (!program.objective) throw std::runtime_error("the model has no objective");
  std::vector<SymbolId> args;
  std::vector<NodeId> params;
  for (const ParamDecl &p : program.params) {
    args.insert(args.end(), p.vars.symbols.begin(), p.vars.symbols.end());
    params.insert(params.end(), p.vars.nodes.begin(), p.vars.nodes.end());
  }
  for (const InputDecl &in : program.inputs)
    args.insert(args.end(), in.vars.symbols.begin(), in.vars.symbols.end());
  Derivatives d = differentiate(program.graph, program.objective->expr, params, false);
  jit::FunctionOptions options;
  options.batched = true;
  return jit::compileFunction(session, program.graph, "loss", args, d, options);
}

}  // namespace nabla::bench
