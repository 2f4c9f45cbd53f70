// Language features beyond the scalar reference, driven through `nabla eval -` as a user would:
// arrays, @, indexing, reductions, softmax, d/grad/hessian inside functions and definitions,
// nested d, where. Expected values are worked out by hand or with SymPy (noted at each case),
// never taken from nabla's own output.
#include "support/process.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <cmath>
#include <string>
#include <vector>

using nabla::test::ProcessResult;
using nabla::test::runNabla;

namespace {

struct Eval {
  double value = std::nan("");
  std::vector<double> grad;                 // in the order of `names`
  std::vector<std::vector<double>> hessian; // rows and columns in the order of `names`
};

/// Runs `nabla eval - ARGS --json` on `program` and reads the entries of `names`.
Eval evalProgram(const std::string &program, std::vector<std::string> args,
                 const std::vector<std::string> &names) {
  args.insert(args.begin(), {"eval", "-"});
  args.push_back("--json");
  ProcessResult r = runNabla(args, program);
  INFO(program << "\nstderr: " << r.err);
  REQUIRE(r.exitCode == 0);
  auto parsed = llvm::json::parse(r.out);
  REQUIRE(bool(parsed));
  const llvm::json::Object &o = *parsed->getAsObject();
  Eval e;
  e.value = *o.getNumber("value");
  std::vector<std::string> vars;
  for (const llvm::json::Value &v : *o.getArray("vars")) vars.push_back(v.getAsString()->str());
  if (const llvm::json::Object *g = o.getObject("grad"))
    for (const std::string &n : names) e.grad.push_back(*g->getNumber(n));
  if (const llvm::json::Array *h = o.getArray("hessian")) {
    auto index = [&](const std::string &n) {
      for (std::size_t i = 0; i < vars.size(); ++i)
        if (vars[i] == n) return i;
      FAIL("no variable " << n);
      return std::size_t(0);
    };
    for (const std::string &a : names) {
      std::vector<double> row;
      for (const std::string &b : names)
        row.push_back(*(*(*h)[index(a)].getAsArray())[index(b)].getAsNumber());
      e.hessian.push_back(row);
    }
  }
  return e;
}

bool near(double got, double want, double scale) {
  return std::fabs(got - want) <= 1e-12 * std::max({std::fabs(want), scale, 1e-300});
}

}  // namespace

TEST_CASE("arrays, @, reductions and softmax: value, gradient, Hessian", "[cli][language]") {
  // SymPy: with z = M w = [14, 32], f = 2 |w|^2 + v.w + b^2 + log(e^z0 + e^z1) + e^z1/(e^z0 + e^z1).
  const char *program = "param w[3] = [1, 2, 3]\n"
                        "param b = 0.5\n"
                        "const c = 2\n"
                        "v = [0.5, -1, 2]\n"
                        "M = [[1, 2, 3], [4, 5, 6]]\n"
                        "s = softmax(M @ w)\n"
                        "minimize sum(w^2) * c + dot(w, v) + b^2 + logsumexp(M @ w) + s[1]\n";
  Eval e = evalProgram(program, {"--at", "w[0]=1,w[1]=2,w[2]=3,b=0.5", "--grad", "--hessian"},
                       {"w[0]", "w[1]", "w[2]", "b"});
  CHECK(near(e.value, 65.750000000000000116, 0));
  const double grad[] = {8.4999999999999993041, 11.999999999999999304, 19.999999999999999304, 1};
  for (int i = 0; i < 4; ++i) CHECK(near(e.grad[i], grad[i], 20));
  // The Hessian is 4 + 4.1751409e-15 on the w diagonal, 4.1751409e-15 off it, 2 for b.
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      CHECK(std::fabs(e.hessian[i][j] - (i == j ? 4.0000000000000041751 : 4.1751409036764878e-15)) <=
            1e-9 * 4 * 1e-3);
  CHECK(e.hessian[3][3] == 2);
  CHECK(e.hessian[0][3] == 0);
}

TEST_CASE("d, grad and hessian inside definitions, over all params", "[cli][language]") {
  // g = d(sum(w^3) + b w0, w) = 3 w^2 + [b, 0, 0]; H = hessian over (w0, w1, w2, b) of
  // sum(w^3) + b w0 w1; G = grad(b^2 w2) = [0, 0, b^2, 2 b w2]. SymPy at w = (0.5, -1, 2), b = 3:
  // L = 1288.75, dL = (15, -43, 1224, 14).
  const char *program = "param w[3]\n"
                        "param b\n"
                        "g = d(sum(w^3) + b*w[0], w)\n"
                        "H = hessian(sum(w^3) + b*w[0]*w[1])\n"
                        "G = grad(b^2 * w[2])\n"
                        "minimize dot(g, [1, 10, 100]) + sum(H @ [1, 2, 3, 4]) + G[3] + G[2]\n";
  Eval e = evalProgram(program, {"--at", "w[0]=0.5,w[1]=-1,w[2]=2,b=3", "--grad"},
                       {"w[0]", "w[1]", "w[2]", "b"});
  CHECK(near(e.value, 1288.75, 0));
  const double grad[] = {15, -43, 1224, 14};
  for (int i = 0; i < 4; ++i) CHECK(near(e.grad[i], grad[i], 1224));
}

TEST_CASE("d inside a function differentiates the function's own body", "[cli][language]") {
  // f(x) = d(x*y, y) = x and g(x) = d(x*y, x) = y, so L = y + 10 y + 300 and dL/dy = 11.
  const char *program = "param y\n"
                        "f(x) = d(x*y, y)\n"
                        "g(x) = d(x*y, x)\n"
                        "minimize f(y) + 10*g(y) + 100*f(3)\n";
  Eval e = evalProgram(program, {"--fn", "L", "--at", "y=2", "--grad"}, {"y"});
  CHECK(e.value == 322);
  CHECK(e.grad[0] == 11);
  // d(x, y) inside f(x) is 0: x does not depend on y there, whatever f is later called with.
  Eval zero = evalProgram("param y\nf(x) = d(x, y)\nminimize f(y)\n",
                          {"--fn", "L", "--at", "y=2", "--grad"}, {"y"});
  CHECK(zero.value == 0);
  CHECK(zero.grad[0] == 0);
}

TEST_CASE("nested d and where in functions", "[cli][language]") {
  const char *program = "f(x, y) = x^3*y + sin(x*y)\n"
                        "h(x, y) = d(d(f(x, y), x), y)\n"
                        "w3(x) = d(d(d(x^5, x), x), x)\n"
                        "sel(x) = where(x > 0, sqrt(x), 0) + where(x <= 1 && x > -5, x^2, -x)\n";
  // h = 3x^2 + cos(xy) - xy sin(xy); SymPy at (0.7, 1.3): 1.3652973463709568,
  // dh = (1.4212290551608640, -1.4962612779903035).
  Eval h = evalProgram(program, {"--fn", "h", "--at", "x=0.7,y=1.3", "--grad"}, {"x", "y"});
  CHECK(near(h.value, 1.3652973463709568, 0));
  CHECK(near(h.grad[0], 1.4212290551608640, 1.5));
  CHECK(near(h.grad[1], -1.4962612779903035, 1.5));
  // d^3/dx^3 x^5 = 60 x^2 = 29.4 at 0.7, its derivative 120 x = 84.
  Eval w3 = evalProgram(program, {"--fn", "w3", "--at", "x=0.7", "--grad"}, {"x"});
  CHECK(near(w3.value, 29.4, 0));
  CHECK(near(w3.grad[0], 84, 0));
  // At x = -1 the sqrt branch is not taken: no NaN reaches the value, gradient or Hessian.
  Eval neg = evalProgram(program, {"--fn", "sel", "--at", "x=-1", "--grad", "--hessian"}, {"x"});
  CHECK(neg.value == 1);
  CHECK(neg.grad[0] == -2);
  CHECK(neg.hessian[0][0] == 2);
  // At x = 2: sqrt(2) - 2, 1/(2 sqrt 2) - 1, -1/(4 * 2^1.5).
  Eval pos = evalProgram(program, {"--fn", "sel", "--at", "x=2", "--grad", "--hessian"}, {"x"});
  CHECK(near(pos.value, std::sqrt(2.0) - 2, 0));
  CHECK(near(pos.grad[0], 1 / (2 * std::sqrt(2.0)) - 1, 0));
  CHECK(near(pos.hessian[0][0], -1 / (4 * std::pow(2.0, 1.5)), 0));
}

TEST_CASE("derivatives come from the simplified function: stable where the value is",
          "[cli][language][simplify]") {
  // d/dz log(sigmoid(z)) = 1 - sigmoid(z) = sigmoid(-z): 1 at z = -800 (to 1e-347), and the
  // second derivative -sigmoid(z) sigmoid(-z) is -e^-800, 0 in double. Differentiating
  // log(sigmoid(z)) as written gives 1/sigmoid(z) * sigmoid'(z) = inf * 0 = NaN there.
  Eval e = evalProgram("log(sigmoid(z))", {"--at", "z=-800", "--grad", "--hessian"}, {"z"});
  CHECK(e.value == -800);
  CHECK(e.grad[0] == 1);
  CHECK(std::fabs(e.hessian[0][0]) <= 1e-300);

  // The same inside the language (sema's d): f(z) = d(log(sigmoid(z)), z) = sigmoid(-z).
  Eval f = evalProgram("f(z) = d(log(sigmoid(z)), z)", {"--at", "z=-800", "--grad"}, {"z"});
  CHECK(f.value == 1);
  CHECK(std::fabs(f.grad[0]) <= 1e-300);

  // DESIGN's logistic loss with a confident wrong prediction, z = w0*x0 + b = -800, y = 1:
  // L = log(p) - 0.01 w0^2 with p = sigmoid(z), so dL/dw0 = (1 - p) x0 - 0.02 w0 = 2 + 8 = 10
  // and dL/db = 1 - p = 1 (p = e^-800 is 0 in double).
  const char *program = "param w[2]\n"
                        "param b = -1.5\n"
                        "input x[2] from (a, c)\n"
                        "input y from (t)\n"
                        "const lam = 1e-2\n"
                        "p = sigmoid(dot(w, x) + b)\n"
                        "maximize y*log(p) + (1-y)*log(1-p) - lam*sum(w^2)\n";
  Eval l = evalProgram(program, {"--at", "w[0]=-400,w[1]=0,b=0,x[0]=2,x[1]=0,y=1", "--grad"},
                       {"w[0]", "w[1]", "b"});
  CHECK(l.value == -2400);
  CHECK(l.grad[0] == 10);
  CHECK(l.grad[1] == 0);
  CHECK(l.grad[2] == 1);
}
