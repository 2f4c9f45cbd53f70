// Stage 1: text -> AST with source ranges. The only user of grammar/ (Boost stays behind this header).
#pragma once

#include "parse/ast.h"
#include "source/source.h"

#include <cstddef>
#include <optional>

namespace nabla {

/// Limits that keep hostile input from exhausting memory or the stack. Each has a CLI flag.
struct ParseLimits {
  std::size_t maxSourceBytes = std::size_t{16} << 20;  // --max-source-bytes
  unsigned maxNesting = 256;                            // --max-nesting: brackets and parentheses
};

struct ParseOptions {
  /// Accept a bare expression as a statement (`nabla eval 'x^2 + y'`). Files do not allow it.
  bool allowBareExpression = false;
  ParseLimits limits;
};

/// Parses a whole buffer. Reports every error it can find (it recovers at the next statement) and
/// returns nothing if there was any.
std::optional<ast::Program> parseProgram(const SourceBuffer &buffer, DiagnosticSink &sink,
                                         const ParseOptions &options = {});

}  // namespace nabla
