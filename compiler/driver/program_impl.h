// The inside of driver::Program, shared by the driver's own files (never included elsewhere).
#pragma once

#include "driver/driver.h"
#include "jit/aot.h"

#include <optional>
#include <string>
#include <string_view>

namespace nabla::driver {

struct Program::Impl {
  Options options;
  CompileOptions compile;  // options, as the stages take them
  std::shared_ptr<const SourceBuffer> buffer;
  std::vector<Diagnostic> warnings;
  LoweredProgram lowered;
  std::shared_ptr<const ast::Program> ast;  // the syntax tree, for the array level
  bool deferred = false;                    // declarations only (Options::deferBodies)
};

/// The objective of `program` at the array level for a library (array::librarySource), with its
/// Hessian-vector product where `hvp` asks for it and the forward mode covers every node, or the
/// reason the array level does not take it (`*whyNot`).
std::optional<jit::AotArrayObjective> arrayLibraryObjective(const Program &program, bool hvp,
                                                            std::string *whyNot);

/// The pairs of coupled variables a Hessian's sparsity pattern may meet under the program's
/// limits (8 per node of --max-nodes), and the error past `maxPairs` of them for the entry
/// `name`, which names --max-nodes and, where given, `alternative` ("use newton-cg, ...").
std::size_t maxPatternPairs(const Program &program);
Error patternLimit(const std::string &name, std::size_t maxPairs, std::string_view alternative = {});

/// The stages' options for `options` (a bare expression allowed or not).
CompileOptions compileOptionsOf(const Options &options, bool allowBare);

/// The error of a job stopped by Options::cancel (a stage threw Cancelled).
inline Error interruptedError() { return Error(ErrorKind::Interrupted, "interrupted"); }

}  // namespace nabla::driver
