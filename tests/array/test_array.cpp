// The array level (compiler/array/, driver::ArrayCode) against the scalar level: the objective,
// its gradient and the reports of programs with arrays, evaluated over a batch at once, agree
// with the reference interpreter over the scalar DAG row by row (1e-12 relative), and the
// gradient agrees with central finite differences of the array level's own objective. Every
// operation of the array level appears in a case: elementwise maps with broadcasting, `@` in its
// four forms, transpose, outer, sum, mean, dot, logsumexp, softmax, onehot, max, slices, indices,
// vector literals, user functions, consts and definitions.
#include "array/array.h"
#include "driver/driver.h"
#include "driver/program_impl.h"
#include "array/runtime/kernels.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace nabla;

namespace {

driver::Program load(const std::string &text) {
  return driver::Program::load(driver::fromText("m.nabla", text, true, driver::Limits{}), {});
}

/// Deterministic values in [-1, 1).
struct Values {
  std::uint64_t state = 88172645463325252ull;
  double next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<double>(state >> 11) / 9007199254740992.0 * 2 - 1;
  }
};

/// A batch of rows: params, one column per input element, and where the labels go (inputs
/// named `y` hold classes 0..classes-1).
struct Batch {
  std::vector<double> params;
  std::vector<std::vector<double>> columns;
  std::size_t rows = 0;
  std::vector<const double *> pointers() const {
    std::vector<const double *> p;
    for (const auto &c : columns) p.push_back(c.data());
    return p;
  }
};

Batch makeBatch(const driver::Program &program, std::size_t rows, std::uint32_t classes = 3) {
  Values v;
  Batch b;
  b.rows = rows;
  for (const driver::VariableInfo &p : program.params())
    for (std::size_t k = 0; k < p.size(); ++k) b.params.push_back(v.next());
  for (const driver::VariableInfo &in : program.inputs()) {
    for (std::size_t k = 0; k < in.size(); ++k) {
      std::vector<double> column(rows);
      for (double &x : column)
        x = in.name == "y" ? std::floor((v.next() + 1) / 2 * classes) : 2 * v.next();
      b.columns.push_back(std::move(column));
    }
  }
  return b;
}

/// The scalar level's symbol values for one row.
std::vector<double> symbolValues(const driver::Program &program, const Batch &b, std::size_t row) {
  const LoweredProgram &lowered = program.lowered();
  std::vector<double> values(program.graph().symbolCount(), std::nan(""));
  std::size_t at = 0;
  for (const ParamDecl &p : lowered.params)
    for (SymbolId s : p.vars.symbols) values[s] = b.params[at++];
  at = 0;
  for (const InputDecl &in : lowered.inputs)
    for (SymbolId s : in.vars.symbols) values[s] = b.columns[at++][row];
  return values;
}

void requireClose(double got, double want, const std::string &what) {
  INFO(what << ": array level " << got << ", scalar level " << want);
  REQUIRE(std::abs(got - want) <= 1e-12 * std::max(1.0, std::abs(want)));
}

/// A library of `program` whose objective runs at the array level (`nabla compile --level
/// array`), opened with dlopen; removed with its folder when this goes.
class ArrayLibrary {
public:
  using Objective = double (*)(const double *, const double *, double *);
  using Batch = double (*)(const double *, std::size_t, const double *const *, double *);
  using Sums = void (*)(const double *, std::size_t, std::size_t, const double *const *, double *);
  using Hvp = void (*)(const double *, const double *, const double *, double *);

  explicit ArrayLibrary(driver::Program &program) {
    std::string pattern = (std::filesystem::temp_directory_path() / "nabla-array-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    driver::LibraryOptions options;
    options.fileName = "libarray.so";
    options.level = driver::LibraryOptions::Level::Array;
    options.hessian = false;
    const driver::Library library = driver::compileLibrary(program, options);
    const std::string path = dir_ + "/libarray.so";
    std::ofstream(path, std::ios::binary) << library.bytes();
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) throw std::runtime_error(std::string("dlopen: ") + dlerror());
    objective = reinterpret_cast<Objective>(dlsym(handle_, "nabla_objective"));
    batch = reinterpret_cast<Batch>(dlsym(handle_, "nabla_objective_batch"));
    sums = reinterpret_cast<Sums>(dlsym(handle_, "nabla_objective_batch_sums"));
    hess = dlsym(handle_, "nabla_objective_hess");
    hvp = reinterpret_cast<Hvp>(dlsym(handle_, "nabla_objective_hvp"));
    info = reinterpret_cast<const char *(*)()>(dlsym(handle_, "nabla_module_info"));
  }
  ~ArrayLibrary() {
    if (handle_) dlclose(handle_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ArrayLibrary(const ArrayLibrary &) = delete;
  ArrayLibrary &operator=(const ArrayLibrary &) = delete;

  Objective objective = nullptr;
  Batch batch = nullptr;
  Sums sums = nullptr;
  void *hess = nullptr;
  Hvp hvp = nullptr;
  const char *(*info)() = nullptr;

private:
  std::string dir_;
  void *handle_ = nullptr;
};

/// The library of `program` at the array level against the executor (`value`, `grad`: its mean
/// over the batch): the batch's mean, the sums over a range of rows, each row alone, and the
/// Hessian-vector product of each row against the executor's of that row.
void checkLibrary(driver::Program &program, driver::ArrayCode &arrays, const Batch &b,
                  double value, const std::vector<double> &grad) {
  ArrayLibrary lib(program);
  REQUIRE(lib.objective);
  REQUIRE(lib.batch);
  REQUIRE(lib.sums);
  CHECK_FALSE(lib.hess);  // the array level has no Hessian
  const std::string info = lib.info();
  CHECK(info.find("\"level\":\"array\"") != std::string::npos);
  CHECK(info.find("libopenblas") != std::string::npos);
  const std::size_t n = grad.size();
  const std::vector<const double *> columns = b.pointers();
  const bool hasInputs = !columns.empty();
  const std::size_t rows = hasInputs ? b.rows : 1;
  std::vector<double> g(n);
  const double v = lib.batch(b.params.data(), rows, columns.data(), g.data());
  requireClose(v, value, "the library's objective");
  for (std::size_t i = 0; i < n; ++i)
    requireClose(g[i], grad[i], "the library's gradient entry " + std::to_string(i));
  CHECK(std::isnan(lib.batch(b.params.data(), 0, columns.data(), g.data())));
  // The sums over rows [1, rows) and each row alone add up to the same.
  std::vector<double> sums(1 + n), total(1 + n, 0.0), row(hasInputs ? columns.size() : 1);
  if (hasInputs && rows > 1) {
    lib.sums(b.params.data(), 1, rows, columns.data(), sums.data());
    for (std::size_t r = 1; r < rows; ++r) {
      for (std::size_t k = 0; k < columns.size(); ++k) row[k] = columns[k][r];
      total[0] += lib.objective(b.params.data(), row.data(), g.data());
      for (std::size_t i = 0; i < n; ++i) total[1 + i] += g[i];
    }
    for (std::size_t i = 0; i <= n; ++i)
      requireClose(sums[i], total[i], "the library's sum " + std::to_string(i));
  }
  // Only the value, with no gradient: the same value.
  for (std::size_t k = 0; k < columns.size(); ++k) row[k] = columns[k][0];
  CHECK(lib.objective(b.params.data(), row.data(), nullptr) ==
        lib.objective(b.params.data(), row.data(), g.data()));
  // H v of each row (of the first three) against the executor's product over that row alone.
  REQUIRE(lib.hvp);
  CHECK(info.find("\"nabla_objective_hvp\"") != std::string::npos);
  Values values;
  std::vector<double> dir(n), got(n), want(n);
  for (double &e : dir) e = values.next();
  for (std::size_t r = 0; r < std::min<std::size_t>(rows, 3); ++r) {
    std::vector<const double *> one;
    for (std::size_t k = 0; k < columns.size(); ++k) {
      row[k] = columns[k][r];
      one.push_back(&row[k]);
    }
    driver::ArrayRows single;
    single.count = 1;
    single.columns = one;
    arrays.hvp(b.params, dir, single, want);
    lib.hvp(b.params.data(), row.data(), dir.data(), got.data());
    for (std::size_t i = 0; i < n; ++i)
      requireClose(got[i], want[i], "row " + std::to_string(r) + ": the library's (Hv)[" +
                                        std::to_string(i) + "]");
  }
}

/// The array level's Hessian-vector product (forward mode over the gradient's graph) against
/// the scalar level's symbolic Hessian, interpreted row by row, times v.
void checkHvp(driver::Program &program, driver::ArrayCode &arrays, const Batch &b,
              const driver::ArrayRows &arrayRows, std::size_t rows) {
  const std::size_t n = arrays.paramCount();
  Values values;
  std::vector<double> v(n), got(n);
  for (double &e : v) e = values.next();
  arrays.hvp(b.params, v, arrayRows, got);
  const Derivatives d = program.differentiate(*program.objective(), true);
  std::vector<NodeId> roots;
  for (const auto &row : d.hessian) roots.insert(roots.end(), row.begin(), row.end());
  std::vector<double> want(n, 0.0), scale(n, 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::vector<double> h = driver::evaluate(program, roots, symbolValues(program, b, r));
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        want[i] += h[i * n + j] * v[j] / static_cast<double>(rows);
        scale[i] = std::max(scale[i], std::abs(h[i * n + j] * v[j]));
      }
  }
  for (std::size_t i = 0; i < n; ++i) {
    INFO("(Hv)[" << i << "]: array level " << got[i] << ", scalar Hessian times v " << want[i]);
    REQUIRE(std::abs(got[i] - want[i]) <= 1e-12 * static_cast<double>(n) * std::max(1.0, scale[i]));
  }
}

/// Checks the array level against the scalar level on `rows` rows (1 for a program without
/// inputs), and its gradient against finite differences; and a library of it at the array level
/// against the array level (checkLibrary).
void check(const std::string &text, std::size_t rows = 7) {
  INFO(text);
  driver::Program program = load(text);
  std::string why;
  std::optional<driver::ArrayCode> arrays = driver::compileArrays(program, 1, &why);
  INFO("gave up: " << why);
  REQUIRE(arrays);
  const bool hasInputs = !program.inputs().empty();
  if (!hasInputs) rows = 1;
  const Batch b = makeBatch(program, rows);
  const std::vector<const double *> columns = b.pointers();
  driver::ArrayRows arrayRows;
  arrayRows.count = rows;
  arrayRows.columns = columns;

  const std::size_t n = arrays->paramCount();
  REQUIRE(n == b.params.size());
  std::vector<double> grad(n);
  const double value = arrays->objective(b.params, arrayRows, grad);

  // The scalar level: the interpreter over the objective's value and gradient, row by row.
  const driver::Entry objective = *program.objective();
  const Derivatives d = program.differentiate(objective, false);
  std::vector<NodeId> roots{d.value};
  roots.insert(roots.end(), d.grad.begin(), d.grad.end());
  std::vector<double> mean(roots.size(), 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::vector<double> v = driver::evaluate(program, roots, symbolValues(program, b, r));
    for (std::size_t k = 0; k < v.size(); ++k) mean[k] += v[k] / static_cast<double>(rows);
  }
  requireClose(value, mean[0], "the objective");
  for (std::size_t i = 0; i < n; ++i)
    requireClose(grad[i], mean[1 + i], "gradient entry " + std::to_string(i));

  // Reports.
  std::vector<NodeId> reportRoots;
  for (const NamedValue &r : program.lowered().reports)
    reportRoots.insert(reportRoots.end(), r.value.elems.begin(), r.value.elems.end());
  if (!reportRoots.empty()) {
    std::vector<double> got(reportRoots.size()), want(reportRoots.size(), 0.0);
    arrays->reports(b.params, arrayRows, got);
    for (std::size_t r = 0; r < rows; ++r) {
      const std::vector<double> v =
          driver::evaluate(program, reportRoots, symbolValues(program, b, r));
      for (std::size_t k = 0; k < v.size(); ++k) want[k] += v[k] / static_cast<double>(rows);
    }
    for (std::size_t k = 0; k < got.size(); ++k)
      requireClose(got[k], want[k], "report element " + std::to_string(k));
  }

  if (n <= 200) checkHvp(program, *arrays, b, arrayRows, rows);

  checkLibrary(program, *arrays, b, value, grad);

  // Central differences of the array level's own objective.
  std::vector<double> p = b.params, scratch(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double h = 1e-6 * std::max(1.0, std::abs(p[i]));
    p[i] = b.params[i] + h;
    const double up = arrays->objective(p, arrayRows, scratch);
    p[i] = b.params[i] - h;
    const double down = arrays->objective(p, arrayRows, scratch);
    p[i] = b.params[i];
    const double fd = (up - down) / (2 * h);
    // Truncation (h^2) and the rounding of the two values, which grows with |f| / h.
    const double rounding = 1e-14 * std::max(std::abs(up), std::abs(down)) / h;
    INFO("gradient entry " << i << ": " << grad[i] << ", central difference " << fd);
    REQUIRE(std::abs(grad[i] - fd) <= 1e-6 * std::max(1.0, std::abs(fd)) + rounding);
  }
}

}  // namespace

TEST_CASE("an MLP with softmax cross-entropy and reports agrees with the scalar level") {
  check("param W1[5][4]\nparam b1[5]\nparam W2[3][5]\nparam b2[3]\n"
        "input x[4]\ninput y\n"
        "h = tanh(W1 @ x + b1)\nz = W2 @ h + b2\n"
        "minimize logsumexp(z) - dot(onehot(y, 3), z)\n"
        "report acc = where(max(z) == dot(onehot(y, 3), z), 1, 0)\n"
        "report p1 = softmax(z)[1]\n"
        "report spread = max(h) - min(h)\n");
}

TEST_CASE("the chained Rosenbrock function written with slices agrees with the scalar level") {
  check("param x[7]\nminimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n");
}

TEST_CASE("products in every form, transposes, outer products and subscripts agree") {
  check("param A[3][4]\nparam B[4][2]\nparam u[3]\nparam v[4]\ninput c[2]\ninput e[4]\n"
        "minimize sum(transpose(A @ B) @ u * c) + dot(u @ A, v * e) + sum(outer(u, v) * A)"
        " + (v @ e) * (v @ v) + sum(A[1, :] * e) + A[2][3] * c[0] + sum(A[:, 1:3] @ c)"
        " + sum(transpose(A) @ (A @ e)) + sum(A[-1] * e) + A[0, -2]\n");
}

TEST_CASE("elementwise maps, broadcasting, comparisons and vector literals agree") {
  check("param w[4]\nparam s\ninput x[4]\n"
        "minimize sum(where(x > 0, relu(w*x), sigmoid(w - x))) + sum(max(w, x)) + sum(min(x, w))"
        " + sum(exp(w)/(1 + w^2)) + mean(softplus(w*x)) + sum(atan2(w, x + 2))"
        " + sum(hypot(w, x)) + log1p(sum(abs(w))) + sum([w[0]*x[1], w[2], 3, s] * x)"
        " + sum((s*x - w)^2) + s^2 + sum(sqrt(1 + w^2) - cos(x*w)*sin(w))"
        " + sum(where(x < 0 && w > 0, x, w*s)) + logsumexp(w*x)\n");
}

TEST_CASE("user functions, consts and definitions are inlined at the array level") {
  check("const k = 2\nconst m = [1, 2, 3]\nf(a, b) = a*b + k\nsq(t) = t^2\n"
        "param W[3][3]\ninput x[3]\ninput y\n"
        "g = W @ x + f(y, k)\nq = softmax(g * m)\n"
        "minimize sum(g^2)/2 - log(dot(q, onehot(y, 3))) + sq(f(y, sum(W)) - g[1])\n");
}

TEST_CASE("matrix-matrix products of a row's values and params agree") {
  check("param W[2][3]\ninput X[3][2]\ninput y\n"
        "minimize sum((W @ X) @ transpose(W @ X)) + sum(transpose(X) @ transpose(W)) * y\n", 5);
}

TEST_CASE("rows picked from a table give the same bits as the same rows as columns") {
  driver::Program program = load("param W[3][4]\nparam b[3]\ninput x[4]\ninput y\n"
                                 "minimize logsumexp(W @ x + b) - dot(onehot(y, 3), W @ x + b)\n");
  std::optional<driver::ArrayCode> arrays = driver::compileArrays(program, 1);
  REQUIRE(arrays);
  const Batch b = makeBatch(program, 9);
  // A table of all 9 rows (5 entries each: x, y), and a batch of rows 7, 2, 2, 0 from it.
  std::vector<double> table;
  for (std::size_t r = 0; r < 9; ++r)
    for (const auto &c : b.columns) table.push_back(c[r]);
  const std::vector<std::uint64_t> index{7, 2, 2, 0};
  driver::ArrayRows picked;
  picked.count = index.size();
  picked.table = table.data();
  picked.stride = 5;
  picked.index = index.data();
  std::vector<std::vector<double>> columns(5);
  for (std::size_t j = 0; j < 5; ++j)
    for (std::uint64_t r : index) columns[j].push_back(b.columns[j][r]);
  std::vector<const double *> pointers;
  for (const auto &c : columns) pointers.push_back(c.data());
  driver::ArrayRows byColumns;
  byColumns.count = index.size();
  byColumns.columns = pointers;
  std::vector<double> g1(arrays->paramCount()), g2(arrays->paramCount());
  const double v1 = arrays->objective(b.params, picked, g1);
  const double v2 = arrays->objective(b.params, byColumns, g2);
  CHECK(v1 == v2);
  CHECK(g1 == g2);
  CHECK(std::isfinite(v1));
}

TEST_CASE("a program loaded with its bodies deferred describes its params and inputs the same") {
  const std::string text = "param W[3][2] ~ normal(0, 1)\nparam b\ninput x[2]\ninput y\n"
                           "minimize (sum(W @ x) + b - y)^2\n";
  driver::Options deferred;
  deferred.deferBodies = true;
  driver::Program lazy =
      driver::Program::load(driver::fromText("m.nabla", text, true, deferred.limits), deferred);
  driver::Program whole = load(text);
  CHECK(lazy.deferred());
  CHECK_FALSE(whole.deferred());
  for (int k = 0; k < 2; ++k) {
    const auto a = k == 0 ? lazy.params() : lazy.inputs();
    const auto b = k == 0 ? whole.params() : whole.inputs();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].name == b[i].name);
      CHECK(a[i].elements == b[i].elements);
      CHECK(a[i].offset == b[i].offset);
      CHECK(a[i].columns == b[i].columns);
    }
  }
  // complete() lowers the rest: the objective is then a scalar entry like the whole program's.
  lazy.complete();
  CHECK_FALSE(lazy.deferred());
  REQUIRE(lazy.objective());
  CHECK(lazy.objective()->vars.size() == whole.objective()->vars.size());
}

TEST_CASE("what the array level lacks is left to the scalar level, with a reason") {
  for (const char *text : {"param w[3]\nminimize prod(w)\n",
                           "param w[3]\nminimize sum(d(sum(w^3), w))\n",
                           "param w[3]\nminimize hessian(sum(w^3))[0][1]\n"}) {
    INFO(text);
    driver::Program program = load(text);
    std::string why;
    CHECK_FALSE(driver::compileArrays(program, 1, &why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("the unrolled size grows with the arrays, not with the text") {
  driver::Program small = load("param W[4][3]\ninput x[3]\nminimize sum(tanh(W @ x))\n");
  driver::Program large = load("param W[400][300]\ninput x[300]\nminimize sum(tanh(W @ x))\n");
  std::optional<driver::ArrayCode> a = driver::compileArrays(small, 1);
  std::optional<driver::ArrayCode> b = driver::compileArrays(large, 1);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->unrolledSize() >= 12);
  CHECK(b->unrolledSize() >= 120000);
  CHECK(b->unrolledSize() > 1000 * a->unrolledSize() / 2);
}
TEST_CASE("norms, largest and least elements and their derivatives agree") {
  check("param w[5]\nparam s\ninput x[5]\n"
        "minimize norm(w*x) + max(w) - 2*min(w*x) + norm(w[0:1]) + norm(s) + max(w*s + x)\n");
  check("param W[3][4]\ninput x[4]\nminimize norm(W @ x)^2 + max(W[1]) + norm(W[:, 2])\n");
}

TEST_CASE("a scalar broadcast over an array gets the sum of its elements' adjoints") {
  // sum(s + v): the adjoint of each element is 1, the same for all; s is added to each of them.
  check("param s\nparam v[5]\nminimize sum(s + v) + sum(v - 2*s) + mean(s*3 - v^2)\n");
  check("param s\nparam v[4]\ninput x[4]\nminimize sum(s + x) + sum(max(s, v)) + sum(where(x > 0, s, v))\n");
}

TEST_CASE("a term the same for every row counts once per row in the gradient") {
  // The per-row loss w[0] + ... sums to B w[0] over a batch: its adjoint, the same for every
  // row, is summed over the rows like the others.
  check("param w[4]\ninput x[4]\nminimize sum(w*x) + w[0]\n");
  check("param w[4]\nparam b\ninput x[4]\nminimize b^2 + sum(w^2) + w[1]*x[1]\n");
  check("param A[3][4]\ninput x[4]\nminimize A[2][3]*x[0] + sum(A)\n");
}

/// printArrayGradient's text, made into definitions over the same declarations, loads (it is
/// nabla text) and evaluates by the scalar level to the scalar level's own gradient. Returns the
/// text.
std::string readsBack(const std::string &declarations, const std::string &body) {
  driver::Program program = load(declarations + body);
  std::string why;
  std::optional<std::string> text = driver::printArrayGradient(program, &why);
  INFO(why);
  REQUIRE(text);
  INFO(*text);
  // `∂L/∂W1 = E` becomes `gW1 = E`, `  t1 = E` becomes `t1 = E`.
  std::string defs;
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start < text->size()) {
    std::size_t end = text->find('\n', start);
    std::string line = text->substr(start, end - start);
    start = end + 1;
    if (line == "where") continue;
    if (line.rfind("∂L/∂", 0) == 0) {
      const std::string rest = line.substr(std::string("∂L/∂").size());
      names.push_back("g" + rest.substr(0, rest.find(' ')));
      line = "g" + rest;
    }
    defs += line.substr(line.find_first_not_of(' ')) + "\n";
  }
  driver::Program printed = load(declarations + defs);
  const Batch b = makeBatch(program, 1, 2);
  const Derivatives d = program.differentiate(*program.objective(), false);
  const std::vector<double> want = driver::evaluate(program, d.grad, symbolValues(program, b, 0));
  std::vector<NodeId> roots;
  for (const NamedValue *v : printed.outputs(names))
    roots.insert(roots.end(), v->value.elems.begin(), v->value.elems.end());
  REQUIRE(roots.size() == want.size());
  const std::vector<double> got = driver::evaluate(printed, roots, symbolValues(printed, b, 0));
  for (std::size_t i = 0; i < want.size(); ++i)
    requireClose(got[i], want[i], "gradient entry " + std::to_string(i));
  return *text;
}

TEST_CASE("the gradient in matrix notation reads back as the same values") {
  const std::string mlp = readsBack("param W1[4][3]\nparam b1[4]\nparam W2[2][4]\nparam b2[2]\n"
                                    "input x[3]\ninput y\n",
                                    "h = tanh(W1 @ x + b1)\nz = W2 @ h + b2\n"
                                    "minimize logsumexp(z) - dot(onehot(y, 2), z) + sum(b1^2)\n");
  CHECK(mlp.find("∂L/∂W1 = outer(") != std::string::npos);
  CHECK(mlp.find("transpose(W2) @ ") != std::string::npos);
  // Slices of vectors and matrices (their adjoints: pad and onehot), the largest and least
  // elements (onehot of argmax and argmin), argmax itself (derivative 0).
  const std::string slices = readsBack(
      "param W[3][4]\nparam v[5]\nparam b\n",
      "minimize sum(W[:, 2]^2) + W[1, 3]*b + sum(W[1:, :2]*W[:2, 2:]) + sum(W[0, 1:]) + max(v) +"
      " min(W) + sum(v[1:4]*v[:3]) + v[2]^2 + argmax(v) + sum(pad(v, 1, 2)^3)\n");
  CHECK(slices.find("pad(") != std::string::npos);
  CHECK(slices.find("onehot(argmax(v), 5)") != std::string::npos);
  CHECK(slices.find("argmin(W)") != std::string::npos);
  CHECK(slices.find("embed") == std::string::npos);
}

TEST_CASE("a batch larger than the memory budget is evaluated in chunks with the same means") {
  driver::Program program = load("param W[6][5]\nparam b[6]\ninput x[5]\ninput y\n"
                                 "z = W @ x + b\nminimize logsumexp(z) - dot(onehot(y, 3), z[0:3]) + sum(b^2)\n"
                                 "report acc = where(max(z) == z[0], 1, 0)\nreport wsum = sum(W)\n");
  std::optional<driver::ArrayCode> whole = driver::compileArrays(program, 1);
  std::optional<driver::ArrayCode> chunked = driver::compileArrays(program, 1);
  REQUIRE(whole);
  REQUIRE(chunked);
  chunked->setChunkBytes(1000);  // a few rows at a time
  const Batch b = makeBatch(program, 103);
  const std::vector<const double *> columns = b.pointers();
  driver::ArrayRows rows;
  rows.count = b.rows;
  rows.columns = columns;
  std::vector<double> g1(whole->paramCount()), g2(chunked->paramCount());
  const double v1 = whole->objective(b.params, rows, g1);
  const double v2 = chunked->objective(b.params, rows, g2);
  requireClose(v2, v1, "the objective");
  for (std::size_t i = 0; i < g1.size(); ++i) requireClose(g2[i], g1[i], "gradient entry " + std::to_string(i));
  std::vector<double> r1(2), r2(2);
  whole->reports(b.params, rows, r1);
  chunked->reports(b.params, rows, r2);
  requireClose(r2[0], r1[0], "acc");
  requireClose(r2[1], r1[1], "wsum, the same for every row");
  double w = 0;
  for (std::size_t i = 0; i < 30; ++i) w += b.params[i];
  requireClose(r2[1], w, "wsum against the params");
}

TEST_CASE("every reference case with arrays agrees with the reference data at the array level") {
  // Each case that builds arrays (vector literals, reductions, softmax, products...), written as
  // `param` per variable and `minimize EXPR`; those the array level takes are checked at every
  // point against the high-precision reference, with the tolerance of tests/reference.
  std::size_t checked = 0, points = 0;
  for (const char *file : {"reference/gradients.json", "reference/gradients_qa.json",
                           "reference/numerics.json"}) {
    for (const test::ReferenceCase &c : test::loadGradientCases(file)) {
      const std::string &e = c.expr;
      bool arrays = e.find('[') != std::string::npos || e.find('@') != std::string::npos;
      for (const char *f : {"sum(", "mean(", "dot(", "softmax(", "logsumexp(", "norm(", "onehot("})
        arrays = arrays || e.find(f) != std::string::npos;
      if (!arrays || c.vars.empty()) continue;
      std::string text;
      for (const std::string &v : c.vars) text += "param " + v + "\n";
      text += "minimize " + e + "\n";
      std::optional<driver::Program> program;
      try {
        program.emplace(load(text));
      } catch (const driver::Error &) {
        continue;  // a variable named like a keyword, or a non-scalar expression
      }
      std::optional<driver::ArrayCode> code = driver::compileArrays(*program, 1);
      if (!code) continue;
      ++checked;
      for (const test::ReferencePoint &point : c.points) {
        std::vector<double> params, grad(c.vars.size());
        for (const std::string &v : c.vars) params.push_back(point.at.at(v));
        driver::ArrayRows rows;
        rows.count = 1;
        const double value = code->objective(params, rows, grad);
        const test::ReferenceScales scales = test::scalesOf(point);
        INFO(test::describe(c, point) << ": value " << value);
        CHECK(test::valueMatches(value, point.value));
        for (std::size_t i = 0; i < c.vars.size(); ++i) {
          INFO("d/d" << c.vars[i] << " = " << grad[i] << ", reference " << point.grad.at(c.vars[i]));
          CHECK(test::entryMatches(grad[i], point.grad.at(c.vars[i]), scales.grad));
        }
        ++points;
      }
    }
  }
  INFO(checked << " cases, " << points << " points");
  CHECK(checked >= 6);  // the reference data has six such cases (softmax, logsumexp, norm)
}

TEST_CASE("the samples with an objective agree with the scalar level") {
  for (const char *sample : {"mlp_digits.nabla", "logreg_breast_cancer.nabla", "softmax_iris.nabla",
                             "rosenbrock_chain.nabla", "logistic.nabla", "rosenbrock.nabla"}) {
    INFO(sample);
    check(test::readTestFile(std::string("../samples/") + sample), 5);
  }
}

TEST_CASE("a chain of thousands of maps over a vector is evaluated without deep recursion") {
  // 3,000 terms: deeper than a fused loop is built through, so the interpreter evaluates it.
  std::string text = "param v[4]\ninput x[4]\nminimize sum(v*x";
  for (int k = 0; k < 3000; ++k) text += " + v";
  text += ")\n";
  check(text, 2);
  std::string params = "param v[4]\nminimize sum(v";
  for (int k = 0; k < 3000; ++k) params += " + v*" + std::to_string(k % 7);
  params += ")\n";
  check(params);
}

TEST_CASE("long vectors the same for every row run as fused loops and agree") {
  // Enough work that the executor compiles its loops (exec.cpp): slices and their adjoints at
  // three shifts, maps, broadcasts and sums in one pass.
  const std::string chain = "param x[1500]\nminimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n";
  check(chain);
  driver::Program program = load(chain);
  std::optional<driver::ArrayCode> code = driver::compileArrays(program, 1);
  REQUIRE(code);
  CHECK(code->fusedLoops() >= 1);
  driver::Program small = load("param x[15]\nminimize sum(x^2)\n");
  std::optional<driver::ArrayCode> interpreted = driver::compileArrays(small, 1);
  REQUIRE(interpreted);
  CHECK(interpreted->fusedLoops() == 0);
  check("param x[1100]\nparam s\ninput y\n"
        "minimize sum(where(x[2:] > x[:-2], sin(x[1:-1]) * s, exp(-x[:-2]^2))) + s*y"
        " + mean(softplus(x - s)) + sum(x[0:1000] * x[100:1100]) + norm(x)\n", 3);
}

TEST_CASE("stencils whose loops carry values from one index to the next agree") {
  // Fused loops with sums run one index at a time and take a value at i - 1 from the previous
  // iteration (emit_loop_kernel.cpp, carriedValues): shifts of -1, 0, 1 and 2 in one loop, the
  // first and last indices evaluated with their checks.
  check("param x[2600]\n"
        "minimize sum((x[2:] - 2*x[1:-1] + x[:-2])^2) + sum(x[1:] * x[:-1]) + sum(sin(x[3:]) * x[:-3])\n");
  check("param u[2400]\nparam v[2400]\n"
        "minimize sum(exp(-(u[1:] - v[:-1])^2)) + 0.5 * sum((u - v)^2) + sum(u[:-1] * v[1:] * u[1:])\n");
  driver::Program program = load("param x[2600]\nminimize sum((x[2:] - 2*x[1:-1] + x[:-2])^2)\n");
  std::optional<driver::ArrayCode> code = driver::compileArrays(program, 1);
  REQUIRE(code);
  CHECK(code->fusedLoops() >= 1);
}

/// The steps an executor of the program's objective and gradient takes that the interpreter
/// evaluates, of kind `kind`.
std::size_t interpretedSteps(const std::string &text, array::Kind kind) {
  driver::Program program = load(text);
  const driver::Program::Impl &p = program.impl();
  std::string why;
  std::optional<array::Program> a = array::lowerArrays(*p.ast, p.lowered, p.options.limits.maxArray, &why);
  INFO("the array level: " << why);
  REQUIRE(a);
  REQUIRE(array::differentiate(*a, &why));
  std::vector<array::Id> roots{a->loss};
  roots.insert(roots.end(), a->grads.begin(), a->grads.end());
  std::vector<std::size_t> offsets;
  std::size_t at = 0;
  for (const Shape &shape : a->paramShapes) {
    offsets.push_back(at);
    at += shape.size();
  }
  const array::Executor exec(a->graph, roots, {}, offsets, false);
  std::size_t count = 0;
  for (const array::Schedule::Step &step : exec.schedule().steps)
    if (!step.kernel && a->graph[step.id].kind == kind) ++count;
  return count;
}

TEST_CASE("fused loops read and write the columns and boxes of matrices in place, and agree") {
  // The extended Rosenbrock and Powell functions on the columns of x[m][2] and x[m][4]: the
  // columns are loads with a stride, and the gradient's embeddings of them one loop over the
  // rows of x, storing a row of lanes at a time.
  const std::string rosenbrock =
      "param x[600][2]\na = x[:, 0]\nb = x[:, 1]\nminimize sum(100*(b - a^2)^2 + (1 - a)^2)\n";
  const std::string powell =
      "param x[300][4]\nminimize sum((x[:, 0] + 10*x[:, 1])^2 + 5*(x[:, 2] - x[:, 3])^2 +"
      " (x[:, 1] - 2*x[:, 2])^4 + 10*(x[:, 0] - x[:, 3])^4)\n";
  for (const std::string *text : {&rosenbrock, &powell}) {
    check(*text);
    CHECK(interpretedSteps(*text, array::Kind::Slice) == 0);
    CHECK(interpretedSteps(*text, array::Kind::Embed) == 0);
  }
  // Boxes that are not one run (W[1:, 2:7]), rows (W[3, :]), a column cubed, sums over boxes.
  const std::string boxes = "param W[40][30]\n"
                            "minimize sum(W[1:, 2:7]^2 * W[:-1, :5]) + sum(sin(W[3, :])) + sum(W[:, 29]^3)"
                            " + sum(W[5:9, :]^2)\n";
  check(boxes);
  CHECK(interpretedSteps(boxes, array::Kind::Slice) == 0);
  // A loop over the rows of x[500][2] cannot also follow y[500][3]'s columns: those embeddings
  // are left to the interpreter, and the values agree all the same.
  check("param x[500][2]\nparam y[500][3]\n"
        "minimize sum((x[:, 0] - y[:, 2])^2 * x[:, 1]) + sum(y[:, 0] * y[:, 1])\n");
  // Whole-matrix maps beside its columns, a column in a stencil, a transposed column.
  check("param x[700][2]\nminimize sum(x^2) + sum(exp(x[:, 0] - x[:, 1]))"
        " + sum((x[1:, 0] - x[:-1, 1])^2) + sum(transpose(x)[1, :] * x[:, 0])\n");
  // A matrix wider than the lanes of a loop over rows: its boxes stay interpreted.
  check("param W[60][40]\nminimize sum(W[:, 1:]^2 * W[:, :-1])\n");
}

TEST_CASE("random models over the columns, rows and boxes of matrices agree with the scalar level") {
  // Matrices of 1 to 6 columns, one or two of them, and terms over their columns (with powers
  // that are products), pairs of columns, rows, boxes, whole matrices and column stencils: each
  // model through check() (the scalar level, finite differences, the library, the schedule).
  std::mt19937_64 rng(2026);
  auto pick = [&](int lo, int hi) { return static_cast<int>(lo + rng() % static_cast<std::uint64_t>(hi - lo + 1)); };
  for (int model = 0; model < 12; ++model) {
    struct Matrix {
      std::string name;
      int rows, cols;
    };
    std::vector<Matrix> mats;
    std::string text;
    for (int k = 0, count = pick(1, 2); k < count; ++k) {
      mats.push_back({"X" + std::to_string(k), pick(120, 260), pick(1, 6)});
      text += "param " + mats.back().name + "[" + std::to_string(mats.back().rows) + "][" +
              std::to_string(mats.back().cols) + "]\n";
    }
    std::vector<std::string> terms;
    for (int t = 0, count = pick(2, 5); t < count; ++t) {
      const Matrix &m = mats[static_cast<std::size_t>(pick(0, static_cast<int>(mats.size()) - 1))];
      const std::string c = std::to_string(pick(0, m.cols - 1)), d = std::to_string(pick(0, m.cols - 1));
      switch (pick(0, 5)) {
      case 0: terms.push_back("sum(sin(" + m.name + "[:, " + c + "])^" + std::to_string(pick(2, 4)) + ")"); break;
      case 1: terms.push_back("sum((" + m.name + "[:, " + c + "] - " + m.name + "[:, " + d + "]^2)^2)"); break;
      case 2: terms.push_back("sum(cos(" + m.name + "[" + std::to_string(pick(0, m.rows - 1)) + ", :]))"); break;
      case 3: {
        const int c0 = pick(0, m.cols - 1), c1 = pick(c0 + 1, m.cols);
        terms.push_back("sum(" + m.name + "[" + std::to_string(pick(0, m.rows / 2)) + ":, " +
                        std::to_string(c0) + ":" + std::to_string(c1) + "]^2 * 0.5)");
        break;
      }
      case 4: terms.push_back("0.1*sum(" + m.name + "^4)"); break;
      default: terms.push_back("sum((" + m.name + "[1:, " + c + "] - " + m.name + "[:-1, " + c + "])^3)"); break;
      }
    }
    text += "minimize " + terms[0];
    for (std::size_t t = 1; t < terms.size(); ++t) text += " + " + terms[t];
    check(text + "\n");
  }
}

TEST_CASE("an addition with a product operand is rounded once, as the scalar level rounds it") {
  // x*x - c with x = 1 + 2^-30 and c = 1 + 2^-29: the product is exactly 1 + 2^-29 + 2^-60.
  // Rounded once (a fused multiply-add, as the scalar level evaluates it) the difference is
  // 2^-60; rounded twice it is 0. Short vectors are interpreted, long ones fused loops.
  const double x = 1 + std::ldexp(1.0, -30), c = 1 + std::ldexp(1.0, -29);
  for (std::size_t n : {4, 3000}) {
    INFO("n = " << n);
    driver::Program program =
        load("param x[" + std::to_string(n) + "]\nparam c\nminimize sum(x*x - c)\n");
    std::optional<driver::ArrayCode> code = driver::compileArrays(program, 1);
    REQUIRE(code);
    CHECK(code->fusedLoops() == (n > 100 ? 1u : 0u));
    std::vector<double> params(n, x), grad(n + 1);
    params.push_back(c);
    driver::ArrayRows rows;
    rows.count = 1;
    const double value = code->objective(params, rows, grad);
    CHECK(value == static_cast<double>(n) * std::ldexp(1.0, -60));
    // The scalar level's interpreter, on the same values.
    Batch b;
    b.params = params;
    const std::vector<double> scalar =
        driver::evaluate(program, {program.differentiate(*program.objective(), false).value},
                         symbolValues(program, b, 0));
    CHECK(scalar[0] == value);
  }
}

TEST_CASE("the array graph makes each value once and simplifies as it builds") {
  using array::Id, array::Kind, array::SliceDim;
  array::Graph g;
  const Shape vec{{5}}, mat{{5, 3}};
  const Id x = g.param(0, vec), u = g.param(1, vec), v = g.param(2, Shape{{3}}), s = g.param(3, Shape{});
  // Equal nodes are one node.
  CHECK(g.param(0, vec) == x);
  CHECK(g.map(Op::Sin, x) == g.map(Op::Sin, x));
  CHECK(g.constant(Shape{{2}}, {1.0, -0.0}) == g.constant(Shape{{2}}, {1.0, -0.0}));
  CHECK(g.constant(Shape{{2}}, {1.0, -0.0}) != g.constant(Shape{{2}}, {1.0, 0.0}));  // bits
  // A slice of a slice is one slice of the first operand.
  const Id inner = g.slice(x, {SliceDim{1, 4, true}});
  CHECK(g.slice(inner, {SliceDim{0, 3, true}}) == g.slice(x, {SliceDim{1, 3, true}}));
  CHECK(g.slice(inner, {SliceDim{2, 1, false}}) == g.slice(x, {SliceDim{3, 1, false}}));
  // A broadcast operand of a map is its scalar; maps of broadcasts alone are broadcasts.
  const Id wide = g.broadcast(s, vec);
  CHECK(g.map(Op::Mul, wide, x) == g.map(Op::Mul, s, x));
  CHECK(g[g.map(Op::Exp, wide)].kind == Kind::Broadcast);
  CHECK(g.slice(wide, {SliceDim{1, 2, true}}) == g.broadcast(s, Shape{{2}}));
  // Embeddings in one box add, subtract, negate and scale inside it; their sum is the operand's.
  const std::vector<SliceDim> box{SliceDim{1, 3, true}};
  const Id a = g.slice(x, {SliceDim{0, 3, true}}), b = g.slice(u, {SliceDim{2, 3, true}});
  const Id ea = g.embed(a, vec, box), eb = g.embed(b, vec, box);
  CHECK(g.map(Op::Add, ea, eb) == g.embed(g.map(Op::Add, a, b), vec, box));
  CHECK(g.map(Op::Sub, ea, eb) == g.embed(g.map(Op::Sub, a, b), vec, box));
  CHECK(g.map(Op::Neg, ea) == g.embed(g.map(Op::Neg, a), vec, box));
  CHECK(g.map(Op::Mul, s, ea) == g.embed(g.map(Op::Mul, s, a), vec, box));
  CHECK(g.sum(ea) == g.sum(a));
  // Embeddings in different boxes stay apart.
  const Id other = g.embed(b, vec, {SliceDim{0, 3, true}});
  CHECK(g[g.map(Op::Add, ea, other)].kind == Kind::Map);
  // Transposes of outer products and of broadcasts.
  CHECK(g.transpose(g.outer(x, v)) == g.outer(v, x));
  CHECK(g.transpose(g.broadcast(s, mat)) == g.broadcast(s, Shape{{3, 5}}));
}

TEST_CASE("pad, argmax and argmin agree with the scalar level, per row and for params") {
  check("param W[3][2]\nparam c[4]\nparam M[2][2]\ninput x[2]\ninput y\nh = W @ x\n"
        "minimize sum(pad(h, 1, 0)^2 * c) + 0.5*argmax(h) + sum(pad(M, 1, 1, 0, 2)^2) +"
        " where(argmin(h) == y, 1, 0) + argmax(c) * sum(c)\n"
        "report first = argmax(h)\n");
  // Long enough for fused loops: pad's zeros are a guarded load.
  check("param v[3000]\nminimize sum(pad(v, 2, 1)[1:] * pad(v[:2999], 0, 3)) + argmin(v)\n");
}

TEST_CASE("models of other kinds agree: relu and sigmoid networks, regression, penalties") {
  // Binary cross-entropy of a relu network, written with log and with softplus.
  check("param W1[5][3]\nparam b1[5]\nparam w2[5]\nparam c\ninput x[3]\ninput y\n"
        "h = relu(W1 @ x + b1)\np = sigmoid(dot(w2, h) + c)\n"
        "minimize -(y*log(p) + (1 - y)*log(1 - p)) + 0.01*sum(W1^2)\nreport acc = where((p > 0.5) == y, 1, 0)\n");
  check("param W1[5][3]\nparam b1[5]\nparam w2[5]\nparam c\ninput x[3]\ninput y\n"
        "z = dot(w2, softplus(W1 @ x + b1)) + c\nminimize softplus(z) - y*z\n");
  // Multi-output regression, row-vector products, two hidden layers, a mean.
  check("param A[3][4]\nparam B[4][4]\nparam e[4]\ninput x[3]\ninput t[4]\n"
        "h = tanh(x @ A)\ng = sigmoid(h @ B + e)\nminimize mean((g - t)^2) + 1e-3*norm(B)\n");
  // A small convolution over an input written with slices, max pooling, exp and log.
  check("param k[3]\nparam s\ninput x[8]\n"
        "c = k[0]*x[:6] + k[1]*x[1:7] + k[2]*x[2:]\n"
        "minimize log(1 + exp(max(c) - s)) + sum(abs(c))/6 + s^2\n");
}

TEST_CASE("threads split a batch's elementwise work without changing a bit") {
  // 96 rows of a hidden layer of 800: 76,800 elements per map, above the threshold at which the
  // executor splits rows over threads (exec.cpp, kParallelElements).
  const std::string text = "param W[800][6]\nparam b[800]\nparam v[800]\ninput x[6]\ninput y\n"
                           "h = tanh(W @ x + b)\nz = [dot(v, h), sum(h^2)/800, y]\n"
                           "minimize logsumexp(z) - dot(softmax(z), z) + (dot(v, h) - y)^2\n"
                           "report spread = max(h) - min(h)\n";
  driver::Program program = load(text);
  const Batch b = makeBatch(program, 96);
  const std::vector<const double *> columns = b.pointers();
  driver::ArrayRows rows;
  rows.count = 96;
  rows.columns = columns;
  std::vector<double> want(b.params.size()), wantReports(1);
  std::optional<driver::ArrayCode> one = driver::compileArrays(program, 1);
  REQUIRE(one);
  const double wantValue = one->objective(b.params, rows, want);
  one->reports(b.params, rows, wantReports);
  for (unsigned threads : {2u, 3u}) {
    INFO(threads << " threads");
    std::optional<driver::ArrayCode> many = driver::compileArrays(program, threads);
    REQUIRE(many);
    // The executor's own split of the rows: the same bits.
    array::Executor::setBlasThreads(1);
    std::vector<double> grad(b.params.size()), reports(1);
    CHECK(many->objective(b.params, rows, grad) == wantValue);
    CHECK(grad == want);
    many->reports(b.params, rows, reports);
    CHECK(reports == wantReports);
    // OpenBLAS on several threads too: its kernels at the edges of each thread's block of the
    // result may sum in another order, so the values agree to rounding, not to the bit.
    array::Executor::setBlasThreads(threads);
    const double value = many->objective(b.params, rows, grad);
    CHECK(std::abs(value - wantValue) <= 1e-12 * std::max(1.0, std::abs(wantValue)));
    for (std::size_t i = 0; i < grad.size(); ++i)
      CHECK(std::abs(grad[i] - want[i]) <= 1e-12 * std::max(1.0, std::abs(want[i])));
    many->reports(b.params, rows, reports);
    CHECK(std::abs(reports[0] - wantReports[0]) <= 1e-12 * std::max(1.0, std::abs(wantReports[0])));
  }
  array::Executor::setBlasThreads(1);
}

TEST_CASE("the executor reads params given in parts as it reads them packed, and refuses a param "
          "that runs past its part") {
  // u[3] and w[2] at offsets 0 and 3: u . u + w . w + sum(u) * sum(w), interpreted and fused
  // (a long vector) alike.
  for (std::uint32_t n : {3u, 5000u}) {
    INFO(n << " elements");
    array::Graph g;
    const array::Id u = g.param(0, Shape{{n}}), w = g.param(1, Shape{{2}});
    const array::Id loss =
        g.map(Op::Add, g.map(Op::Add, g.sum(g.map(Op::Mul, u, u)), g.sum(g.map(Op::Mul, w, w))),
              g.map(Op::Mul, g.sum(u), g.sum(w)));
    array::Executor exec(g, {loss}, {}, {0, n});
    std::vector<double> packed(n + 2);
    for (std::size_t i = 0; i < packed.size(); ++i) packed[i] = 0.25 * static_cast<double>(i % 7) - 0.5;
    double su = 0, suu = 0;
    for (std::size_t i = 0; i < n; ++i) {
      su += packed[i];
      suu += packed[i] * packed[i];
    }
    const double w0 = packed[n], w1 = packed[n + 1];
    const double want = suu + (w0 * w0 + w1 * w1) + su * (w0 + w1);
    const array::Rows one{1, {}, nullptr, 0, nullptr};
    double whole = 0, split = 0;
    exec.run(packed, one, std::span<double>(&whole, 1));
    CHECK(whole == Approx(want).epsilon(1e-13));
    const std::vector<double> first(packed.begin(), packed.begin() + n),
        second(packed.begin() + n, packed.end());
    const std::span<const double> parts[] = {first, second};
    const std::span<double> outs[] = {std::span<double>(&split, 1)};
    exec.run(std::span<const std::span<const double>>(parts), one, outs);
    CHECK(split == whole);
    // w split across two parts, and params that end before w.
    const std::vector<double> a(packed.begin(), packed.begin() + n + 1), b(packed.begin() + n + 1, packed.end());
    const std::span<const double> straddling[] = {a, b};
    CHECK_THROWS_WITH(exec.run(std::span<const std::span<const double>>(straddling), one, outs),
                      Catch::Contains("a param runs past its part of the params"));
    const std::span<const double> short_[] = {first};
    CHECK_THROWS_WITH(exec.run(std::span<const std::span<const double>>(short_), one, outs),
                      Catch::Contains("a param beyond the params"));
  }
}

TEST_CASE("long sums add in blocks: the fused loops equal nabla_rt_sum bit for bit, and stay near "
          "the exact sum") {
  // nabla_rt_sum (array/runtime/kernels.h) adds blocks of 256 elements, groups of 65536 and then
  // the groups; the fused loops add the same way, also for a row of lanes (here 3: blocks end
  // inside rows).
  const std::size_t n = (std::size_t{1} << 20) - 77, m = 100003;  // within --max-array's 2^20
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0, 1), near1(0.5, 1.5);
  std::vector<double> x(n), w(m * 3);
  for (double &v : x) v = std::sqrt(unit(rng));  // squares spread over [0, 1)
  for (double &v : w) v = near1(rng) - 1;
  auto value = [](const std::string &text, const std::vector<double> &params) {
    driver::Program program = load(text);
    std::optional<driver::ArrayCode> code = driver::compileArrays(program, 1);
    REQUIRE(code);
    CHECK(code->fusedLoops() >= 1);
    std::vector<double> grad(params.size());
    driver::ArrayRows rows;
    rows.count = 1;
    return code->objective(params, rows, grad);
  };
  std::vector<double> squares(n);
  for (std::size_t i = 0; i < n; ++i) squares[i] = x[i] * x[i];
  const double fused = value("param x[" + std::to_string(n) + "]\nminimize sum(x^2)\n", x);
  const double interpreted = nabla_rt_sum(squares.data(), n);
  CHECK(std::memcmp(&fused, &interpreted, sizeof fused) == 0);

  // A matrix summed row by row beside a column product: chained lanes.
  std::vector<double> wSquares(m * 3), product(m);
  for (std::size_t i = 0; i < m * 3; ++i) wSquares[i] = w[i] * w[i];
  for (std::size_t r = 0; r < m; ++r) product[r] = w[3 * r] * w[3 * r + 2];
  const double rows = value("param W[" + std::to_string(m) + "][3]\n"
                            "minimize sum(W^2) + sum(W[:, 0] * W[:, 2])\n", w);
  CHECK(rows == nabla_rt_sum(wSquares.data(), m * 3) + nabla_rt_sum(product.data(), m));

  // Against the exact sum (113-bit accumulation): adding 10^6 numbers spread over [0, 1) in
  // order errs by about 1e-8 here (the warning prints it), in blocks by about 1e-10.
  __float128 exact = 0;
  double inOrder = 0;
  for (double v : squares) {
    exact += v;
    inOrder += v;
  }
  const double blockedError = std::abs(static_cast<double>(static_cast<__float128>(fused) - exact));
  const double orderError = std::abs(static_cast<double>(static_cast<__float128>(inOrder) - exact));
  WARN("sum of " << n << " squares: " << static_cast<double>(exact) << "; error in blocks "
                 << blockedError << ", in order " << orderError);
  CHECK(blockedError <= 1e-15 * static_cast<double>(exact));
}
