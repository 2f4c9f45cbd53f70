// Fuzz target: reading params files (runtime/fit/files.cpp), as `nabla fit --init` and
// `nabla predict --params` do, for a model with params `w`, `v[3]`, `W[2][3]` and an input `x[3]`
// (whose standardization the file may hold).
//
// Properties: a file that is refused is a FitError whose message names the file; one that is
// accepted gives every param its declared number of values, standard deviations that are positive
// and finite, and no number that readDecimal refuses (the check before the parser holds).
#include "fuzz_support.h"

#include "runtime/fit/fit.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using nabla::fit::ArrayInfo;

constexpr const char *kPath = "fuzz.json";

ArrayInfo array(const std::string &name, std::vector<std::uint32_t> dims, std::size_t offset) {
  ArrayInfo a;
  a.name = name;
  a.shape.dims = std::move(dims);
  a.offset = offset;
  for (std::size_t i = 0; i < a.shape.size(); ++i) a.elements.push_back(name + std::to_string(i));
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  static const std::vector<ArrayInfo> params = {array("w", {}, 0), array("v", {3}, 1),
                                                array("W", {2, 3}, 4)};
  static const std::vector<ArrayInfo> inputs = {array("x", {3}, 0)};
  nabla::fit::ParamsFile file;
  try {
    file = nabla::fit::parseParamsFile(kPath, text, params, inputs, std::vector<double>(10, 7.0));
  } catch (const nabla::fit::FitError &e) {
    NABLA_FUZZ_CHECK(std::string(e.what()).rfind(kPath, 0) == 0);
    return 0;
  }
  NABLA_FUZZ_CHECK(file.params.size() == 10);
  NABLA_FUZZ_CHECK(file.given.size() == params.size());
  for (std::size_t k = 0; k < params.size(); ++k)
    if (!file.given[k])
      for (std::size_t i = 0; i < params[k].size(); ++i)
        NABLA_FUZZ_CHECK(file.params[params[k].offset + i] == 7.0);
  for (double v : file.params)  // a JSON number is a normal double or zero; nan and inf are strings
    NABLA_FUZZ_CHECK(!std::isfinite(v) || v == 0 || std::fabs(v) >= 2.2250738585072014e-308);
  for (const auto &[name, scaling] : file.scaling) {
    NABLA_FUZZ_CHECK(name == "x");
    NABLA_FUZZ_CHECK(scaling.size() == 3);
    for (const nabla::data::Scaling &s : scaling)
      NABLA_FUZZ_CHECK(s.scale > 0 && std::isfinite(s.scale) && std::isfinite(s.mean));
  }
  return 0;
}
