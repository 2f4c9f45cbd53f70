// Fuzz target: the C API (include/nabla/nabla.h), as a host that passes untrusted text would use
// it. The first byte chooses the options (optimization level, Hessian, simplifier, fast math); the
// rest is the text. Each function the module has is called at a point, with the right and with a
// wrong number of arguments.
//
// Properties: no status but OK or COMPILE comes from compiling text within the limits (INTERNAL
// would be a bug); a failure leaves a message and a NULL module; names, arities and statuses agree
// with the header's contract. Code stays cheap per input: the optimized tier is queued on the
// library's background thread and dropped with the function, and -O0 compiles in this thread.
#include "nabla/nabla.h"

#include "fuzz_support.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

void callFunction(nabla_function *f, bool hessian) {
  const std::size_t n = nabla_function_arity(f);
  NABLA_FUZZ_CHECK(nabla_function_name(f) != nullptr);
  for (std::size_t i = 0; i < n; ++i) NABLA_FUZZ_CHECK(nabla_function_arg_name(f, i) != nullptr);
  NABLA_FUZZ_CHECK(nabla_function_arg_name(f, n) == nullptr);
  NABLA_FUZZ_CHECK(nabla_function_has_hessian(f) == (hessian ? 1 : 0));
  if (n > nabla::fuzz::kMaxEvaluatedArgs) return;

  std::vector<double> args(n + 1), grad(n + 1), hess(n * n + 1);
  for (std::size_t i = 0; i < n; ++i) args[i] = 0.25 + 0.5 * static_cast<double>(i % 5);
  double value = 0, value2 = 0;
  NABLA_FUZZ_CHECK(nabla_eval(f, args.data(), n, &value) == NABLA_OK);
  NABLA_FUZZ_CHECK(nabla_grad(f, args.data(), n, &value2, grad.data()) == NABLA_OK);
  const nabla_status h = nabla_hessian(f, args.data(), n, hess.data());
  NABLA_FUZZ_CHECK(h == (hessian ? NABLA_OK : NABLA_ERROR_UNAVAILABLE));
  // The wrong count is refused before anything runs.
  NABLA_FUZZ_CHECK(nabla_eval(f, args.data(), n + 1, &value) == NABLA_ERROR_ARGUMENT);
  NABLA_FUZZ_CHECK(nabla_grad(f, args.data(), n + 1, &value2, grad.data()) == NABLA_ERROR_ARGUMENT);
  NABLA_FUZZ_CHECK(*nabla_last_error() != '\0');
  if (n > 0) NABLA_FUZZ_CHECK(nabla_eval(f, nullptr, n, &value) == NABLA_ERROR_ARGUMENT);

  // Three points at once, by column and row-major (vector math may round exp, log, ...
  // differently by an ulp: the tests compare the values, the fuzzer the statuses).
  constexpr std::size_t kPoints = 3;
  std::vector<double> points(kPoints * n), values(kPoints), grads(kPoints * n),
      hessians(kPoints * n * n);
  for (std::size_t r = 0; r < kPoints; ++r)
    for (std::size_t i = 0; i < n; ++i) points[r * n + i] = args[i] + 0.125 * static_cast<double>(r);
  for (int byColumn : {1, 0}) {
    NABLA_FUZZ_CHECK(nabla_eval_batch(f, kPoints, points.data(), byColumn, values.data()) == NABLA_OK);
    NABLA_FUZZ_CHECK(nabla_grad_batch(f, kPoints, points.data(), byColumn, values.data(),
                                      grads.data()) == NABLA_OK);
    NABLA_FUZZ_CHECK(nabla_hessian_batch(f, kPoints, points.data(), byColumn, hessians.data()) ==
                     (hessian ? NABLA_OK : NABLA_ERROR_UNAVAILABLE));
  }
  NABLA_FUZZ_CHECK(nabla_grad_batch(f, kPoints, nullptr, 0, values.data(), grads.data()) ==
                   (n > 0 ? NABLA_ERROR_ARGUMENT : NABLA_OK));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  // NUL-terminated, as the C API takes it: an embedded NUL ends the text there.
  std::string text(reinterpret_cast<const char *>(data + 1), size - 1);
  text = std::string(text.c_str());

  nabla_options options = nabla_options_default();
  options.opt_level = flags & 3;
  options.hessian = (flags >> 2) & 1;
  options.simplify = !((flags >> 3) & 1);
  options.fast_math = (flags >> 4) & 1;
  options.max_source_bytes = nabla::fuzz::kMaxSourceBytes;
  options.max_nesting = nabla::fuzz::kMaxNesting;
  options.max_nodes = nabla::fuzz::kMaxNodes;
  options.max_array = nabla::fuzz::kMaxArray;

  nabla_module *m = reinterpret_cast<nabla_module *>(&options);  // must be overwritten
  const nabla_status status = nabla_compile(text.c_str(), &options, &m);
  if (status != NABLA_OK) {
    if (status != NABLA_ERROR_COMPILE && status != NABLA_ERROR_MEMORY)
      std::fprintf(stderr, "status %d: %s\n", static_cast<int>(status), nabla_last_error());
    NABLA_FUZZ_CHECK(status == NABLA_ERROR_COMPILE || status == NABLA_ERROR_MEMORY);
    NABLA_FUZZ_CHECK(m == nullptr);
    NABLA_FUZZ_CHECK(*nabla_last_error() != '\0');
    return 0;
  }
  NABLA_FUZZ_CHECK(m != nullptr);
  const std::size_t count = nabla_module_function_count(m);
  NABLA_FUZZ_CHECK(nabla_module_function_name(m, count) == nullptr);
  for (std::size_t i = 0; i < count && i < 8; ++i) {
    const char *name = nabla_module_function_name(m, i);
    NABLA_FUZZ_CHECK(name != nullptr);
    nabla_function *f = nullptr;
    NABLA_FUZZ_CHECK(nabla_module_function(m, name, &f) == NABLA_OK && f != nullptr);
    NABLA_FUZZ_CHECK(std::strcmp(nabla_function_name(f), name) == 0);
    callFunction(f, options.hessian != 0);
    nabla_function_free(f);
  }
  nabla_function *none = nullptr;
  NABLA_FUZZ_CHECK(nabla_module_function(m, "no such function", &none) == NABLA_ERROR_NOT_FOUND);
  NABLA_FUZZ_CHECK(none == nullptr);
  nabla_module_free(m);
  return 0;
}
