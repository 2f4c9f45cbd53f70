// One front door: every command of `nabla` (diff, eval, compile, fit, predict, the REPL) goes
// through the driver, so a limit, a variable a function does not use and an error's kind come out
// the same in all of them. (The embedding APIs' side is tests/api/test_api_front_door.cpp.)
#include "fit_test_util.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>

using namespace nabla::test;
using Catch::Matchers::Contains;

namespace {

// 30 params: a Hessian of 900 entries, more than --max-nodes 200 allows; the gradient is small.
const char *const kWide = "param w[30] = 0.5\nminimize sum(w^2)^2\n";

ProcessResult run(const std::vector<std::string> &args, const std::string &input = {}) {
  ProcessResult r = runNabla(args, input);
  REQUIRE(!r.timedOut);
  REQUIRE(r.signal == 0);
  return r;
}

}  // namespace

TEST_CASE("the Hessian's node limit holds in every command", "[front]") {
  ScratchDir dir("front_limit");
  const std::string model = dir.file("wide.nabla");
  writeText(model, kWide);
  const std::string limit = "the Hessian of 30 variables has 900 entries, more than the limit of 200";

  ProcessResult diff = run({"diff", model, "--hessian", "--max-nodes", "200"});
  CHECK(diff.exitCode == 1);
  CHECK_THAT(diff.err, Contains(limit));

  ProcessResult compile = run({"compile", model, "-o", dir.file("libwide.so"), "--max-nodes", "200"});
  CHECK(compile.exitCode == 1);
  CHECK_THAT(compile.err, Contains(limit));
  CHECK_THAT(compile.err, Contains("--no-hessian leaves the Hessians out"));

  // Newton needs the Hessian: refused before the first step, as diff refuses it.
  ProcessResult newton =
      run({"fit", model, "--optimizer", "newton", "--steps", "3", "--max-nodes", "200"});
  CHECK(newton.exitCode == 1);
  CHECK_THAT(newton.err, Contains(limit));
  CHECK(newton.out.empty());

  // The REPL says so too, as an error of the line, not as a bug of nabla, and goes on.
  ProcessResult repl = run({"repl", "--max-nodes", "200"},
                           std::string(kWide) + ":hessian L\n1+1\n");
  CHECK_THAT(repl.err, Contains(limit));
  CHECK_THAT(repl.err, !Contains("internal error"));
  CHECK_THAT(repl.err, !Contains("bug in nabla"));
  CHECK_THAT(repl.out, Contains("2\n"));

  // Within the limit all of them work.
  CHECK(run({"diff", model, "--hessian", "--max-nodes", "4000"}).exitCode == 0);
  CHECK(run({"fit", model, "--optimizer", "newton", "--steps", "2", "--max-nodes", "4000"})
            .exitCode == 0);
}

TEST_CASE("a variable the function does not use: derivative 0 and a warning, everywhere",
          "[front]") {
  ProcessResult diff = run({"diff", "x*y", "--wrt", "x,y,z"});
  CHECK(diff.exitCode == 0);
  CHECK_THAT(diff.out, Contains("∂f/∂x = y\n"));
  CHECK_THAT(diff.out, Contains("∂f/∂z = 0\n"));
  CHECK_THAT(diff.err, Contains("warning: 'z' in --wrt is not a variable of the expression"));

  ProcessResult eval = run({"eval", "x*y", "--vars", "x,y,z", "--at", "x=2,y=3,z=5", "--grad"});
  CHECK(eval.exitCode == 0);
  CHECK_THAT(eval.out, Contains("∂f/∂y = 2\n"));
  CHECK_THAT(eval.out, Contains("∂f/∂z = 0\n"));
  CHECK_THAT(eval.err, Contains("warning: 'z' in --vars is not a variable of the expression"));

  ProcessResult repl = run({"repl"}, "g(u, v) = u*v^3\n:diff g wrt v, w\n");
  CHECK_THAT(repl.out, Contains("∂g/∂w = 0\n"));
  CHECK_THAT(repl.err, Contains("warning: 'w' in wrt is not a variable of 'g'"));

  // A typo gets a suggestion in the warning.
  ProcessResult typo = run({"diff", "alpha*beta", "--wrt", "alpa"});
  CHECK_THAT(typo.err, Contains("did you mean 'alpha'?"));
}

TEST_CASE("error kinds: the same input is the same kind of error in every command", "[front]") {
  ScratchDir dir("front_kinds");
  const std::string bad = dir.file("bad.nabla");
  writeText(bad, "param w\nminimize sinh2(w)\n");
  const std::string located = bad + ":2:10: error: unknown function 'sinh2'";
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"check", bad}, {"diff", bad}, {"eval", bad, "--at", "w=1"},
        {"compile", bad, "-o", dir.file("libbad.so")}, {"fit", bad, "--steps", "1"},
        {"predict", bad, "--params", dir.file("p.json"), "--data", dir.file("d.csv")},
        {"ir", bad}, {"graph", bad}}) {
    INFO(args[0]);
    ProcessResult r = run(args);
    CHECK(r.exitCode == 1);
    CHECK_THAT(r.err, Contains(located));
  }

  // A function that is not there: not found, with a suggestion.
  const std::string two = dir.file("two.nabla");
  writeText(two, "scale(x) = 2*x\nshift(x) = x + 1\n");
  for (const char *command : {"eval", "ir", "graph"}) {
    INFO(command);
    std::vector<std::string> args{command, two, "--fn", "scal"};
    if (std::string(command) == "eval") args.insert(args.end(), {"--at", "x=1"});
    ProcessResult r = run(args);
    CHECK(r.exitCode == 1);
    CHECK_THAT(r.err, Contains("no function 'scal' in '" + two + "' (did you mean 'scale'?)"));
  }
  ProcessResult diff = run({"diff", two, "--fn", "shif"});
  CHECK_THAT(diff.err, Contains("(did you mean 'shift'?)"));
}

TEST_CASE("an argument that looks like a path and names no file is an error that says so",
          "[front]") {
  for (const std::string &path :
       {std::string(NABLA_SOURCE_DIR) + "/samples/seed", std::string("no/such/model.nabla"),
        std::string("./seed")}) {
    INFO(path);
    ProcessResult r = run({"diff", path});
    CHECK(r.exitCode == 1);
    CHECK_THAT(r.err, Contains(path.ends_with(".nabla") ? "cannot read '" + path + "'"
                                                        : "no file '" + path + "'"));
  }
  // Expressions with '/' and '.' are still expressions.
  ProcessResult div = run({"eval", "x/y", "--at", "x=1,y=4"});
  CHECK(div.exitCode == 0);
  CHECK(div.out == "f = 0.25\n");
  ProcessResult dot = run({"eval", "1.5*x", "--at", "x=2"});
  CHECK(dot.out == "f = 3\n");
}

namespace {

/// The DT_NEEDED entries of an ELF64 little-endian executable (the shared libraries it loads).
std::vector<std::string> neededLibraries(const std::string &path) {
  const std::string bytes = readText(path);
  auto read = [&](std::size_t at, std::size_t size) {
    REQUIRE(at + size <= bytes.size());
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < size; ++i)
      v |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
    return v;
  };
  REQUIRE(bytes.compare(0, 4, "\x7f" "ELF") == 0);
  REQUIRE(bytes[4] == 2);  // 64-bit
  const std::uint64_t phoff = read(0x20, 8), phentsize = read(0x36, 2), phnum = read(0x38, 2);
  std::uint64_t dynamic = 0, dynamicSize = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> loads;  // vaddr -> file offset
  std::vector<std::uint64_t> loadSizes;
  for (std::uint64_t k = 0; k < phnum; ++k) {
    const std::size_t h = phoff + k * phentsize;
    const std::uint64_t type = read(h, 4), offset = read(h + 8, 8), vaddr = read(h + 16, 8),
                        filesz = read(h + 32, 8);
    if (type == 2) {  // PT_DYNAMIC
      dynamic = offset;
      dynamicSize = filesz;
    }
    if (type == 1) {  // PT_LOAD
      loads.emplace_back(vaddr, offset);
      loadSizes.push_back(filesz);
    }
  }
  REQUIRE(dynamic != 0);
  auto fileOffset = [&](std::uint64_t vaddr) {
    for (std::size_t k = 0; k < loads.size(); ++k)
      if (vaddr >= loads[k].first && vaddr < loads[k].first + loadSizes[k])
        return loads[k].second + (vaddr - loads[k].first);
    FAIL("address outside the loaded segments");
    return std::uint64_t{0};
  };
  std::uint64_t strtab = 0;
  std::vector<std::uint64_t> needed;
  for (std::uint64_t at = dynamic; at + 16 <= dynamic + dynamicSize; at += 16) {
    const std::uint64_t tag = read(at, 8), value = read(at + 8, 8);
    if (tag == 0) break;
    if (tag == 1) needed.push_back(value);  // DT_NEEDED
    if (tag == 5) strtab = value;           // DT_STRTAB
  }
  std::vector<std::string> out;
  for (std::uint64_t name : needed) out.emplace_back(bytes.c_str() + fileOffset(strtab) + name);
  return out;
}

}  // namespace

TEST_CASE("the nabla executable holds one copy of the compiler: it does not load libnabla.so",
          "[front]") {
  const std::vector<std::string> needed = neededLibraries(NABLA_BINARY);
  REQUIRE(!needed.empty());  // the C library at least: the reader works
  CHECK(std::find(needed.begin(), needed.end(), "libc.so.6") != needed.end());
  for (const std::string &lib : needed) {
    INFO(lib);
    CHECK(lib.find("libnabla") == std::string::npos);
  }
}
