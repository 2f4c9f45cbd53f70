// What the REPL builds on in sema: with LowerOptions::bareAmongStatements a bare expression may
// follow statements, sees their names, and its other names are its free variables, in order of
// first appearance. Without the option it must stay alone.
#include "graph/interp.h"
#include "pipeline.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

struct Compiled {
  std::optional<nabla::LoweredProgram> program;
  std::vector<nabla::Diagnostic> diagnostics;
};

Compiled compile(const std::string &text, bool among) {
  nabla::SourceBuffer buffer("<test>", text);
  nabla::DiagnosticSink sink(buffer);
  nabla::CompileOptions options;
  options.parse.allowBareExpression = true;
  options.lower.bareAmongStatements = among;
  Compiled c;
  c.program = nabla::compileSource(buffer, sink, options);
  c.diagnostics = sink.diagnostics();
  return c;
}

std::vector<std::string> argNames(const nabla::LoweredProgram &p) {
  std::vector<std::string> names;
  for (const nabla::VarGroup &g : p.bare->args)
    names.push_back(g.name);
  return names;
}

}  // namespace

TEST_CASE("a bare expression after statements sees their names; the others are free", "[repl]") {
  Compiled c = compile("const k = 3\nsq(t) = t*t\nparam w = 2\nsq(y) + k*x + w + y", true);
  REQUIRE(c.program);
  REQUIRE(c.program->bare);
  CHECK(argNames(*c.program) == std::vector<std::string>{"y", "x"});
  // Its value at y = 2, x = 5, w = 2 (the param, a variable): 4 + 15 + 2 + 2.
  const nabla::Graph &g = c.program->graph;
  std::vector<double> values(g.symbolCount(), 0);
  for (nabla::SymbolId s = 0; s < g.symbolCount(); ++s) {
    if (g.symbolName(s) == "y") values[s] = 2;
    if (g.symbolName(s) == "x") values[s] = 5;
    if (g.symbolName(s) == "w") values[s] = 2;
  }
  CHECK(nabla::evaluate(g, c.program->bare->result.elems, values)[0] == 23);
}

TEST_CASE("a bare expression may use definitions that come after it", "[repl]") {
  Compiled c = compile("a*2\na = b + 1\nb = 4", true);
  REQUIRE(c.program);
  CHECK(c.program->bare->args.empty());
  const nabla::Graph &g = c.program->graph;
  CHECK(g[c.program->bare->result.elems[0]].op == nabla::Op::Const);
  CHECK(g[c.program->bare->result.elems[0]].value == 10);
}

TEST_CASE("grad in a bare expression among statements is with respect to its free names",
          "[repl]") {
  Compiled c = compile("param w = 1\ngrad(w*x^2)", true);
  REQUIRE(c.program);
  REQUIRE(c.program->bare->result.shape.dims == std::vector<std::uint32_t>{1});
}

TEST_CASE("without the option a bare expression must be alone, and there is only one", "[repl]") {
  Compiled alone = compile("a = 1\na + x", false);
  CHECK(!alone.program);
  REQUIRE(!alone.diagnostics.empty());
  CHECK(alone.diagnostics[0].message == "a bare expression must be the only statement");
  Compiled two = compile("a = 1\na + x\nx*2", true);
  CHECK(!two.program);
  REQUIRE(!two.diagnostics.empty());
  CHECK(two.diagnostics[0].message == "a program has at most one bare expression");
}

TEST_CASE("a name used as a value that is a function is still an error", "[repl]") {
  Compiled c = compile("f(t) = t\nf + 1", true);
  CHECK(!c.program);
  REQUIRE(!c.diagnostics.empty());
  CHECK(c.diagnostics[0].message == "'f' is a function, not a value");
}
