// Fuzz target: the array level (compiler/array/, driver::compileArrays), as `nabla fit` reaches
// it: the text loaded with its bodies deferred, then the array level's objective, gradient and
// reports over a small batch of rows.
//
// Properties: the load throws nothing but driver::Error; when the array level takes a program
// loaded with its bodies deferred, the whole program loads as well (the array level never
// accepts text that the checker refuses, so no error is lost by deferring); the array level and
// the scalar level agree on whether a program has an objective; evaluating over rows, also in
// chunks of one row, never crashes, and the chunks give the same values up to rounding when the
// values are finite and moderate.
#include "driver/driver.h"

#include "fuzz_support.h"

#include <cmath>
#include <string>
#include <vector>

namespace {

using namespace nabla;

driver::Options options(bool defer) {
  driver::Options o;
  o.limits.maxSourceBytes = fuzz::kMaxSourceBytes;
  o.limits.maxNesting = fuzz::kMaxNesting;
  o.limits.maxNodes = fuzz::kMaxNodes;
  o.limits.maxArray = fuzz::kMaxArray;
  o.deferBodies = defer;
  return o;
}

std::optional<driver::Program> load(const std::string &text, bool defer) {
  try {
    driver::Options o = options(defer);
    return driver::Program::load(driver::fromText("fuzz.nabla", text, true, o.limits), o);
  } catch (const driver::Error &) {
    return std::nullopt;
  }
}

bool close(double a, double b) {
  if (!std::isfinite(a) || !std::isfinite(b) || std::abs(b) > 1e100) return true;
  return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size > fuzz::kMaxSourceBytes) return 0;
  const std::string text(reinterpret_cast<const char *>(data), size);
  std::optional<driver::Program> deferred = load(text, true);
  if (!deferred) return 0;
  std::string why;
  std::optional<driver::ArrayCode> code = driver::compileArrays(*deferred, 1, &why);
  if (!code) {
    NABLA_FUZZ_CHECK(!why.empty());
    return 0;
  }
  // Taken by the array level: the checker takes it too.
  std::optional<driver::Program> whole = load(text, false);
  NABLA_FUZZ_CHECK(whole.has_value());
  NABLA_FUZZ_CHECK(whole->objective().has_value());

  std::size_t params = 0, inputs = 0;
  for (const driver::VariableInfo &p : deferred->params()) params += p.size();
  for (const driver::VariableInfo &in : deferred->inputs()) inputs += in.size();
  NABLA_FUZZ_CHECK(code->paramCount() == params);
  if (params > fuzz::kMaxEvaluatedArgs || inputs > fuzz::kMaxEvaluatedArgs) return 0;
  std::vector<double> p(params);
  for (std::size_t i = 0; i < params; ++i) p[i] = 0.3 + 0.25 * static_cast<double>(i % 7) - 0.8;
  constexpr std::size_t kRows = 3;
  std::vector<std::vector<double>> columns(inputs, std::vector<double>(kRows));
  for (std::size_t j = 0; j < inputs; ++j)
    for (std::size_t r = 0; r < kRows; ++r) columns[j][r] = static_cast<double>((j + 2 * r) % 4);
  std::vector<const double *> pointers;
  for (const auto &c : columns) pointers.push_back(c.data());
  driver::ArrayRows rows;
  rows.count = kRows;
  rows.columns = pointers;
  std::vector<double> grad(params), grad2(params);
  const double value = code->objective(p, rows, grad);
  std::size_t reportCount = 0;
  for (const NamedValue &r : deferred->lowered().reports) reportCount += r.value.elems.size();
  std::vector<double> reports(reportCount), reports2(reportCount);
  code->reports(p, rows, reports);
  code->setChunkBytes(1);  // one row at a time
  const double value2 = code->objective(p, rows, grad2);
  code->reports(p, rows, reports2);
  NABLA_FUZZ_CHECK(close(value2, value));
  for (std::size_t i = 0; i < params; ++i) NABLA_FUZZ_CHECK(close(grad2[i], grad[i]));
  for (std::size_t i = 0; i < reportCount; ++i) NABLA_FUZZ_CHECK(close(reports2[i], reports[i]));
  return 0;
}
