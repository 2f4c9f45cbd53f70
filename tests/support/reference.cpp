#include "support/reference.h"

#include <llvm/Support/JSON.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nabla::test {

std::string readTestFile(const std::string &relativePath) {
  std::ifstream in(std::string(NABLA_TEST_DATA) + "/" + relativePath, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read tests/" + relativePath);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {
double number(const llvm::json::Value *v, const std::string &what) {
  if (!v) throw std::runtime_error("gradients.json: missing " + what);
  if (auto s = v->getAsString()) return std::strtod(s->str().c_str(), nullptr);
  if (auto d = v->getAsNumber()) return *d;
  throw std::runtime_error("gradients.json: " + what + " is not a number");
}
}  // namespace

std::vector<ReferenceCase> loadGradientCases() { return loadGradientCases("reference/gradients.json"); }

CaseSweep gradientSweep() {
  std::vector<ReferenceCase> all = loadGradientCases();
  std::size_t points = 0;
  for (const ReferenceCase &c : all) points += c.points.size();
  if (all.size() < 305 || points < 607)
    throw std::runtime_error("reference/gradients.json: " + std::to_string(all.size()) +
                             " cases and " + std::to_string(points) +
                             " points, fewer than the data's 305 and 607");
#if defined(NABLA_TEST_SAMPLED)
  constexpr std::size_t kStep = 3;
#else
  constexpr std::size_t kStep = 1;
#endif
  CaseSweep sweep;
  std::map<std::string, std::size_t> seen;  // cases of each kind so far
  for (ReferenceCase &c : all)
    if (seen[c.kind]++ % kStep == 0) {
      sweep.points += c.points.size();
      sweep.cases.push_back(std::move(c));
    }
  return sweep;
}

std::vector<ReferenceCase> loadGradientCases(const std::string &relativePath) {
  auto parsed = llvm::json::parse(readTestFile(relativePath));
  if (!parsed) throw std::runtime_error(relativePath + ": " + llvm::toString(parsed.takeError()));
  std::vector<ReferenceCase> cases;
  for (const llvm::json::Value &item : *parsed->getAsArray()) {
    const llvm::json::Object &o = *item.getAsObject();
    ReferenceCase c;
    c.name = o.getString("name")->str();
    c.expr = o.getString("expr")->str();
    c.kind = o.getString("kind").value_or("").str();
    for (const llvm::json::Value &v : *o.getArray("vars")) c.vars.push_back(v.getAsString()->str());
    for (const llvm::json::Value &pv : *o.getArray("points")) {
      const llvm::json::Object &p = *pv.getAsObject();
      ReferencePoint point;
      for (const std::string &v : c.vars) {
        point.at[v] = number(p.getObject("at")->get(v), c.name + " at." + v);
        point.grad[v] = number(p.getObject("grad")->get(v), c.name + " grad." + v);
      }
      point.value = number(p.get("value"), c.name + " value");
      for (const llvm::json::Value &row : *p.getArray("hessian")) {
        std::vector<double> r;
        for (const llvm::json::Value &e : *row.getAsArray()) r.push_back(number(&e, c.name + " hessian"));
        point.hessian.push_back(std::move(r));
      }
      c.points.push_back(std::move(point));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

ReferenceScales scalesOf(const ReferencePoint &point) {
  ReferenceScales s;
  for (const auto &[name, ref] : point.grad) s.grad = std::max(s.grad, std::fabs(ref));
  for (const auto &row : point.hessian)
    for (double ref : row) s.hess = std::max(s.hess, std::fabs(ref));
  return s;
}

std::string describe(const ReferenceCase &c, const ReferencePoint &point) {
  std::ostringstream s;
  s.precision(17);
  s << c.name << " (" << c.expr << ") at";
  for (const std::string &v : c.vars) s << ' ' << v << '=' << point.at.at(v);
  return s.str();
}

bool valueMatches(double got, double ref) {
  if (ref == 0) return std::fabs(got) <= 1e-12;
  return std::fabs(got - ref) <= 1e-9 * std::fabs(ref);
}

bool entryMatches(double got, double ref, double scale) {
  if (scale == 0) return std::fabs(got) <= 1e-12;
  return std::fabs(got - ref) <= 1e-9 * std::max(std::fabs(ref), 1e-3 * scale);
}

}  // namespace nabla::test
