// The C embedding API (include/nabla/nabla.h) over the C++ one. Every entry point catches
// everything: no exception crosses extern "C".
#include "nabla/nabla.h"

#include "nabla/nabla.hpp"

#include "support/text.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

struct nabla_module {
  nabla::Module module;
  std::vector<std::string> names;  // functions(), kept so that their c_str() stay valid
};

struct nabla_function {
  nabla::Function function;
};

struct nabla_objective {
  nabla::Objective objective;
  std::vector<std::string> params, inputs;  // the scalars' names, kept for their c_str()
};

namespace {

/// The message of this thread's last failure: the only state of the C API, one per thread so
/// that threads never see each other's errors.
std::string &lastError() {
  thread_local std::string message;
  return message;
}

nabla_status fail(nabla_status status, const std::string &message) noexcept {
  try {
    lastError() = nabla::escapeForTerminal(message, true);  // hosts print it
  } catch (...) {
    lastError().clear();  // no memory for the message: the status still says what happened
  }
  return status;
}

nabla_status statusOf(nabla::Error::Kind kind) {
  switch (kind) {
  case nabla::Error::Kind::Compile: return NABLA_ERROR_COMPILE;
  case nabla::Error::Kind::Io: return NABLA_ERROR_IO;
  case nabla::Error::Kind::NotFound: return NABLA_ERROR_NOT_FOUND;
  case nabla::Error::Kind::Argument: return NABLA_ERROR_ARGUMENT;
  case nabla::Error::Kind::Unavailable: return NABLA_ERROR_UNAVAILABLE;
  case nabla::Error::Kind::Internal: return NABLA_ERROR_INTERNAL;
  }
  return NABLA_ERROR_INTERNAL;
}

/// Runs `body` and turns whatever it throws into a status and a message.
template <class F>
nabla_status guarded(F &&body) noexcept {
  try {
    body();
    return NABLA_OK;
  } catch (const nabla::Error &e) {
    return fail(statusOf(e.kind()), e.what());
  } catch (const std::bad_alloc &) {
    return fail(NABLA_ERROR_MEMORY, "out of memory");
  } catch (const std::exception &e) {
    return fail(NABLA_ERROR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(NABLA_ERROR_INTERNAL, "internal error: an unknown exception");
  }
}

std::string nullMessage(const char *function, const char *argument) {
  return std::string(function) + ": '" + argument + "' is a null pointer";
}

nabla_status nullArgument(const char *function, const char *argument) noexcept {
  try {
    return fail(NABLA_ERROR_ARGUMENT, nullMessage(function, argument));
  } catch (...) {
    return fail(NABLA_ERROR_ARGUMENT, std::string());
  }
}

nabla::Options toOptions(const nabla_options *options) {
  nabla::Options o;
  if (!options) return o;
  o.opt_level = options->opt_level;
  o.fast_math = options->fast_math != 0;
  o.hessian = options->hessian != 0;
  o.simplify = options->simplify != 0;
  o.max_source_bytes = options->max_source_bytes;
  o.max_nesting = options->max_nesting;
  o.max_nodes = options->max_nodes;
  o.max_array = options->max_array;
  o.hvp = options->hvp != 0;
  return o;
}

template <class Compile>
nabla_status compileInto(nabla_module **out, Compile &&compile) noexcept {
  return guarded([&] {
    auto module = std::make_unique<nabla_module>();
    module->module = compile();
    module->names = module->module.functions();
    *out = module.release();
  });
}

/// Checks the handle and the argument count shared by eval, grad and hessian.
nabla_status checkCall(const char *fn, const nabla_function *function, const double *args,
                       size_t nargs) noexcept {
  if (!function) return nullArgument(fn, "function");
  if (!args && nargs > 0) return nullArgument(fn, "args");
  return NABLA_OK;
}

/// Checks the handle and the arrays shared by the objective's calls: params, and the inputs of a
/// row or the columns of a batch (`data`, named `dataName`).
nabla_status checkObjectiveCall(const char *fn, const nabla_objective *objective,
                                const double *params, size_t nparams, const void *data,
                                size_t ndata, const char *dataName) noexcept {
  if (!objective) return nullArgument(fn, "objective");
  if (!params && nparams > 0) return nullArgument(fn, "params");
  if (!data && ndata > 0) return nullArgument(fn, dataName);
  return NABLA_OK;
}

}  // namespace

extern "C" {

nabla_options nabla_options_default(void) {
  const nabla::Options defaults;
  nabla_options o;
  o.opt_level = defaults.opt_level;
  o.fast_math = defaults.fast_math;
  o.hessian = defaults.hessian;
  o.simplify = defaults.simplify;
  o.max_source_bytes = defaults.max_source_bytes;
  o.max_nesting = defaults.max_nesting;
  o.max_nodes = defaults.max_nodes;
  o.max_array = defaults.max_array;
  o.hvp = defaults.hvp;
  return o;
}

const char *nabla_version(void) { return nabla::version(); }

const char *nabla_last_error(void) { return lastError().c_str(); }

nabla_status nabla_compile(const char *text, const nabla_options *options, nabla_module **out) {
  if (!out) return nullArgument("nabla_compile", "out");
  *out = nullptr;
  if (!text) return nullArgument("nabla_compile", "text");
  return compileInto(out, [&] { return nabla::compile(text, toOptions(options)); });
}

nabla_status nabla_compile_file(const char *path, const nabla_options *options,
                                nabla_module **out) {
  if (!out) return nullArgument("nabla_compile_file", "out");
  *out = nullptr;
  if (!path) return nullArgument("nabla_compile_file", "path");
  return compileInto(out, [&] { return nabla::compile_file(path, toOptions(options)); });
}

void nabla_module_free(nabla_module *module) { delete module; }

size_t nabla_module_function_count(const nabla_module *module) {
  return module ? module->names.size() : 0;
}

const char *nabla_module_function_name(const nabla_module *module, size_t index) {
  if (!module || index >= module->names.size()) return nullptr;
  return module->names[index].c_str();
}

nabla_status nabla_module_function(const nabla_module *module, const char *name,
                                   nabla_function **out) {
  if (!out) return nullArgument("nabla_module_function", "out");
  *out = nullptr;
  if (!module) return nullArgument("nabla_module_function", "module");
  if (!name) return nullArgument("nabla_module_function", "name");
  return guarded([&] {
    auto function = std::make_unique<nabla_function>();
    function->function = module->module.function(name);
    *out = function.release();
  });
}

void nabla_function_free(nabla_function *function) { delete function; }

// The accessors cannot fail for a handle made by nabla_module_function; the guards keep even a
// bug from sending an exception into C.
const char *nabla_function_name(const nabla_function *function) {
  try {
    return function ? function->function.name().c_str() : nullptr;
  } catch (...) {
    return nullptr;
  }
}

size_t nabla_function_arity(const nabla_function *function) {
  try {
    return function ? function->function.arity() : 0;
  } catch (...) {
    return 0;
  }
}

const char *nabla_function_arg_name(const nabla_function *function, size_t index) {
  try {
    if (!function || index >= function->function.arity()) return nullptr;
    return function->function.arg_names()[index].c_str();
  } catch (...) {
    return nullptr;
  }
}

int nabla_function_has_hessian(const nabla_function *function) {
  try {
    return function && function->function.has_hessian() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

nabla_status nabla_eval(const nabla_function *function, const double *args, size_t nargs,
                        double *value) {
  if (nabla_status s = checkCall("nabla_eval", function, args, nargs); s != NABLA_OK) return s;
  if (!value) return nullArgument("nabla_eval", "value");
  return guarded([&] { *value = function->function.value(std::span<const double>(args, nargs)); });
}

nabla_status nabla_grad(const nabla_function *function, const double *args, size_t nargs,
                        double *value, double *grad) {
  if (nabla_status s = checkCall("nabla_grad", function, args, nargs); s != NABLA_OK) return s;
  if (!value) return nullArgument("nabla_grad", "value");
  return guarded([&] {
    const std::size_t n = function->function.arity();
    if (!grad && n > 0)
      throw nabla::Error(nabla::Error::Kind::Argument, nullMessage("nabla_grad", "grad"));
    // The argument count is checked before anything is written to the n entries of grad.
    *value = function->function.value_and_grad(std::span<const double>(args, nargs),
                                                std::span<double>(grad, n));
  });
}

nabla_status nabla_hessian(const nabla_function *function, const double *args, size_t nargs,
                           double *hess) {
  if (nabla_status s = checkCall("nabla_hessian", function, args, nargs); s != NABLA_OK) return s;
  return guarded([&] {
    const std::size_t n = function->function.arity();
    if (!hess && n > 0)
      throw nabla::Error(nabla::Error::Kind::Argument, nullMessage("nabla_hessian", "hess"));
    function->function.hessian(std::span<const double>(args, nargs), std::span<double>(hess, n * n));
  });
}

nabla_status nabla_hvp(const nabla_function *function, const double *args, size_t nargs,
                       const double *v, double *out) {
  if (nabla_status s = checkCall("nabla_hvp", function, args, nargs); s != NABLA_OK) return s;
  return guarded([&] {
    const std::size_t n = function->function.arity();
    if (!v && n > 0) throw nabla::Error(nabla::Error::Kind::Argument, nullMessage("nabla_hvp", "v"));
    if (!out && n > 0)
      throw nabla::Error(nabla::Error::Kind::Argument, nullMessage("nabla_hvp", "out"));
    function->function.hvp(std::span<const double>(args, nargs), std::span<const double>(v, n),
                           std::span<double>(out, n));
  });
}

namespace {

/// The checks and spans of a vectorized call: `width` doubles per point in the output.
std::size_t batchSize(const char *fn, std::size_t n, std::size_t width) {
  if (width != 0 && n > SIZE_MAX / sizeof(double) / width)
    throw nabla::Error(nabla::Error::Kind::Argument,
                       std::string(fn) + ": " + std::to_string(n) + " points are too many");
  return n * width;
}

nabla::Function::Layout layoutOf(int byColumn) {
  return byColumn ? nabla::Function::Layout::Columns : nabla::Function::Layout::Rows;
}

/// Throws for a null array that is needed (n points of `width` doubles each, width > 0).
void needArray(const char *fn, const char *name, const void *p, std::size_t n, std::size_t width) {
  if (!p && n > 0 && width > 0)
    throw nabla::Error(nabla::Error::Kind::Argument, nullMessage(fn, name));
}

}  // namespace

nabla_status nabla_eval_batch(const nabla_function *function, size_t n, const double *points,
                              int by_column, double *values) {
  if (!function) return nullArgument("nabla_eval_batch", "function");
  return guarded([&] {
    const nabla::Function &f = function->function;
    const std::size_t k = f.arity();
    needArray("nabla_eval_batch", "points", points, n, k);
    needArray("nabla_eval_batch", "values", values, n, 1);
    f.values(n, {points, batchSize("nabla_eval_batch", n, k)}, {values, n}, layoutOf(by_column));
  });
}

nabla_status nabla_grad_batch(const nabla_function *function, size_t n, const double *points,
                              int by_column, double *values, double *grads) {
  if (!function) return nullArgument("nabla_grad_batch", "function");
  return guarded([&] {
    const nabla::Function &f = function->function;
    const std::size_t k = f.arity();
    needArray("nabla_grad_batch", "points", points, n, k);
    needArray("nabla_grad_batch", "values", values, n, 1);
    needArray("nabla_grad_batch", "grads", grads, n, k);
    const std::size_t size = batchSize("nabla_grad_batch", n, k);
    f.values_and_grads(n, {points, size}, {values, n}, {grads, size}, layoutOf(by_column));
  });
}

nabla_status nabla_hessian_batch(const nabla_function *function, size_t n, const double *points,
                                 int by_column, double *hess) {
  if (!function) return nullArgument("nabla_hessian_batch", "function");
  return guarded([&] {
    const nabla::Function &f = function->function;
    const std::size_t k = f.arity();
    needArray("nabla_hessian_batch", "points", points, n, k);
    const std::size_t entries = batchSize("nabla_hessian_batch", k, k);
    needArray("nabla_hessian_batch", "hess", hess, n, entries);
    f.hessians(n, {points, batchSize("nabla_hessian_batch", n, k)},
               {hess, batchSize("nabla_hessian_batch", n, entries)}, layoutOf(by_column));
  });
}

int nabla_module_has_objective(const nabla_module *module) {
  try {
    return module && module->module.has_objective() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

nabla_status nabla_module_objective(const nabla_module *module, nabla_objective **out) {
  if (!out) return nullArgument("nabla_module_objective", "out");
  *out = nullptr;
  if (!module) return nullArgument("nabla_module_objective", "module");
  return guarded([&] {
    auto objective = std::make_unique<nabla_objective>();
    objective->objective = module->module.objective();
    for (const nabla::Variable &v : objective->objective.params())
      objective->params.insert(objective->params.end(), v.elements.begin(), v.elements.end());
    for (const nabla::Variable &v : objective->objective.inputs())
      objective->inputs.insert(objective->inputs.end(), v.elements.begin(), v.elements.end());
    *out = objective.release();
  });
}

void nabla_objective_free(nabla_objective *objective) { delete objective; }

size_t nabla_objective_param_count(const nabla_objective *objective) {
  return objective ? objective->params.size() : 0;
}

size_t nabla_objective_input_count(const nabla_objective *objective) {
  return objective ? objective->inputs.size() : 0;
}

const char *nabla_objective_param_name(const nabla_objective *objective, size_t index) {
  if (!objective || index >= objective->params.size()) return nullptr;
  return objective->params[index].c_str();
}

const char *nabla_objective_input_name(const nabla_objective *objective, size_t index) {
  if (!objective || index >= objective->inputs.size()) return nullptr;
  return objective->inputs[index].c_str();
}

int nabla_objective_maximize(const nabla_objective *objective) {
  try {
    return objective && objective->objective.maximize() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

int nabla_objective_has_hessian(const nabla_objective *objective) {
  try {
    return objective && objective->objective.has_hessian() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

nabla_status nabla_objective_value_grad(const nabla_objective *objective, const double *params,
                                        size_t nparams, const double *inputs, size_t ninputs,
                                        double *value, double *grad) {
  const char *fn = "nabla_objective_value_grad";
  if (nabla_status s = checkObjectiveCall(fn, objective, params, nparams, inputs, ninputs, "inputs");
      s != NABLA_OK)
    return s;
  if (!value) return nullArgument(fn, "value");
  return guarded([&] {
    const std::span<const double> p(params, nparams), in(inputs, ninputs);
    if (!grad) {
      *value = objective->objective.value(p, in);
      return;
    }
    // The counts are checked before anything is written to the entries of grad.
    *value = objective->objective.value_and_grad(p, in, std::span<double>(grad, objective->params.size()));
  });
}

nabla_status nabla_objective_hessian(const nabla_objective *objective, const double *params,
                                     size_t nparams, const double *inputs, size_t ninputs,
                                     double *hess) {
  const char *fn = "nabla_objective_hessian";
  if (nabla_status s = checkObjectiveCall(fn, objective, params, nparams, inputs, ninputs, "inputs");
      s != NABLA_OK)
    return s;
  return guarded([&] {
    const std::size_t P = objective->params.size();
    if (!hess && P > 0) throw nabla::Error(nabla::Error::Kind::Argument, nullMessage(fn, "hess"));
    const std::vector<double> h = objective->objective.hessian(
        std::span<const double>(params, nparams), std::span<const double>(inputs, ninputs));
    std::copy(h.begin(), h.end(), hess);
  });
}

nabla_status nabla_objective_hvp(const nabla_objective *objective, const double *params,
                                 size_t nparams, const double *inputs, size_t ninputs,
                                 const double *v, double *out) {
  const char *fn = "nabla_objective_hvp";
  if (nabla_status s = checkObjectiveCall(fn, objective, params, nparams, inputs, ninputs, "inputs");
      s != NABLA_OK)
    return s;
  return guarded([&] {
    const std::size_t P = objective->params.size();
    if (!v && P > 0) throw nabla::Error(nabla::Error::Kind::Argument, nullMessage(fn, "v"));
    if (!out && P > 0) throw nabla::Error(nabla::Error::Kind::Argument, nullMessage(fn, "out"));
    const std::vector<double> h = objective->objective.hvp(
        std::span<const double>(params, nparams), std::span<const double>(v, P),
        std::span<const double>(inputs, ninputs));
    std::copy(h.begin(), h.end(), out);
  });
}

nabla_status nabla_objective_hvp_batch(const nabla_objective *objective, const double *params,
                                       size_t nparams, const double *v, size_t n,
                                       const double *const *columns, size_t ncolumns,
                                       double *out) {
  const char *fn = "nabla_objective_hvp_batch";
  if (nabla_status s = checkObjectiveCall(fn, objective, params, nparams, columns, ncolumns, "columns");
      s != NABLA_OK)
    return s;
  return guarded([&] {
    const std::size_t P = objective->params.size();
    if (!v && P > 0) throw nabla::Error(nabla::Error::Kind::Argument, nullMessage(fn, "v"));
    if (!out && P > 0) throw nabla::Error(nabla::Error::Kind::Argument, nullMessage(fn, "out"));
    objective->objective.hvp_batch(std::span<const double>(params, nparams),
                                   std::span<const double>(v, P), n,
                                   std::span<const double *const>(columns, ncolumns),
                                   std::span<double>(out, P));
  });
}

nabla_status nabla_objective_batch(const nabla_objective *objective, const double *params,
                                   size_t nparams, size_t n, const double *const *columns,
                                   size_t ncolumns, double *value, double *grad) {
  const char *fn = "nabla_objective_batch";
  if (nabla_status s = checkObjectiveCall(fn, objective, params, nparams, columns, ncolumns, "columns");
      s != NABLA_OK)
    return s;
  if (!value) return nullArgument(fn, "value");
  return guarded([&] {
    const std::size_t P = objective->params.size();
    std::vector<double> scratch(grad ? 0 : P);
    *value = objective->objective.batch(std::span<const double>(params, nparams), n,
                                        std::span<const double *const>(columns, ncolumns),
                                        grad ? std::span<double>(grad, P) : std::span<double>(scratch));
  });
}

nabla_status nabla_objective_batch_sums(const nabla_objective *objective, const double *params,
                                        size_t nparams, size_t begin, size_t end,
                                        const double *const *columns, size_t ncolumns,
                                        double *sums) {
  const char *fn = "nabla_objective_batch_sums";
  if (nabla_status s = checkObjectiveCall(fn, objective, params, nparams, columns, ncolumns, "columns");
      s != NABLA_OK)
    return s;
  if (!sums) return nullArgument(fn, "sums");
  return guarded([&] {
    objective->objective.batch_sums(std::span<const double>(params, nparams), begin, end,
                                    std::span<const double *const>(columns, ncolumns),
                                    std::span<double>(sums, 1 + objective->params.size()));
  });
}

}  // extern "C"
