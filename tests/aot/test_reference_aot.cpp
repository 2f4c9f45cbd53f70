// Every case of the gradient reference data in ONE ahead-of-time library (functions case_0,
// case_1, ...), loaded with dlopen: each of its entry points equals the JIT's entry point at the
// same optimization level bit for bit, and the reference values within the reference tolerance.
#include "aot_test_util.h"

#include "jit/compiled_function.h"
#include "pipeline.h"
#include "support/reference.h"

#include <bit>
#include <cmath>

using namespace nabla;
using namespace nabla::aottest;
using namespace nabla::test;

namespace {

/// The same bit pattern, or both NaN (NaN payloads are not part of nabla's arithmetic).
bool sameDouble(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) ||
         std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

std::string casesProgram(const std::vector<ReferenceCase> &cases) {
  std::string text = "# every case of tests/reference/gradients.json, as a function\n";
  for (std::size_t k = 0; k < cases.size(); ++k) {
    std::string vars;
    for (const std::string &v : cases[k].vars) vars += (vars.empty() ? "" : ", ") + v;
    text += "case_" + std::to_string(k) + "(" + vars + ") = " + cases[k].expr + "\n";
  }
  return text;
}

/// Compiles the cases into a library at `level` and checks every entry point at every point
/// against the JIT at the same level and against the reference. Returns the points checked.
std::size_t checkLibrary(const std::vector<ReferenceCase> &cases, jit::OptLevel level) {
  const int levelNumber = static_cast<int>(level);
  INFO("-O" << levelNumber);
  TempDir dir;
  const std::string text = casesProgram(cases);
  writeText(dir / "cases.nabla", text);
  ProcessResult r = runNablaWith({"compile", dir / "cases.nabla", "-o", dir / "libcases.so",
                           "-O" + std::to_string(levelNumber)});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  Library lib(dir / "libcases.so");

  // The same program through the same stages as `nabla compile`, in the same order, so that the
  // JIT compiles the very same derivative DAGs.
  CompileOptions options;
  SourceBuffer buffer("cases.nabla", text);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
  INFO(renderDiagnostics(sink));
  REQUIRE(program);
  REQUIRE(program->functions.size() == cases.size());
  Graph &graph = program->graph;
  jit::Session session(jit::SessionOptions{level});

  std::size_t points = 0;
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const ReferenceCase &c = cases[k];
    const FunctionEntry &fn = program->functions[k];
    const std::string name = "case_" + std::to_string(k);
    INFO(name << ": " << c.name << " (" << c.expr << ")");
    std::vector<NodeId> vars;
    for (const VarGroup &g : fn.args) vars.insert(vars.end(), g.nodes.begin(), g.nodes.end());
    REQUIRE(vars.size() == c.vars.size());
    Derivatives d = differentiate(graph, fn.result.elems[0], vars, true, options);
    jit::CompiledFunction jitted = jit::compileFunction(session, graph, fn, d);

    void *value = lib.find(name), *grad = lib.find(name + "_grad"),
         *hess = lib.find(name + "_hess");
    REQUIRE(value);
    REQUIRE(grad);
    REQUIRE(hess);
    const std::size_t n = vars.size();
    for (const ReferencePoint &p : c.points) {
      INFO(describe(c, p));
      std::vector<double> at;
      for (const std::string &v : c.vars) at.push_back(p.at.at(v));

      const double aotValue = callDoubles<double>(value, at);
      std::vector<double> aotGrad(n, std::nan("")), aotHess(n * n, std::nan(""));
      const double aotFused = callDoubles<double, double *>(grad, at, aotGrad.data());
      callDoubles<void, double *>(hess, at, aotHess.data());

      const double jitValue = jitted(at);
      const auto [jitFused, jitGrad] = jitted.valueAndGrad(at);
      const std::vector<double> jitHess = jitted.hessian(at);

      INFO("value: aot " << aotValue << ", jit " << jitValue);
      CHECK(sameDouble(aotValue, jitValue));
      INFO("fused value: aot " << aotFused << ", jit " << jitFused);
      CHECK(sameDouble(aotFused, jitFused));
      for (std::size_t i = 0; i < n; ++i) {
        INFO("d/d" << c.vars[i] << ": aot " << aotGrad[i] << ", jit " << jitGrad[i]);
        CHECK(sameDouble(aotGrad[i], jitGrad[i]));
      }
      for (std::size_t i = 0; i < n * n; ++i) {
        INFO("hessian[" << i / n << "][" << i % n << "]: aot " << aotHess[i] << ", jit "
                        << jitHess[i]);
        CHECK(sameDouble(aotHess[i], jitHess[i]));
      }

      // And the reference values, by the reference's own tolerance rule.
      CHECK(valueMatches(aotValue, p.value));
      const auto [gScale, hScale] = scalesOf(p);
      for (std::size_t i = 0; i < n; ++i) {
        INFO("d/d" << c.vars[i] << " = " << aotGrad[i] << " want " << p.grad.at(c.vars[i]));
        CHECK(entryMatches(aotGrad[i], p.grad.at(c.vars[i]), gScale));
        for (std::size_t j = 0; j < n; ++j) {
          INFO("d2/d" << c.vars[i] << "d" << c.vars[j] << " = " << aotHess[i * n + j] << " want "
                      << p.hessian[i][j]);
          CHECK(entryMatches(aotHess[i * n + j], p.hessian[i][j], hScale));
        }
      }
      ++points;
    }
  }
  return points;
}

}  // namespace

TEST_CASE("an AOT library of every reference case equals the JIT bit for bit at -O2",
          "[aot][reference]") {
  const CaseSweep sweep = gradientSweep();
  CHECK(checkLibrary(sweep.cases, jit::OptLevel::O2) == sweep.points);
}

TEST_CASE("an AOT library of every reference case equals the JIT bit for bit at -O0, -O1, -O3",
          "[aot][reference]") {
  const CaseSweep sweep = gradientSweep();
  for (jit::OptLevel level : {jit::OptLevel::O0, jit::OptLevel::O1, jit::OptLevel::O3})
    CHECK(checkLibrary(sweep.cases, level) == sweep.points);
}
