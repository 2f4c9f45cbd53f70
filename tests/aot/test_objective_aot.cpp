// The objective's entry points of an AOT library: one row against the interpreter (and the JIT,
// bit for bit), the batch against the mean of one-row calls, the maximize sign convention
// against hand-derived values, no inputs, and arguments too large for the stack.
#include "aot_test_util.h"

#include "graph/interp.h"
#include "jit/compiled_function.h"
#include "pipeline.h"

#include <bit>
#include <cmath>
#include <limits>
#include <random>

using namespace nabla;
using namespace nabla::aottest;

namespace {

using ObjectiveFn = double (*)(const double *, const double *, double *);
using BatchFn = double (*)(const double *, std::size_t, const double *const *, double *);
using HessFn = void (*)(const double *, const double *, double *);

/// Distance in units in the last place (0 when equal, ±0 are 0 apart; NaNs are 0 apart).
std::uint64_t ulpDistance(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b) ? 0 : std::numeric_limits<std::uint64_t>::max();
  auto ordered = [](double x) {
    auto bits = std::bit_cast<std::int64_t>(x);
    return bits < 0 ? std::numeric_limits<std::int64_t>::min() - bits : bits;
  };
  std::int64_t ia = ordered(a), ib = ordered(b);
  return ia > ib ? static_cast<std::uint64_t>(ia) - static_cast<std::uint64_t>(ib)
                 : static_cast<std::uint64_t>(ib) - static_cast<std::uint64_t>(ia);
}

bool sameDouble(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) ||
         std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

bool closeRelative(double got, double want, double rel) {
  return std::abs(got - want) <= rel * std::max(std::abs(want), 1e-300);
}

/// A model with matrix, vector and scalar params and inputs (the inputs read in an order unlike
/// their declaration), written to `dir` and compiled into a library.
const char *const kModel = R"(# a small regression with a weighted loss
param W[2][3] = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]
param b ~ normal(0, 0.1)
param s = 0.5
input x[3]
input y from (target)
input weight
h = tanh(W @ x)
minimize weight * (sum(h) + b*s - y)^2 + 0.01*sum(W^2) + softplus(s*x[2]) - log(s^2 + 1)
)";

struct Compiled {
  TempDir dir;
  std::unique_ptr<Library> lib;
};

std::unique_ptr<Compiled> compileModel(const std::string &text, const std::string &name,
                                       const std::vector<std::string> &extra = {}) {
  auto out = std::make_unique<Compiled>();
  writeText(out->dir / (name + ".nabla"), text);
  std::vector<std::string> args{"compile", out->dir / (name + ".nabla"), "-o",
                                out->dir / ("lib" + name + ".so")};
  args.insert(args.end(), extra.begin(), extra.end());
  test::ProcessResult r = runNablaWith(args);
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  out->lib = std::make_unique<Library>(out->dir / ("lib" + name + ".so"));
  return out;
}

/// The model lowered by the test, with its objective differentiated like `nabla compile` does.
struct Reference {
  LoweredProgram program;
  Derivatives d;
  std::vector<SymbolId> params, inputs;
};

Reference lowerModel(const std::string &text) {
  CompileOptions options;
  SourceBuffer buffer("model.nabla", text);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
  INFO(renderDiagnostics(sink));
  REQUIRE(program);
  REQUIRE(program->objective);
  Reference ref{std::move(*program), {}, {}, {}};
  std::vector<NodeId> vars;
  for (const ParamDecl &p : ref.program.params) {
    vars.insert(vars.end(), p.vars.nodes.begin(), p.vars.nodes.end());
    ref.params.insert(ref.params.end(), p.vars.symbols.begin(), p.vars.symbols.end());
  }
  for (const InputDecl &in : ref.program.inputs)
    ref.inputs.insert(ref.inputs.end(), in.vars.symbols.begin(), in.vars.symbols.end());
  ref.d = differentiate(ref.program.graph, ref.program.objective->expr, vars, true, options);
  return ref;
}

/// Value, gradient and Hessian (row-major) by the interpreter.
std::vector<double> interpret(const Reference &ref, const std::vector<double> &params,
                              const std::vector<double> &inputs) {
  const Graph &g = ref.program.graph;
  std::vector<double> symbols(g.symbolCount(), std::nan(""));
  for (std::size_t k = 0; k < params.size(); ++k) symbols[ref.params[k]] = params[k];
  for (std::size_t k = 0; k < inputs.size(); ++k) symbols[ref.inputs[k]] = inputs[k];
  std::vector<NodeId> roots{ref.d.value};
  roots.insert(roots.end(), ref.d.grad.begin(), ref.d.grad.end());
  for (const auto &row : ref.d.hessian) roots.insert(roots.end(), row.begin(), row.end());
  return evaluate(g, roots, symbols);
}

}  // namespace

TEST_CASE("the objective of one row equals the interpreter, and the JIT bit for bit",
          "[aot][objective]") {
  auto compiled = compileModel(kModel, "model");
  const Library &lib = *compiled->lib;
  auto objective = lib.get<ObjectiveFn>("nabla_objective");
  auto hessian = lib.get<HessFn>("nabla_objective_hess");
  Reference ref = lowerModel(kModel);
  const std::size_t P = ref.params.size(), I = ref.inputs.size();
  REQUIRE(P == 8);
  REQUIRE(I == 5);

  // The JIT over the same arguments: params, then inputs.
  std::vector<SymbolId> args = ref.params;
  args.insert(args.end(), ref.inputs.begin(), ref.inputs.end());
  jit::Session session;
  jit::CompiledFunction jitted =
      jit::compileFunction(session, ref.program.graph, "L", args, ref.d);

  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uniform(-2, 2);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> params(P), inputs(I);
    for (double &v : params) v = uniform(rng);
    for (double &v : inputs) v = uniform(rng);
    INFO("trial " << trial);
    const std::vector<double> want = interpret(ref, params, inputs);

    std::vector<double> grad(P, std::nan("")), hess(P * P, std::nan(""));
    const double value = objective(params.data(), inputs.data(), grad.data());
    hessian(params.data(), inputs.data(), hess.data());
    CHECK(ulpDistance(value, want[0]) <= 4);
    for (std::size_t i = 0; i < P; ++i) {
      INFO("grad[" << i << "]: aot " << grad[i] << ", interpreter " << want[1 + i]);
      CHECK(ulpDistance(grad[i], want[1 + i]) <= 4);
    }
    for (std::size_t i = 0; i < P * P; ++i) {
      INFO("hess[" << i << "]: aot " << hess[i] << ", interpreter " << want[1 + P + i]);
      CHECK(ulpDistance(hess[i], want[1 + P + i]) <= 4);
    }

    std::vector<double> all = params;
    all.insert(all.end(), inputs.begin(), inputs.end());
    const auto [jitValue, jitGrad] = jitted.valueAndGrad(all);
    const std::vector<double> jitHess = jitted.hessian(all);
    CHECK(sameDouble(value, jitValue));
    for (std::size_t i = 0; i < P; ++i) CHECK(sameDouble(grad[i], jitGrad[i]));
    for (std::size_t i = 0; i < P * P; ++i) CHECK(sameDouble(hess[i], jitHess[i]));

    // A null gradient asks for the value alone: the JIT's value entry point.
    CHECK(sameDouble(objective(params.data(), inputs.data(), nullptr), jitted(all)));
  }
}

TEST_CASE("the batched objective is the mean of the one-row objective over the rows",
          "[aot][objective]") {
  auto compiled = compileModel(kModel, "model");
  const Library &lib = *compiled->lib;
  auto objective = lib.get<ObjectiveFn>("nabla_objective");
  auto batch = lib.get<BatchFn>("nabla_objective_batch");
  const std::size_t P = 8, I = 5;

  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> uniform(-1.5, 1.5);
  std::vector<double> params(P);
  for (double &v : params) v = uniform(rng);
  for (std::size_t n : {1u, 2u, 7u, 64u, 1000u}) {
    INFO(n << " rows");
    // Columns, one per scalar input; row r is (columns[0][r], ..., columns[I-1][r]).
    std::vector<std::vector<double>> data(I, std::vector<double>(n));
    for (auto &column : data)
      for (double &v : column) v = uniform(rng);
    std::vector<const double *> columns;
    for (const auto &column : data) columns.push_back(column.data());

    double sum = 0;
    std::vector<double> gradSum(P, 0.0), rowGrad(P);
    for (std::size_t r = 0; r < n; ++r) {
      std::vector<double> row(I);
      for (std::size_t k = 0; k < I; ++k) row[k] = data[k][r];
      sum += objective(params.data(), row.data(), rowGrad.data());
      for (std::size_t i = 0; i < P; ++i) gradSum[i] += rowGrad[i];
    }
    std::vector<double> grad(P, std::nan(""));
    const double mean = batch(params.data(), n, columns.data(), grad.data());
    CHECK(closeRelative(mean, sum / static_cast<double>(n), 1e-12));
    for (std::size_t i = 0; i < P; ++i) {
      INFO("grad[" << i << "] = " << grad[i] << ", mean of rows "
                   << gradSum[i] / static_cast<double>(n));
      CHECK(closeRelative(grad[i], gradSum[i] / static_cast<double>(n), 1e-12));
    }
    // Without a gradient: the same mean.
    CHECK(closeRelative(batch(params.data(), n, columns.data(), nullptr), mean, 1e-12));
    // One row: the kernel's vector math functions (glibc's libmvec) are within 4 ulps of the
    // scalar ones the one-row objective calls.
    if (n == 1) CHECK(closeRelative(mean, sum, 1e-14));

    // The sums over split ranges add up to the sums over all rows, and give the same means.
    using SumsFn = void (*)(const double *, std::size_t, std::size_t, const double *const *, double *);
    auto sums = lib.get<SumsFn>("nabla_objective_batch_sums");
    std::vector<double> whole(1 + P), left(1 + P), right(1 + P);
    sums(params.data(), 0, n, columns.data(), whole.data());
    sums(params.data(), 0, n / 2, columns.data(), left.data());
    sums(params.data(), n / 2, n, columns.data(), right.data());
    CHECK(sameDouble(whole[0] / static_cast<double>(n), mean));
    for (std::size_t k = 0; k <= P; ++k)
      CHECK(closeRelative(left[k] + right[k], whole[k], 1e-12));
  }

  // No rows: the mean of nothing is NaN, for the loss and every gradient entry.
  std::vector<double> grad(P, 0.0);
  std::vector<const double *> columns(I, nullptr);
  CHECK(std::isnan(batch(params.data(), 0, columns.data(), grad.data())));
  for (double g : grad) CHECK(std::isnan(g));
}

TEST_CASE("a maximize objective returns the expression as written and its gradient",
          "[aot][objective]") {
  // log-likelihood of x under N(m, 1) up to a constant: d/dm = x - m, d2/dm2 = -1.
  auto compiled = compileModel("param m = 1\ninput x\nmaximize -(x - m)^2 / 2\n", "gauss");
  const Library &lib = *compiled->lib;
  auto objective = lib.get<ObjectiveFn>("nabla_objective");
  auto hessian = lib.get<HessFn>("nabla_objective_hess");
  auto batch = lib.get<BatchFn>("nabla_objective_batch");
  const double m = 1, x = 3;
  double grad = 0, hess = 0;
  CHECK(objective(&m, &x, &grad) == -2);
  CHECK(grad == 2);
  hessian(&m, &x, &hess);
  CHECK(hess == -1);
  const double xs[] = {3, 5};
  const double *columns[] = {xs};
  CHECK(batch(&m, 2, columns, &grad) == -5);  // (-2 + -8) / 2
  CHECK(grad == 3);                           // (2 + 4) / 2

  // The description and the header say so.
  auto info = lib.get<const char *(*)()>("nabla_module_info");
  CHECK(contains(info(), "\"sense\":\"maximize\""));
  const TempDir &dir = compiled->dir;
  test::ProcessResult r = runNablaWith({"compile", dir / "gauss.nabla", "-o", dir / "gauss.o",
                                        "--emit", "obj", "--header", dir / "gauss.h"});
  REQUIRE(r.exitCode == 0);
  const std::string header = readText(dir / "gauss.h");
  CHECK(contains(header, "maximize -(x - m)^2 / 2"));
  CHECK(contains(header, "Sign convention: every entry point returns the objective as written"));
}

TEST_CASE("an objective without inputs reads neither inputs nor columns", "[aot][objective]") {
  auto compiled = compileModel(
      readText(std::string(NABLA_SOURCE_DIR) + "/samples/rosenbrock.nabla"), "rosenbrock");
  const Library &lib = *compiled->lib;
  auto objective = lib.get<ObjectiveFn>("nabla_objective");
  auto batch = lib.get<BatchFn>("nabla_objective_batch");
  auto hessian = lib.get<HessFn>("nabla_objective_hess");
  // (1 - x)^2 + 100 (y - x^2)^2 at (-1.5, 2): by hand, 2.5^2 + 100 * 0.25^2 = 12.5, gradient
  // (-2(1 - x) - 400x(y - x^2), 200(y - x^2)) = (-155, -50), Hessian [[1902, 600], [600, 200]].
  const double xy[] = {-1.5, 2};
  double grad[2] = {0, 0}, hess[4] = {0, 0, 0, 0};
  CHECK(objective(xy, nullptr, grad) == 12.5);
  CHECK(grad[0] == -155);
  CHECK(grad[1] == -50);
  CHECK(batch(xy, 3, nullptr, grad) == 12.5);
  CHECK(grad[0] == -155);
  CHECK(grad[1] == -50);
  hessian(xy, nullptr, hess);
  CHECK(hess[0] == 1902);
  CHECK(hess[1] == 600);
  CHECK(hess[2] == 600);
  CHECK(hess[3] == 200);
}

TEST_CASE("arguments beyond 64 KiB go through the heap with the same results", "[aot][objective]") {
  // 8200 inputs: the one-row arguments and the batch's scratch exceed the stack bound.
  const std::size_t I = 8200;
  auto compiled = compileModel("param w = 0.5\ninput x[8200]\nminimize (w - sum(x))^2\n", "wide",
                               {"--no-hessian"});
  const Library &lib = *compiled->lib;
  auto objective = lib.get<ObjectiveFn>("nabla_objective");
  auto batch = lib.get<BatchFn>("nabla_objective_batch");
  CHECK(lib.find("nabla_objective_hess") == nullptr);

  // Small integers and halves: every sum below is exact, so the values are exact too.
  std::vector<double> row(I);
  for (std::size_t k = 0; k < I; ++k) row[k] = (k % 3 == 0) ? 1.0 : (k % 3 == 1 ? -1.0 : 0.5);
  double s = 0;
  for (double v : row) s += v;
  const double w = 0.5;
  double grad = 0;
  CHECK(objective(&w, row.data(), &grad) == (w - s) * (w - s));
  CHECK(grad == 2 * (w - s));

  // Two rows: the second is the first plus one in column 0.
  std::vector<std::vector<double>> data(I, std::vector<double>(2));
  std::vector<const double *> columns;
  for (std::size_t k = 0; k < I; ++k) {
    data[k][0] = row[k];
    data[k][1] = row[k] + (k == 0 ? 1 : 0);
    columns.push_back(data[k].data());
  }
  const double l0 = (w - s) * (w - s), l1 = (w - s - 1) * (w - s - 1);
  CHECK(batch(&w, 2, columns.data(), &grad) == (l0 + l1) / 2);
  CHECK(grad == (2 * (w - s) + 2 * (w - s - 1)) / 2);
}
