// The `nabla` command line, driven as a user would: exit statuses, help, usage errors, located
// diagnostics, inputs (expression, file, standard input), and --json output compared with values
// computed here by hand.
#include "support/process.h"
#include "support/seed.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <string>
#include <unistd.h>
#include <vector>

using nabla::test::ProcessResult;
using nabla::test::runNabla;

namespace {

const char *const kSeed = "(x^2 + y)^2 * (y - x*y)";

using nabla::test::Seed;

llvm::json::Object parseJson(const std::string &text) {
  auto parsed = llvm::json::parse(text);
  INFO(text);
  REQUIRE(static_cast<bool>(parsed));
  REQUIRE(parsed->getAsObject() != nullptr);
  return std::move(*parsed->getAsObject());
}

double number(const llvm::json::Value &v) {
  std::optional<double> d = v.getAsNumber();
  REQUIRE(d.has_value());
  return *d;
}

std::string tempFile(const std::string &contents, const char *suffix = ".nabla") {
  std::string pattern = std::string("/tmp/nabla-cli-XXXXXX") + suffix;
  std::vector<char> path(pattern.begin(), pattern.end());
  path.push_back('\0');
  int fd = mkstemps(path.data(), static_cast<int>(std::strlen(suffix)));
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
  close(fd);
  return path.data();
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string &contents, const char *suffix = ".nabla")
      : path(tempFile(contents, suffix)) {}
  ~TempFile() { std::remove(path.c_str()); }
};

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Evaluates an expression with the CLI (no derivatives) and returns its value.
double evalWithCli(const std::string &expr, const std::string &vars, const std::string &at) {
  ProcessResult r = runNabla({"eval", expr, "--vars", vars, "--at", at, "--json"});
  INFO(expr << "\n" << r.err);
  REQUIRE(r.exitCode == 0);
  return number(*parseJson(r.out).get("value"));
}

}  // namespace

TEST_CASE("help and version", "[cli]") {
  ProcessResult r = runNabla({"--help"});
  CHECK(r.exitCode == 0);
  for (const char *cmd : {"diff", "eval", "graph", "check"})
    CHECK(r.out.find(cmd) != std::string::npos);

  r = runNabla({"--version"});
  CHECK(r.exitCode == 0);
  CHECK(r.out == "nabla " NABLA_VERSION "\n");

  for (const char *cmd : {"diff", "eval", "graph", "check"}) {
    INFO(cmd);
    r = runNabla({cmd, "--help"});
    CHECK(r.exitCode == 0);
    CHECK(r.out.rfind(std::string("usage: nabla ") + cmd, 0) == 0);
    CHECK(r.out.find("--help") != std::string::npos);
    CHECK(r.err.empty());
  }
  r = runNabla({"eval", "--help"});
  for (const char *opt : {"--at", "--vars", "--grad", "--hessian", "--json", "--no-simplify"})
    CHECK(r.out.find(opt) != std::string::npos);
}

TEST_CASE("bad usage exits 2 and points to --help", "[cli]") {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"eval", "x", "--frobnicate"},
      {"eval", "x", "--at"},
      {"eval", "x", "--at", "x"},
      {"eval", "x", "--at", "x="},
      {"eval", "x", "--at", "=1"},
      {"eval", "x", "--at", "x=1y"},
      {"eval", "x", "--at", "x=1,x=2"},
      {"eval", "x", "--vars", "x,,y"},
      {"eval", "x", "--vars", "2x"},
      {"eval", "x", "--json=maybe"},
      {"eval", "x", "-q"},
      {"eval", "x", "y"},
      {"eval"},
      {"diff", "x", "--at", "x=1"},
      {"check", "model.nabla", "--json"},
      {"diff", "x", "--trace=everything"},
      {"diff", "x", "--max-nodes", "0"},
      {"diff", "x", "--max-nesting", "many"},
      {"graph", "x", "--json"},
  };
  for (const auto &args : cases) {
    std::string line;
    for (const auto &a : args)
      line += a + " ";
    INFO("nabla " << line);
    ProcessResult r = runNabla(args);
    CHECK(r.exitCode == 2);
    CHECK(r.err.find("error: ") != std::string::npos);
    CHECK(r.err.find("--help") != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("eval --json gives value, gradient and Hessian of the seed function", "[cli]") {
  for (Seed s : {Seed{0.5, -0.5}, Seed{1.25, 0.75}, Seed{-2, 3}}) {
    char at[100];
    std::snprintf(at, sizeof at, "x=%.17g,y=%.17g", s.x, s.y);
    INFO(at);
    ProcessResult r = runNabla({"eval", kSeed, "--at", at, "--grad", "--hessian", "--json"});
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    llvm::json::Object o = parseJson(r.out);
    const llvm::json::Array &vars = *o.getArray("vars");
    REQUIRE(vars.size() == 2);
    CHECK(*vars[0].getAsString() == "x");  // order of first appearance
    CHECK(*vars[1].getAsString() == "y");
    CHECK(number(*o.get("value")) == Approx(s.f()).epsilon(1e-14));
    CHECK(number(*o.getObject("grad")->get("x")) == Approx(s.fx()).epsilon(1e-14));
    CHECK(number(*o.getObject("grad")->get("y")) == Approx(s.fy()).epsilon(1e-14));
    const llvm::json::Array &h = *o.getArray("hessian");
    REQUIRE(h.size() == 2);
    CHECK(number((*h[0].getAsArray())[0]) == Approx(s.fxx()).epsilon(1e-14));
    CHECK(number((*h[0].getAsArray())[1]) == Approx(s.fxy()).epsilon(1e-14));
    CHECK(number((*h[1].getAsArray())[0]) == Approx(s.fxy()).epsilon(1e-14));
    CHECK(number((*h[1].getAsArray())[1]) == Approx(s.fyy()).epsilon(1e-14));
  }
  // At (0.5, -0.5) every quantity is a short binary fraction: exact equality.
  ProcessResult r = runNabla({"eval", kSeed, "--at", "x=0.5,y=-0.5", "--grad"});
  REQUIRE(r.exitCode == 0);
  CHECK(r.out == "f = -0.015625\n∂f/∂x = 0.15625\n∂f/∂y = 0.15625\n");
}

TEST_CASE("eval's variables: --vars order, unused variables, missing values", "[cli]") {
  ProcessResult r = runNabla(
      {"eval", "x^2*y", "--vars", "y,z,x", "--at", "x=3,y=2,z=7", "--grad", "--hessian", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  llvm::json::Object o = parseJson(r.out);
  const llvm::json::Array &vars = *o.getArray("vars");
  REQUIRE(vars.size() == 3);
  CHECK(*vars[0].getAsString() == "y");
  CHECK(*vars[1].getAsString() == "z");
  CHECK(*vars[2].getAsString() == "x");
  CHECK(number(*o.get("value")) == 18);
  CHECK(number(*o.getObject("grad")->get("x")) == 12);  // 2xy
  CHECK(number(*o.getObject("grad")->get("y")) == 9);   // x^2
  CHECK(number(*o.getObject("grad")->get("z")) == 0);
  const double expected[3][3] = {{0, 0, 6}, {0, 0, 0}, {6, 0, 4}};  // in y, z, x order
  const llvm::json::Array &h = *o.getArray("hessian");
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      CHECK(number((*h[i].getAsArray())[j]) == expected[i][j]);

  r = runNabla({"eval", "x + y", "--at", "x=1"});
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("no value for 'y' (give it with --at y=...)") != std::string::npos);

  // Full precision: the value read is strtod's, printed back to 17 digits.
  r = runNabla({"eval", "x", "--at", "x=0.1", "--json"});
  REQUIRE(r.exitCode == 0);
  CHECK(number(*parseJson(r.out).get("value")) == 0.1);
  CHECK(r.out.find("0.10000000000000001") != std::string::npos);
}

TEST_CASE("NaN and infinities are JSON strings", "[cli]") {
  ProcessResult r = runNabla({"eval", "log(x)", "--at", "x=-1", "--json"});
  REQUIRE(r.exitCode == 0);
  CHECK(*parseJson(r.out).getString("value") == "nan");
  r = runNabla({"eval", "log(x)", "--at", "x=0", "--grad", "--json"});
  REQUIRE(r.exitCode == 0);
  llvm::json::Object o = parseJson(r.out);
  CHECK(*o.getString("value") == "-inf");
  CHECK(*o.getObject("grad")->getString("x") == "inf");
}

TEST_CASE("an expression may start with a minus", "[cli]") {
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"eval", "-x^2", "--at", "x=3"},
        {"eval", "--at", "x=3", "--", "-x^2"}}) {
    ProcessResult r = runNabla(args);
    INFO(r.err);
    CHECK(r.exitCode == 0);
    CHECK(r.out == "f = -9\n");
  }
}

TEST_CASE("input errors exit 1 with located diagnostics", "[cli]") {
  ProcessResult r = runNabla({"eval", "x + * y", "--at", "x=1,y=2"});
  CHECK(r.exitCode == 1);
  CHECK(std::regex_search(r.err, std::regex(R"(^<expr>:1:5: error: )")));
  CHECK(r.err.find("\nx + * y\n") != std::string::npos);  // the source line, then the caret
  CHECK(r.err.find("\n    ^") != std::string::npos);
  CHECK(r.out.empty());

  r = runNabla({"diff", "foo(x)"});
  CHECK(r.exitCode == 1);
  CHECK(std::regex_search(r.err, std::regex(R"(^<expr>:1:1: error: .*foo)")));

  r = runNabla({"eval", "-", "--at", "x=1"}, "x +\n");
  CHECK(r.exitCode == 1);
  CHECK(r.err.rfind("<stdin>:", 0) == 0);

  r = runNabla({"eval", "missing-file.nabla", "--at", "x=1"});
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("cannot read 'missing-file.nabla'") != std::string::npos);

  r = runNabla({"check", "no-such-model"});
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("cannot read 'no-such-model'") != std::string::npos);

  r = runNabla({"eval", "x^2", "--at", "x=1", "--max-source-bytes", "2"});
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("--max-source-bytes") != std::string::npos);

  r = runNabla({"check", "-", "--max-array", "5"}, "param w[2][3]\n");
  CHECK(r.exitCode == 1);
  CHECK(r.err.rfind("<stdin>:1:7: error: the array has more than 5 elements (raise the limit with "
                    "--max-array)\n", 0) == 0);
  r = runNabla({"check", "-", "--max-array", "6"}, "param w[2][3]\n");
  CHECK(r.exitCode == 0);
}

TEST_CASE("a Hessian beyond the node limit is an error that names the flag", "[cli]") {
  // 40 variables: 1600 entries, refused before any is built; the gradient alone is fine.
  const std::string model = "param w[40]\nminimize sum(w)^2\n";
  ProcessResult r = runNabla({"diff", "-", "--hessian", "--max-nodes", "1000"}, model);
  CHECK(r.exitCode == 1);
  CHECK(r.err == "<stdin>:2:1: error: the objective: the Hessian of 40 variables has 1600 entries, "
                 "more than the limit of 1000 (raise the limit with --max-nodes)\n"
                 "minimize sum(w)^2\n"
                 "^~~~~~~~~~~~~~~~~\n");
  r = runNabla({"diff", "-", "--max-nodes", "1000"}, model);
  CHECK(r.exitCode == 0);
  r = runNabla({"diff", "-", "--hessian", "--max-nodes", "1600"}, model);
  CHECK(r.exitCode == 0);
  // nabla compile builds Hessians by default, and says how to leave them out.
  r = runNabla({"compile", "-", "-o", "unused.so", "--max-nodes", "1000"}, model);
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("--no-hessian leaves the Hessians out") != std::string::npos);
}

TEST_CASE("standard input is read byte for byte", "[cli]") {
  ProcessResult r = runNabla({"eval", "-", "--at", "x=2", "--json"}, "x^3 - 1\n");
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(number(*parseJson(r.out).get("value")) == 7);

  // A NUL byte is part of the text, not its end.
  r = runNabla({"eval", "-", "--at", "x=2"}, std::string("x\0+ 1", 5));
  CHECK(r.exitCode == 1);
  CHECK(r.err.rfind("<stdin>:1:2: error: ", 0) == 0);
}

TEST_CASE("files: functions, objectives, check", "[cli]") {
  TempFile seed(std::string("# the seed function\nf(x, y) = ") + kSeed + "\n");
  ProcessResult r = runNabla({"eval", seed.path, "--at", "x=0.5,y=-0.5", "--grad", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  llvm::json::Object o = parseJson(r.out);
  Seed s{0.5, -0.5};
  CHECK(number(*o.get("value")) == s.f());
  CHECK(number(*o.getObject("grad")->get("x")) == s.fx());

  r = runNabla({"check", seed.path});
  CHECK(r.exitCode == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());

  TempFile model("param w[2]\nparam b = 1\nminimize (w[0] - 1)^2 + 3*w[1]^2 + b*w[0]\n");
  r = runNabla({"eval", model.path, "--at", "w[0]=2,w[1]=1,b=0.5", "--grad", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  o = parseJson(r.out);
  const llvm::json::Array &vars = *o.getArray("vars");
  REQUIRE(vars.size() == 3);
  CHECK(*vars[0].getAsString() == "w[0]");
  CHECK(*vars[2].getAsString() == "b");
  CHECK(number(*o.get("value")) == 1 + 3 + 1);
  CHECK(number(*o.getObject("grad")->get("w[0]")) == 2 * (2 - 1) + 0.5);
  CHECK(number(*o.getObject("grad")->get("w[1]")) == 6);
  CHECK(number(*o.getObject("grad")->get("b")) == 2);

  r = runNabla({"diff", model.path});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out.find("∂L/∂w[0] = ") != std::string::npos);
  CHECK(r.out.find("∂L/∂w[1] = ") != std::string::npos);
  CHECK(r.out.find("∂L/∂b = ") != std::string::npos);

  TempFile bad("param a = 1\nminimize a^2 +\n");
  r = runNabla({"check", bad.path});
  CHECK(r.exitCode == 1);
  CHECK(r.err.rfind(bad.path + ":", 0) == 0);
  CHECK(r.err.find(bad.path + ":1:") == std::string::npos);
}

TEST_CASE("diff prints derivatives that evaluate to the hand-computed gradient", "[cli]") {
  ProcessResult r = runNabla({"diff", kSeed});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out.rfind("∂f/∂x = ", 0) == 0);
  CHECK(r.out.find("\n∂f/∂y = ") != std::string::npos);

  r = runNabla({"diff", kSeed, "--hessian", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  llvm::json::Object o = parseJson(r.out);
  std::string dx = o.getString("x")->str(), dy = o.getString("y")->str();
  const llvm::json::Array &h = *o.getArray("hessian");
  std::string hxy = (*h[0].getAsArray())[1].getAsString()->str();
  std::string hyx = (*h[1].getAsArray())[0].getAsString()->str();
  std::string hyy = (*h[1].getAsArray())[1].getAsString()->str();
  for (Seed s : {Seed{0.5, -0.5}, Seed{1.5, 2.25}, Seed{-0.75, 0.125}}) {
    char at[100];
    std::snprintf(at, sizeof at, "x=%.17g,y=%.17g", s.x, s.y);
    INFO(at);
    CHECK(evalWithCli(dx, "x,y", at) == Approx(s.fx()).epsilon(1e-13));
    CHECK(evalWithCli(dy, "x,y", at) == Approx(s.fy()).epsilon(1e-13));
    CHECK(evalWithCli(hxy, "x,y", at) == Approx(s.fxy()).epsilon(1e-13));
    CHECK(evalWithCli(hyx, "x,y", at) == Approx(s.fxy()).epsilon(1e-13));
    CHECK(evalWithCli(hyy, "x,y", at) == Approx(s.fyy()).epsilon(1e-13));
  }

  r = runNabla({"diff", kSeed, "--hessian"});
  REQUIRE(r.exitCode == 0);
  CHECK(r.out.find("∂²f/∂x∂y = ") != std::string::npos);
  CHECK(r.out.find("∂²f/∂x² = ") != std::string::npos);
  CHECK(r.out.find("∂²f/∂y∂x = ") == std::string::npos);  // upper triangle only
}

TEST_CASE("diff --wrt selects and orders variables", "[cli]") {
  ProcessResult r = runNabla({"diff", "x*y + z", "--wrt", "z,x"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out == "∂f/∂z = 1\n∂f/∂x = y\n");

  // A variable the expression does not use: its derivative is 0, with a warning naming it.
  r = runNabla({"diff", "x*y", "--wrt", "q"});
  CHECK(r.exitCode == 0);
  CHECK(r.out == "∂f/∂q = 0\n");
  CHECK(r.err.find("warning: 'q' in --wrt is not a variable of the expression") != std::string::npos);
}

TEST_CASE("graph writes DOT and counts nodes", "[cli]") {
  ProcessResult r = runNabla({"graph", kSeed});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out.rfind("digraph", 0) == 0);
  CHECK(r.out.find("label=\"f\"") != std::string::npos);

  r = runNabla({"graph", kSeed, "--grad"});
  REQUIRE(r.exitCode == 0);
  CHECK(r.out.find("label=\"∂f/∂x\"") != std::string::npos);

  r = runNabla({"graph", kSeed, "--stats", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  llvm::json::Object o = parseJson(r.out);
  std::optional<std::int64_t> nodes = o.getInteger("nodes"), gradNodes = o.getInteger("grad_nodes");
  REQUIRE(nodes.has_value());
  REQUIRE(gradNodes.has_value());
  // x, y, 2, x^2, x^2 + y, (..)^2, x*y, y - x*y, the product: at least these 9 are distinct.
  CHECK(*nodes >= 9);
  CHECK(*gradNodes > *nodes);

  TempFile out("", ".dot");
  r = runNabla({"graph", kSeed, "-o", out.path});
  REQUIRE(r.exitCode == 0);
  CHECK(r.out.empty());
  CHECK(readFile(out.path).rfind("digraph", 0) == 0);

  // Without Graphviz on PATH, an SVG cannot be made: a clear error, not a crash or an empty file.
  TempFile svgMissing("", ".svg");
  r = nabla::test::runProcess(
      "/usr/bin/env", {"PATH=/nonexistent", NABLA_BINARY, "graph", kSeed, "-o", svgMissing.path});
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("Graphviz") != std::string::npos);

  if (access("/usr/bin/dot", X_OK) == 0) {
    TempFile svg("", ".svg");
    r = runNabla({"graph", kSeed, "-o", svg.path});
    INFO(r.err);
    CHECK(r.exitCode == 0);
    CHECK(readFile(svg.path).find("<svg") != std::string::npos);
  }
}

TEST_CASE("a file with several functions: diff takes all, eval and graph take --fn", "[cli]") {
  TempFile file("f(x, y) = x*y\ng(a) = a^3\nparam w = 1\ninput t\nminimize (w - t)^2\n");
  ProcessResult r = runNabla({"eval", file.path, "--at", "a=2"});
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("--fn") != std::string::npos);

  r = runNabla({"eval", file.path, "--fn", "g", "--at", "a=2", "--grad", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  llvm::json::Object o = parseJson(r.out);
  CHECK(number(*o.get("value")) == 8);
  CHECK(number(*o.getObject("grad")->get("a")) == 12);

  // The objective's inputs need values too, but only its params are differentiated.
  r = runNabla({"eval", file.path, "--fn", "L", "--at", "w=3"});
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("no value for 't'") != std::string::npos);
  r = runNabla({"eval", file.path, "--fn", "L", "--at", "w=3,t=0.5", "--grad", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  o = parseJson(r.out);
  CHECK(o.getArray("vars")->size() == 1);
  CHECK(number(*o.get("value")) == 6.25);
  CHECK(number(*o.getObject("grad")->get("w")) == 5);

  r = runNabla({"diff", file.path, "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  o = parseJson(r.out);
  REQUIRE(o.getObject("f") != nullptr);
  REQUIRE(o.getObject("g") != nullptr);
  REQUIRE(o.getObject("L") != nullptr);
  CHECK(evalWithCli(o.getObject("g")->getString("a")->str(), "a", "a=2") == 12);
  CHECK(evalWithCli(o.getObject("L")->getString("w")->str(), "w,t", "w=3,t=0.5") == 5);

  r = runNabla({"graph", file.path, "--fn", "f", "--stats"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(std::regex_search(r.out, std::regex("^nodes: [0-9]+\ngrad_nodes: [0-9]+\n$")));
}

TEST_CASE("unsimplified derivatives are still correct nabla text", "[cli]") {
  ProcessResult r = runNabla({"diff", kSeed, "--no-simplify", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  llvm::json::Object o = parseJson(r.out);
  Seed s{1.5, -0.25};
  CHECK(evalWithCli(o.getString("x")->str(), "x,y", "x=1.5,y=-0.25") ==
        Approx(s.fx()).epsilon(1e-13));
  CHECK(evalWithCli(o.getString("y")->str(), "x,y", "x=1.5,y=-0.25") ==
        Approx(s.fy()).epsilon(1e-13));
}

TEST_CASE("shared temporaries in diff's text output expand to the JSON form", "[cli]") {
  ProcessResult text = runNabla({"diff", kSeed});
  ProcessResult json = runNabla({"diff", kSeed, "--json"});
  REQUIRE(text.exitCode == 0);
  REQUIRE(json.exitCode == 0);
  if (text.out.find("\nwhere\n") == std::string::npos)
    return;  // nothing shared: nothing to check
  // Substitute each temporary (newest first) into ∂f/∂x and evaluate both forms.
  std::vector<std::pair<std::string, std::string>> temps;
  std::size_t at = text.out.find("\nwhere\n") + 7;
  while (at < text.out.size()) {
    std::size_t eol = text.out.find('\n', at);
    std::string line = text.out.substr(at + 2, eol - at - 2);
    std::size_t eq = line.find(" = ");
    temps.emplace_back(line.substr(0, eq), line.substr(eq + 3));
    at = eol + 1;
  }
  std::string dx =
      text.out.substr(std::strlen("∂f/∂x = "), text.out.find('\n') - std::strlen("∂f/∂x = "));
  for (std::size_t k = temps.size(); k-- > 0;)
    dx = std::regex_replace(dx, std::regex("\\b" + temps[k].first + "\\b"),
                            "(" + temps[k].second + ")");
  std::string self = parseJson(json.out).getString("x")->str();
  CHECK(evalWithCli(dx, "x,y", "x=0.75,y=1.5") == evalWithCli(self, "x,y", "x=0.75,y=1.5"));
}

TEST_CASE("nabla diff --matrix: a network's gradient in matrix notation, errors located", "[cli]") {
  // 300 x 400 weights: the bodies are read at the array level, never unrolled to scalars.
  const std::string net = "param W[300][400]\nparam b[300]\ninput x[400]\ninput y\n"
                          "h = tanh(W @ x + b)\nminimize (sum(h) - y)^2\n";
  ProcessResult r = runNabla({"diff", "-", "--matrix"}, net);
  CHECK(r.exitCode == 0);
  CHECK(r.out.find("∂L/∂W = outer(") != std::string::npos);
  CHECK(r.out.find("∂L/∂b = ") != std::string::npos);
  CHECK(r.err.empty());
  // An error in a body is reported where it is, as without --matrix.
  r = runNabla({"diff", "-", "--matrix"}, "param w[3]\ninput x[3]\nminimize dot(w, x) + nope\n");
  CHECK(r.exitCode == 1);
  CHECK(std::regex_search(r.err, std::regex(R"(<stdin>:3:22: error: unknown name 'nope')")));
  // What the array level does not have yet is said.
  r = runNabla({"diff", "-", "--matrix"}, "param w[3]\nminimize prod(w)\n");
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("the array level cannot take") != std::string::npos);
  CHECK(r.err.find("prod()") != std::string::npos);
}
