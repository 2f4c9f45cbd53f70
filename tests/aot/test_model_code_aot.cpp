// Compiling a model runs nothing but its arithmetic: the code nabla generates for a program that
// uses every built-in (value, gradient, Hessian, the batched objective, arguments on the heap)
// calls only the math library, malloc/free and LLVM's intrinsics. Checked on the optimized IR of
// `nabla compile --emit llvm-ir`, which is what the JIT compiles too (codegen/ is shared).
#include "aot_test_util.h"

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

using namespace nabla::aottest;
using nabla::test::ProcessResult;

namespace {

const char *kEveryBuiltin =
    "f(a, b) = exp(a) + log(b) + sqrt(b) + sin(a) + cos(a) + tan(a) + asin(a) + acos(a) + atan(a)"
    " + sinh(a) + cosh(a) + tanh(a) + sigmoid(a) + softplus(a) + relu(a) + log1p(b) + expm1(a)"
    " + abs(a) + sign(a) + floor(a) + pow(a, b) + a^b + min(a, b) + max(a, b) + atan2(a, b)"
    " + hypot(a, b) + where(a < b, a, b) + (a <= b) + (a > b) + (a >= b) + (a == b) + (a != b)"
    " + (a > 0 && b > 0) + (a > 0 || b > 0) + !a + logsumexp([a, b]) + softmax([a, b])[0]"
    " + norm([a, b]) + prod([a, b]) + mean([a, b]) + d(a^3, a) + grad(a*b)[1]\n";

/// The functions the IR declares (defined elsewhere), by name.
std::set<std::string> declared(const std::string &ir) {
  std::set<std::string> out;
  std::istringstream lines(ir);
  const std::regex declare(R"(^declare .*@("?)([^"( ]+)\1\()");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, declare)) out.insert(m[2]);
  }
  return out;
}

bool allowed(const std::string &name) {
  static const std::set<std::string> kLibrary = {
      "exp",   "log",   "sin",    "cos",   "tan",   "asin",   "acos",   "atan",    "sinh",
      "cosh",  "tanh",  "log1p",  "expm1", "pow",   "atan2",  "hypot",  "sqrt",    "floor",
      "fabs",  "sincos", "exp2",  "exp10", "ldexp", "malloc", "free",   "memcpy",  "memmove",
      "memset"};
  return kLibrary.count(name) || name.rfind("llvm.", 0) == 0 || name.rfind("_ZGV", 0) == 0;
}

std::set<std::string> checkModel(const std::string &model, const std::vector<std::string> &flags) {
  TempDir dir;
  writeText(dir / "model.nabla", model);
  std::vector<std::string> args = {"compile", dir / "model.nabla", "--emit", "llvm-ir", "-o",
                                   dir / "model.ll"};
  args.insert(args.end(), flags.begin(), flags.end());
  ProcessResult r = runNablaWith(args);
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  const std::string ir = readText(dir / "model.ll");
  const std::set<std::string> calls = declared(ir);
  CHECK(calls.count("exp"));  // the parser of declarations works
  for (const std::string &name : calls) {
    INFO("the compiled code calls '" << name << "'");
    CHECK(allowed(name));
  }
  CHECK_FALSE(contains(ir, " asm "));
  CHECK_FALSE(contains(ir, "inttoptr"));  // no call through an address baked into the code
  return calls;
}

}  // namespace

TEST_CASE("compiled model code calls only the math library and malloc/free", "[aot][security]") {
  SECTION("functions with their Hessians, every built-in, O0 and O2") {
    const std::string model = std::string(kEveryBuiltin) + "g(x, y) = f(x, y) * f(y, x)\n";
    checkModel(model, {"-O0"});
    checkModel(model, {"-O2"});
  }
  SECTION("an objective with 8200 inputs (arguments on the heap) and its batched kernel") {
    const std::string model = std::string(kEveryBuiltin) +
                              "param w[3] ~ normal(0, 1)\ninput x[3]\ninput y\ninput big[8200]\n"
                              "minimize f(dot(w, x), y) + (w[0] - sum(big))^2\n";
    const std::set<std::string> calls = checkModel(model, {"--no-hessian"});
    CHECK(calls.count("malloc"));  // the heap path was compiled
  }
}
