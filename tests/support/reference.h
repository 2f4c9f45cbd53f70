// The gradient reference data (tests/reference/gradients.json) and its tolerance rule
// (the reference README, section 2).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace nabla::test {

struct ReferencePoint {
  std::map<std::string, double> at;
  double value = 0;
  std::map<std::string, double> grad;
  std::vector<std::vector<double>> hessian;  // in the case's `vars` order
};

struct ReferenceCase {
  std::string name, expr, kind;
  std::vector<std::string> vars;
  std::vector<ReferencePoint> points;
};

/// Loads tests/reference/gradients.json (numbers are strings, read with strtod).
std::vector<ReferenceCase> loadGradientCases();
/// Loads a file of the same format, named relative to tests/ (e.g. "reference/gradients_qa.json").
std::vector<ReferenceCase> loadGradientCases(const std::string &relativePath);

/// The gradient reference cases that a sweep of one code path over all of them takes, and their
/// number of points. Every case; in the sanitizer builds (NABLA_TEST_SAMPLED) every third case
/// of each kind, as the instrumented code is several times slower and the plain build runs all.
/// Throws when the data has fewer than its 305 cases and 607 points.
struct CaseSweep {
  std::vector<ReferenceCase> cases;
  std::size_t points = 0;
};
CaseSweep gradientSweep();

/// |got - ref| <= 1e-9 * |ref| (if ref == 0: |got| <= 1e-12).
bool valueMatches(double got, double ref);
/// |got - ref| <= 1e-9 * max(|ref|, 1e-3 * scale), scale = max |ref entry| of the vector or
/// matrix (if scale == 0: |got| <= 1e-12).
bool entryMatches(double got, double ref, double scale);

/// The largest |entry| of the point's reference gradient and Hessian: the scales of entryMatches.
struct ReferenceScales {
  double grad = 0, hess = 0;
};
ReferenceScales scalesOf(const ReferencePoint &point);

/// "name (expr) at x=.. y=..", with round-trip precision, for failure messages.
std::string describe(const ReferenceCase &c, const ReferencePoint &point);

/// The whole text of a file of the project's tests/ folder.
std::string readTestFile(const std::string &relativePath);

}  // namespace nabla::test
