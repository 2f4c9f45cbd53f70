// libnabla.so from outside: Python's ctypes, and the host programs of samples/embed/ built the way
// their README says (cpp_host with CMake against this build tree, c_host with the C compiler),
// each run and its printed numbers checked against hand-derived values.
#include "support/process.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using nabla::test::ProcessResult;
using nabla::test::runProcess;

namespace {

constexpr const char *kSource = NABLA_SOURCE_DIR;
constexpr const char *kSanitizeFlags = NABLA_SANITIZE_FLAGS;

std::string workDir(const std::string &name) {
  const std::string dir = std::string(NABLA_TEST_WORK_DIR) + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

/// Runs a tool and requires it to succeed, showing its output otherwise.
ProcessResult mustRun(const std::string &program, const std::vector<std::string> &args,
                      double deadlineSeconds = 300) {
  ProcessResult r = runProcess(program, args, {}, deadlineSeconds);
  INFO(program << " failed:\n" << r.out << r.err);
  REQUIRE_FALSE(r.timedOut);
  REQUIRE(r.exitCode == 0);
  return r;
}

/// The numbers after `label` on the line of `out` that starts with it.
std::vector<double> numbersAfter(const std::string &out, const std::string &label) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(label, 0) != 0) continue;
    std::istringstream rest(line.substr(label.size()));
    std::vector<double> numbers;
    for (double v; rest >> v;) numbers.push_back(v);
    return numbers;
  }
  FAIL("no line starting with '" << label << "' in:\n" << out);
  return {};
}

/// Runs Python on `args`. Under a sanitized build the sanitizer runtimes are preloaded (Python is
/// not built with them) and leak checks are off (the interpreter's own allocations are not ours).
ProcessResult runPython(std::vector<std::string> args) {
  const std::string python = NABLA_PYTHON, preload = NABLA_SANITIZE_PRELOAD;
  if (preload.empty()) return runProcess(python, args, {}, 120);
  args.insert(args.begin(), {"LD_PRELOAD=" + preload, "ASAN_OPTIONS=detect_leaks=0", python});
  return runProcess("/usr/bin/env", args, {}, 120);
}

}  // namespace

TEST_CASE("a host may exit while the JIT still optimizes in the background", "[api][hosts]") {
  // Several runs: the background compilation is at a different point each time.
  for (int run = 0; run < 3; ++run) {
    ProcessResult r = runPython({std::string(kSource) + "/tests/api/exit_ctypes.py", NABLA_LIBRARY});
    INFO("run " << run << "\n" << r.out << r.err);
    CHECK(r.exitCode == 0);
    CHECK(r.signal == 0);
    CHECK(r.out == "ok\n");
  }
}

TEST_CASE("Python's ctypes drives libnabla.so: the seed function's value and gradient",
          "[api][hosts]") {
  REQUIRE(std::string(NABLA_PYTHON).find("NOTFOUND") == std::string::npos);  // scripts/setup.sh
  ProcessResult r = runPython({std::string(kSource) + "/tests/api/seed_ctypes.py", NABLA_LIBRARY});
  INFO(r.out << r.err);
  CHECK(r.exitCode == 0);
  CHECK(r.out == "ok\n");
}

TEST_CASE("the C++ host sample builds with find_package(nabla) and prints the right numbers",
          "[api][hosts]") {
  const std::string build = workDir("cpp_host");
  std::vector<std::string> configure = {
      "-S", std::string(kSource) + "/samples/embed/cpp_host", "-B", build, "-G", NABLA_CMAKE_GENERATOR,
      "-DCMAKE_MAKE_PROGRAM=" NABLA_CMAKE_MAKE_PROGRAM, "-DCMAKE_CXX_COMPILER=" NABLA_CXX_COMPILER,
      "-Dnabla_DIR=" NABLA_BUILD_DIR};
  if (*kSanitizeFlags) {
    configure.push_back(std::string("-DCMAKE_CXX_FLAGS=") + kSanitizeFlags);
    configure.push_back(std::string("-DCMAKE_EXE_LINKER_FLAGS=") + kSanitizeFlags);
  }
  mustRun(NABLA_CMAKE, configure);
  mustRun(NABLA_CMAKE, {"--build", build});

  ProcessResult r = mustRun(build + "/cpp_host", {}, 120);
  // Rosenbrock's function at (-1.5, 2), by hand: f = 2.5^2 + 100*(-0.25)^2 = 12.5,
  // f_x = -2(1 - x) - 400x(y - x^2) = -155, f_y = 200(y - x^2) = -50,
  // f_xx = 2 - 400(y - x^2) + 800x^2 = 1902, f_xy = -400x = 600, f_yy = 200.
  CHECK(numbersAfter(r.out, "  value") == std::vector<double>{12.5});
  CHECK(numbersAfter(r.out, "  gradient") == std::vector<double>{-155, -50});
  CHECK(numbersAfter(r.out, "  hessian") == std::vector<double>{1902, 600, 600, 200});
  CHECK(r.out.find("  df/dx = ") != std::string::npos);
  CHECK(r.out.find("  df/dy = ") != std::string::npos);
  // Newton's method ends at the minimum (1, 1), where f = 0.
  std::vector<double> minimum = numbersAfter(r.out, "minimum");
  REQUIRE(minimum.size() >= 2);
  CHECK(std::fabs(minimum[0] - 1) < 1e-10);
  CHECK(std::fabs(minimum[1] - 1) < 1e-10);
  CHECK(r.out.find("error, as expected:\n<expr>:1:8: error: unknown function 'sinh2'\n") !=
        std::string::npos);
}

TEST_CASE("the C host sample builds with the C compiler and prints the right numbers",
          "[api][hosts]") {
  const std::string exe = workDir("c_host") + "/c_host";
  std::vector<std::string> args = {"-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                                   std::string("-I") + kSource + "/include",
                                   std::string(kSource) + "/samples/embed/c_host/main.c",
                                   "-L" NABLA_LIBRARY_DIR, "-lnabla",
                                   "-Wl,-rpath," NABLA_LIBRARY_DIR, "-o", exe};
  std::istringstream flags(kSanitizeFlags);  // words separated by spaces
  std::vector<std::string> words;
  for (std::string w; flags >> w;) words.push_back(w);
  args.insert(args.begin(), words.begin(), words.end());
  mustRun(NABLA_CC, args);

  ProcessResult r = mustRun(exe, {}, 120);
  // The seed function at (0.5, -0.5), by hand (short binary fractions, so exact).
  CHECK(r.out.find("arguments x y\n") != std::string::npos);
  CHECK(numbersAfter(r.out, "value") == std::vector<double>{-0.015625});
  CHECK(numbersAfter(r.out, "gradient") == std::vector<double>{0.15625, 0.15625});
  CHECK(numbersAfter(r.out, "hessian") == std::vector<double>{-0.75, -1.0625, -1.0625, -1});
  CHECK(r.out.find("status 1, as expected:\n<expr>:1:5: error: ") != std::string::npos);
}
