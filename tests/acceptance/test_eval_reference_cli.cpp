// `nabla eval --json` reproduces every case of the gradient reference data (a third of them in
// the sanitizer builds: a process each): value, gradient and Hessian within the reference
// tolerance.
#include "support/process.h"
#include "support/reference.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <cmath>
#include <cstdio>
#include <string>

using namespace nabla::test;

namespace {
std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

TEST_CASE("nabla eval --json matches the gradient reference data", "[acceptance][reference]") {
  const CaseSweep sweep = gradientSweep();
  std::size_t points = 0;
  for (const ReferenceCase &c : sweep.cases) {
    std::string vars;
    for (const std::string &v : c.vars) vars += (vars.empty() ? "" : ",") + v;
    for (const ReferencePoint &p : c.points) {
      std::string at;
      for (const std::string &v : c.vars) at += (at.empty() ? "" : ",") + v + "=" + exact(p.at.at(v));
      INFO(c.name << " at " << at);
      ProcessResult r = runNabla({"eval", c.expr, "--vars", vars, "--at", at, "--grad", "--hessian", "--json"});
      INFO(r.err);
      REQUIRE(r.exitCode == 0);
      auto parsed = llvm::json::parse(r.out);
      REQUIRE(static_cast<bool>(parsed));
      const llvm::json::Object &o = *parsed->getAsObject();
      CHECK(valueMatches(*o.getNumber("value"), p.value));
      const auto [g, h] = scalesOf(p);
      for (std::size_t i = 0; i < c.vars.size(); ++i) {
        INFO("d/d" << c.vars[i]);
        CHECK(entryMatches(*o.getObject("grad")->getNumber(c.vars[i]), p.grad.at(c.vars[i]), g));
        const llvm::json::Array &row = *(*o.getArray("hessian"))[i].getAsArray();
        for (std::size_t j = 0; j < c.vars.size(); ++j)
          CHECK(entryMatches(*row[j].getAsNumber(), p.hessian[i][j], h));
      }
      ++points;
    }
  }
  CHECK(points == sweep.points);
}
