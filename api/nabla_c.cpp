// The C embedding API (include/nabla/nabla.h) over the C++ one. Every entry point catches
// everything: no exception crosses extern "C".
#include "nabla/nabla.h"

#include "nabla/nabla.hpp"

#include "support/text.h"

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

}  // extern "C"
