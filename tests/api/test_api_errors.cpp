// The C++ API's errors: bad text with located diagnostics (rendered and structured), unknown
// names, wrong argument counts, unreadable files, limits and bad options.
#include "api_test_util.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace {

/// The error compile(text, options) throws.
nabla::Error compileError(const std::string &text, const nabla::Options &options = {}) {
  try {
    (void)nabla::compile(text, options);
  } catch (const nabla::Error &e) {
    return e;
  }
  FAIL("'" << text << "' must not compile");
  throw std::logic_error("unreachable");
}

template <class F>
nabla::Error errorOf(F &&call) {
  try {
    call();
  } catch (const nabla::Error &e) {
    return e;
  }
  FAIL("the call must throw nabla::Error");
  throw std::logic_error("unreachable");
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

/// A file under the build tree's scratch folder, removed at the end of the test.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string &name, const std::string &text)
      : path(std::string(NABLA_TEST_WORK_DIR) + "/" + name) {
    std::filesystem::create_directories(NABLA_TEST_WORK_DIR);
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("bad text throws nabla::Error with located, rendered and structured diagnostics",
          "[api][errors]") {
  nabla::Error e = compileError("x + * y");
  CHECK(e.kind() == nabla::Error::Kind::Compile);
  const std::string what = e.what();
  CHECK(what.rfind("<expr>:1:5: error: ", 0) == 0);
  CHECK(contains(what, "\nx + * y\n"));  // the source line, then the caret under the '*'
  CHECK(contains(what, "\n    ^"));
  REQUIRE(e.diagnostics().size() == 1);
  const nabla::Error::Diagnostic &d = e.diagnostics()[0];
  CHECK(d.severity == nabla::Error::Severity::Error);
  CHECK(d.file == "<expr>");
  CHECK(d.line == 1);
  CHECK(d.column == 5);
  CHECK(contains(what, "error: " + d.message + "\n"));

  // A nabla::Error is a std::runtime_error; copies keep the diagnostics.
  const std::runtime_error &base = e;
  CHECK(std::string(base.what()) == what);
  nabla::Error copy = e;
  CHECK(copy.diagnostics().size() == 1);
}

TEST_CASE("several errors and their notes, in source order, on later lines too", "[api][errors]") {
  nabla::Error e = compileError("f(x) = sinh2(x)\ng(y) = y + r\nh(z) = z * q\n");
  const std::string what = e.what();
  CHECK(what.rfind("<expr>:1:8: error: unknown function 'sinh2'\n", 0) == 0);
  CHECK(contains(what, "<expr>:1:8: note: did you mean 'sinh'?\n"));
  CHECK(contains(what, "<expr>:2:"));
  const std::vector<nabla::Error::Diagnostic> &ds = e.diagnostics();
  REQUIRE(ds.size() >= 3);
  CHECK(ds[0].message == "unknown function 'sinh2'");
  CHECK(ds[1].severity == nabla::Error::Severity::Note);
  CHECK(ds[1].message == "did you mean 'sinh'?");
  CHECK(ds[1].line == 1);
  CHECK(ds[1].column == 8);
  bool line2 = false, line3 = false;
  for (const nabla::Error::Diagnostic &d : ds) {
    line2 = line2 || (d.line == 2 && d.severity == nabla::Error::Severity::Error);
    line3 = line3 || (d.line == 3 && d.severity == nabla::Error::Severity::Error &&
                      d.column == 12 && contains(d.message, "'q'"));
  }
  CHECK(line2);
  CHECK(line3);

  // The name diagnostics give the text is an option.
  nabla::Options named;
  named.source_name = "model";
  CHECK(std::string(compileError("x + * y", named).what()).rfind("model:1:5: error: ", 0) == 0);
}

TEST_CASE("empty text, limits and bad options are errors with messages", "[api][errors]") {
  CHECK(contains(compileError("").what(), "<expr>:1:1: error: empty expression"));

  nabla::Options small;
  small.max_source_bytes = 4;
  nabla::Error big = compileError("x^2 + y", small);
  CHECK(big.kind() == nabla::Error::Kind::Compile);
  CHECK(contains(big.what(), "more than the limit of 4"));

  nabla::Options fewNodes;
  fewNodes.max_nodes = 8;
  CHECK(compileError("sin(x) + cos(y) + exp(z) * log(w) + x*y*z*w", fewNodes).kind() ==
        nabla::Error::Kind::Compile);

  nabla::Options shallow;
  shallow.max_nesting = 3;
  CHECK(compileError("((((x))))", shallow).kind() == nabla::Error::Kind::Compile);

  nabla::Options narrow;
  narrow.max_array = 10;
  nabla::Error wide = compileError("param v[11]\nminimize sum(v)", narrow);
  CHECK(wide.kind() == nabla::Error::Kind::Compile);
  CHECK(contains(wide.what(), "1:9: error: the array has more than 10 elements (raise the limit with --max-array)"));

  // A Hessian beyond the node limit: its 30^2 entries, before any is built.
  nabla::Options fewEntries;
  fewEntries.max_nodes = 800;
  nabla::Error hess = compileError("param w[30]\nminimize sum(w)^2", fewEntries);
  CHECK(hess.kind() == nabla::Error::Kind::Compile);
  CHECK(std::string(hess.what()) ==
        "<expr>:2:1: error: the objective: the Hessian of 30 variables has 900 entries, more than "
        "the limit of 800 (raise the limit with --max-nodes)\n"
        "minimize sum(w)^2\n"
        "^~~~~~~~~~~~~~~~~\n"
        "<expr>:2:1: note: Options::hessian off leaves the Hessians out\n");
  fewEntries.hessian = false;
  CHECK(nabla::compile("param w[30]\nminimize sum(w)^2", fewEntries).has_objective());

  nabla::Options level;
  level.opt_level = 7;
  nabla::Error e = compileError("x", level);
  CHECK(e.kind() == nabla::Error::Kind::Argument);
  CHECK(std::string(e.what()) == "optimization level 7 is not one of 0, 1, 2, 3");
}

TEST_CASE("unknown functions and a missing objective are NotFound errors", "[api][errors]") {
  nabla::Module m = nabla::compile("f(x, y) = x*y\nscale(x) = 2*x\n");
  nabla::Error unknown = errorOf([&] { (void)m.function("g"); });
  CHECK(unknown.kind() == nabla::Error::Kind::NotFound);
  CHECK(std::string(unknown.what()) == "no function 'g' in '<expr>' (there are: f, scale)");
  CHECK(std::string(errorOf([&] { (void)m.function("scal"); }).what()) ==
        "no function 'scal' in '<expr>' (did you mean 'scale'?)");

  nabla::Error noObjective = errorOf([&] { (void)m.objective(); });
  CHECK(noObjective.kind() == nabla::Error::Kind::NotFound);
  CHECK(contains(noObjective.what(), "no objective"));
}

TEST_CASE("a call with the wrong number of values is an Argument error", "[api][errors]") {
  nabla::Function f = nabla::compile("f(x, y) = (x^2 + y)^2 * (y - x*y)").function("f");
  nabla::Error e = errorOf([&] { (void)f(1.0); });
  CHECK(e.kind() == nabla::Error::Kind::Argument);
  CHECK(std::string(e.what()) == "'f' takes 2 arguments, got 1");
  CHECK(std::string(errorOf([&] { (void)f(1, 2, 3); }).what()) == "'f' takes 2 arguments, got 3");
  CHECK(std::string(errorOf([&] { (void)f.value_and_grad({1.0}); }).what()) ==
        "'f' takes 2 arguments, got 1");
  std::vector<double> at{1, 2}, grad(3), hess(3);
  CHECK(std::string(errorOf([&] { (void)f.value_and_grad(at, grad); }).what()) ==
        "'f' takes 2 gradient entries, got 3");
  CHECK(std::string(errorOf([&] { f.hessian(at, hess); }).what()) ==
        "'f' takes 4 Hessian entries, got 3");
  CHECK(errorOf([&] { (void)f.hessian({}); }).kind() == nabla::Error::Kind::Argument);
}

TEST_CASE("files: missing, a directory, statements only, errors located in the file",
          "[api][errors]") {
  const std::string missing = "no/such/model.nabla";
  nabla::Error e = errorOf([&] { (void)nabla::compile_file(missing); });
  CHECK(e.kind() == nabla::Error::Kind::Io);
  CHECK(std::string(e.what()) == "cannot read 'no/such/model.nabla': No such file or directory");
  REQUIRE(e.diagnostics().size() == 1);
  CHECK(e.diagnostics()[0].file == missing);
  CHECK(e.diagnostics()[0].line == 0);

  nabla::Error dir = errorOf([&] { (void)nabla::compile_file(NABLA_SOURCE_DIR "/samples"); });
  CHECK(dir.kind() == nabla::Error::Kind::Io);
  CHECK(contains(dir.what(), "is a directory"));

  TempFile bare("bare.nabla", "x^2\n");
  nabla::Error notStatement = errorOf([&] { (void)nabla::compile_file(bare.path); });
  CHECK(notStatement.kind() == nabla::Error::Kind::Compile);
  CHECK(std::string(notStatement.what()).rfind(bare.path + ":1:1: error: ", 0) == 0);

  TempFile bad("bad.nabla", "param w[3]\nparam b = 0\nloss = sinh2(w[0]) + c\nminimize loss\n");
  nabla::Error located = errorOf([&] { (void)nabla::compile_file(bad.path); });
  CHECK(std::string(located.what()).rfind(bad.path + ":3:8: error: unknown function 'sinh2'", 0) == 0);
  CHECK(located.diagnostics().front().file == bad.path);
  CHECK(located.diagnostics().front().line == 3);

  nabla::Options small;
  small.max_source_bytes = 10;
  nabla::Error large = errorOf([&] { (void)nabla::compile_file(bad.path, small); });
  CHECK(large.kind() == nabla::Error::Kind::Compile);
  CHECK(std::string(large.what()) ==
        bad.path + ": error: the file is more than the limit of 10 bytes (raise it with "
                   "Options::max_source_bytes)\n");
  CHECK(large.diagnostics().at(0).file == bad.path);
}
