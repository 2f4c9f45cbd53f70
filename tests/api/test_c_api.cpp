// The C API (nabla.h): handles, values against hand-derived numbers, status codes and the
// thread-local last error.
#include <nabla/nabla.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

const char *const kSeed = "f(x, y) = (x^2 + y)^2 * (y - x*y)";

bool startsWith(const char *text, const std::string &prefix) {
  return text && std::string(text).rfind(prefix, 0) == 0;
}

/// A module of the seed function; fails the test if it does not compile.
nabla_module *seedModule() {
  nabla_module *m = nullptr;
  nabla_status s = nabla_compile(kSeed, nullptr, &m);
  INFO(nabla_last_error());
  REQUIRE(s == NABLA_OK);
  REQUIRE(m != nullptr);
  return m;
}

}  // namespace

TEST_CASE("C API: compile, look up, evaluate, differentiate, free", "[api][c]") {
  nabla_module *m = seedModule();
  REQUIRE(nabla_module_function_count(m) == 1);
  CHECK(std::string(nabla_module_function_name(m, 0)) == "f");
  CHECK(nabla_module_function_name(m, 1) == nullptr);

  nabla_function *f = nullptr;
  REQUIRE(nabla_module_function(m, "f", &f) == NABLA_OK);
  CHECK(std::string(nabla_function_name(f)) == "f");
  REQUIRE(nabla_function_arity(f) == 2);
  CHECK(std::string(nabla_function_arg_name(f, 0)) == "x");
  CHECK(std::string(nabla_function_arg_name(f, 1)) == "y");
  CHECK(nabla_function_arg_name(f, 2) == nullptr);
  CHECK(nabla_function_has_hessian(f) == 1);

  // The seed function at (0.5, -0.5), worked out by hand: exact binary fractions.
  const double at[2] = {0.5, -0.5};
  double value = 0, grad[2] = {0, 0}, hess[4] = {0, 0, 0, 0};
  CHECK(nabla_eval(f, at, 2, &value) == NABLA_OK);
  CHECK(value == -0.015625);
  value = 0;
  CHECK(nabla_grad(f, at, 2, &value, grad) == NABLA_OK);
  CHECK(value == -0.015625);
  CHECK(grad[0] == 0.15625);
  CHECK(grad[1] == 0.15625);
  CHECK(nabla_hessian(f, at, 2, hess) == NABLA_OK);
  CHECK(hess[0] == -0.75);
  CHECK(hess[1] == -1.0625);
  CHECK(hess[2] == -1.0625);
  CHECK(hess[3] == -1.0);

  // A function handle keeps its code: it works after its module is freed.
  nabla_module_free(m);
  const double other[2] = {2, 1};  // (4 + 1)^2 * (1 - 2)
  CHECK(nabla_eval(f, other, 2, &value) == NABLA_OK);
  CHECK(value == -25);
  nabla_function_free(f);

  nabla_module_free(nullptr);
  nabla_function_free(nullptr);
  CHECK(std::string(nabla_version()) == NABLA_VERSION);
}

TEST_CASE("C API: options", "[api][c]") {
  nabla_options o = nabla_options_default();
  CHECK(o.opt_level == 2);
  CHECK(o.fast_math == 0);
  CHECK(o.hessian == 1);
  CHECK(o.simplify == 1);
  CHECK(o.max_source_bytes == 0);
  CHECK(o.max_nesting == 0);
  CHECK(o.max_nodes == 0);
  CHECK(o.max_array == 0);

  // Each limit reaches the compiler.
  nabla_module *limited = reinterpret_cast<nabla_module *>(1);
  nabla_options l = nabla_options_default();
  l.max_array = 2;
  CHECK(nabla_compile("param v[3]\nminimize sum(v)", &l, &limited) == NABLA_ERROR_COMPILE);
  CHECK(limited == nullptr);
  CHECK(std::strstr(nabla_last_error(), "more than 2 elements (raise the limit with --max-array)"));
  l = nabla_options_default();
  l.max_nesting = 2;
  CHECK(nabla_compile("((x))+(((y)))", &l, &limited) == NABLA_ERROR_COMPILE);
  CHECK(std::strstr(nabla_last_error(), "nesting deeper than 2 levels"));
  l = nabla_options_default();
  l.max_source_bytes = 3;
  CHECK(nabla_compile("x + y", &l, &limited) == NABLA_ERROR_COMPILE);
  CHECK(std::strstr(nabla_last_error(), "more than the limit of 3"));
  l = nabla_options_default();
  l.max_nodes = 8;  // the Hessian of 3 variables has 9 entries
  CHECK(nabla_compile("x*y*z", &l, &limited) == NABLA_ERROR_COMPILE);
  CHECK(std::strstr(nabla_last_error(), "the Hessian of 3 variables has 9 entries"));
  l.hessian = 0;
  REQUIRE(nabla_compile("x*y*z", &l, &limited) == NABLA_OK);
  nabla_module_free(limited);

  o.hessian = 0;
  o.opt_level = 0;
  nabla_module *m = nullptr;
  REQUIRE(nabla_compile(kSeed, &o, &m) == NABLA_OK);
  nabla_function *f = nullptr;
  REQUIRE(nabla_module_function(m, "f", &f) == NABLA_OK);
  CHECK(nabla_function_has_hessian(f) == 0);
  const double at[2] = {0.5, -0.5};
  double value = 0, hess[4];
  CHECK(nabla_eval(f, at, 2, &value) == NABLA_OK);
  CHECK(value == -0.015625);
  CHECK(nabla_hessian(f, at, 2, hess) == NABLA_ERROR_UNAVAILABLE);
  CHECK(std::string(nabla_last_error()) ==
        "'f' was compiled without its Hessian (Options::hessian is off)");
  nabla_function_free(f);
  nabla_module_free(m);

  o = nabla_options_default();
  o.opt_level = 9;
  CHECK(nabla_compile(kSeed, &o, &m) == NABLA_ERROR_ARGUMENT);
  CHECK(m == nullptr);
  CHECK(std::string(nabla_last_error()) == "optimization level 9 is not one of 0, 1, 2, 3");
}

TEST_CASE("C API: every failure has its status code and message", "[api][c]") {
  nabla_module *m = reinterpret_cast<nabla_module *>(1);  // must be reset to NULL on failure
  CHECK(nabla_compile("x + * y", nullptr, &m) == NABLA_ERROR_COMPILE);
  CHECK(m == nullptr);
  CHECK(startsWith(nabla_last_error(), "<expr>:1:5: error: "));
  CHECK(std::strstr(nabla_last_error(), "\nx + * y\n") != nullptr);

  CHECK(nabla_compile_file("no/such/model.nabla", nullptr, &m) == NABLA_ERROR_IO);
  CHECK(std::string(nabla_last_error()) ==
        "cannot read 'no/such/model.nabla': No such file or directory");
  CHECK(nabla_compile(nullptr, nullptr, &m) == NABLA_ERROR_ARGUMENT);
  CHECK(std::string(nabla_last_error()) == "nabla_compile: 'text' is a null pointer");
  CHECK(nabla_compile(kSeed, nullptr, nullptr) == NABLA_ERROR_ARGUMENT);

  m = seedModule();
  nabla_function *f = reinterpret_cast<nabla_function *>(1);
  CHECK(nabla_module_function(m, "g", &f) == NABLA_ERROR_NOT_FOUND);
  CHECK(f == nullptr);
  CHECK(std::string(nabla_last_error()) == "no function 'g' in '<expr>' (there are: f)");
  CHECK(nabla_module_function(nullptr, "f", &f) == NABLA_ERROR_ARGUMENT);
  CHECK(nabla_module_function(m, nullptr, &f) == NABLA_ERROR_ARGUMENT);

  REQUIRE(nabla_module_function(m, "f", &f) == NABLA_OK);
  const double at[3] = {0.5, -0.5, 1};
  double value = 0, grad[3] = {7, 7, 7}, hess[9];
  CHECK(nabla_eval(f, at, 1, &value) == NABLA_ERROR_ARGUMENT);
  CHECK(std::string(nabla_last_error()) == "'f' takes 2 arguments, got 1");
  CHECK(nabla_grad(f, at, 3, &value, grad) == NABLA_ERROR_ARGUMENT);
  CHECK(std::string(nabla_last_error()) == "'f' takes 2 arguments, got 3");
  CHECK(grad[0] == 7);  // nothing written on failure
  CHECK(nabla_hessian(f, at, 3, hess) == NABLA_ERROR_ARGUMENT);
  CHECK(nabla_eval(f, nullptr, 2, &value) == NABLA_ERROR_ARGUMENT);
  CHECK(std::string(nabla_last_error()) == "nabla_eval: 'args' is a null pointer");
  CHECK(nabla_eval(f, at, 2, nullptr) == NABLA_ERROR_ARGUMENT);
  CHECK(nabla_grad(f, at, 2, &value, nullptr) == NABLA_ERROR_ARGUMENT);
  CHECK(nabla_eval(nullptr, at, 2, &value) == NABLA_ERROR_ARGUMENT);
  CHECK(nabla_function_arity(nullptr) == 0);
  CHECK(nabla_function_name(nullptr) == nullptr);

  // A success leaves the last message alone (like errno).
  CHECK(nabla_eval(nullptr, at, 2, &value) == NABLA_ERROR_ARGUMENT);
  const std::string before = nabla_last_error();
  CHECK(before == "nabla_eval: 'function' is a null pointer");
  CHECK(nabla_eval(f, at, 2, &value) == NABLA_OK);
  CHECK(std::string(nabla_last_error()) == before);
  nabla_function_free(f);
  nabla_module_free(m);
}

TEST_CASE("C API: the last error belongs to its thread", "[api][c]") {
  nabla_module *m = nullptr;
  REQUIRE(nabla_compile("x +", nullptr, &m) == NABLA_ERROR_COMPILE);
  const std::string mine = nabla_last_error();
  CHECK(startsWith(mine.c_str(), "<expr>:1:"));

  std::string fresh, theirs;
  std::thread other([&] {
    fresh = nabla_last_error();  // nothing failed on this thread yet
    nabla_module *n = nullptr;
    (void)nabla_compile_file("no/such/file.nabla", nullptr, &n);
    theirs = nabla_last_error();
  });
  other.join();
  CHECK(fresh.empty());
  CHECK(startsWith(theirs.c_str(), "cannot read 'no/such/file.nabla'"));
  CHECK(std::string(nabla_last_error()) == mine);
}
