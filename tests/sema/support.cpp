#include "sema/support.h"

#include "parse/parse.h"

#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>

namespace nabla::test {

std::optional<ast::Program> parseForTest(const SourceBuffer &buffer, DiagnosticSink &sink, bool bare) {
  ParseOptions options;
  options.allowBareExpression = bare;
  return parseProgram(buffer, sink, options);
}

Lowered lower(const std::string &text, const LowerOptions &options, bool bare) {
  Lowered out;
  out.buffer = std::make_unique<SourceBuffer>("test.nabla", text);
  out.sink = std::make_unique<DiagnosticSink>(*out.buffer);
  std::optional<ast::Program> program = parseForTest(*out.buffer, *out.sink, bare);
  if (!program) {
    INFO(out.rendered());
    FAIL("the test program does not parse");
  }
  out.program = lowerProgram(*program, *out.sink, options);
  return out;
}

std::string Lowered::at(SourceRange range) const {
  auto [line, col] = buffer->lineColumn(range.begin);
  return std::to_string(line) + ":" + std::to_string(col);
}

std::string Lowered::firstError() const {
  for (const Diagnostic &d : sink->diagnostics())
    if (d.severity == Severity::Error) return at(d.range) + ": " + d.message;
  return "";
}

std::vector<std::string> Lowered::errors() const {
  std::vector<std::string> out;
  for (const Diagnostic &d : sink->diagnostics())
    if (d.severity == Severity::Error) out.push_back(d.message);
  return out;
}

const NamedValue &definition(const LoweredProgram &p, const std::string &name) {
  for (const NamedValue &d : p.definitions)
    if (d.name == name) return d;
  for (const NamedValue &d : p.reports)
    if (d.name == name) return d;
  throw std::runtime_error("no definition named " + name);
}

const FunctionEntry &function(const LoweredProgram &p, const std::string &name) {
  for (const FunctionEntry &f : p.functions)
    if (f.name == name) return f;
  throw std::runtime_error("no function named " + name);
}

std::vector<double> eval(const LoweredProgram &p, const std::vector<NodeId> &roots,
                         const std::map<std::string, double> &values) {
  std::vector<double> symbols(p.graph.symbolCount(), std::numeric_limits<double>::quiet_NaN());
  for (std::size_t s = 0; s < symbols.size(); ++s) {
    auto found = values.find(p.graph.symbolName(static_cast<SymbolId>(s)));
    if (found != values.end()) symbols[s] = found->second;
  }
  return evaluate(p.graph, roots, symbols);
}

double eval1(const LoweredProgram &p, NodeId root, const std::map<std::string, double> &values) {
  return eval(p, {root}, values).at(0);
}

std::vector<double> evalDef(const LoweredProgram &p, const std::string &name,
                            const std::map<std::string, double> &values) {
  return eval(p, definition(p, name).value.elems, values);
}

}  // namespace nabla::test
