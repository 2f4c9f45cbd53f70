// The files `nabla compile`, `nabla graph` and the REPL's `:save` write: each replaces its target
// whole (a host that has the old library loaded goes on running it; a write that fails leaves the
// old file and no temporary one), never through a link planted where a temporary file would go,
// never over a FIFO or a device, and never over the command's own input.
#include "support/process.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using nabla::test::ProcessResult;
using nabla::test::runNabla;
using nabla::test::runProcess;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

class Scratch {
public:
  explicit Scratch(const std::string &name)
      : path_(fs::temp_directory_path() /
              ("nabla_cli_files_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string &name) const { return (path_ / name).string(); }
  /// Names in the folder that look like temporary files (and are not links a test planted).
  std::vector<std::string> temporaries() const {
    std::vector<std::string> out;
    for (const auto &e : fs::directory_iterator(path_)) {
      const std::string name = e.path().filename();
      if (name.find(".tmp") != std::string::npos && !fs::is_symlink(e.symlink_status()))
        out.push_back(name);
    }
    return out;
  }

private:
  fs::path path_;
};

void put(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

std::string get(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ino_t inode(const std::string &path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

/// `nabla ARGS` with the file size limit at 0 (a full disk, as write() sees it), through sh.
ProcessResult runWithoutSpace(const std::vector<std::string> &args) {
  std::string command = "trap '' XFSZ; ulimit -f 0; exec '" + std::string(NABLA_BINARY) + "'";
  for (const std::string &a : args) command += " '" + a + "'";
  return runProcess("/bin/sh", {"-c", command});
}

}  // namespace

TEST_CASE("compile replaces a library that a host has loaded, which goes on running",
          "[cli][files]") {
  Scratch dir("loaded");
  const std::string model = dir.file("m.nabla"), lib = dir.file("libm.so");
  put(model, "sq(x) = x^2\n");
  ProcessResult first = runNabla({"compile", model, "-o", lib});
  INFO(first.err);
  REQUIRE(first.exitCode == 0);
  void *handle = ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  INFO(::dlerror());
  REQUIRE(handle);
  auto sq = reinterpret_cast<double (*)(double)>(::dlsym(handle, "sq"));
  REQUIRE(sq);
  CHECK(sq(3) == 9);
  const ino_t before = inode(lib);

  put(model, "sq(x) = x^3\n");
  ProcessResult second = runNabla({"compile", model, "-o", lib, "--header", dir.file("m.h")});
  INFO(second.err);
  REQUIRE(second.exitCode == 0);
  CHECK(inode(lib) != before);
  CHECK(sq(3) == 9);  // the loaded code is the old file's, untouched
  // The new library is the new model (loaded under another name: the loader keeps one per path).
  fs::copy_file(lib, dir.file("libm2.so"));
  void *fresh = ::dlopen(dir.file("libm2.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(fresh);
  auto cube = reinterpret_cast<double (*)(double)>(::dlsym(fresh, "sq"));
  REQUIRE(cube);
  CHECK(cube(3) == 27);
  ::dlclose(fresh);
  ::dlclose(handle);
  CHECK(dir.temporaries().empty());
}

TEST_CASE("a compile that fails to write leaves the old library and header", "[cli][files]") {
  Scratch dir("full");
  const std::string model = dir.file("m.nabla"), lib = dir.file("libm.so"), ir = dir.file("m.ll");
  put(model, "sq(x) = x^2\n");
  REQUIRE(runNabla({"compile", model, "-o", lib, "--header", dir.file("m.h")}).exitCode == 0);
  REQUIRE(runNabla({"compile", model, "-o", ir, "--emit", "llvm-ir"}).exitCode == 0);
  const std::string oldLib = get(lib), oldHeader = get(dir.file("m.h")), oldIr = get(ir);
  put(model, "sq(x) = x^3\n");
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"compile", model, "-o", ir, "--emit", "llvm-ir"},
        {"compile", model, "-o", lib, "--header", dir.file("m.h")}}) {
    ProcessResult r = runWithoutSpace(args);
    INFO(r.err);
    CHECK(r.exitCode == 1);
  }
  CHECK(get(lib) == oldLib);
  CHECK(get(dir.file("m.h")) == oldHeader);
  CHECK(get(ir) == oldIr);
  CHECK(dir.temporaries().empty());
}

TEST_CASE("compile and graph: planted links, FIFOs, devices and their own input", "[cli][files]") {
  Scratch dir("targets");
  const std::string model = dir.file("m.nabla"), victim = dir.file("victim");
  put(model, "sq(x) = x^2\n");
  put(victim, "precious");
  for (const char *name : {"libm.so.tmp", ".libm.so.tmp", "m.h.tmp", "g.dot.tmp", "libm.so~"})
    fs::create_symlink(victim, dir.file(name));
  REQUIRE(runNabla({"compile", model, "-o", dir.file("libm.so"), "--header", dir.file("m.h")})
              .exitCode == 0);
  REQUIRE(runNabla({"graph", model, "-o", dir.file("g.dot")}).exitCode == 0);
  CHECK(get(victim) == "precious");
  CHECK(fs::is_regular_file(fs::symlink_status(dir.file("libm.so"))));
  CHECK(get(dir.file("g.dot")).rfind("digraph", 0) == 0);

  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"compile", model, "-o", dir.file("fifo")},
        {"compile", model, "-o", dir.file("libm.so"), "--header", dir.file("fifo")},
        {"compile", model, "-o", "/dev/null"},
        {"graph", model, "-o", dir.file("fifo")},
        {"graph", model, "-o", "/dev/null"}}) {
    INFO(args.back());
    ProcessResult r = runNabla(args);
    CHECK(r.exitCode == 1);
    CHECK_THAT(r.err, Contains("and nabla replaces only regular files"));
  }
  CHECK(fs::is_fifo(dir.file("fifo")));

  // The input itself, by its name, another spelling or a hard link; and two outputs in one.
  fs::create_hard_link(model, dir.file("hard.nabla"));
  fs::create_directory(dir.file("sub"));
  const std::string modelText = get(model);
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"compile", model, "-o", model},
        {"compile", model, "-o", dir.file("libx.so"), "--header", dir.file("./m.nabla")},
        {"compile", model, "-o", dir.file("hard.nabla"), "--emit", "llvm-ir"},
        {"compile", model, "-o", dir.file("l.so"), "--header", dir.file("sub/../l.so")},
        {"graph", model, "-o", dir.file("hard.nabla")}}) {
    INFO(args[3] << " " << args.back());
    ProcessResult r = runNabla(args);
    CHECK(r.exitCode == 2);
    CHECK_THAT(r.err, Contains("same file"));
  }
  CHECK(get(model) == modelText);
  // A missing folder fails before compiling.
  ProcessResult missing = runNabla({"compile", model, "-o", dir.file("no/libm.so")});
  CHECK(missing.exitCode == 1);
  CHECK_THAT(missing.err, Contains("its folder '" + dir.file("no") + "' does not exist"));
  CHECK(dir.temporaries().empty());
}

TEST_CASE("graph renders through Graphviz in a private folder and leaves nothing behind",
          "[cli][files]") {
  if (runProcess("/bin/sh", {"-c", "command -v dot"}).exitCode != 0) {
    WARN("Graphviz's dot is not installed: the rendering is not tried");
    return;
  }
  Scratch dir("graphviz");
  fs::create_directory(dir.file("tmp"));
  const std::string svg = dir.file("g.svg");
  put(svg, "old");
  const ino_t before = inode(svg);
  ProcessResult r =
      runProcess("/usr/bin/env", {"TMPDIR=" + dir.file("tmp"), NABLA_BINARY, "graph",
                                  "x*y + sin(x)", "--grad", "-o", svg});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(get(svg).find("<svg") != std::string::npos);
  CHECK(inode(svg) != before);
  CHECK(fs::is_empty(dir.file("tmp")));  // the DOT text and dot's output went with their folder
  CHECK(dir.temporaries().empty());
}

TEST_CASE(":save replaces its file whole and refuses what is not a regular file", "[cli][files]") {
  Scratch dir("save");
  const std::string saved = dir.file("s.nabla"), victim = dir.file("victim");
  put(saved, "old = 1\n");
  put(victim, "precious");
  fs::create_symlink(victim, dir.file("s.nabla.tmp"));
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  const ino_t before = inode(saved);
  ProcessResult r = runNabla({"repl"}, "a = 2\n:save " + saved + "\n:save " + dir.file("fifo") +
                                           "\n:save " + dir.file("no/s.nabla") + "\nb = 3\n:save " +
                                           dir.file("t.nabla") + "\n");
  INFO(r.err);
  CHECK(r.exitCode == 0);  // errors do not end a session
  CHECK(get(saved) == "a = 2\n");
  CHECK(inode(saved) != before);
  CHECK(get(victim) == "precious");
  CHECK_THAT(r.err, Contains("'" + dir.file("fifo") + "': it is a FIFO"));
  CHECK_THAT(r.err, Contains(dir.file("no/s.nabla")));
  CHECK(fs::is_fifo(dir.file("fifo")));
  CHECK(get(dir.file("t.nabla")) == "a = 2\nb = 3\n");
  // The file the session was loaded from may be saved over: it is read whole first.
  ProcessResult again = runNabla({"repl", saved}, "c = 4\n:save " + saved + "\n");
  CHECK(again.exitCode == 0);
  CHECK(get(saved) == "a = 2\nc = 4\n");
  CHECK(dir.temporaries().empty());
}
