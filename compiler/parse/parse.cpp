#include "parse/parse.h"
// Placeholder until the grammar lands.
namespace nabla {
std::optional<ast::Program> parseProgram(const SourceBuffer &buffer, DiagnosticSink &sink,
                                         const ParseOptions &) {
  sink.error(SourceRange::point(0), "parser not implemented yet");
  return std::nullopt;
}
}  // namespace nabla
