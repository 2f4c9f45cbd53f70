// One front door, from the embedding APIs' side: the C++ and C APIs load, differentiate and compile
// through the same driver as the `nabla` commands, so a limit, a missing function and an error's
// kind agree with theirs (tests/runtime/test_front_door.cpp has the commands' side).
#include <nabla/nabla.h>
#include <nabla/nabla.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {

const char *const kWide = "param w[30] = 0.5\nminimize sum(w^2)^2\n";
const char *const kLimit =
    "the Hessian of 30 variables has 900 entries, more than the limit of 200";

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

template <class F> nabla::Error errorOf(F &&f) {
  try {
    f();
  } catch (const nabla::Error &e) {
    return e;
  }
  FAIL("no nabla::Error");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("C++ and C APIs: the Hessian's node limit, as in every command", "[api][front]") {
  nabla::Options options;
  options.max_nodes = 200;
  nabla::Error e = errorOf([&] { (void)nabla::compile(kWide, options); });
  CHECK(e.kind() == nabla::Error::Kind::Compile);
  CHECK(contains(e.what(), kLimit));
  CHECK(contains(e.what(), "Options::hessian off leaves the Hessians out"));
  REQUIRE(!e.diagnostics().empty());
  CHECK(e.diagnostics()[0].line == 2);  // located at the objective

  nabla_options c = nabla_options_default();
  c.max_nodes = 200;
  nabla_module *m = nullptr;
  CHECK(nabla_compile(kWide, &c, &m) == NABLA_ERROR_COMPILE);
  CHECK(m == nullptr);
  CHECK(contains(nabla_last_error(), kLimit));

  // Without the Hessians, within the limit.
  options.hessian = false;
  CHECK(nabla::compile(kWide, options).has_objective());
  c.hessian = 0;
  REQUIRE(nabla_compile(kWide, &c, &m) == NABLA_OK);
  nabla_module_free(m);
}

TEST_CASE("C++ and C APIs: error kinds agree with the commands'", "[api][front]") {
  // Bad text: a compile error located in the text.
  nabla::Error syntax = errorOf([] { (void)nabla::compile("x + * y"); });
  CHECK(syntax.kind() == nabla::Error::Kind::Compile);
  CHECK(std::string(syntax.what()).rfind("<expr>:1:5: error: ", 0) == 0);
  nabla_module *m = nullptr;
  CHECK(nabla_compile("x + * y", nullptr, &m) == NABLA_ERROR_COMPILE);

  nabla::Error semantic = errorOf([] { (void)nabla::compile("param w\nminimize sinh2(w)\n"); });
  CHECK(semantic.kind() == nabla::Error::Kind::Compile);
  CHECK(contains(semantic.what(), "<expr>:2:10: error: unknown function 'sinh2'"));

  // A function that is not there: not found, with a suggestion, as `nabla eval --fn` says it.
  nabla::Module two = nabla::compile("scale(x) = 2*x\nshift(x) = x + 1\n");
  nabla::Error missing = errorOf([&] { (void)two.function("scal"); });
  CHECK(missing.kind() == nabla::Error::Kind::NotFound);
  CHECK(std::string(missing.what()) == "no function 'scal' in '<expr>' (did you mean 'scale'?)");
  REQUIRE(nabla_compile("scale(x) = 2*x\n", nullptr, &m) == NABLA_OK);
  nabla_function *f = nullptr;
  CHECK(nabla_module_function(m, "scal", &f) == NABLA_ERROR_NOT_FOUND);
  CHECK(contains(nabla_last_error(), "did you mean 'scale'?"));
  nabla_module_free(m);

  // The objective is not a function; it has its own call.
  nabla::Module fit = nabla::compile("param w\nminimize w^2\n");
  CHECK(errorOf([&] { (void)fit.function("L"); }).kind() == nabla::Error::Kind::NotFound);
  CHECK(fit.objective().name() == "L");

  // A file that is not there.
  CHECK(errorOf([] { (void)nabla::compile_file("no/such/model.nabla"); }).kind() ==
        nabla::Error::Kind::Io);
  CHECK(nabla_compile_file("no/such/model.nabla", nullptr, &m) == NABLA_ERROR_IO);
}
