// The driver (compiler/driver/driver.h): reading under limits, loading with error kinds, entries,
// variables a function does not use, derivatives under the node limit, the interpreter, the
// printer's cap, compiled code, libraries. Values are checked against the interpreter and finite
// differences, never against the driver's own output.
#include "driver/driver.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace nabla;
using driver::ErrorKind;

namespace {

driver::Program load(const std::string &text, const driver::Options &options = {}) {
  return driver::Program::load(driver::fromText("<test>", text, false, options.limits), options);
}

driver::Program loadFile(const std::string &text, const driver::Options &options = {}) {
  return driver::Program::load(driver::fromText("m.nabla", text, true, options.limits), options);
}

/// The kind of the driver::Error that `f` throws (fails the test when it throws none).
template <class F> driver::Error errorOf(F &&f) {
  try {
    f();
  } catch (const driver::Error &e) {
    return e;
  }
  FAIL("no driver::Error");
  throw std::logic_error("unreachable");
}

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

struct TempFile {
  std::string path;
  TempFile(const std::string &name, const std::string &text) {
    char dir[] = "/tmp/nabla-driver-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    path = std::string(dir) + "/" + name;
    std::ofstream(path) << text;
  }
  ~TempFile() {
    std::remove(path.c_str());
    rmdir(path.substr(0, path.rfind('/')).c_str());
  }
};

/// Values of a program's symbols by name (NaN for the others).
std::vector<double> valuesOf(const driver::Program &p,
                             const std::vector<std::pair<std::string, double>> &at) {
  std::vector<double> v(p.graph().symbolCount(), std::nan(""));
  for (SymbolId s = 0; s < p.graph().symbolCount(); ++s)
    for (const auto &[name, x] : at)
      if (p.graph().symbolName(s) == name) v[s] = x;
  return v;
}

}  // namespace

TEST_CASE("errors have kinds: syntax, semantic, limit", "[driver]") {
  driver::Error syntax = errorOf([] { load("x + * y"); });
  CHECK(syntax.kind() == ErrorKind::Syntax);
  REQUIRE(!syntax.diagnostics().empty());
  CHECK(std::string(syntax.what()).rfind("<test>:1:5: error: ", 0) == 0);

  driver::Error semantic = errorOf([] { loadFile("param w\nminimize sinh2(w)\n"); });
  CHECK(semantic.kind() == ErrorKind::Semantic);
  CHECK(contains(semantic.what(), "m.nabla:2:10: error: unknown function 'sinh2'"));
  CHECK(contains(semantic.what(), "did you mean 'sinh'?"));

  driver::Options tiny;
  tiny.limits.maxSourceBytes = 4;
  CHECK(errorOf([&] { load("x^2 + y", tiny); }).kind() == ErrorKind::Limit);
  driver::Options shallow;
  shallow.limits.maxNesting = 3;
  CHECK(errorOf([&] { load("((((x))))", shallow); }).kind() == ErrorKind::Limit);
  driver::Options narrow;
  narrow.limits.maxArray = 10;
  driver::Error wide = errorOf([&] { loadFile("param v[11]\nminimize sum(v)\n", narrow); });
  CHECK(wide.kind() == ErrorKind::Limit);
  CHECK(contains(wide.what(), "--max-array"));
  driver::Options few;
  few.limits.maxNodes = 8;
  CHECK(errorOf([&] { load("sin(x) + cos(y) + exp(z) * log(w) + x*y*z*w", few); }).kind() ==
        ErrorKind::Limit);
  // A limit and a plain error together: the limit is what to raise.
  CHECK(errorOf([&] { load("((((x)))) + * y", shallow); }).kind() == ErrorKind::Limit);
}

TEST_CASE("reading sources: limits, files, arguments that look like paths", "[driver]") {
  driver::Limits limits;
  limits.maxSourceBytes = 10;
  TempFile big("big.nabla", "param w\nminimize w^2\n");
  driver::Error large = errorOf([&] { driver::readFile(big.path, limits); });
  CHECK(large.kind() == ErrorKind::Limit);
  CHECK(std::string(large.what()) == big.path + ": error: the file is more than the limit of 10 "
                                                "bytes (raise it with --max-source-bytes)\n");
  CHECK(driver::readFile(big.path, {}).buffer->text() == "param w\nminimize w^2\n");

  CHECK(errorOf([] { driver::readFile("no/such/model.nabla", {}); }).kind() == ErrorKind::Io);
  driver::Error dir = errorOf([] { driver::readFile("/tmp", {}); });
  CHECK(dir.kind() == ErrorKind::Io);
  CHECK(contains(dir.what(), "is a directory"));
  // A device is not a model (reading it would never end).
  driver::Error device = errorOf([] { driver::readFile("/dev/zero", {}); });
  CHECK(device.kind() == ErrorKind::Io);
  CHECK(contains(device.what(), "not a regular file"));

  // Arguments: expressions stay expressions; paths that name no file are errors, not divisions.
  for (const char *expr : {"x/y", "x / y", "1.5*x", "2.e3 + x", "-x^2", "exp(x)/2", "a_b/c"}) {
    INFO(expr);
    CHECK(!driver::looksLikePath(expr));
    driver::Source s = driver::readArgument(expr, driver::ArgumentKind::ExpressionOrFile, {});
    CHECK(!s.isFile);
    CHECK(s.buffer->name() == "<expr>");
  }
  for (const char *path : {"/no/such/model", "./model", "../m", "model.nabla", "m.nabl",
                           "data.csv", "tmp/seed"}) {
    INFO(path);
    if (std::string(path) != "tmp/seed") CHECK(driver::looksLikePath(path));
  }
  driver::Error missing = errorOf([] {
    driver::readArgument("/no/such/dir/seed", driver::ArgumentKind::ExpressionOrFile, {});
  });
  CHECK(missing.kind() == ErrorKind::Io);
  CHECK(contains(missing.what(), "no file '/no/such/dir/seed'"));
  CHECK(errorOf([] { driver::readArgument("model.nabla", driver::ArgumentKind::ExpressionOrFile, {}); })
            .kind() == ErrorKind::Io);
  // `dir/name` is a path when `dir` is a folder.
  TempFile inDir("seed", "f(x) = x^2\n");
  const std::string folder = inDir.path.substr(0, inDir.path.rfind('/'));
  const std::string relative = folder.substr(folder.rfind('/') + 1) + "/nothing";
  char cwd[4096];
  REQUIRE(getcwd(cwd, sizeof cwd) != nullptr);
  REQUIRE(chdir("/tmp") == 0);
  CHECK(driver::looksLikePath(relative));
  CHECK(errorOf([&] { driver::readArgument(relative, driver::ArgumentKind::ExpressionOrFile, {}); })
            .kind() == ErrorKind::Io);
  REQUIRE(chdir(cwd) == 0);
  CHECK(driver::readArgument(inDir.path, driver::ArgumentKind::ExpressionOrFile, {}).isFile);
}

TEST_CASE("entries: functions, the objective's name, not found with suggestions", "[driver]") {
  driver::Program p = loadFile("scale(x) = 2*x\nv(x) = [x, x]\nL(a) = a\nparam w\nminimize w^2\n");
  std::vector<driver::Entry> entries = p.entries();
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].name == "scale");
  CHECK(entries[1].name == "L");
  CHECK(entries[2].name == "loss");  // `L` is taken by a function
  CHECK(entries[2].isObjective());
  CHECK(p.objectiveName() == "loss");
  REQUIRE(p.skippedEntries().size() == 1);
  CHECK(contains(p.skippedEntries()[0].text, "skipping 'v': its value has shape [2]"));

  CHECK(p.entry("loss").isObjective());
  CHECK(!p.entry("L").isObjective());
  driver::Error typo = errorOf([&] { p.entry("scal"); });
  CHECK(typo.kind() == ErrorKind::NotFound);
  CHECK(typo.message() == "no function 'scal' in 'm.nabla' (did you mean 'scale'?)");
  CHECK(errorOf([&] { p.entry("zzz"); }).message() ==
        "no function 'zzz' in 'm.nabla' (there are: scale, L, loss)");
  CHECK(contains(errorOf([&] { p.entry("v"); }).message(), "'v' has a value of shape [2]"));
  driver::Error several = errorOf([&] { p.onlyEntry("choose one"); });
  CHECK(several.kind() == ErrorKind::NotFound);
  CHECK(contains(several.message(), "several functions (scale, L, loss): choose one"));
}

TEST_CASE("a variable the function does not use has derivative 0, with a warning", "[driver]") {
  driver::Program p = load("x^2*y");
  driver::Entry f = p.onlyEntry("");
  driver::Variables vars = p.resolveVariables(f, {"y", "z", "x", "z"}, "--wrt");
  REQUIRE(vars.names == std::vector<std::string>{"y", "z", "x"});
  REQUIRE(vars.messages.size() == 2);
  CHECK(vars.messages[0].severity == Severity::Warning);
  CHECK(vars.messages[0].text == "'z' in --wrt is not a variable of the expression: its "
                                 "derivatives are 0");
  CHECK(contains(vars.messages[1].text, "'z' is named twice in --wrt"));
  Derivatives d = p.differentiate(f, vars.nodes, true);
  std::vector<NodeId> roots{d.value};
  roots.insert(roots.end(), d.grad.begin(), d.grad.end());
  for (const auto &row : d.hessian) roots.insert(roots.end(), row.begin(), row.end());
  std::vector<double> got = driver::evaluate(p, roots, valuesOf(p, {{"x", 3}, {"y", 2}, {"z", 7}}));
  // x^2 y = 18; gradient (y, z, x) = (x^2, 0, 2xy); Hessian in y, z, x order.
  CHECK(got == std::vector<double>{18, 9, 0, 12, 0, 0, 6, 0, 0, 0, 6, 0, 4});

  // A near miss gets a suggestion.
  driver::Program q = load("alpha*beta");
  driver::Variables typo = q.resolveVariables(q.onlyEntry(""), {"alpa"}, "--wrt");
  REQUIRE(typo.messages.size() == 1);
  CHECK(contains(typo.messages[0].text, "(did you mean 'alpha'?)"));
}

TEST_CASE("derivatives are bounded by the node limit for every entry", "[driver]") {
  driver::Options options;
  options.limits.maxNodes = 200;
  driver::Program p = loadFile("param w[30]\nminimize sum(w)^2\n", options);
  driver::Entry objective = *p.objective();
  CHECK(p.differentiate(objective, false).grad.size() == 30);
  driver::Error e = errorOf([&] { p.differentiate(objective, true); });
  CHECK(e.kind() == ErrorKind::Limit);
  CHECK(contains(e.what(), "m.nabla:2:1: error: the objective: the Hessian of 30 variables has "
                           "900 entries, more than the limit of 200 (raise the limit with "
                           "--max-nodes)"));
}

TEST_CASE("derivatives agree with finite differences; compiled code with the interpreter",
          "[driver]") {
  driver::Program p = load("(x^2 + y)^2 * (y - x*y)");
  driver::Entry f = p.onlyEntry("");
  Derivatives d = p.differentiate(f, true);
  std::vector<NodeId> roots{d.value, d.grad[0], d.grad[1]};
  const double x = 0.5, y = -0.5, h = 1e-6;
  auto value = [&](double a, double b) {
    return driver::evaluate(p, {d.value}, valuesOf(p, {{"x", a}, {"y", b}}))[0];
  };
  std::vector<double> at = driver::evaluate(p, roots, valuesOf(p, {{"x", x}, {"y", y}}));
  CHECK(at[1] == Approx((value(x + h, y) - value(x - h, y)) / (2 * h)).epsilon(1e-6));
  CHECK(at[2] == Approx((value(x, y + h) - value(x, y - h)) / (2 * h)).epsilon(1e-6));

  for (auto tier : {driver::JitOptions::Tier::FirstOnly, driver::JitOptions::Tier::Optimized}) {
    driver::Jit jit({tier});
    driver::Code code = jit.compile(p, "f", p.arguments(f), d);
    auto [v, g] = code.valueAndGrad(std::vector<double>{x, y});
    CHECK(v == Approx(at[0]).epsilon(1e-14));
    CHECK(g[0] == Approx(at[1]).epsilon(1e-14));
    CHECK(g[1] == Approx(at[2]).epsilon(1e-14));
  }
}

TEST_CASE("a job whose cancel flag is set stops with Interrupted; the program stays usable",
          "[driver]") {
  std::atomic<bool> stop{false};
  driver::Options options;
  options.cancel = &stop;
  driver::Program p = load("(x^2 + y)^2 * (y - x*y)", options);
  driver::Entry f = p.onlyEntry("");
  stop = true;
  CHECK(errorOf([&] { p.differentiate(f, true); }).kind() == ErrorKind::Interrupted);
  CHECK(errorOf([&] { p.value(f); }).kind() == ErrorKind::Interrupted);
  CHECK(toString(ErrorKind::Interrupted) == "interrupted");
  stop = false;
  Derivatives d = p.differentiate(f, false);
  stop = true;
  driver::Jit jit({driver::JitOptions::Tier::Optimized});
  CHECK(errorOf([&] { jit.compile(p, "f", p.arguments(f), d); }).kind() == ErrorKind::Interrupted);
  CHECK(errorOf([&] { driver::entryPointCode(p, f, true, true, 2, false); }).kind() ==
        ErrorKind::Interrupted);
  // Cleared, everything works again on the same program and JIT.
  stop = false;
  driver::Code code = jit.compile(p, "f", p.arguments(f), p.differentiate(f, false));
  CHECK(code(std::vector<double>{0.5, -0.5}) ==
        Approx(driver::evaluate(p, {d.value}, valuesOf(p, {{"x", 0.5}, {"y", -0.5}}))[0])
            .epsilon(1e-14));
}

TEST_CASE("a flag set while LLVM compiles stops the compilation", "[driver]") {
  // A function whose compilation at O2 takes many seconds; the flag comes a moment after it
  // has begun, from another thread (as a signal handler sets it), and the compile gives up.
  std::string text = "f(x) = 0";
  for (int k = 1; k <= 3000; ++k)
    text += " + sin(" + std::to_string(k) + "*x)*exp(x/" + std::to_string(k) + ")";
  std::atomic<bool> stop{false};
  driver::Options options;
  options.cancel = &stop;
  driver::Program p = loadFile(text, options);
  driver::Entry f = p.entry("f");
  Derivatives d = p.differentiate(f, false);
  driver::Jit jit({driver::JitOptions::Tier::Optimized});
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  driver::Error e = errorOf([&] { jit.compile(p, "f", p.arguments(f), d); });
  later.join();
  CHECK(e.kind() == ErrorKind::Interrupted);
  CHECK(e.message() == "interrupted");
}

TEST_CASE("the printer's cap on self-contained text is a limit", "[driver]") {
  // t_{k+1} = t_k * t_k + t_k doubles the tree each time: 40 levels print as 2^40 copies of x.
  std::string text = "param x\nt0 = x\n";
  for (int k = 0; k < 40; ++k)
    text += "t" + std::to_string(k + 1) + " = t" + std::to_string(k) + "*t" + std::to_string(k) +
            " + t" + std::to_string(k) + "\n";
  text += "minimize t40\n";
  driver::Options options;
  options.simplify = false;
  driver::Program p = loadFile(text, options);
  driver::Entry objective = *p.objective();
  driver::Error e = errorOf([&] { driver::printExprs(p, {objective.value}, "the objective"); });
  CHECK(e.kind() == ErrorKind::Limit);
  CHECK(contains(e.message(), "the objective are too large to print as self-contained"));
  // The shared form names the temporaries instead.
  std::string shared = driver::printRoots(p, {"L"}, {objective.value});
  CHECK(contains(shared, "where"));
  CHECK(shared.size() < 4096);
}

TEST_CASE("why a value is not finite: the first non-finite node", "[driver]") {
  driver::Program p = loadFile("param w\ninput x\nminimize log(w*x) + w\n");
  driver::Entry objective = *p.objective();
  Derivatives d = p.differentiate(objective, false);
  std::vector<SymbolId> args = p.arguments(objective);  // w, then x
  CHECK(!driver::explainNonFinite(p, d, args, std::vector<double>{1, 2}));
  std::optional<std::string> why = driver::explainNonFinite(p, d, args, std::vector<double>{-1, 2});
  REQUIRE(why);
  CHECK(contains(*why, "the loss is nan"));
  CHECK(contains(*why, "log("));
}

TEST_CASE("statements are split with their names and calls", "[driver]") {
  SourceBuffer buffer("<test>", "param w\nf(x) = x^2\nminimize f(w)\nf(1, 2+3)\n");
  std::vector<driver::StatementInfo> s = driver::parseStatements(buffer, true, {});
  REQUIRE(s.size() == 4);
  CHECK(s[0].name == "w");
  CHECK(s[1].kind == ast::StmtKind::Function);
  CHECK(s[1].name == "f");
  CHECK(s[2].kind == ast::StmtKind::Minimize);
  REQUIRE(s[3].callee);
  CHECK(*s[3].callee == "f");
  REQUIRE(s[3].callArgs.size() == 2);
  CHECK(buffer.text().substr(s[3].callArgs[1].begin,
                             s[3].callArgs[1].end - s[3].callArgs[1].begin) == "2+3");
  CHECK(errorOf([] {
          SourceBuffer bad("<test>", "g(x) = sin(x\n");
          driver::parseStatements(bad, true, {});
        }).kind() == ErrorKind::Syntax);
}

TEST_CASE("a session: statements, then one expression that sees them", "[driver]") {
  auto buffer = std::make_shared<const SourceBuffer>("<session>", "a = 3\nf(x) = x*a\nf(2) + y\n");
  driver::Program p = driver::Program::load(buffer, driver::Program::Form::Session, {}, 17);
  REQUIRE(p.lowered().bare);
  std::vector<double> v =
      driver::evaluate(p, p.lowered().bare->result.elems, valuesOf(p, {{"y", 1}}));
  CHECK(v == std::vector<double>{7});
  auto two = std::make_shared<const SourceBuffer>("<session>", "a = 3\nx\ny\n");
  CHECK(contains(errorOf([&] { driver::Program::load(two, driver::Program::Form::Session, {}, 6); })
                     .what(),
                 "expected one expression"));
}

TEST_CASE("libraries: names that cannot be C symbols are located semantic errors", "[driver]") {
  driver::Program p = loadFile("free(x) = x + 1\n");
  driver::LibraryOptions options;
  options.emit = driver::LibraryOptions::Emit::Object;
  driver::Error e = errorOf([&] { driver::compileLibrary(p, options); });
  CHECK(e.kind() == ErrorKind::Semantic);
  CHECK(contains(e.what(), "m.nabla:1:1: error: cannot export 'free'"));
  driver::Program empty = loadFile("v(x) = [x, x]\n");
  driver::Error nothing = errorOf([&] { driver::compileLibrary(empty, options); });
  CHECK(nothing.kind() == ErrorKind::Semantic);
  CHECK(contains(nothing.what(), "the library would be empty"));
  driver::Program ok = loadFile("sq(x) = x^2\n");
  driver::Library lib = driver::compileLibrary(ok, options);
  CHECK(lib.bytes().size() > 16);
  CHECK(lib.bytes().substr(1, 3) == "ELF");
  CHECK(contains(lib.header("sq.h"), "double sq(double x);"));
}

TEST_CASE("libraries: baked params make definitions functions of the inputs", "[driver]") {
  const char *text = "param w[2]\nparam b\ninput x[2]\ninput y\ns = dot(w, x) + b\n"
                     "g(u) = b*u\nminimize (s - y)^2\n";
  driver::LibraryOptions options;
  options.emit = driver::LibraryOptions::Emit::Object;
  options.baked =
      driver::LibraryOptions::BakedParams{"p.json", {2, -3, 0.5}, {{"x", {1, 2}, {4, 8}}}};
  driver::Program p = loadFile(text);
  driver::Library lib = driver::compileLibrary(p, options);
  const std::string header = lib.header("m.h");
  CHECK(contains(header, "double s(const double *x);"));
  CHECK(contains(header, "double g(double u);"));
  CHECK(contains(header, "Params baked in from p.json: w[2], b"));
  CHECK(contains(header, "Standardized inside, as in training: x."));
  CHECK_FALSE(contains(header, "nabla_objective"));
  // The program's own definitions are as they were: only the library's copies are baked.
  CHECK(driver::evaluate(p, {p.lowered().definitions[0].value.elems[0]},
                         std::vector<double>(p.graph().symbolCount(), 1.0))[0] == 3);

  auto error = [&](const char *model, driver::LibraryOptions::BakedParams baked) {
    driver::Program q = loadFile(model);
    driver::LibraryOptions o = options;
    o.baked = std::move(baked);
    return errorOf([&] { driver::compileLibrary(q, o); });
  };
  driver::Error count = error(text, {"p.json", {1, 2}, {}});
  CHECK(count.kind() == ErrorKind::Semantic);
  CHECK(contains(count.what(), "'p.json' gives 2 param values, but"));
  CHECK(contains(error(text, {"p.json", {1, 2, 3}, {{"z", {0}, {1}}}}).what(),
                 "standardizes 'z', which is not an input"));
  CHECK(contains(error(text, {"p.json", {1, 2, 3}, {{"x", {0}, {1}}}}).what(),
                 "the standardization of input 'x' has 1 means and 1 stds, but the input has 2"));
  CHECK(contains(error("input x\nf(a) = a\n", {"p.json", {}, {}}).what(),
                 "has no params to bake in"));
  CHECK(contains(error("param w\nv = [w, w]\n", {"p.json", {1}, {}}).what(),
                 "no scalar definition or function to export with baked params"));
}
