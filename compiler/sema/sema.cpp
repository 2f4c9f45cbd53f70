#include "sema/sema.h"
// Placeholder until sema lands.
namespace nabla {
std::optional<LoweredProgram> lowerProgram(const ast::Program &, DiagnosticSink &sink,
                                           const LowerOptions &) {
  sink.error(SourceRange::point(0), "sema not implemented yet");
  return std::nullopt;
}
}  // namespace nabla
