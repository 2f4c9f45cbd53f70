// The bounds on second derivatives: hessian() stops once its rows have added more nodes than
// allowed, and differentiate() refuses a Hessian whose entries or sweeps exceed the node limit
// before building it, with a message that names the flag.
#include "diff_test_util.h"

#include "pipeline.h"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using namespace nabla;
using namespace nabla::difftest;

namespace {

/// The product of all variables.
NodeId product(Vars &x) {
  NodeId p = x.v[0];
  for (std::size_t i = 1; i < x.v.size(); ++i) p = x.op(Op::Mul, p, x.v[i]);
  return p;
}

/// sin(sin(...sin(product)...)), `depth` deep: each Hessian row sweeps the whole chain again and
/// adds nodes of its own along it, so the Hessian adds far more nodes than it has entries.
NodeId sineChain(Vars &x, int depth) {
  NodeId f = product(x);
  for (int k = 0; k < depth; ++k) f = x.op(Op::Sin, f);
  return f;
}

std::string limitMessage(Graph &g, NodeId f, const std::vector<NodeId> &vars,
                         const CompileOptions &options) {
  try {
    (void)differentiate(g, f, vars, true, options);
  } catch (const LimitError &e) {
    return e.what();
  }
  return "(no LimitError)";
}

}  // namespace

TEST_CASE("hessian() stops after the row that adds too many nodes", "[diff][limits]") {
  Vars x(10);
  NodeId f = sineChain(x, 300);
  const std::size_t before = x.g.size();
  CHECK_THROWS_AS(hessian(x.g, f, x.v, 2000), std::length_error);
  // Stopped early: far fewer nodes than the whole Hessian needs.
  const std::size_t stopped = x.g.size() - before;
  Vars y(10);
  NodeId g = sineChain(y, 300);
  const std::size_t start = y.g.size();
  std::vector<std::vector<NodeId>> h = hessian(y.g, g, y.v);
  const std::size_t whole = y.g.size() - start;
  CHECK(stopped < whole / 2);
  // Unbounded, the result is right: at x = 0 the product and all its derivatives but those
  // of order 10 vanish, and sin'(0) = 1, so every second derivative is 0.
  CHECK(y.eval(h[0][1], std::vector<double>(10, 0.0)) == 0);
  // For the product alone (depth 0), d2/dx0dx1 at all ones is 1 and the diagonal is 0.
  Vars z(10);
  std::vector<std::vector<NodeId>> hp = hessian(z.g, sineChain(z, 0), z.v);
  CHECK(z.eval(hp[0][1], std::vector<double>(10, 1.0)) == 1);
  CHECK(z.eval(hp[3][3], std::vector<double>(10, 1.0)) == 0);
}

TEST_CASE("differentiate() refuses Hessians beyond the node limit", "[diff][limits]") {
  CompileOptions options;

  SECTION("more entries than the limit") {
    Vars x(30);
    options.lower.maxNodes = 899;
    CHECK(limitMessage(x.g, product(x), x.v, options) ==
          "the Hessian of 30 variables has 900 entries, more than the limit of 899 (raise the "
          "limit with --max-nodes)");
    const std::size_t size = x.g.size();
    options.lower.maxNodes = 1u << 20;
    Derivatives d = differentiate(x.g, product(x), x.v, true, options);
    CHECK(d.hessian.size() == 30);
    CHECK(size < x.g.size());
  }

  SECTION("more nodes added than the limit") {
    Vars x(10);
    options.lower.maxNodes = 2000;
    CHECK(limitMessage(x.g, sineChain(x, 300), x.v, options) ==
          "the Hessian of 10 variables adds more than 2000 nodes to the graph (raise the limit "
          "with --max-nodes)");
  }

  SECTION("more work than 64 times the limit") {
    // 30 sweeps over a gradient that reaches a long chain of sines: 30 * (more than 6400) nodes
    // visited exceeds 64 * 3000, although the Hessian's 900 entries fit.
    Vars x(30);
    NodeId s = x.v[0];
    for (std::size_t i = 1; i < x.v.size(); ++i) s = x.op(Op::Add, s, x.v[i]);
    NodeId chain = s;
    for (int k = 0; k < 4000; ++k) chain = x.op(Op::Sin, x.op(Op::Add, chain, x.c(k)));
    options.lower.maxNodes = 3000;
    options.simplify = false;
    const std::string message = limitMessage(x.g, chain, x.v, options);
    CHECK(message.rfind("the Hessian of 30 variables takes 30 sweeps over a gradient of ", 0) == 0);
    CHECK(message.find(" nodes, more than 64 times the node limit of 3000 (raise the limit with "
                       "--max-nodes)") != std::string::npos);
  }

  SECTION("the gradient alone is never refused") {
    Vars x(30);
    options.lower.maxNodes = 10;
    Derivatives d = differentiate(x.g, product(x), x.v, false, options);
    CHECK(d.grad.size() == 30);
    CHECK(d.hessian.empty());
  }
}
