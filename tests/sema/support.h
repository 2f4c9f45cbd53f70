// Test support for sema: text -> AST -> LoweredProgram, and evaluation by symbol name.
#pragma once

#include "graph/interp.h"
#include "sema/sema.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nabla::test {

struct Lowered {
  std::unique_ptr<SourceBuffer> buffer;
  std::unique_ptr<DiagnosticSink> sink;
  std::optional<LoweredProgram> program;

  bool ok() const { return program.has_value(); }
  std::string rendered() const { return renderDiagnostics(*sink); }
  /// The first error as "line:col: message" (empty if none).
  std::string firstError() const;
  /// Every error message, in order.
  std::vector<std::string> errors() const;
  const Diagnostic &diagnostic(std::size_t i = 0) const { return sink->diagnostics().at(i); }
  /// "line:col" of a range's start.
  std::string at(SourceRange range) const;
};

/// Parses `text` with parseProgram and lowers it. `bare` allows a bare expression.
Lowered lower(const std::string &text, const LowerOptions &options = {}, bool bare = false);

/// Parses only; nothing if parsing failed.
std::optional<ast::Program> parseForTest(const SourceBuffer &buffer, DiagnosticSink &sink, bool bare);

const NamedValue &definition(const LoweredProgram &p, const std::string &name);
const FunctionEntry &function(const LoweredProgram &p, const std::string &name);

/// Evaluates nodes with symbols given by name (every symbol of that name); others are NaN.
std::vector<double> eval(const LoweredProgram &p, const std::vector<NodeId> &roots,
                         const std::map<std::string, double> &values = {});
double eval1(const LoweredProgram &p, NodeId root, const std::map<std::string, double> &values = {});
/// A definition's elements evaluated.
std::vector<double> evalDef(const LoweredProgram &p, const std::string &name,
                            const std::map<std::string, double> &values = {});

}  // namespace nabla::test
