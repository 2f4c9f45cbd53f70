// What an AOT library holds and says about itself: nabla_module_info() against the program, the
// exported symbols, the header compiled as C and C++, the libraries it needs (DT_NEEDED), and
// the --emit outputs.
#include "aot_test_util.h"

#include <llvm/Support/JSON.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sys/stat.h>

using namespace nabla::aottest;

namespace {

/// Functions of scalars (one with arguments whose names C cannot take in a prototype), one
/// array-valued function and one that reads a param (both skipped), and an objective.
const char *const kProgram = R"(# what a library exports
param W[2][3] = [[1, 2, 3], [4, 5, 6]]
param b ~ normal(0, 0.1)
param c ~ uniform(-1, 1)
input x[3] from (first .. third)
input y from (label)
f(x, y) = (x^2 + y)^2 * (y - x*y)
g(_Bool, hess, restrict) = _Bool * hess - restrict^2
pair(a) = [a, 2*a]
scaled(u) = u * b
minimize (sum(W @ x) + b - y)^2 + c^2
)";

struct Built {
  TempDir dir;
  nabla::test::ProcessResult result;
  std::string library, header;
};

std::unique_ptr<Built> build(const std::string &text, const std::vector<std::string> &extra = {}) {
  auto out = std::make_unique<Built>();
  writeText(out->dir / "model.nabla", text);
  out->library = out->dir / "libmodel.so";
  out->header = out->dir / "model.h";
  std::vector<std::string> args{"compile", out->dir / "model.nabla", "-o", out->library,
                                "--header", out->header};
  args.insert(args.end(), extra.begin(), extra.end());
  out->result = runNablaWith(args);
  return out;
}

const llvm::json::Array &array(const llvm::json::Object &o, const char *key) {
  const llvm::json::Array *a = o.getArray(key);
  INFO(key);
  REQUIRE(a);
  return *a;
}

std::string string(const llvm::json::Object &o, const char *key) {
  std::optional<llvm::StringRef> s = o.getString(key);
  INFO(key);
  REQUIRE(s);
  return s->str();
}

std::int64_t integer(const llvm::json::Object &o, const char *key) {
  std::optional<std::int64_t> n = o.getInteger(key);
  INFO(key);
  REQUIRE(n);
  return *n;
}

/// {name, shape, offset, size} of a group entry.
void checkGroup(const llvm::json::Value &v, const std::string &name,
                const std::vector<std::int64_t> &shape, std::int64_t offset, std::int64_t size) {
  const llvm::json::Object *o = v.getAsObject();
  REQUIRE(o);
  INFO(name);
  CHECK(string(*o, "name") == name);
  std::vector<std::int64_t> dims;
  for (const llvm::json::Value &d : array(*o, "shape")) dims.push_back(*d.getAsInteger());
  CHECK(dims == shape);
  CHECK(integer(*o, "offset") == offset);
  CHECK(integer(*o, "size") == size);
}

/// The shared libraries a library needs, from `readelf -d`.
std::vector<std::string> neededLibraries(const std::string &library) {
  nabla::test::ProcessResult r = run({"readelf", "-d", library});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  std::vector<std::string> needed;
  std::size_t at = 0;
  while ((at = r.out.find("(NEEDED)", at)) != std::string::npos) {
    std::size_t open = r.out.find('[', at), close = r.out.find(']', open);
    REQUIRE(close != std::string::npos);
    needed.push_back(r.out.substr(open + 1, close - open - 1));
    at = close;
  }
  return needed;
}

}  // namespace

TEST_CASE("nabla_module_info describes every entry point, and the library exports just those",
          "[aot][library]") {
  auto built = build(kProgram);
  INFO(built->result.err);
  REQUIRE(built->result.exitCode == 0);
  CHECK(contains(built->result.err, "note: skipping 'pair'"));
  CHECK(contains(built->result.err, "note: skipping 'scaled'"));
  Library lib(built->library);
  auto info = lib.get<const char *(*)()>("nabla_module_info");
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(info());
  INFO(info());
  REQUIRE(static_cast<bool>(parsed));
  const llvm::json::Object &root = *parsed->getAsObject();
  CHECK(string(root, "nabla_version") == NABLA_VERSION);
  CHECK(integer(root, "abi_version") == 1);
  CHECK(string(root, "module") == "model");
  CHECK(string(root, "opt_level") == "O2");
  CHECK(root.getBoolean("fast_math") == false);

  const std::vector<std::pair<std::string, std::string>> expected = {
      {"f", "value"},
      {"f_grad", "grad"},
      {"f_hess", "hess"},
      {"f_hvp", "hvp"},
      {"f_batch", "value_batch"},
      {"f_grad_batch", "grad_batch"},
      {"f_hess_batch", "hess_batch"},
      {"g", "value"},
      {"g_grad", "grad"},
      {"g_hess", "hess"},
      {"g_hvp", "hvp"},
      {"g_batch", "value_batch"},
      {"g_grad_batch", "grad_batch"},
      {"g_hess_batch", "hess_batch"},
      {"nabla_objective", "grad"},
      {"nabla_objective_batch", "batch"},
      {"nabla_objective_batch_sums", "batch_sums"},
      {"nabla_objective_hess", "hess"},
      {"nabla_objective_hvp", "hvp"},
      {"nabla_module_info", "info"}};
  const llvm::json::Array &entries = array(root, "entry_points");
  REQUIRE(entries.size() == expected.size());
  const std::string header = readText(built->header);
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const llvm::json::Object &e = *entries[k].getAsObject();
    INFO(expected[k].first);
    CHECK(string(e, "name") == expected[k].first);
    CHECK(string(e, "kind") == expected[k].second);
    // Each one is a symbol of the library, declared in the header with the same signature.
    CHECK(lib.find(expected[k].first) != nullptr);
    CHECK(contains(header, string(e, "signature") + ";"));
  }
  // Skipped functions are not exported, and nor are the internal array entry points.
  for (const char *absent : {"pair", "scaled", "f.value", "f.grad", "f.vmap", "f.gmap", "f.hmap"})
    CHECK(lib.find(absent) == nullptr);

  const llvm::json::Object &f = *entries[1].getAsObject();
  CHECK(string(f, "function") == "f");
  CHECK(string(f, "signature") == "double f_grad(double x, double y, double *grad)");
  CHECK(integer(f, "outputs") == 2);
  REQUIRE(array(f, "args").size() == 2);
  checkGroup(array(f, "args")[0], "x", {}, 0, 1);
  checkGroup(array(f, "args")[1], "y", {}, 1, 1);
  CHECK(integer(*entries[2].getAsObject(), "outputs") == 4);
  // C cannot take `_Bool` or `restrict` as parameter names, and `hess` is the output's name.
  CHECK(string(*entries[9].getAsObject(), "signature") ==
        "void g_hess(double, double hess, double, double *hess_out)");
  CHECK(string(*entries[10].getAsObject(), "signature") ==
        "void g_hvp(double, double hess, double, const double *v, double *hv)");
  CHECK(string(*entries[3].getAsObject(), "signature") ==
        "void f_hvp(double x, double y, const double *v, double *hv)");
  CHECK(integer(*entries[3].getAsObject(), "outputs") == 2);

  CHECK(string(*entries[5].getAsObject(), "signature") ==
        "int f_grad_batch(size_t n, const double *points, int by_column, double *values, "
        "double *grads)");
  CHECK(integer(*entries[5].getAsObject(), "outputs") == 3);
  const llvm::json::Object &objective = *entries[14].getAsObject();
  CHECK(string(objective, "function") == "objective");
  CHECK(integer(objective, "outputs") == 8);
  const llvm::json::Array &params = array(objective, "params");
  REQUIRE(params.size() == 3);
  checkGroup(params[0], "W", {2, 3}, 0, 6);
  checkGroup(params[1], "b", {}, 6, 1);
  checkGroup(params[2], "c", {}, 7, 1);
  const llvm::json::Array &inputs = array(objective, "inputs");
  REQUIRE(inputs.size() == 2);
  checkGroup(inputs[0], "x", {3}, 0, 3);
  checkGroup(inputs[1], "y", {}, 3, 1);
  CHECK(integer(*entries[16].getAsObject(), "outputs") == 9);   // batch sums: 1 + 8
  CHECK(integer(*entries[17].getAsObject(), "outputs") == 64);  // the Hessian
  CHECK(integer(*entries[18].getAsObject(), "outputs") == 8);   // H v

  // The Hessians' structural nonzeros: f's is dense, g's couples its first two arguments and
  // squares its third; the objective's couples W and b (through the square of their sum) and
  // squares c.
  const llvm::json::Object *sparsity = root.getObject("hessian_sparsity");
  REQUIRE(sparsity);
  auto pattern = [&](const llvm::json::Object &p) {
    std::vector<std::int64_t> starts, columns;
    for (const llvm::json::Value &v : array(p, "row_start")) starts.push_back(*v.getAsInteger());
    for (const llvm::json::Value &v : array(p, "columns")) columns.push_back(*v.getAsInteger());
    CHECK(integer(p, "nonzeros") == static_cast<std::int64_t>(columns.size()));
    return std::make_pair(starts, columns);
  };
  CHECK(pattern(*sparsity->getObject("f")) ==
        std::make_pair(std::vector<std::int64_t>{0, 2, 4}, std::vector<std::int64_t>{0, 1, 0, 1}));
  CHECK(pattern(*sparsity->getObject("g")) ==
        std::make_pair(std::vector<std::int64_t>{0, 1, 2, 3}, std::vector<std::int64_t>{1, 0, 2}));
  const llvm::json::Object *objectiveSparsity =
      root.getObject("objective")->getObject("hessian_sparsity");
  REQUIRE(objectiveSparsity);
  CHECK(integer(*objectiveSparsity, "nonzeros") == 7 * 7 + 1);

  // The objective block: sense, sizes, initializers and data columns.
  const llvm::json::Object *o = root.getObject("objective");
  REQUIRE(o);
  CHECK(string(*o, "sense") == "minimize");
  CHECK(integer(*o, "num_params") == 8);
  CHECK(integer(*o, "num_inputs") == 4);
  const llvm::json::Object &w = *array(*o, "params")[0].getAsObject();
  const llvm::json::Object &winit = *w.getObject("init");
  CHECK(string(winit, "kind") == "value");
  std::vector<double> values;
  for (const llvm::json::Value &v : array(winit, "values")) values.push_back(*v.getAsNumber());
  CHECK(values == std::vector<double>{1, 2, 3, 4, 5, 6});
  const llvm::json::Object &binit = *array(*o, "params")[1].getAsObject()->getObject("init");
  CHECK(string(binit, "kind") == "normal");
  CHECK(binit.getNumber("mean") == 0.0);
  CHECK(binit.getNumber("std") == 0.1);
  const llvm::json::Object &cinit = *array(*o, "params")[2].getAsObject()->getObject("init");
  CHECK(string(cinit, "kind") == "uniform");
  CHECK(cinit.getNumber("lo") == -1.0);
  CHECK(cinit.getNumber("hi") == 1.0);
  const llvm::json::Object &x = *array(*o, "inputs")[0].getAsObject();
  CHECK(x.getBoolean("column_range") == true);
  REQUIRE(array(x, "columns").size() == 2);
  CHECK(*array(x, "columns")[0].getAsString() == "first");
  CHECK(*array(x, "columns")[1].getAsString() == "third");
  const llvm::json::Object &y = *array(*o, "inputs")[1].getAsObject();
  CHECK(y.getBoolean("column_range") == false);
  CHECK(*array(y, "columns")[0].getAsString() == "label");

  // The functions with those odd argument names compute what they say.
  double grad[3], hess[9];
  auto g = lib.get<double (*)(double, double, double)>("g");
  auto gGrad = lib.get<double (*)(double, double, double, double *)>("g_grad");
  auto gHess = lib.get<void (*)(double, double, double, double *)>("g_hess");
  CHECK(g(2, 3, 4) == -10);
  CHECK(gGrad(2, 3, 4, grad) == -10);
  CHECK(grad[0] == 3);
  CHECK(grad[1] == 2);
  CHECK(grad[2] == -8);
  gHess(2, 3, 4, hess);
  const double wantHess[9] = {0, 1, 0, 1, 0, 0, 0, 0, -2};
  for (int i = 0; i < 9; ++i) CHECK(hess[i] == wantHess[i]);
  // H v without the Hessian: rows of wantHess times v.
  auto gHvp = lib.get<void (*)(double, double, double, const double *, double *)>("g_hvp");
  const double v3[3] = {1, 2, 3};
  double hv3[3];
  gHvp(2, 3, 4, v3, hv3);
  CHECK(hv3[0] == 2);
  CHECK(hv3[1] == 1);
  CHECK(hv3[2] == -6);

  // The vectorized entry points give each point what the one-point ones give, row-major and by
  // column, for counts below, at and beyond a vector block, and write nothing for 0 points.
  using Batch = int (*)(std::size_t, const double *, int, double *);
  using GradBatch = int (*)(std::size_t, const double *, int, double *, double *);
  auto fBatch = lib.get<Batch>("f_batch");
  auto fGradBatch = lib.get<GradBatch>("f_grad_batch");
  auto fHessBatch = lib.get<Batch>("f_hess_batch");
  auto fOne = lib.get<double (*)(double, double)>("f");
  auto fGrad = lib.get<double (*)(double, double, double *)>("f_grad");
  auto fHess = lib.get<void (*)(double, double, double *)>("f_hess");
  auto fHvp = lib.get<void (*)(double, double, const double *, double *)>("f_hvp");
  for (std::size_t n : {0, 1, 7, 8, 9, 33}) {
    std::vector<double> rows(2 * n), columns(2 * n);
    for (std::size_t r = 0; r < n; ++r) {
      rows[2 * r] = columns[r] = 0.25 * static_cast<double>(r) - 1.5;
      rows[2 * r + 1] = columns[n + r] = 1.0 / (1.0 + static_cast<double>(r));
    }
    for (int byColumn : {0, 1}) {
      INFO("n " << n << ", by column " << byColumn);
      const double *points = byColumn ? columns.data() : rows.data();
      std::vector<double> values(n + 1, -1.0), grads(2 * n + 1, -1.0), hessians(4 * n + 1, -1.0),
          only(n + 1, -1.0);
      CHECK(fBatch(n, points, byColumn, only.data()) == 0);
      CHECK(fGradBatch(n, points, byColumn, values.data(), grads.data()) == 0);
      CHECK(fHessBatch(n, points, byColumn, hessians.data()) == 0);
      // Nothing beyond the n points.
      CHECK(only[n] == -1.0);
      CHECK(grads[2 * n] == -1.0);
      CHECK(hessians[4 * n] == -1.0);
      for (std::size_t r = 0; r < n; ++r) {
        double g1[2], h1[4];
        const double v = fGrad(rows[2 * r], rows[2 * r + 1], g1);
        fHess(rows[2 * r], rows[2 * r + 1], h1);
        const double dir[2] = {0.5, -1.25};
        double hv[2];
        fHvp(rows[2 * r], rows[2 * r + 1], dir, hv);
        for (std::size_t i = 0; i < 2; ++i) {
          const double want = h1[2 * i] * dir[0] + h1[2 * i + 1] * dir[1];
          CHECK(std::abs(hv[i] - want) <= 1e-13 * (std::abs(h1[2 * i]) + std::abs(h1[2 * i + 1]) + 1));
        }
        CHECK(fOne(rows[2 * r], rows[2 * r + 1]) == v);
        CHECK(only[r] == v);
        CHECK(values[r] == v);
        for (std::size_t i = 0; i < 2; ++i)
          CHECK((byColumn ? grads[i * n + r] : grads[2 * r + i]) == g1[i]);
        for (std::size_t e = 0; e < 4; ++e)
          CHECK((byColumn ? hessians[e * n + r] : hessians[4 * r + e]) == h1[e]);
      }
    }
  }
}

TEST_CASE("an array-level library lists a sparse Hessian's pattern and leaves out a nearly "
          "dense one",
          "[aot][library]") {
  // Chained Rosenbrock of 1200 params: its Hessian is tridiagonal, written here by hand.
  const std::int64_t n = 1200;
  auto chain = build("param x[" + std::to_string(n) +
                         "] = 0.5\nminimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n",
                     {"--level", "array"});
  INFO(chain->result.err);
  REQUIRE(chain->result.exitCode == 0);
  std::vector<std::int64_t> starts{0}, columns;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = std::max<std::int64_t>(0, i - 1); j <= std::min(n - 1, i + 1); ++j)
      columns.push_back(j);
    starts.push_back(static_cast<std::int64_t>(columns.size()));
  }
  {
    Library lib(chain->library);
    llvm::Expected<llvm::json::Value> parsed =
        llvm::json::parse(lib.get<const char *(*)()>("nabla_module_info")());
    REQUIRE(static_cast<bool>(parsed));
    const llvm::json::Object *o = parsed->getAsObject()->getObject("objective");
    REQUIRE(o);
    CHECK(string(*o, "level") == "array");
    const llvm::json::Object *p = o->getObject("hessian_sparsity");
    REQUIRE(p);
    CHECK(integer(*p, "n") == n);
    CHECK(integer(*p, "nonzeros") == static_cast<std::int64_t>(columns.size()));
    std::vector<std::int64_t> gotStarts, gotColumns;
    for (const llvm::json::Value &v : array(*p, "row_start")) gotStarts.push_back(*v.getAsInteger());
    for (const llvm::json::Value &v : array(*p, "columns")) gotColumns.push_back(*v.getAsInteger());
    CHECK(gotStarts == starts);
    CHECK(gotColumns == columns);
  }
  // An MLP's Hessian couples nearly every pair of its 2,410 params: the sweep stops early and
  // the description has no pattern (and the compile stays fast).
  TempDir dir;
  const std::string digits = std::string(NABLA_SOURCE_DIR) + "/samples/mlp_digits.nabla";
  nabla::test::ProcessResult r =
      runNablaWith({"compile", digits, "-o", dir / "libdigits.so", "--level", "array"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  Library lib(dir / "libdigits.so");
  llvm::Expected<llvm::json::Value> parsed =
      llvm::json::parse(lib.get<const char *(*)()>("nabla_module_info")());
  REQUIRE(static_cast<bool>(parsed));
  const llvm::json::Object *o = parsed->getAsObject()->getObject("objective");
  REQUIRE(o);
  CHECK(integer(*o, "num_params") == 2410);
  CHECK(o->getObject("hessian_sparsity") == nullptr);
}

TEST_CASE("the library and its description show --no-hessian and --fast-math",
          "[aot][library]") {
  auto built = build(kProgram, {"--no-hessian", "--fast-math", "-O3"});
  INFO(built->result.err);
  REQUIRE(built->result.exitCode == 0);
  Library lib(built->library);
  for (const char *absent : {"f_hess", "g_hess", "nabla_objective_hess"})
    CHECK(lib.find(absent) == nullptr);
  const std::string header = readText(built->header);
  CHECK_FALSE(contains(header, "_hess"));
  CHECK(contains(header, "--fast-math"));
  auto info = lib.get<const char *(*)()>("nabla_module_info");
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(info());
  REQUIRE(static_cast<bool>(parsed));
  const llvm::json::Object &root = *parsed->getAsObject();
  CHECK(root.getBoolean("fast_math") == true);
  CHECK(string(root, "opt_level") == "O3");
  // f and g: value, grad, hvp and two batches; the objective: three and its hvp; the info.
  CHECK(array(root, "entry_points").size() == 15);
  // Fast math may change the last bits, not the value of this polynomial at binary fractions.
  auto f = lib.get<double (*)(double, double)>("f");
  CHECK(f(0.5, -0.5) == -0.015625);
}

TEST_CASE("nabla compile --no-hvp leaves out the Hessian-vector products, and the objective's H v is its "
          "Hessian times v",
          "[aot][library]") {
  {
    auto built = build(kProgram, {"--no-hvp"});
    INFO(built->result.err);
    REQUIRE(built->result.exitCode == 0);
    Library lib(built->library);
    for (const char *absent : {"f_hvp", "g_hvp", "nabla_objective_hvp"})
      CHECK(lib.find(absent) == nullptr);
    CHECK(lib.find("f_hess") != nullptr);
    CHECK_FALSE(contains(readText(built->header), "_hvp"));
  }
  auto built = build(kProgram);
  REQUIRE(built->result.exitCode == 0);
  Library lib(built->library);
  auto hess = lib.get<void (*)(const double *, const double *, double *)>("nabla_objective_hess");
  auto hvp = lib.get<void (*)(const double *, const double *, const double *, double *)>(
      "nabla_objective_hvp");
  const double params[8] = {0.5, -1, 2, 0.25, 1.5, -0.75, 0.3, -0.6};
  const double inputs[4] = {1.25, -2, 0.5, 3};
  const double v[8] = {1, -2, 0.5, 3, -1, 0.25, 2, -0.5};
  double h[64], hv[8];
  hess(params, inputs, h);
  hvp(params, inputs, v, hv);
  for (int i = 0; i < 8; ++i) {
    double want = 0, scale = 0;
    for (int j = 0; j < 8; ++j) {
      want += h[8 * i + j] * v[j];
      scale = std::max(scale, std::abs(h[8 * i + j] * v[j]));
    }
    INFO("row " << i << ": hvp " << hv[i] << ", Hessian times v " << want);
    CHECK(std::abs(hv[i] - want) <= 1e-13 * (scale + 1));
  }
}

TEST_CASE("the generated header compiles as C99 and C++ without warnings", "[aot][library]") {
  auto built = build(kProgram);
  REQUIRE(built->result.exitCode == 0);
  // A host that includes the header twice (the guard) and calls every declaration.
  const std::string body = R"(#include "model.h"
#include "model.h"
int main(void) {
  double grad[NABLA_MODEL_NUM_PARAMS], hess[NABLA_MODEL_NUM_PARAMS * NABLA_MODEL_NUM_PARAMS];
  double params[NABLA_MODEL_NUM_PARAMS] = {0}, inputs[NABLA_MODEL_NUM_INPUTS] = {0};
  double g3[3], h9[9], h4[4];
  const double *columns[NABLA_MODEL_NUM_INPUTS] = {inputs, inputs + 1, inputs + 2, inputs + 3};
  double sum = f(1, 2) + f_grad(1, 2, g3) + g(1, 2, 3) + g_grad(1, 2, 3, g3);
  f_hess(1, 2, h4);
  g_hess(1, 2, 3, h9);
  sum += nabla_objective(params, inputs, grad) + nabla_objective_batch(params, 1, columns, grad);
  nabla_objective_hess(params, inputs, hess);
  f_hvp(1, 2, g3, h4);
  g_hvp(1, 2, 3, g3, h9);
  nabla_objective_hvp(params, inputs, params, grad);
  return sum == sum && nabla_module_info()[0] == '{' ? 0 : 1;
}
)";
  writeText(built->dir / "host.c", body);
  writeText(built->dir / "host.cpp", body);
  nabla::test::ProcessResult c = run({"cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                                      "-I", built->dir.path(), "-c", built->dir / "host.c", "-o",
                                      built->dir / "host_c.o"});
  INFO(c.out << c.err);
  CHECK(c.exitCode == 0);
  nabla::test::ProcessResult cxx = run({"c++", "-std=c++11", "-Wall", "-Wextra", "-pedantic",
                                        "-Werror", "-I", built->dir.path(), "-c",
                                        built->dir / "host.cpp", "-o", built->dir / "host_cxx.o"});
  INFO(cxx.out << cxx.err);
  CHECK(cxx.exitCode == 0);

  // Linked against the library, the C host runs.
  nabla::test::ProcessResult link = run({"cc", built->dir / "host_c.o", "-o", built->dir / "host",
                                         "-L", built->dir.path(), "-lmodel",
                                         "-Wl,-rpath," + built->dir.path()});
  INFO(link.out << link.err);
  REQUIRE(link.exitCode == 0);
  CHECK(nabla::test::runProcess(built->dir / "host", {}).exitCode == 0);
}

TEST_CASE("a library needs only glibc's libc, libm and libmvec", "[aot][library]") {
  for (const std::vector<std::string> &extra :
       {std::vector<std::string>{}, {"--fast-math"}, {"-O0"}}) {
    auto built = build(kProgram, extra);
    REQUIRE(built->result.exitCode == 0);
    std::vector<std::string> needed = neededLibraries(built->library);
    for (const std::string &lib : needed) {
      INFO(lib);
      // libmvec: the vector math functions of a batched kernel, part of glibc like libm.
      CHECK((lib == "libc.so.6" || lib == "libm.so.6" || lib == "libmvec.so.1"));
    }
    nabla::test::ProcessResult r = run({"readelf", "-d", built->library});
    CHECK_FALSE(contains(r.out, "LLVM"));
    CHECK_FALSE(contains(r.out, "nabla"));
    CHECK(contains(r.out, "(SONAME)"));
    CHECK(contains(r.out, "[libmodel.so]"));
  }
}

TEST_CASE("nabla compile --emit writes an object, assembly or optimized IR instead of a library",
          "[aot][library]") {
  TempDir dir;
  const std::string seed = std::string(NABLA_SOURCE_DIR) + "/samples/seed.nabla";

  nabla::test::ProcessResult obj = runNablaWith(
      {"compile", seed, "-o", dir / "seed.o", "--emit", "obj", "--header", dir / "seed.h"});
  INFO(obj.err);
  REQUIRE(obj.exitCode == 0);
  const std::string object = readText(dir / "seed.o");
  REQUIRE(object.size() > 64);
  CHECK(object.compare(0, 4, "\x7f" "ELF") == 0);
  std::uint16_t type = 0;
  std::memcpy(&type, object.data() + 16, 2);
  CHECK(type == 1);  // ET_REL: a relocatable object, not linked
  nabla::test::ProcessResult symbols = run({"readelf", "-s", "-W", dir / "seed.o"});
  for (const char *s : {" f\n", " f_grad\n", " f_hess\n", " nabla_module_info\n"}) {
    INFO(s);
    CHECK(contains(symbols.out, s));
  }
  CHECK(contains(readText(dir / "seed.h"), "double f(double x, double y);"));

  nabla::test::ProcessResult asmOut =
      runNablaWith({"compile", seed, "-o", dir / "seed.s", "--emit=asm"});
  REQUIRE(asmOut.exitCode == 0);
  const std::string assembly = readText(dir / "seed.s");
  CHECK(contains(assembly, "f_grad:"));
  CHECK(contains(assembly, ".globl\tf_hess"));
  CHECK_FALSE(contains(assembly, "define"));

  nabla::test::ProcessResult ir =
      runNablaWith({"compile", seed, "-o", dir / "seed.ll", "--emit", "llvm-ir"});
  REQUIRE(ir.exitCode == 0);
  const std::string text = readText(dir / "seed.ll");
  CHECK(contains(text, "define double @f(double %x, double %y)"));
  CHECK(contains(text, "define double @f_grad(double %x, double %y, ptr"));
  CHECK(contains(text, "define void @f_hess("));
  CHECK(contains(text, "define noundef nonnull ptr @nabla_module_info()"));
  // Optimized: the array entry points are inlined into the C wrappers and gone.
  CHECK_FALSE(contains(text, "@f.value"));

  // The same input gives the same bytes (the module is named after the output file).
  TempDir other;
  nabla::test::ProcessResult again =
      runNablaWith({"compile", seed, "-o", other / "seed.ll", "--emit", "llvm-ir"});
  REQUIRE(again.exitCode == 0);
  CHECK(readText(other / "seed.ll") == text);
}

TEST_CASE("file names that would end a C comment do not break the header", "[aot][library]") {
  // The header's first comment names the source file, here `.../odd*/model.nabla`.
  TempDir dir;
  const std::string odd = dir / "odd*";
  REQUIRE(mkdir(odd.c_str(), 0755) == 0);
  writeText(odd + "/model.nabla", "f(x, y) = x * y\n");
  nabla::test::ProcessResult r = runNablaWith(
      {"compile", odd + "/model.nabla", "-o", odd + "/libmodel.so", "--header", odd + "/model.h"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(contains(readText(odd + "/model.h"), "odd* /model.nabla"));
  nabla::test::ProcessResult c = run({"cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                                      "-fsyntax-only", "-x", "c", odd + "/model.h"});
  INFO(c.err);
  CHECK(c.exitCode == 0);
}
