// samples/embed/aot_host: its build script compiles samples/seed.nabla into a library and header
// and builds main.c against them with cc; the program's numbers equal the seed function and its
// derivatives worked out by hand.
#include "aot_test_util.h"
#include "support/seed.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

using namespace nabla::aottest;
using nabla::test::Seed;

namespace {

/// `name = number` lines of the program's output (the first line is `f(x, y) = value`).
std::map<std::string, double> parseOutput(const std::string &out) {
  std::map<std::string, double> values;
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(start, end - start);
    const std::size_t eq = line.find(" = ");
    if (eq != std::string::npos) {
      std::string name = line.substr(0, eq);
      if (name.rfind("f(", 0) == 0) name = "f";
      values[name] = std::strtod(line.c_str() + eq + 3, nullptr);
    }
    start = end + 1;
  }
  return values;
}

bool near(double got, double want, double scale) {
  return std::abs(got - want) <= 1e-12 * std::max(std::abs(want), scale);
}

}  // namespace

TEST_CASE("the AOT host sample builds with cc and prints the seed function's derivatives",
          "[aot][sample]") {
  TempDir dir;
  const std::string script = std::string(NABLA_SOURCE_DIR) + "/samples/embed/aot_host/build.sh";
  nabla::test::ProcessResult built =
      run({"NABLA=" + std::string(NABLA_BINARY), "sh", script, dir.path()}, 300);
  INFO(built.out << built.err);
  REQUIRE(built.exitCode == 0);
  CHECK(contains(readText(dir / "seed.h"), "double f_grad(double x, double y, double *grad);"));

  // The program needs only the library next to it, the C library and nothing of nabla.
  nabla::test::ProcessResult needed = run({"readelf", "-d", dir / "libseed.so"});
  REQUIRE(needed.exitCode == 0);
  CHECK_FALSE(contains(needed.out, "LLVM"));
  CHECK_FALSE(contains(needed.out, "nabla"));

  for (const Seed s : {Seed{0.5, -0.5}, Seed{1.3, 0.7}, Seed{-0.8, 1.9}, Seed{2, -3}}) {
    char x[32], y[32];
    std::snprintf(x, sizeof x, "%.17g", s.x);
    std::snprintf(y, sizeof y, "%.17g", s.y);
    INFO("at x = " << x << ", y = " << y);
    nabla::test::ProcessResult r = nabla::test::runProcess(dir / "aot_host", {x, y});
    INFO(r.out << r.err);
    REQUIRE(r.exitCode == 0);
    std::map<std::string, double> v = parseOutput(r.out);
    REQUIRE(v.size() == 7);
    const double gScale = std::max(std::abs(s.fx()), std::abs(s.fy()));
    const double hScale = std::max({std::abs(s.fxx()), std::abs(s.fxy()), std::abs(s.fyy())});
    CHECK(near(v["f"], s.f(), 0));
    CHECK(near(v["df/dx"], s.fx(), gScale));
    CHECK(near(v["df/dy"], s.fy(), gScale));
    CHECK(near(v["d2f/dx2"], s.fxx(), hScale));
    CHECK(near(v["d2f/dxdy"], s.fxy(), hScale));
    CHECK(near(v["d2f/dydx"], s.fxy(), hScale));
    CHECK(near(v["d2f/dy2"], s.fyy(), hScale));
  }

  // Without arguments: the point (0.5, -0.5), where every value is a short binary fraction.
  nabla::test::ProcessResult r = nabla::test::runProcess(dir / "aot_host", {});
  REQUIRE(r.exitCode == 0);
  std::map<std::string, double> v = parseOutput(r.out);
  CHECK(v["f"] == -0.015625);
  CHECK(v["df/dx"] == 0.15625);
  CHECK(v["df/dy"] == 0.15625);
  CHECK(v["d2f/dx2"] == -0.75);
  CHECK(v["d2f/dxdy"] == -1.0625);
  CHECK(v["d2f/dy2"] == -1);
}

TEST_CASE("the trained-model sample reads nabla fit's params and matches its final loss",
          "[aot][sample]") {
  TempDir dir;
  const std::string root = NABLA_SOURCE_DIR;
  // Train, as scripts/run.sh does (without --standardize: the library reads the raw columns).
  nabla::test::ProcessResult fit = runNablaWith(
      {"fit", root + "/samples/softmax_iris.nabla", "--data", root + "/samples/data/iris.csv",
       "--optimizer", "adam", "--lr", "0.05", "--epochs", "50", "-o", dir / "params.json"});
  INFO(fit.out << fit.err);
  REQUIRE(fit.exitCode == 0);
  const std::string params = readText(dir / "params.json");
  const std::size_t at = params.find("\"loss\": ");
  REQUIRE(at != std::string::npos);
  const double loss = std::strtod(params.c_str() + at + 8, nullptr);

  nabla::test::ProcessResult built =
      run({"NABLA=" + std::string(NABLA_BINARY), "sh", root + "/samples/embed/aot_model/build.sh",
           dir.path()}, 300);
  INFO(built.out << built.err);
  REQUIRE(built.exitCode == 0);
  nabla::test::ProcessResult r = nabla::test::runProcess(
      dir / "aot_model", {dir / "params.json", root + "/samples/data/iris.csv"});
  INFO(r.out << r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(contains(r.out, "libiris.so: 15 params from "));
  const std::size_t m = r.out.find("mean loss over 150 rows: ");
  REQUIRE(m != std::string::npos);
  const double mean = std::strtod(r.out.c_str() + m + 25, nullptr);  // printed to 6 digits
  CHECK(std::abs(mean - loss) <= 5e-6 * loss);
  CHECK(contains(r.out, "row 3: loss "));

  // Bad usage and a missing file.
  CHECK(nabla::test::runProcess(dir / "aot_model", {}).exitCode == 2);
  nabla::test::ProcessResult missing =
      nabla::test::runProcess(dir / "aot_model", {dir / "none.json", root + "/samples/data/iris.csv"});
  CHECK(missing.exitCode == 1);
  CHECK(contains(missing.err, "cannot read"));
}
