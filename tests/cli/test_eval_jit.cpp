// `nabla eval` runs compiled code by default and the interpreter with --interp: the two agree
// within 4 ulps on reference points; variables the function does not use, repeated --vars names
// and an objective's inputs (read, not differentiated) work the same way in both.
#include "jit/jit_test_util.h"  // ulpDistance
#include "support/process.h"
#include "support/reference.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

using nabla::jittest::ulpDistance;
using nabla::test::ProcessResult;
using nabla::test::runNabla;

namespace {

/// Every number of a JSON result, in document order; NaN and infinities (written as strings)
/// read back as numbers.
void collect(const llvm::json::Value &v, std::vector<double> &out) {
  if (std::optional<double> d = v.getAsNumber()) {
    out.push_back(*d);
  } else if (std::optional<llvm::StringRef> s = v.getAsString()) {
    out.push_back(std::strtod(s->str().c_str(), nullptr));
  } else if (const llvm::json::Array *a = v.getAsArray()) {
    for (const llvm::json::Value &e : *a) collect(e, out);
  }
}

struct Result {
  std::vector<std::string> vars;
  std::vector<double> numbers;  // value, gradient in vars order, Hessian row-major
  std::string err;
};

/// Runs `nabla eval ARGS --json` and reads value, grad and hessian.
Result evalJson(std::vector<std::string> args) {
  args.insert(args.begin(), "eval");
  args.push_back("--json");
  ProcessResult r = runNabla(args);
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto parsed = llvm::json::parse(r.out);
  INFO(r.out);
  REQUIRE(static_cast<bool>(parsed));
  const llvm::json::Object &o = *parsed->getAsObject();
  Result out;
  out.err = r.err;
  for (const llvm::json::Value &v : *o.getArray("vars")) out.vars.push_back(v.getAsString()->str());
  collect(*o.get("value"), out.numbers);
  if (const llvm::json::Object *g = o.getObject("grad"))
    for (const std::string &v : out.vars) collect(*g->get(v), out.numbers);
  if (const llvm::json::Value *h = o.get("hessian")) collect(*h, out.numbers);
  return out;
}

std::string tempModel(const std::string &contents) {
  char path[] = "/tmp/nabla-eval-jit-XXXXXX.nabla";
  int fd = mkstemps(path, 6);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
  close(fd);
  return path;
}

std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

TEST_CASE("eval's compiled code and --interp agree within 4 ulps on reference points", "[cli][jit]") {
  // A handful of cases spread over the reference data (every case is checked through the library
  // by the api and jit tests; here each point costs two processes).
  const std::vector<nabla::test::ReferenceCase> cases = nabla::test::loadGradientCases();
  std::size_t checked = 0;
  for (std::size_t k = 0; k < cases.size(); k += 37) {
    const nabla::test::ReferenceCase &c = cases[k];
    std::string vars;
    for (const std::string &v : c.vars) vars += (vars.empty() ? "" : ",") + v;
    for (const nabla::test::ReferencePoint &p : c.points) {
      std::string at;
      for (const std::string &v : c.vars) at += (at.empty() ? "" : ",") + v + "=" + exact(p.at.at(v));
      INFO(c.name << " (" << c.expr << ") at " << at);
      const std::vector<std::string> args{c.expr, "--vars", vars, "--at", at, "--grad", "--hessian"};
      Result compiled = evalJson(args);
      std::vector<std::string> interpArgs = args;
      interpArgs.push_back("--interp");
      Result interpreted = evalJson(interpArgs);
      CHECK(compiled.vars == c.vars);
      CHECK(interpreted.vars == c.vars);
      const std::size_t n = c.vars.size();
      REQUIRE(compiled.numbers.size() == 1 + n + n * n);
      REQUIRE(interpreted.numbers.size() == compiled.numbers.size());
      for (std::size_t i = 0; i < compiled.numbers.size(); ++i) {
        INFO("entry " << i << ": compiled " << compiled.numbers[i] << ", interpreter "
                      << interpreted.numbers[i]);
        CHECK(ulpDistance(compiled.numbers[i], interpreted.numbers[i]) <= 4);
      }
      // And both against the reference value itself.
      CHECK(nabla::test::valueMatches(compiled.numbers[0], p.value));
      ++checked;
    }
  }
  CHECK(checked >= 15);
}

TEST_CASE("eval: unused variables and repeated --vars names, compiled and interpreted",
          "[cli][jit]") {
  for (bool interp : {false, true}) {
    INFO((interp ? "--interp" : "compiled"));
    std::vector<std::string> args{"x^2*y", "--vars", "y,z,x,z,y", "--at", "x=3,y=2,z=7",
                                  "--grad", "--hessian"};
    if (interp) args.push_back("--interp");
    Result r = evalJson(args);
    // Each name once, where it first appears; x^2*y = 18, d/dy = x^2, d/dx = 2xy, d/dz = 0.
    CHECK(r.vars == std::vector<std::string>{"y", "z", "x"});
    const std::vector<double> want{18, 9, 0, 12,  // value, gradient (y, z, x)
                                   0, 0, 6, 0, 0, 0, 6, 0, 4};  // Hessian in y, z, x order
    CHECK(r.numbers == want);
    CHECK(r.err.find("warning: 'z' is named twice in --vars; it is used once") != std::string::npos);
    CHECK(r.err.find("warning: 'y' is named twice in --vars") != std::string::npos);
  }

  // An array and one of its elements: the element is already there.
  const std::string model = tempModel("param w[2]\nminimize w[0]^2 + 3*w[1]\n");
  Result r = evalJson({model, "--vars", "w,w[0]", "--at", "w[0]=2,w[1]=1", "--grad"});
  CHECK(r.vars == std::vector<std::string>{"w[0]", "w[1]"});
  CHECK(r.numbers == std::vector<double>{7, 4, 3});
  CHECK(r.err.find("'w[0]' is named twice in --vars") != std::string::npos);
  std::remove(model.c_str());

  // --wrt of diff still refuses repeats.
  ProcessResult diff = runNabla({"diff", "x*y", "--wrt", "x,x"});
  CHECK(diff.exitCode == 2);
  CHECK(diff.err.find("'x' is listed twice in --wrt") != std::string::npos);
}

TEST_CASE("eval: an objective's inputs are read but not differentiated unless --vars names them",
          "[cli][jit]") {
  const std::string model = tempModel("param w\ninput t\nminimize (w*t - 1)^2\n");
  for (bool interp : {false, true}) {
    INFO((interp ? "--interp" : "compiled"));
    std::vector<std::string> extra;
    if (interp) extra.push_back("--interp");
    // (w t - 1)^2 at w = 3, t = 0.5: 0.25; d/dw = 2 (w t - 1) t = 0.5; d/dt = 2 (w t - 1) w = 3.
    std::vector<std::string> args{model, "--fn", "L", "--at", "w=3,t=0.5", "--grad", "--hessian"};
    args.insert(args.end(), extra.begin(), extra.end());
    Result params = evalJson(args);
    CHECK(params.vars == std::vector<std::string>{"w"});
    CHECK(params.numbers == std::vector<double>{0.25, 0.5, 0.5});  // d2/dw2 = 2 t^2

    args.insert(args.begin() + 1, {"--vars", "t,w"});
    Result both = evalJson(args);
    CHECK(both.vars == std::vector<std::string>{"t", "w"});
    // Hessian in t, w order: d2/dt2 = 2 w^2 = 18, d2/dtdw = 2 (2 w t - 1) = 4, d2/dw2 = 2 t^2.
    CHECK(both.numbers == std::vector<double>{0.25, 3, 0.5, 18, 4, 4, 0.5});
  }
  std::remove(model.c_str());
}

TEST_CASE("the option --interp belongs to eval", "[cli][jit]") {
  ProcessResult help = runNabla({"eval", "--help"});
  CHECK(help.exitCode == 0);
  CHECK(help.out.find("--interp") != std::string::npos);
  ProcessResult diff = runNabla({"diff", "x^2", "--interp"});
  CHECK(diff.exitCode == 2);
  CHECK(diff.err.find("'nabla diff' has no option '--interp'") != std::string::npos);
  ProcessResult value = runNabla({"eval", "x^3", "--at", "x=2", "--interp"});
  CHECK(value.exitCode == 0);
  CHECK(value.out == "f = 8\n");
}
