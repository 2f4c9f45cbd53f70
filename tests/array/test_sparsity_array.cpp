// The Hessian's pattern at the array level (array/sparsity.h) against the scalar level's
// (diff/sparsity.h) on programs both levels take: slices (the chained Rosenbrock), matrix
// products of params, a small MLP with logsumexp and one with softmax, outer products,
// transposes, vector literals, pad, norm, broadcasting and constants; the chained Rosenbrock of
// 10^6 params, tridiagonal (its time is measured by bench/hvp.sh, not here); and the
// limit on the pattern's pairs at both levels.
#include "array/sparsity.h"
#include "diff/sparsity.h"
#include "driver/driver.h"
#include "driver/program_impl.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace nabla;

namespace {

driver::Program load(const std::string &text, bool deferBodies = false) {
  driver::Options options;
  options.deferBodies = deferBodies;
  return driver::Program::load(driver::fromText("m.nabla", text, true, driver::Limits{}), options);
}

array::Program arrays(const driver::Program &program) {
  const driver::Program::Impl &p = program.impl();
  std::string why;
  std::optional<array::Program> a =
      array::lowerArrays(*p.ast, p.lowered, p.options.limits.maxArray, &why);
  INFO("the array level: " << why);
  REQUIRE(a);
  return std::move(*a);
}

std::string picture(const HessianPattern &p) {
  std::string s;
  for (std::size_t i = 0; i < p.n; ++i) {
    for (std::size_t j = 0; j < p.n; ++j) s += p.contains(i, j) ? "x " : ". ";
    s += "\n";
  }
  return s;
}

/// A line of /proc/self/status in KiB (VmRSS, VmHWM); 0 where there is none.
std::size_t statusKiB(const std::string &key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return std::stoul(line.substr(key.size() + 1));
  return 0;
}

/// The objective's pattern at both levels (the scalar level's of the function as lowered and as
/// simplified): equal, or with `superset` the array level's holds the scalar level's.
void compareLevels(const std::string &text, bool superset = false) {
  driver::Program program = load(text);
  const std::optional<driver::Entry> objective = program.objective();
  REQUIRE(objective);
  const HessianPattern scalar = hessianPattern(program.graph(), objective->value, objective->vars);
  const driver::Entry entry = *objective;
  const NodeId simplified = program.value(entry).value;
  const HessianPattern scalarSimplified = hessianPattern(program.graph(), simplified, entry.vars);
  const HessianPattern array = array::hessianPattern(arrays(program));
  INFO(text << "\nscalar level:\n" << picture(scalar) << "array level:\n" << picture(array));
  REQUIRE(array.n == scalar.n);
  CHECK(scalar.nonzeros() > 0);
  CHECK(scalarSimplified == scalar);
  if (!superset) {
    CHECK(array == scalar);
    return;
  }
  for (std::size_t i = 0; i < scalar.n; ++i)
    for (std::int64_t j : scalar.row(i)) CHECK(array.contains(i, static_cast<std::size_t>(j)));
}

}  // namespace

TEST_CASE("array sparsity: slices, the chained Rosenbrock", "[array][sparsity]") {
  compareLevels("param x[8] = -1.2\nminimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n");
  // Only some elements live: x[2:5] of a nonlinear map, and a subscript.
  compareLevels("param x[8]\nminimize sum(exp(x)[2:5]) + x[0]*x[7] + sin(x[3:6])[1]\n");
  // A 2-D param sliced by rows and by columns.
  compareLevels("param W[3][4]\nminimize sum(W[:, 1]^2) * W[0][0] + sum(W[1:, :2]^3)\n");
}

TEST_CASE("array sparsity: matrix products, outer products, transposes", "[array][sparsity]") {
  compareLevels("param A[3][2]\nparam B[2][3]\nminimize sum((A @ B)^2)\n");
  compareLevels("param A[3][2]\nparam B[2][3]\nminimize sum(A @ B)\n");  // bilinear: A x B only
  compareLevels("param u[3]\nparam v[4]\nminimize sum(transpose(outer(u, v))^2) + dot(u, u)\n");
  compareLevels("param u[3]\nparam v[3]\nminimize u @ v + sum(v @ [[1, 0, 2], [0, 0, 1], [3, 1, 0]] * u)\n");
  compareLevels("param W[2][3]\nparam x[3]\nminimize norm(W @ x) + sum(tanh(x @ transpose(W)))\n");
}

TEST_CASE("array sparsity: small MLPs with logsumexp and softmax", "[array][sparsity]") {
  compareLevels(
      "param W1[4][3]\nparam b1[4]\nparam W2[3][4]\nparam b2[3]\n"
      "input x[3]\ninput digit\n"
      "h = tanh(W1 @ x + b1)\nz = W2 @ h + b2\n"
      "minimize logsumexp(z) - dot(onehot(digit, 3), z)\n");
  compareLevels(
      "param W1[3][2]\nparam b1[3]\nparam W2[2][3]\n"
      "input x[2]\ninput y\n"
      "h = sigmoid(W1 @ x + b1)\np = softmax(W2 @ h)\n"
      "minimize -log(dot(onehot(y, 2), p)) + 0.01*sum(W1^2)\n");
}

TEST_CASE("array sparsity: literals, pad, broadcasting, constants, maps", "[array][sparsity]") {
  compareLevels("param u[3]\nparam s\nminimize sum(exp([u[0]*u[1], s, u[2]^2]) * s)\n");
  compareLevels("param u[3]\nparam v[4]\nminimize sum(pad(u^2, 1, 0) * v) + sum(pad(u, 0, 1) * v)\n");
  compareLevels("param u[4]\nparam s\nminimize sum((u + s)^2) + sum(u / [1, 2, 3, 4]) + sum([0, 1, 0, 2] * u^3)\n");
  compareLevels("param u[4]\nminimize sum(u^[1, 2, 0, 3]) + sum([1, 2, 3, 4]^u) + sum(u^u)\n");
  compareLevels("param u[3]\nparam v[3]\nminimize sum(sign(u) * v^2) + sum(relu(u) * v) + sum(abs(u - v))\n");
  // min, max and where() of two dependent operands, differentiated twice: the scalar level pairs
  // each operand with itself alone, the array level may pair across (a superset).
  compareLevels("param u[3]\nparam v[3]\nminimize sum(exp(max(u, v))) + log(max(u) + 3)\n", true);
}

TEST_CASE("array sparsity: the chained Rosenbrock of 10^6 params", "[array][sparsity]") {
  const std::size_t n = 1000000;
  driver::Program program =
      load("const n = 1000000\nparam x[n] = -1.2\n"
           "minimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n",
           true);
  const array::Program a = arrays(program);
  // The peak memory of the pattern alone: the high-water mark reset first (Linux's clear_refs).
  std::ofstream("/proc/self/clear_refs") << "5";
  const std::size_t before = statusKiB("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpuStart = std::clock();
  const HessianPattern p = array::hessianPattern(a);
  const double cpu = static_cast<double>(std::clock() - cpuStart) / CLOCKS_PER_SEC;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::size_t peak = statusKiB("VmHWM");
  std::cout << "array sparsity: chained Rosenbrock, n = " << n << ": " << p.nonzeros()
            << " nonzeros in " << seconds << " s (" << cpu << " s of CPU), peak memory " << (peak - std::min(peak, before)) / 1024
            << " MiB above the " << before / 1024 << " MiB before it (the result: "
            << (p.columns.size() + p.rowStart.size()) * 8 / (1024 * 1024) << " MiB)\n";
  REQUIRE(p.n == n);
  REQUIRE(p.nonzeros() == 3 * n - 2);
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = p.row(i);
    REQUIRE(r.front() == static_cast<std::int64_t>(i == 0 ? 0 : i - 1));
    REQUIRE(r.back() == static_cast<std::int64_t>(i + 1 == n ? i : i + 1));
  }
}

TEST_CASE("sparsity: the limit counts the pattern's pairs, not the sweep's repeats",
          "[array][sparsity]") {
  // Moré, Garbow and Hillstrom's Broyden banded function: each residual's square couples a
  // window of seven params, so the array level's sweep meets a pair once per window that holds
  // it, up to seven times (about four on average). The pattern: |i - j| <= 6.
  const std::size_t n = 40;
  driver::Program program = load(
      "param x[40] = -1\nq = x*(1 + x)\n"
      "below = pad(q[:-1], 1, 0) + pad(q[:-2], 2, 0) + pad(q[:-3], 3, 0) + pad(q[:-4], 4, 0) + "
      "pad(q[:-5], 5, 0)\n"
      "r = x*(2 + 5*x^2) + 1 - below - pad(q[1:], 0, 1)\nminimize sum(r^2)\n");
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < n; ++i) pairs += std::min<std::size_t>(7, n - i);
  const std::optional<driver::Entry> objective = program.objective();
  REQUIRE(objective);
  const array::Program a = arrays(program);
  const HessianPattern full = array::hessianPattern(a);
  REQUIRE(full.n == n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      CHECK(full.contains(i, j) == (std::max(i, j) - std::min(i, j) <= 6));
  CHECK(array::hessianPattern(a, pairs) == full);
  CHECK_THROWS_AS(array::hessianPattern(a, pairs - 1), std::length_error);
  const HessianPattern scalar = hessianPattern(program.graph(), objective->value, objective->vars);
  CHECK(scalar == full);
  // The scalar level's sweep carries pairs through every node of each residual's sum (about 20
  // additions per pair of the pattern here), within its work: the limit on its pattern holds.
  CHECK(hessianPattern(program.graph(), objective->value, objective->vars, 4 * pairs) == full);
  CHECK_THROWS_AS(hessianPattern(program.graph(), objective->value, objective->vars, pairs - 1),
                  std::length_error);
}

TEST_CASE("array sparsity: a sweep that meets each pair far more often than the limit allows "
          "stops",
          "[array][sparsity]") {
  // One set of four params in each of 100 elements: 10 pairs, met 100 times each. The work
  // (kPatternWorkPerPair pairs met per pair of the limit) stops it under a limit of 10; under a
  // limit of 1000 it gives the full pattern.
  std::string literal;
  for (int i = 0; i < 100; ++i) literal += (i ? ", " : "") + std::to_string(i);
  driver::Program program =
      load("param x[4]\nminimize sum(exp(x[0] + x[1] + x[2] + x[3] + [" + literal + "]))\n");
  const array::Program a = arrays(program);
  const HessianPattern full = array::hessianPattern(a, 1000);
  CHECK(full.nonzeros() == 16);
  CHECK_THROWS_AS(array::hessianPattern(a, 10), std::length_error);
}
