// libnabla.so from outside: Python's ctypes, and the host programs of samples/embed/ built the way
// their README says (cpp_host with CMake against this build tree, c_host with the C compiler),
// each run and its printed numbers checked against hand-derived values; then nabla installed
// into a prefix (the hosts built against it with find_package and pkg-config) and packaged by
// cpack.
#include "support/process.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

namespace {

/// Every line of `out` (a tool's output) that holds `part`.
std::vector<std::string> linesWith(const std::string &out, const std::string &part) {
  std::vector<std::string> found;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.find(part) != std::string::npos) found.push_back(line);
  return found;
}

std::string readAll(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("installed into a prefix, nabla is found by find_package and by pkg-config",
          "[api][hosts][install]") {
  namespace fs = std::filesystem;
  const fs::path work = workDir("install");
  const fs::path prefix = work / "prefix";
  fs::remove_all(prefix);
  mustRun(NABLA_CMAKE, {"--install", NABLA_BUILD_DIR, "--prefix", prefix.string()});

  // The layout of the GNU directories, found from where the library went.
  fs::path libdir;
  for (const fs::directory_entry &e : fs::recursive_directory_iterator(prefix))
    if (e.path().filename() == "libnabla.so.0.1.0") libdir = e.path().parent_path();
  REQUIRE_FALSE(libdir.empty());
  for (const char *name : {"libnabla.so", "libnabla.so.0", "cmake/nabla/nablaConfig.cmake",
                           "cmake/nabla/nablaConfigVersion.cmake", "cmake/nabla/nablaTargets.cmake",
                           "pkgconfig/nabla.pc"})
    CHECK(fs::exists(libdir / name));
  for (const char *name : {"bin/nabla", "include/nabla/nabla.h", "include/nabla/nabla.hpp",
                           "include/nabla/export.h", "include/nabla/optim.hpp",
                           "share/man/man1/nabla.1"})
    CHECK(fs::exists(prefix / name));
  CHECK(fs::is_symlink(libdir / "libnabla.so"));

  // The soname, and a RUNPATH relative to the executable: no path of the build.
  const std::string library = mustRun("/usr/bin/env", {"readelf", "-d", (libdir / "libnabla.so.0.1.0").string()}).out;
  CHECK(linesWith(library, "(SONAME)").size() == 1);
  CHECK(linesWith(library, "[libnabla.so.0]").size() == 1);
  const std::string exe = mustRun("/usr/bin/env", {"readelf", "-d", (prefix / "bin/nabla").string()}).out;
  const std::vector<std::string> runpath = linesWith(exe, "(RUNPATH)");
  REQUIRE(runpath.size() == 1);
  CHECK(runpath[0].find("[$ORIGIN/../") != std::string::npos);
  for (const std::string &dynamic : {library, exe}) {
    CHECK(dynamic.find(NABLA_BUILD_DIR) == std::string::npos);
    CHECK(dynamic.find(kSource) == std::string::npos);
  }
  // The CMake package and the pkg-config file are relocatable: no path of this machine inside.
  for (const fs::directory_entry &e : fs::recursive_directory_iterator(libdir))
    if (e.is_regular_file() && (e.path().extension() == ".cmake" || e.path().extension() == ".pc")) {
      const std::string text = readAll(e.path());
      INFO(e.path());
      CHECK(text.find(NABLA_BUILD_DIR) == std::string::npos);
      CHECK(text.find(kSource) == std::string::npos);
      CHECK(text.find(prefix.string()) == std::string::npos);
    }
  // The installed executable runs, and its man page is its help.
  ProcessResult version = mustRun((prefix / "bin/nabla").string(), {"--version"});
  CHECK(version.out.find("nabla 0.1.0") != std::string::npos);
  const std::string man = readAll(prefix / "share/man/man1/nabla.1");
  CHECK(man.find(".TH NABLA \"1\"") != std::string::npos);
  for (const char *command : {"nabla diff", "nabla compile", "nabla fit", "nabla repl"})
    CHECK(man.find(command) != std::string::npos);

  // The C++ host, from a copy outside the tree, with find_package(nabla 0.1) and the prefix.
  const fs::path host = work / "cpp_host", build = work / "cpp_host_build";
  fs::remove_all(host);
  fs::remove_all(build);
  fs::create_directories(host);
  fs::copy(fs::path(kSource) / "samples/embed/cpp_host", host, fs::copy_options::recursive);
  std::vector<std::string> configure = {
      "-S", host.string(), "-B", build.string(), "-G", NABLA_CMAKE_GENERATOR,
      "-DCMAKE_MAKE_PROGRAM=" NABLA_CMAKE_MAKE_PROGRAM, "-DCMAKE_CXX_COMPILER=" NABLA_CXX_COMPILER,
      "-DCMAKE_PREFIX_PATH=" + prefix.string()};
  if (*kSanitizeFlags) {
    configure.push_back(std::string("-DCMAKE_CXX_FLAGS=") + kSanitizeFlags);
    configure.push_back(std::string("-DCMAKE_EXE_LINKER_FLAGS=") + kSanitizeFlags);
  }
  mustRun(NABLA_CMAKE, configure);
  mustRun(NABLA_CMAKE, {"--build", build.string()});
  ProcessResult cpp = mustRun((build / "cpp_host").string(), {}, 120);
  CHECK(numbersAfter(cpp.out, "  value") == std::vector<double>{12.5});
  CHECK(numbersAfter(cpp.out, "  gradient") == std::vector<double>{-155, -50});

  // The C host with `pkg-config --cflags --libs nabla`.
  ProcessResult pc = mustRun("/usr/bin/env", {"PKG_CONFIG_PATH=" + (libdir / "pkgconfig").string(),
                                              "pkg-config", "--cflags", "--libs", "nabla"});
  // The libraries after the source that needs them.
  const std::string cHost = (work / "c_host").string();
  std::vector<std::string> args;
  std::istringstream flags(kSanitizeFlags), libs(pc.out);
  for (std::string w; flags >> w;) args.push_back(w);
  args.insert(args.end(), {"-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                           std::string(kSource) + "/samples/embed/c_host/main.c"});
  for (std::string w; libs >> w;) args.push_back(w);
  args.insert(args.end(), {"-Wl,-rpath," + libdir.string(), "-o", cHost});
  mustRun(NABLA_CC, args);
  ProcessResult c = mustRun(cHost, {}, 120);
  CHECK(numbersAfter(c.out, "value") == std::vector<double>{-0.015625});
  CHECK(numbersAfter(c.out, "gradient") == std::vector<double>{0.15625, 0.15625});

  // The Python package, where Debian's python3 reads a prefix's packages, imports from there.
  if (NABLA_PYTHON_MODULE) {
    fs::path site;
    for (const fs::directory_entry &e : fs::recursive_directory_iterator(prefix))
      if (e.path().filename() == "__init__.py" && e.path().parent_path().filename() == "nabla")
        site = e.path().parent_path().parent_path();
    REQUIRE_FALSE(site.empty());
    CHECK(site.filename() == "dist-packages");
    CHECK(site.parent_path().filename().string().rfind("python3.", 0) == 0);
    // The module has no RUNPATH of the build (LLVM's directory is a -dev package's).
    for (const fs::directory_entry &e : fs::directory_iterator(site / "nabla"))
      if (e.path().extension() == ".so") {
        const std::string module = mustRun("/usr/bin/env", {"readelf", "-d", e.path().string()}).out;
        CHECK(linesWith(module, "(RUNPATH)").empty());
        CHECK(linesWith(module, "(RPATH)").empty());
      }
    ProcessResult py = mustRun("/usr/bin/env", {"PYTHONPATH=" + site.string(), NABLA_PYTHON_MODULE_PYTHON, "-c",
        "import nabla; m = nabla.compile('f(x, y) = (x^2 + y)^2 * (y - x*y)'); "
        "print(nabla.__file__); print('value', m.f(0.5, -0.5))"});
    CHECK(py.out.rfind(site.string(), 0) == 0);
    CHECK(numbersAfter(py.out, "value") == std::vector<double>{-0.015625});
  }
}

TEST_CASE("cpack makes a Debian package of what is installed, and nothing else",
          "[api][hosts][install]") {
  namespace fs = std::filesystem;
  const fs::path out = workDir("deb");
  fs::remove_all(out);
  // What cpack said (dpkg-shlibdeps' warnings among it), shown when a check below fails.
  const ProcessResult packed =
      mustRun("/usr/bin/env", {"cpack", "--config", std::string(NABLA_BUILD_DIR) + "/CPackConfig.cmake",
                               "-G", "DEB", "-B", out.string()});
  INFO("cpack: " << packed.out << packed.err);
  fs::path deb;
  for (const fs::directory_entry &e : fs::directory_iterator(out))
    if (e.path().extension() == ".deb") deb = e.path();
  REQUIRE_FALSE(deb.empty());
  CHECK(deb.filename().string().rfind("nabla_0.1.0_", 0) == 0);
  const std::string files = mustRun("/usr/bin/env", {"dpkg-deb", "-c", deb.string()}).out;
  // Every file, by its path in the package (the last word of each line; links as `a -> b`).
  std::vector<std::string> paths;
  std::istringstream lines(files);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == 'd') continue;  // directories
    std::size_t arrow = line.find(" -> ");
    std::string path = line.substr(0, arrow);
    path = path.substr(path.rfind(' ') + 1);
    paths.push_back(path);
  }
  std::sort(paths.begin(), paths.end());
  const std::vector<std::string> expected = {
      "./usr/bin/nabla",
      "./usr/include/nabla/export.h",
      "./usr/include/nabla/nabla.h",
      "./usr/include/nabla/nabla.hpp",
      "./usr/include/nabla/optim.hpp",
      "./usr/lib/cmake/nabla/nablaConfig.cmake",
      "./usr/lib/cmake/nabla/nablaConfigVersion.cmake",
      "./usr/lib/cmake/nabla/nablaTargets.cmake",
      "./usr/lib/libnabla.so",
      "./usr/lib/libnabla.so.0",
      "./usr/lib/libnabla.so.0.1.0",
      "./usr/lib/pkgconfig/nabla.pc",
      "./usr/share/man/man1/nabla.1",
  };
  // The Python package where Debian's python3 reads the system's packages, when it is built.
  std::vector<std::string> python;
  if (NABLA_PYTHON_MODULE)
    for (const std::string &p : paths)
      if (p.rfind("./usr/lib/python3/dist-packages/nabla/", 0) == 0) python.push_back(p);
  if (NABLA_PYTHON_MODULE) {
    CHECK(python.size() == 6);  // __init__.py, _errors.py, optim.py, _nabla.pyi, py.typed, _nabla*.so
    CHECK(std::count_if(python.begin(), python.end(), [](const std::string &p) {
            return p.find("/_nabla.cpython-") != std::string::npos && p.ends_with(".so");
          }) == 1);
  }
  // The targets file of the build type (nablaTargets-release.cmake, ...) beside those.
  std::vector<std::string> rest;
  for (const std::string &p : paths)
    if (p.rfind("./usr/lib/cmake/nabla/nablaTargets-", 0) != 0 &&
        std::find(python.begin(), python.end(), p) == python.end())
      rest.push_back(p);
  CHECK(rest == expected);
  CHECK(paths.size() == expected.size() + 1 + python.size());
  const std::string info = mustRun("/usr/bin/env", {"dpkg-deb", "-I", deb.string()}).out;
  CHECK(info.find("Package: nabla") != std::string::npos);
  CHECK(info.find("Version: 0.1.0") != std::string::npos);
  INFO("dpkg-deb -I: " << info);
  const std::vector<std::string> depends = linesWith(info, " Depends: ");
  REQUIRE(depends.size() == 1);
  for (const char *package : {"libllvm19", "libstdc++6", "libc6", "libopenblas0"})
    CHECK(depends[0].find(package) != std::string::npos);
}

TEST_CASE("the C API's objective trains from C", "[api][hosts]") {
  const std::string exe = workDir("objective_c") + "/objective_c";
  std::vector<std::string> args;
  std::istringstream flags(kSanitizeFlags);
  for (std::string w; flags >> w;) args.push_back(w);
  args.insert(args.end(), {"-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                           std::string("-I") + kSource + "/include",
                           std::string(kSource) + "/tests/api/objective_c.c", "-lm",
                           "-L" NABLA_LIBRARY_DIR, "-lnabla", "-Wl,-rpath," NABLA_LIBRARY_DIR,
                           "-o", exe});
  mustRun(NABLA_CC, args);
  ProcessResult r = mustRun(exe, {}, 120);
  INFO(r.out << r.err);
  CHECK(r.out == "ok\n");
}

TEST_CASE("the C API's objective trains from Python's ctypes", "[api][hosts]") {
  REQUIRE(std::string(NABLA_PYTHON).find("NOTFOUND") == std::string::npos);  // scripts/setup.sh
  ProcessResult r = runPython({std::string(kSource) + "/tests/api/objective_ctypes.py", NABLA_LIBRARY});
  INFO(r.out << r.err);
  CHECK(r.exitCode == 0);
  CHECK(r.out == "ok\n");
}
