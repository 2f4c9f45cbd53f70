// Parse errors as a user sees them: exact messages and positions (through renderDiagnostics),
// several errors in one run, the size and nesting limits, characters outside the language.
#include "parse_test_util.h"

#include <catch2/catch.hpp>

using namespace nabla;
using nabla::test::parseText;

namespace {

std::string render(const std::string &text, bool bare = false, ParseOptions options = {}) {
  auto p = parseText(text, bare, options);
  CHECK(!p.ok());
  return p.rendered();
}

std::vector<std::string> messages(const std::string &text, bool bare = false,
                                  ParseOptions options = {}) {
  auto p = parseText(text, bare, options);
  CHECK(!p.ok());
  std::vector<std::string> out;
  for (const Diagnostic &d : p.sink->diagnostics()) out.push_back(d.message);
  return out;
}

std::string firstMessage(const std::string &text, bool bare = true) {
  auto m = messages(text, bare);
  return m.empty() ? "" : m[0];
}

}  // namespace

TEST_CASE("exact messages with line and column", "[parse]") {
  CHECK(render("x y", true) == "input:1:3: error: expected an operator between 'x' and 'y'\n"
                               "x y\n"
                               "  ^\n");
  CHECK(render("a = 1\nb = 2x + 1\n") ==
        "input:2:6: error: expected an operator between '2' and 'x'\n"
        "b = 2x + 1\n"
        "     ^\n");
  CHECK(render("a = 1\nb = (a + 2\n") ==
        "input:2:11: error: unexpected end of input: expected ')' to close '('\n"
        "b = (a + 2\n"
        "          ^\n"
        "input:2:5: note: to match this '('\n"
        "b = (a + 2\n"
        "    ^\n");
  CHECK(render("loss = x +\n") == "input:1:11: error: expected expression after '+'\n"
                                  "loss = x +\n"
                                  "          ^\n");
  CHECK(
      render("c = 1e999\n") ==
      "input:1:5: error: number '1e999' is too large for a double (the largest is about 1.8e308)\n"
      "c = 1e999\n"
      "    ^~~~~\n");
  CHECK(render("p = sin(x y)\n") == "input:1:11: error: expected ',' or ')' in argument list\n"
                                    "p = sin(x y)\n"
                                    "          ^\n"
                                    "input:1:8: note: to match this '('\n"
                                    "p = sin(x y)\n"
                                    "       ^\n");
}

TEST_CASE("messages name their subject", "[parse]") {
  CHECK(firstMessage("sin x") == "expected an operator between 'sin' and 'x'");
  CHECK(firstMessage("1 000") == "expected an operator between '1' and '000'");
  CHECK(firstMessage("(x)(y)") == "unexpected '(' after expression");
  CHECK(firstMessage("1.2.3") == "malformed number '1.2.3'");
  CHECK(firstMessage("0x1F") == "malformed number '0x1F': hexadecimal literals are not supported");
  CHECK(firstMessage("1e5.5") == "malformed number '1e5.5'");
  CHECK(firstMessage("1e") == "malformed number '1e': expected digits in the exponent");
  CHECK(firstMessage(std::string(400, '9')).find("is too large for a double") != std::string::npos);
  CHECK(firstMessage("1e99999999999999999999") ==
        "number '1e99999999999999999999' is too large for a double (the largest is about 1.8e308)");
  CHECK(firstMessage("x $ y") == "unexpected character '$'");
  CHECK(firstMessage("x & y") == "unexpected character '&'");
  CHECK(firstMessage("x | y") == "unexpected character '|'");
  CHECK(firstMessage("x ** 2") == "expected expression after '*'");
  CHECK(firstMessage("x)") == "unexpected ')' without a matching '('");
  CHECK(firstMessage("()") == "expected expression");
  CHECK(firstMessage("x +") == "unexpected end of input: expected expression after '+'");
  CHECK(firstMessage("[]") == "empty vector literal '[]'");
  CHECK(firstMessage("m[1; 2]") == "expected ']' to close '['");
  CHECK(firstMessage("m[1:2:3]") == "a slice has one ':' (steps such as 'x[0:n:2]' are not supported)");
  CHECK(firstMessage("m[1:2 3]") == "expected an operator between '2' and '3'");
  CHECK(firstMessage("m[1, ]") == "expected expression");
  CHECK(firstMessage("m[, 1]") == "expected expression");
  CHECK(firstMessage("m[1:+]") == "expected expression after '+'");
  CHECK(firstMessage("", true) == "empty expression");
  CHECK(firstMessage(" # just a comment", true) == "empty expression");
  CHECK(firstMessage("param") == "unexpected end of input: expected a name after 'param'");
  CHECK(firstMessage("param = 1", false) == "expected a name after 'param'");
  CHECK(firstMessage("x = from + 1", false) == "reserved word 'from' cannot be used as a name");
  CHECK(firstMessage("input = 2", false) == "expected a name after 'input'");
  CHECK(firstMessage("param w ~ gamma(1, 2)", false) == "expected 'normal' or 'uniform' after '~'");
  CHECK(firstMessage("const c\n", false) == "expected '=' after 'const c'");
  CHECK(firstMessage("input x from (a, )", false) == "expected a column name");
  CHECK(firstMessage("f() = 1", false) ==
        "function 'f' has no parameters (define it as 'f = ...')");
  CHECK(firstMessage("x^2\n", false) == "an expression on its own is not a statement");
  CHECK(firstMessage("minimize\n", false) == "expected expression after 'minimize'");
}

TEST_CASE("several errors in one run, capped by the sink", "[parse]") {
  auto m = messages("a = 1 +\nb = 2\nc = )\nd = 3 3\ne = ok(1)\nf = [1,\n");
  REQUIRE(m.size() == 4);
  CHECK(m[0] == "expected expression after '+'");
  CHECK(m[1] == "expected expression after '='");
  CHECK(m[2] == "expected an operator between '3' and '3'");
  CHECK(m[3] == "unexpected end of input: expected expression");

  // Statements separated by ';' recover separately too.
  CHECK(messages("a = +; b = 1; c = *").size() == 2);

  std::string many;
  for (int i = 0; i < 100; ++i) many += "x = 1 +\n";
  auto p = parseText(many, false);
  CHECK(!p.ok());
  CHECK(p.sink->errorCount() == 20);  // the sink's default cap

  // A sink that is already full still hears that this input failed.
  SourceBuffer buffer("input", "x = +\ny = *\n");
  DiagnosticSink tiny(buffer, 0);
  CHECK(!parseProgram(buffer, tiny));
  CHECK(tiny.errorCount() == 1);
}

TEST_CASE("the input size limit is checked first", "[parse]") {
  ParseOptions options;
  options.limits.maxSourceBytes = 10;
  CHECK(messages("x = 1 + 2 + 3", false, options) ==
        std::vector<std::string>{
            "input is 13 bytes, more than the limit of 10 (raise it with --max-source-bytes)"});
  CHECK(parseText("x = 1 + 2", false, options).ok());
}

TEST_CASE("nesting deeper than the limit is an error at the bracket that goes too deep",
          "[parse]") {
  ParseOptions options;
  options.limits.maxNesting = 3;
  CHECK(parseText("(([x]))", true, options).ok());
  CHECK(render("y = 1\nx = (([f(1)]))\nz = 2\n", false, options) ==
        "input:2:9: error: nesting deeper than 3 levels (raise the limit with --max-nesting)\n"
        "x = (([f(1)]))\n"
        "        ^\n");
  // Later statements are still parsed.
  auto m = messages("x = ((((1))))\ny = +\n", false, options);
  REQUIRE(m.size() == 2);
  CHECK(m[1] == "expected expression after '+'");
  // Raising the limit accepts deeper input (the grammar's stack use follows the real depth).
  std::string deep = std::string(5000, '(') + "x" + std::string(5000, ')');
  options.limits.maxNesting = 5000;
  auto p = parseText(deep, true, options);
  INFO(p.rendered());
  CHECK(p.ok());
}

TEST_CASE("characters outside the language are named, once per run", "[parse]") {
  CHECK(firstMessage(std::string("x\0+y", 4)) == "invalid character U+0000 (NUL)");
  CHECK(firstMessage("x\x1b[31m") == "invalid character U+001B (ESC)");
  CHECK(firstMessage("x\x7f") == "invalid character U+007F (DEL)");
  CHECK(firstMessage("x\xff") == "invalid byte 0xff: the input is not valid UTF-8");
  CHECK(firstMessage("\xc0\xaf") == "invalid byte 0xc0: the input is not valid UTF-8");
  CHECK(firstMessage("x\xc3") == "invalid byte 0xc3: the input is not valid UTF-8");
  CHECK(firstMessage("\xed\xa0\x80") == "invalid byte 0xed: the input is not valid UTF-8");
  CHECK(firstMessage("x\xc2\xb2") == "invalid character U+00B2 '\xc2\xb2'");
  CHECK(firstMessage("x \xe2\x88\x92 y") == "invalid character U+2212 '\xe2\x88\x92'");
  CHECK(firstMessage("x\xe2\x80\xae+y") == "invalid character U+202E (right-to-left override)");
  CHECK(firstMessage("\xef\xbb\xbfx") == "invalid character U+FEFF (byte order mark)");
  CHECK(firstMessage("x\xc2\xa0+ y") == "invalid character U+00A0 (no-break space)");

  // A run is one error covering the run; separate runs are separate errors.
  auto p = parseText("x\xc2\xb2\xc2\xb2 + \xc3\xa9", true);
  REQUIRE(p.sink->diagnostics().size() == 2);
  CHECK(p.sink->diagnostics()[0].range.begin == 1);
  CHECK(p.sink->diagnostics()[0].range.end == 5);
  CHECK(p.sink->diagnostics()[1].range.begin == 8);
  // A lookalike gets a hint.
  REQUIRE(!p.sink->diagnostics()[0].notes.empty());
  CHECK(p.sink->diagnostics()[0].notes[0].message == "did you mean '^2'?");

  // One error per NUL: 100,000 of them stop at the sink's cap rather than flooding it.
  std::string nuls;
  for (int i = 0; i < 100'000; ++i) nuls += std::string("x\0", 2);
  auto q = parseText(nuls, true);
  CHECK(q.sink->errorCount() == 20);
}

TEST_CASE("comments, CRLF line ends and non-ASCII comments are fine", "[parse]") {
  auto p =
      parseText("# résumé: θ ≤ π\r\nparam w = 1 # ünïcödé ✓\r\nminimize (w -\r\n  1)^2\r\n", false);
  INFO(p.rendered());
  REQUIRE(p.ok());
  REQUIRE(p.program->stmts.size() == 2);
  // Statement ranges stop before the comment and the CR.
  const std::string &text = p.buffer->text();
  const SourceRange r = p.program->stmts[0].range;
  CHECK(text.substr(r.begin, r.end - r.begin) == "param w = 1");
  // The rendered line of an error in a CRLF file has no stray CR.
  CHECK(render("a = 1\r\nb = 2 +\r\n") == "input:2:8: error: expected expression after '+'\n"
                                          "b = 2 +\n"
                                          "       ^\n");
}
