// `nabla repl < script`: results only (no prompts, no colours) on standard output, errors on
// standard error under the line they came from, and every command. Values are checked against
// derivatives worked out by hand; symbolic results against `nabla diff`, `nabla ir` and the
// values they take.
#include "support/process.h"
#include "support/seed.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char **environ;

using nabla::test::ProcessResult;
using nabla::test::runNabla;

namespace {

const char *const kSeed = "f(x, y) = (x^2 + y)^2 * (y - x*y)";
// Terms of the function that the SIGINT test times: about 2 s of work for `:time` (most of it in
// LLVM) on 2 cores of an AMD EPYC, against 0.3 s before the signal.
const int kBigTerms = 800;

using nabla::test::Seed;

ProcessResult repl(const std::string &script, std::vector<std::string> args = {}) {
  args.insert(args.begin(), "repl");
  ProcessResult r = runNabla(args, script);
  REQUIRE(!r.timedOut);
  REQUIRE(r.signal == 0);
  return r;
}

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

/// `label = number` lines, by label.
std::map<std::string, double> values(const std::string &text) {
  std::map<std::string, double> out;
  for (const std::string &l : lines(text)) {
    std::size_t eq = l.find(" = ");
    if (eq == std::string::npos)
      continue;
    char *end = nullptr;
    double v = std::strtod(l.c_str() + eq + 3, &end);
    if (end && *end == '\0')
      out[l.substr(0, eq)] = v;
  }
  return out;
}

double number(const std::string &text) {
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  INFO(text);
  REQUIRE(end != text.c_str());
  return v;
}

struct TempPath {
  std::string path;
  explicit TempPath(const char *suffix) {
    std::string pattern = std::string("/tmp/nabla-repl-XXXXXX") + suffix;
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    int fd = mkstemps(buf.data(), static_cast<int>(std::strlen(suffix)));
    REQUIRE(fd >= 0);
    close(fd);
    path = buf.data();
  }
  ~TempPath() { std::remove(path.c_str()); }
  std::string read() const {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
};

}  // namespace

TEST_CASE("a script prints results only: no prompt, no banner, no colour", "[repl]") {
  ProcessResult r = repl(std::string(kSeed) + "\nf(0.5, -0.5)\nx + * y\n");
  CHECK(r.exitCode == 0);
  CHECK(r.out == "-0.015625\n");
  CHECK(r.out.find("nabla>") == std::string::npos);
  CHECK(r.err.find('\x1b') == std::string::npos);
}

TEST_CASE("the seed function's value, gradient and Hessian at a point match the hand-derived "
          "ones",
          "[repl]") {
  const Seed s{0.5, -0.5};
  ProcessResult r = repl(std::string(kSeed) +
                         "\n:eval f(0.5, -0.5)\n:grad f(0.5, -0.5)\n:hessian f(1/2, -1/2)\n");
  INFO(r.out << r.err);
  REQUIRE(r.exitCode == 0);
  std::vector<std::string> out = lines(r.out);
  REQUIRE(out.size() == 6);
  CHECK(number(out[0]) == s.f());
  std::map<std::string, double> v = values(r.out);
  CHECK(v.at("∂f/∂x") == Approx(s.fx()).epsilon(1e-15));
  CHECK(v.at("∂f/∂y") == Approx(s.fy()).epsilon(1e-15));
  CHECK(v.at("∂²f/∂x²") == Approx(s.fxx()).epsilon(1e-15));
  CHECK(v.at("∂²f/∂x∂y") == Approx(s.fxy()).epsilon(1e-15));
  CHECK(v.at("∂²f/∂y²") == Approx(s.fyy()).epsilon(1e-15));
  CHECK(out[3].rfind("∂²f/∂x² = ", 0) == 0);  // the upper triangle, row by row
  CHECK(out[4].rfind("∂²f/∂x∂y = ", 0) == 0);
  CHECK(out[5].rfind("∂²f/∂y² = ", 0) == 0);
}

/// Reads printed derivatives back: `label = EXPR` lines, then a `where` block of temporaries,
/// become a session with x and y as inputs and each temporary a definition; each EXPR is then
/// evaluated at the point. The values, by label.
std::map<std::string, double> readBack(const std::string &printed, const std::string &at) {
  std::string script = "input x\ninput y\n";
  std::vector<std::string> labels, exprs;
  bool where = false;
  for (const std::string &l : lines(printed)) {
    if (l == "where") {
      where = true;
      continue;
    }
    if (where) {
      script += l.substr(2) + "\n";  // "  t1 = ..."
      continue;
    }
    std::size_t eq = l.find(" = ");
    REQUIRE(eq != std::string::npos);
    labels.push_back(l.substr(0, eq));
    exprs.push_back(l.substr(eq + 3));
  }
  script += ":at " + at + "\n";
  for (const std::string &e : exprs)
    script += e + "\n";
  ProcessResult r = runNabla({"repl", "--strict"}, script);
  INFO(script << r.err);
  REQUIRE(r.exitCode == 0);
  std::vector<std::string> out = lines(r.out);
  REQUIRE(out.size() == labels.size());
  std::map<std::string, double> values;
  for (std::size_t k = 0; k < labels.size(); ++k)
    values[labels[k]] = number(out[k]);
  return values;
}

TEST_CASE("symbolic :grad and :hessian are the derivatives, as nabla diff prints them", "[repl]") {
  ProcessResult r = repl(std::string(kSeed) + "\n:grad f\n");
  ProcessResult cli = runNabla({"diff", "(x^2 + y)^2 * (y - x*y)"});
  REQUIRE(r.exitCode == 0);
  REQUIRE(cli.exitCode == 0);
  CHECK(r.out == cli.out);
  ProcessResult h = repl(std::string(kSeed) + "\n:hessian f\n");
  REQUIRE(h.exitCode == 0);
  for (const Seed s : {Seed{0.5, -0.5}, Seed{1.5, 2}, Seed{-3, 0.25}}) {
    const std::string at = "x=" + std::to_string(s.x) + ", y=" + std::to_string(s.y);
    std::map<std::string, double> g = readBack(r.out, at);
    CHECK(g.size() == 2);
    CHECK(g["∂f/∂x"] == Approx(s.fx()).epsilon(1e-13));
    CHECK(g["∂f/∂y"] == Approx(s.fy()).epsilon(1e-13));
    std::map<std::string, double> hv = readBack(h.out, at);
    CHECK(hv.size() == 3);  // the upper triangle
    CHECK(hv["∂²f/∂x²"] == Approx(s.fxx()).epsilon(1e-13));
    CHECK(hv["∂²f/∂x∂y"] == Approx(s.fxy()).epsilon(1e-13));
    CHECK(hv["∂²f/∂y²"] == Approx(s.fyy()).epsilon(1e-13));
  }
}

TEST_CASE(":diff differentiates an expression with respect to its free names, or those after "
          "wrt",
          "[repl]") {
  ProcessResult r = repl(":diff x^2*y\n:diff x^2*y wrt y\n:diff a*b + c wrt b, a\n");
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  // The labels, in order, and what each derivative is (by hand: 2xy, x^2, x^2, a, b) at x = 3,
  // y = 5, a = 7, b = 11, evaluated by nabla eval from the printed text.
  std::vector<std::string> out = lines(r.out);
  REQUIRE(out.size() == 5);
  const std::vector<std::pair<std::string, double>> expected = {
      {"∂/∂x", 30}, {"∂/∂y", 9}, {"∂/∂y", 9}, {"∂/∂b", 7}, {"∂/∂a", 11}};
  for (std::size_t k = 0; k < out.size(); ++k) {
    std::size_t eq = out[k].find(" = ");
    REQUIRE(eq != std::string::npos);
    CHECK(out[k].substr(0, eq) == expected[k].first);
    ProcessResult v = runNabla(
        {"eval", out[k].substr(eq + 3), "--vars", "x,y,a,b", "--at", "x=3,y=5,a=7,b=11"});
    INFO(out[k] << v.err);
    REQUIRE(v.exitCode == 0);
    CHECK(v.out == "f = " + std::to_string(static_cast<int>(expected[k].second)) + "\n");
  }
  // A function of the session, by name, with respect to its arguments; `wrt` a name it does not
  // have gives derivative 0, with a warning that names it (as `nabla diff --wrt` does).
  r = repl("g(u, v) = u*v^3\n:diff g wrt v\n:diff g wrt w\n:diff g wrt v, v\n:diff [1, 2]\n"
           ":diff 3\n");
  REQUIRE(lines(r.out).size() == 2);
  CHECK(r.out.rfind("∂g/∂v = ", 0) == 0);
  CHECK(lines(r.out)[1] == "∂g/∂w = 0");
  CHECK(r.err.find("warning: 'w' in wrt is not a variable of 'g': its derivatives are 0") !=
        std::string::npos);
  CHECK(r.err.find("'v' is listed twice after wrt") != std::string::npos);
  CHECK(r.err.find("'[1, 2]' has shape [2]: only scalars are differentiated") != std::string::npos);
  CHECK(r.err.find("'3' has no variables to differentiate with respect to") != std::string::npos);
}

TEST_CASE("an expression prints its value when every variable has one, else its simplified form",
          "[repl]") {
  ProcessResult r = repl("x^2 + y + 0\n:at x=3\nx^2 + y\n:at y = 2*x\nx^2 + y\n:at\n:unset y\n"
                         "x^2 + y\n:unset\nx*1\n");
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out == "x^2 + y\n"
                 "x^2 + y\n"
                 "15\n"  // 3^2 + 6
                 "x = 3\ny = 6\n"
                 "x^2 + y\n"
                 "x\n");
}

TEST_CASE(":at takes constant expressions and arrays; params have their initial values",
          "[repl]") {
  ProcessResult r = repl("param w[3] = [1, 2, 3]\nparam b = 0.5\nsum(w^2) + b\n:at w=[0, 1, 0]\n"
                         "sum(w^2) + b\n:at\n:at b=1/4\nb\nconst c = 3\n:at c=1\n:at 2=1\n");
  INFO(r.err);
  CHECK(r.out == "14.5\n1.5\nw[0] = 0\nw[1] = 1\nw[2] = 0\n0.25\n");
  CHECK(r.err.find("'c' is a const, not a variable") != std::string::npos);
  CHECK(r.err.find("'2' is not a variable name") != std::string::npos);
}

TEST_CASE("a model's objective: its gradient with respect to the params, and its value at a "
          "point",
          "[repl]") {
  // Logistic regression on one row: z = w.x + b, L = -(y log p + (1-y) log(1-p)), p = sigmoid(z).
  ProcessResult r = repl("param w[2] = [0.5, -1]\nparam b = 0.25\ninput x[2]\ninput y\n"
                         "p = sigmoid(dot(w, x) + b)\nminimize -(y*log(p) + (1-y)*log(1-p))\n"
                         ":at x=[2, 1], y=1\np\n:grad L\n");
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  std::vector<std::string> out = lines(r.out);
  REQUIRE(out.size() >= 4);
  const double z = 0.5 * 2 - 1 * 1 + 0.25;
  CHECK(number(out[0]) == Approx(1 / (1 + std::exp(-z))).epsilon(1e-15));
  CHECK(out[1].rfind("∂L/∂w[0] = ", 0) == 0);
  CHECK(r.out.find("∂L/∂b = ") != std::string::npos);
}

TEST_CASE("redefining a name replaces it and recompiles what depends on it", "[repl]") {
  ProcessResult r = repl("g(x) = x + 1\nh(x) = 2*g(x)\nh(1)\ng(x) = 10*x\nh(1)\n"
                         "a = 2\nk(x) = a*x\nk(3)\na = 5\nk(3)\n:list\n");
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out == "4\n20\n6\n15\ng(x) = 10*x\nh(x) = 2*g(x)\na = 5\nk(x) = a*x\n");
}

TEST_CASE("a redefinition that breaks the session is refused and the session stays as it was",
          "[repl]") {
  ProcessResult r = repl("g(x) = x + 1\nh(x) = 2*g(x)\ng(x, y) = x*y\nh(1)\n", {"--strict"});
  CHECK(r.exitCode == 1);
  CHECK(r.out == "4\n");
  // The error is shown under the statement that no longer compiles, where it was typed.
  CHECK(r.err.find("<stdin>:2:10: error: 'g' takes 2 arguments, but 1 was given") !=
        std::string::npos);
  CHECK(r.err.find("h(x) = 2*g(x)\n         ^~~~") != std::string::npos);
  CHECK(r.err.find("the session is unchanged") != std::string::npos);
}

TEST_CASE("errors name the line, show a caret, and never end the session", "[repl]") {
  ProcessResult r = repl("1 +\n2 * (3 +\n 4)\nsinh2(1)\n:nosuch\n:hesian f\nq(1)\n"
                         "z = undefined_name\n:load /nonexistent/file.nabla\n7\n");
  INFO(r.err);
  CHECK(r.exitCode == 0);  // without --strict
  CHECK(r.out == "14\n7\n");
  CHECK(r.err.find("<stdin>:1:4: error: ") != std::string::npos);
  CHECK(r.err.find("<stdin>:4:1: error: unknown function 'sinh2'\nsinh2(1)\n^~~~~") !=
        std::string::npos);
  CHECK(r.err.find("did you mean 'sinh'?") != std::string::npos);
  CHECK(r.err.find("unknown command ':nosuch'") != std::string::npos);
  CHECK(r.err.find("did you mean ':hessian'?") != std::string::npos);
  CHECK(r.err.find("<stdin>:8:5: error: unknown name 'undefined_name'") != std::string::npos);
  CHECK(r.err.find("cannot read '/nonexistent/file.nabla'") != std::string::npos);
  // --strict: the same script fails.
  CHECK(repl("1 +\n7\n", {"--strict"}).exitCode == 1);
  CHECK(repl("7\n", {"--strict"}).exitCode == 0);
}

TEST_CASE("input continues while a bracket is open, and an unfinished input is an error",
          "[repl]") {
  ProcessResult r = repl("g(x,\n  y) = (x +\n  y)^2\ng(1, 2)\n[1,\n 2]\n(1 +\n");
  INFO(r.err);
  CHECK(r.out == "9\n[1, 2]\n");
  CHECK(r.err.find("<stdin>:7:") != std::string::npos);
}

TEST_CASE("several statements and expressions on one line run in order", "[repl]") {
  ProcessResult r = repl("a = b + 1; b = 2; a*10\n:list\n");
  INFO(r.err);
  CHECK(r.out == "30\na = b + 1\nb = 2\n");
}

TEST_CASE(":save writes the session as a .nabla file and :load restores it", "[repl]") {
  TempPath file(".nabla");
  ProcessResult first = repl(std::string(kSeed) +
                             "  # the seed\nparam w[2] = [1, 2]\ng(t) = t*f(t, 1) + sum(w)\n"
                             ":at x=0.25, y=-1/3\n:save " +
                             file.path + "\n:list\nf(x, y) + g(x)\n");
  INFO(first.err);
  REQUIRE(first.exitCode == 0);
  std::string saved = file.read();
  CHECK(saved == std::string(kSeed) + "\nparam w[2] = [1, 2]\ng(t) = t*f(t, 1) + sum(w)\n" +
                     "# :at x=0.25, y=-0.3333333333333333\n");
  // The file is a program the other commands read too.
  CHECK(runNabla({"check", file.path}).exitCode == 0);
  // A new session: the same statements, values and results.
  ProcessResult second = repl(":load " + file.path + "\n:list\nf(x, y) + g(x)\n");
  INFO(second.err);
  REQUIRE(second.exitCode == 0);
  CHECK(second.out == first.out.substr(first.out.find(kSeed)));
  // :reset forgets everything; :load merges into the session (replacing same names).
  ProcessResult third = repl("w = 5\nf(x, y) = 0\n:reset\n:list\nh = 1\n:load " + file.path +
                             "\n:list\n");
  CHECK(third.out == "h = 1\n" + saved);
  // `nabla repl FILE` loads it first.
  ProcessResult fourth = repl(":list\n", {file.path});
  CHECK(fourth.out == saved);
}

TEST_CASE(":graph prints the DAG of value and gradient, or writes it to a file", "[repl]") {
  TempPath file(".dot");
  ProcessResult r = repl(std::string(kSeed) + "\n:graph f\n:graph x*y " + file.path + "\n");
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out.rfind("digraph nabla {", 0) == 0);
  CHECK(r.out.find("label=\"f\", shape=box") != std::string::npos);
  CHECK(r.out.find("label=\"∂f/∂x\", shape=box") != std::string::npos);
  CHECK(r.out.find("label=\"∂f/∂y\", shape=box") != std::string::npos);
  std::string dot = file.read();
  CHECK(dot.rfind("digraph nabla {", 0) == 0);
  CHECK(dot.find("label=\"x\"") != std::string::npos);
}

TEST_CASE(":ir and :asm print the code nabla ir prints", "[repl]") {
  ProcessResult r = repl(std::string(kSeed) + "\n:ir f\n");
  ProcessResult cli = runNabla({"ir", kSeed});
  REQUIRE(r.exitCode == 0);
  REQUIRE(cli.exitCode == 0);
  CHECK(r.out == cli.out);
  CHECK(r.out.find("define double @f(ptr") != std::string::npos);
  r = repl(std::string(kSeed) + "\n:asm grad f\n");
  cli = runNabla({"ir", kSeed, "--grad", "--asm"});
  CHECK(r.out == cli.out);
  CHECK(r.out.find("f_grad:") != std::string::npos);
  // An expression is compiled as `f`.
  r = repl(":ir x*y + 1\n");
  CHECK(r.out.find("define double @f(ptr") != std::string::npos);
}

TEST_CASE(":time prints the value and the time per call of both tiers", "[repl]") {
  const Seed s{0.5, -0.5};
  ProcessResult r = repl(std::string(kSeed) + "\n:time f(0.5, -0.5)\n:at x=1, y=2\n:time x*y\n"
                                              ":time f\n:time q\n");
  INFO(r.out << r.err);
  std::vector<std::string> out = lines(r.out);
  REQUIRE(out.size() == 10);
  CHECK(out[0].rfind("f(0.5, -0.5) = " + std::string("-0.015625"), 0) == 0);
  CHECK(number(out[0].substr(out[0].find(" = ") + 3)) == s.f());
  CHECK(out[1].find("baseline") != std::string::npos);
  CHECK(out[1].find("LLVM O2") != std::string::npos);
  CHECK(out[2].rfind("compile", 0) == 0);
  CHECK(out[3].rfind("value ", 0) == 0);
  CHECK(out[3].find(" ns") != std::string::npos);
  CHECK(out[4].rfind("value+gradient", 0) == 0);
  CHECK(out[5].rfind("x*y = 2", 0) == 0);
  CHECK(r.err.find("'f' is a function, not a value") != std::string::npos);
  CHECK(r.err.find("no value for 'q'") != std::string::npos);
}

TEST_CASE(":help lists every command and explains one; :quit ends the session", "[repl]") {
  ProcessResult r = repl(":help\n");
  REQUIRE(r.exitCode == 0);
  for (const char *c : {":diff", ":grad", ":hessian", ":eval", ":at", ":unset", ":graph", ":ir",
                        ":asm", ":time", ":load", ":save", ":reset", ":list", ":help", ":quit"})
    CHECK(r.out.find(std::string("\n  ") + c + " ") != std::string::npos);
  r = repl(":help time\n:help :save\n:help nosuch\n");
  CHECK(r.out.rfind(":time F(1, 2) | EXPR\n", 0) == 0);
  CHECK(r.out.find(":save FILE\n") != std::string::npos);
  CHECK(r.err.find("no command ':nosuch'") != std::string::npos);
  r = repl("1\n:quit\n2\n");
  CHECK(r.out == "1\n");
  r = repl("1\n:q\n2\n");
  CHECK(r.out == "1\n");
  // A unique abbreviation runs the command; an ambiguous one is an error that lists them.
  r = repl(":he\n:hess x^3\n");
  CHECK(r.out == "∂²/∂x² = 6*x\n");
  CHECK(r.err.find("ambiguous command ':he' (:hessian, :help)") != std::string::npos);
}

TEST_CASE("repl --help and usage errors", "[repl]") {
  ProcessResult r = runNabla({"repl", "--help"});
  CHECK(r.exitCode == 0);
  CHECK(r.out.find("usage: nabla repl") != std::string::npos);
  CHECK(r.out.find("--strict") != std::string::npos);
  CHECK(runNabla({"repl", "--bogus"}).exitCode == 2);
  CHECK(runNabla({"repl", "-"}).exitCode == 2);
  CHECK(runNabla({"--help"}).out.find("repl") != std::string::npos);
}

TEST_CASE(":load reports errors in the file by its name and line, and adds nothing", "[repl]") {
  TempPath file(".nabla");
  {
    std::ofstream out(file.path);
    out << "a = 1\n\nb = sinh2(a)\n";
  }
  ProcessResult r = repl(":load " + file.path + "\n:list\nc = 2\n:list\n");
  CHECK(r.out == "c = 2\n");
  CHECK(r.err.find(file.path + ":3:5: error: unknown function 'sinh2'") != std::string::npos);
  // A directory, and a file with a bare expression.
  r = repl(":load /tmp\n");
  CHECK(r.err.find("'/tmp' is a directory") != std::string::npos);
  {
    std::ofstream out(file.path);
    out << "x + 1\n";
  }
  r = repl(":load " + file.path + "\n");
  CHECK(r.err.find(file.path + ":1:1: error: an expression on its own is not a statement") !=
        std::string::npos);
}

TEST_CASE("a function that reads a param drawn at random has a value once the param has one",
          "[repl]") {
  ProcessResult r = repl("param w ~ normal(0, 1)\nf(x) = w*x^2\nf(2)\n:grad f(2)\n:at w=3\nf(2)\n"
                         ":grad f(2)\n");
  // f(2) = 4w, symbolic until w has a value; then 12, and f'(2) = 2*w*2 = 12.
  CHECK(r.out == "4*w\n12\n∂f/∂x = 12\n");
  CHECK(r.err.find("no value for 'w', which 'f' reads") != std::string::npos);
}

TEST_CASE("comments and blank lines do nothing, after statements and commands alike", "[repl]") {
  ProcessResult r = repl("# a comment\n\n   \ng(x) = 3*x  # triple\n:eval g(2)  # six\n"
                         ":at x=1 # one\nx\n", {"--strict"});
  INFO(r.err);
  CHECK(r.exitCode == 0);
  CHECK(r.out == "6\n1\n");
}

// Without a terminal, definitions are checked together (Session::setBatching) where that says
// what checking them one by one says. These scripts' results are known independently.
TEST_CASE("a script of many definitions gives the values that each definition implies", "[repl]") {
  std::string script;
  const int n = 1500;
  for (int i = 0; i < n; ++i)
    script += "g" + std::to_string(i) + "(x) = " + std::to_string(i) + "*x + 1\n";
  script += "g7(2)\ng" + std::to_string(n - 1) + "(0.5)\n";
  // A chain: each definition calls the one before it.
  for (int i = 0; i < 50; ++i)
    script += "h" + std::to_string(i) + "(x) = " + (i ? "h" + std::to_string(i - 1) + "(x)" : "x") +
              " + 1\n";
  script += "h49(0.25)\n:list\n";
  ProcessResult r = repl(script, {"--strict"});
  INFO(r.err);
  CHECK(r.exitCode == 0);
  std::vector<std::string> out = lines(r.out);
  REQUIRE(out.size() == 3 + n + 50);
  CHECK(out[0] == "15");     // 7*2 + 1
  CHECK(out[1] == "750.5");  // 1499*0.5 + 1
  CHECK(out[2] == "50.25");
  // :list shows every statement, in the order typed.
  CHECK(out[3] == "g0(x) = 0*x + 1");
  CHECK(out[3 + n - 1] == "g1499(x) = 1499*x + 1");
  CHECK(out.back() == "h49(x) = h48(x) + 1");
}

TEST_CASE("among many definitions, each bad one is reported at its line and the rest stand",
          "[repl]") {
  std::string script;
  for (int i = 0; i < 300; ++i) {
    std::string name = "k" + std::to_string(i);
    if (i == 100)
      script += name + "(x) = x +\n";  // a syntax error, line 101
    else if (i == 200)
      script += name + "(x) = nosuch(x)\n";  // an unknown function, line 201
    else
      script += name + "(x) = 2*x\n";
  }
  script += "k99(1) + k101(1) + k299(1)\nk100(1)\n";
  ProcessResult r = repl(script, {"--strict"});
  INFO(r.err);
  CHECK(r.exitCode == 1);
  CHECK(r.out == "6\n");
  CHECK(r.err.find("<stdin>:101:") != std::string::npos);
  CHECK(r.err.find("<stdin>:201:11: error: unknown function 'nosuch'") != std::string::npos);
  CHECK(r.err.find("<stdin>:302:1: error: unknown function 'k100'") != std::string::npos);
  // Without the errors the same script passes --strict: the failure came from them alone.
  std::string good = script;
  good.replace(good.find("k100(x) = x +"), 13, "k100(x) = 2*x");
  good.replace(good.find("nosuch(x)"), 9, "2*x");
  ProcessResult fixed = repl(good, {"--strict"});
  INFO(fixed.err);
  CHECK(fixed.exitCode == 0);
  CHECK(fixed.out == "6\n2\n");
}

TEST_CASE("a definition that uses a name before it is defined fails as on its own", "[repl]") {
  // One by one, u is refused (v does not exist yet); a batch must not accept it.
  ProcessResult r = repl("u(x) = v(x) + 1\nv(x) = 3*x\nv(1)\nu(1)\n", {"--strict"});
  CHECK(r.exitCode == 1);
  CHECK(r.out == "3\n");
  CHECK(r.err.find("<stdin>:1:8: error: unknown function 'v'") != std::string::npos);
  CHECK(r.err.find("<stdin>:4:1: error: unknown function 'u'") != std::string::npos);
  // A redefinition replaces the earlier statement, batched or not.
  ProcessResult twice = repl("w(x) = x\nw(x) = 2*x\nw(3)\n", {"--strict"});
  CHECK(twice.exitCode == 0);
  CHECK(twice.out == "6\n");
}

TEST_CASE("a statement open over many lines is one statement", "[repl]") {
  std::string script = "s = (0\n";
  for (int i = 0; i < 5000; ++i)
    script += "+ 1\n";
  script += ")\ns\nt = [1,\n# a comment ( inside\n2]\nsum(t)\n";
  ProcessResult r = repl(script, {"--strict"});
  INFO(r.err);
  CHECK(r.exitCode == 0);
  CHECK(r.out == "5000\n3\n");
}

TEST_CASE(":load of a file that is not nabla echoes at most three of its lines, cut short",
          "[repl]") {
  TempPath file(".txt");
  std::vector<std::string> secrets;
  {
    std::ofstream out(file.path);
    for (int i = 0; i < 12; ++i) {
      secrets.push_back("user" + std::to_string(i) + ":x:" + std::to_string(1000 + i));
      out << secrets.back() << ":/home/user" << i << ":/bin/sh\n";
    }
    out << "long:" << std::string(2000, 'z') << "\n";
  }
  ProcessResult r = repl(":load " + file.path + "\n:list\n");
  CHECK(r.out.empty());
  std::size_t echoed = 0;
  for (const std::string &s : secrets)
    if (r.err.find(s + ":/home") != std::string::npos) ++echoed;
  CHECK(echoed == 3);
  CHECK(r.err.find(file.path + ":4:") != std::string::npos);  // later errors: their first line
  for (std::size_t at = 0, next; at < r.err.size(); at = next + 1) {
    next = r.err.find('\n', at);
    if (next == std::string::npos) next = r.err.size();
    CHECK(next - at <= 320);
  }
  // The same file through a command line: the same cap.
  ProcessResult check = runNabla({"check", file.path});
  CHECK(check.exitCode == 1);
  echoed = 0;
  for (const std::string &s : secrets)
    if (check.err.find(s + ":/home") != std::string::npos) ++echoed;
  CHECK(echoed == 3);
  // Devices and FIFOs are refused at once.
  r = repl(":load /dev/zero\n");
  CHECK(r.err.find("cannot read '/dev/zero': it is a character device, not a regular file") !=
        std::string::npos);
}

TEST_CASE("a line that makes an open input invalid ends it: its error once, then a fresh start",
          "[repl]") {
  // A blank line ends an open input: `g(x) = sin(x` is reported (where the ')' is missing) and
  // `1+1` is an input of its own. The session's earlier definitions survive.
  ProcessResult r = repl("a = 2\ng(x) = sin(x\n\n1+1\na*10\n");
  INFO(r.err);
  CHECK(r.out == "2\n20\n");
  CHECK(r.err.find("<stdin>:2:13: error: unexpected end of input: expected ')' to close '('") !=
        std::string::npos);
  CHECK(r.err.find("note: to match this '('") == r.err.rfind("note: to match this '('"));
  // Without a blank line: the line that makes the input invalid is reported and dropped with it
  // (as in Python), and the line after it starts afresh.
  r = repl("a = 2\ng(x) = sin(x\n1+1\n2+2\n[1,\n 2 3\na*10\n:list\n");
  INFO(r.err);
  CHECK(r.out == "4\n20\na = 2\n");
  CHECK(r.err.find("<stdin>:3:1: error: expected ',' or ')' in argument list") !=
        std::string::npos);
  CHECK(r.err.find("<stdin>:6:4: error: ") != std::string::npos);
  CHECK(r.err.find("<stdin>:7:") == std::string::npos);
  // An input that is still valid so far continues, comments and blank-free, as before.
  r = repl("h(x) = (x +\n  # more to come\n  1)*2\nh(1)\n", {"--strict"});
  INFO(r.err);
  CHECK(r.exitCode == 0);
  CHECK(r.out == "4\n");
}

TEST_CASE("a long open input with an error is cut at the error's line, whenever it is found",
          "[repl]") {
  // Beyond a few KiB an open input is parsed again less often than every line: the error is then
  // found a few lines late, and the lines read after it are read again as new input, so the
  // result is the same as with a check after every line.
  for (int before : {10, 3000}) {
    std::string script = "s = (0\n";
    for (int i = 0; i < before; ++i)
      script += "+ 1\n";
    script += "+ * 1\nt = 3\nu = (t +\n1)\nt*u\n";
    ProcessResult r = repl(script);
    INFO(before << "\n" << r.err);
    CHECK(r.out == "12\n");
    const std::string at = "<stdin>:" + std::to_string(before + 2) + ":3: error: ";
    CHECK(r.err.find(at) != std::string::npos);
    CHECK(r.err.find("error:") == r.err.rfind("error:"));  // one error
  }
  // And at the end of the input, or before a blank line.
  std::string script = "s = (0\n";
  for (int i = 0; i < 3000; ++i)
    script += "+ 1\n";
  script += "+ * 1\nt = 3\nt*2\n(\n\nt*3\n";
  ProcessResult r = repl(script);
  INFO(r.err);
  CHECK(r.out == "6\n9\n");
  CHECK(r.err.find("<stdin>:3002:3: error: ") != std::string::npos);
  CHECK(r.err.find("<stdin>:3005:") != std::string::npos);  // the unfinished `(`
  // And when a later line closes the bracket: that line is an input of its own, as it would be
  // after a check of every line.
  script = "s = (0\n";
  for (int i = 0; i < 3000; ++i)
    script += "+ 1\n";
  script += "+ * 1\n)\nt = 3\nt*2\n";
  r = repl(script);
  INFO(r.err);
  CHECK(r.out == "6\n");
  CHECK(r.err.find("<stdin>:3002:3: error: ") != std::string::npos);
  CHECK(r.err.find("<stdin>:3003:1: error: ") != std::string::npos);
}

TEST_CASE("a name alone that the session does not define is an error with a suggestion",
          "[repl]") {
  ProcessResult r = repl("loss(w) = (w - 3)^2\nsigma = 2\n:grad los\n:hessian los\n:diff sigm\n"
                         ":graph los\n:ir los\n:grad zzz\n:eval sigmaa\n:time sigmaa\n:unset sigm\n"
                         ":grad loss\n");
  INFO(r.err);
  CHECK(r.out.rfind("∂loss/∂w = ", 0) == 0);
  CHECK(lines(r.out).size() == 1);
  CHECK(r.out.find("∂/∂los") == std::string::npos);
  for (const char *typo : {"los", "sigm"})
    CHECK(r.err.find("error: unknown name '" + std::string(typo) + "' (did you mean '") !=
          std::string::npos);
  CHECK(r.err.find("unknown name 'zzz': the session does not define it") != std::string::npos);
  CHECK(r.err.find("no value for 'sigmaa' (did you mean 'sigma'?)") != std::string::npos);
  CHECK(r.err.find("'sigm' has no value (did you mean 'sigma'?)") != std::string::npos);
  // A name with a value (:at), a param and the objective are names of the session.
  r = repl(":at t=2\n:grad t\nparam p = 1\nminimize p^2\n:grad L\n:grad Ls\n:diff t*s wrt s\n",
           {"--strict"});
  INFO(r.err);
  CHECK(r.out == "∂/∂t = 1\n∂L/∂p = 2*p\n∂/∂s = t\n");
  CHECK(r.err.find("unknown name 'Ls'") != std::string::npos);
}

TEST_CASE(":help keeps its two columns apart however long a synopsis is", "[repl]") {
  ProcessResult r = repl(":help\n");
  REQUIRE(r.exitCode == 0);
  std::size_t column = std::string::npos;
  for (const std::string &l : lines(r.out)) {
    if (l.rfind("  :", 0) != 0)
      continue;
    // The summary starts after two spaces at least, at the same column on every line.
    std::size_t gap = l.find("  ", 2);
    REQUIRE(gap != std::string::npos);
    std::size_t summary = l.find_first_not_of(' ', gap);
    if (column == std::string::npos)
      column = summary;
    CHECK(summary == column);
  }
  CHECK(r.out.find("  :hessian F | F(1, 2) | EXPR  the Hessian") != std::string::npos);
}

TEST_CASE("a limit is an error of the line with a note on raising it, and the session goes on",
          "[repl]") {
  ProcessResult r = repl("param w[30] = 0.5\nminimize sum(w^2)^2\n:hessian L\n:grad L\nw[0]\n",
                         {"--max-nodes", "200"});
  INFO(r.err);
  CHECK(r.err.find("error: the objective: the Hessian of 30 variables has 900 entries, more than "
                   "the limit of 200") != std::string::npos);
  CHECK(r.err.find("note: limits are options of nabla repl") != std::string::npos);
  CHECK(r.err.find("bug in nabla") == std::string::npos);
  CHECK(r.out.rfind("∂L/∂w[0] = ", 0) == 0);
  CHECK(lines(r.out).back() == "0.5");
}

TEST_CASE("SIGINT while a command runs stops the command, not the session", "[repl]") {
  // A function large enough that `:time` (simplifying its gradient, then compiling it twice)
  // takes seconds; SIGINT comes while it runs, after the line before it has printed.
  std::string big = "f(x) = 0";
  for (int k = 1; k <= kBigTerms; ++k)
    big += " + sin(" + std::to_string(k) + "*x)*exp(x/" + std::to_string(k) + ")";
  TempPath script(".txt"), out(".out"), err(".err");
  {
    std::ofstream s(script.path);
    s << "a = 2\n" << big << "\n1+1\n:time f(0.5)\na*10\n";
  }
  std::vector<std::string> args = {NABLA_BINARY, "repl"};
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, script.path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.path.c_str(), O_WRONLY | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.path.c_str(), O_WRONLY | O_TRUNC, 0644);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, NABLA_BINARY, &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  bool exited = false;
  auto waitFor = [&](auto condition) {
    for (int i = 0; i < 6000 && !exited; ++i) {
      if (condition())
        return true;
      exited = waitpid(pid, &status, WNOHANG) == pid;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  const bool started = waitFor([&] { return out.read() == "2\n"; });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  if (!exited)
    kill(pid, SIGINT);
  waitFor([] { return false; });
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  INFO(err.read());
  CHECK(started);
  REQUIRE(exited);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(out.read() == "2\n20\n");  // no timing: :time stopped; the session's `a` kept
  CHECK(err.read().find("stopping (Ctrl-C again ends the session)") != std::string::npos);
  CHECK(err.read().find("error: interrupted") != std::string::npos);
}

TEST_CASE("a long command says nothing of its work in a pipe", "[repl]") {
  // `:time` of the big function runs for more than a second (see kBigTerms); on a terminal it
  // would show "working... (Ctrl-C to stop)" on stderr, in a pipe nothing but its result.
  std::string big = "f(x) = 0";
  for (int k = 1; k <= kBigTerms; ++k)
    big += " + sin(" + std::to_string(k) + "*x)*exp(x/" + std::to_string(k) + ")";
  ProcessResult r = repl(big + "\n:time f(0.5)\n");
  INFO(r.err);
  CHECK(r.err.empty());
  CHECK(r.out.find("LLVM O2") != std::string::npos);
  CHECK(r.out.find("working") == std::string::npos);
}
