// Every case and point of the gradient reference data through the C++ API: value, gradient and
// Hessian within the reference tolerance (tests/reference/README.md).
#include "api_test_util.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

using namespace nabla::test;

TEST_CASE("the C++ API reproduces every case of the gradient reference data", "[api][reference]") {
  std::vector<ReferenceCase> cases = loadGradientCases();
  REQUIRE(cases.size() >= 305);
  std::size_t points = 0;
  for (const ReferenceCase &c : cases) {
    // A function over the case's variables, in the case's order (a bare expression would take
    // them in order of first appearance).
    std::string args;
    for (const std::string &v : c.vars) args += (args.empty() ? "" : ", ") + v;
    const std::string text = "ref_case(" + args + ") = " + c.expr;
    INFO(c.name << ": " << text);
    nabla::Function f = nabla::compile(text).function("ref_case");
    REQUIRE(f.arg_names() == c.vars);
    const std::size_t n = c.vars.size();
    for (const ReferencePoint &p : c.points) {
      INFO(describe(c, p));
      std::vector<double> at;
      for (const std::string &v : c.vars) at.push_back(p.at.at(v));
      auto [value, grad] = f.value_and_grad(at);
      const std::vector<double> hess = f.hessian(at);
      CHECK(valueMatches(value, p.value));
      CHECK(valueMatches(f(at), p.value));
      const auto [gScale, hScale] = scalesOf(p);
      for (std::size_t i = 0; i < n; ++i) {
        INFO("d/d" << c.vars[i] << " = " << grad[i] << " want " << p.grad.at(c.vars[i]));
        CHECK(entryMatches(grad[i], p.grad.at(c.vars[i]), gScale));
        for (std::size_t j = 0; j < n; ++j) {
          INFO("d2/d" << c.vars[i] << "d" << c.vars[j] << " = " << hess[i * n + j] << " want "
                      << p.hessian[i][j]);
          CHECK(entryMatches(hess[i * n + j], p.hessian[i][j], hScale));
        }
      }
      ++points;
    }
  }
  CHECK(points >= 607);
}
