// The files `nabla compile`, `nabla graph` and the REPL's `:save` write: each replaces its target
// whole (a host that has the old library loaded goes on running it; a write that fails leaves the
// old file and no temporary one), never through a link planted where a temporary file would go,
// never over a FIFO or a device, and never over the command's own input.
#include "support/files.h"
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

using nabla::test::inodeOf;
using nabla::test::ProcessResult;
using nabla::test::readText;
using nabla::test::ScratchDir;
using nabla::test::writeText;
using nabla::test::runNabla;
using nabla::test::runProcess;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

/// Names in the folder that look like temporary files (and are not links a test planted).
std::vector<std::string> temporaries(const nabla::test::ScratchDir &dir) {
  std::vector<std::string> out;
  for (const std::string &name : dir.names())
    if (name.find(".tmp") != std::string::npos && !fs::is_symlink(fs::symlink_status(dir.file(name))))
      out.push_back(name);
  return out;
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
  ScratchDir dir("cli_files_loaded");
  const std::string model = dir.file("m.nabla"), lib = dir.file("libm.so");
  writeText(model, "sq(x) = x^2\n");
  ProcessResult first = runNabla({"compile", model, "-o", lib});
  INFO(first.err);
  REQUIRE(first.exitCode == 0);
  void *handle = ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  INFO(::dlerror());
  REQUIRE(handle);
  auto sq = reinterpret_cast<double (*)(double)>(::dlsym(handle, "sq"));
  REQUIRE(sq);
  CHECK(sq(3) == 9);
  const ino_t before = inodeOf(lib);

  writeText(model, "sq(x) = x^3\n");
  ProcessResult second = runNabla({"compile", model, "-o", lib, "--header", dir.file("m.h")});
  INFO(second.err);
  REQUIRE(second.exitCode == 0);
  CHECK(inodeOf(lib) != before);
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
  CHECK(temporaries(dir).empty());
}

TEST_CASE("a compile that fails to write leaves the old library and header", "[cli][files]") {
  ScratchDir dir("cli_files_full");
  const std::string model = dir.file("m.nabla"), lib = dir.file("libm.so"), ir = dir.file("m.ll");
  writeText(model, "sq(x) = x^2\n");
  REQUIRE(runNabla({"compile", model, "-o", lib, "--header", dir.file("m.h")}).exitCode == 0);
  REQUIRE(runNabla({"compile", model, "-o", ir, "--emit", "llvm-ir"}).exitCode == 0);
  const std::string oldLib = readText(lib), oldHeader = readText(dir.file("m.h")), oldIr = readText(ir);
  writeText(model, "sq(x) = x^3\n");
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"compile", model, "-o", ir, "--emit", "llvm-ir"},
        {"compile", model, "-o", lib, "--header", dir.file("m.h")}}) {
    ProcessResult r = runWithoutSpace(args);
    INFO(r.err);
    CHECK(r.exitCode == 1);
  }
  CHECK(readText(lib) == oldLib);
  CHECK(readText(dir.file("m.h")) == oldHeader);
  CHECK(readText(ir) == oldIr);
  CHECK(temporaries(dir).empty());
}

TEST_CASE("compile and graph: planted links, FIFOs, devices and their own input", "[cli][files]") {
  ScratchDir dir("cli_files_targets");
  const std::string model = dir.file("m.nabla"), victim = dir.file("victim");
  writeText(model, "sq(x) = x^2\n");
  writeText(victim, "precious");
  for (const char *name : {"libm.so.tmp", ".libm.so.tmp", "m.h.tmp", "g.dot.tmp", "libm.so~"})
    fs::create_symlink(victim, dir.file(name));
  REQUIRE(runNabla({"compile", model, "-o", dir.file("libm.so"), "--header", dir.file("m.h")})
              .exitCode == 0);
  REQUIRE(runNabla({"graph", model, "-o", dir.file("g.dot")}).exitCode == 0);
  CHECK(readText(victim) == "precious");
  CHECK(fs::is_regular_file(fs::symlink_status(dir.file("libm.so"))));
  CHECK(readText(dir.file("g.dot")).rfind("digraph", 0) == 0);

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
  const std::string modelText = readText(model);
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
  CHECK(readText(model) == modelText);
  // A missing folder fails before compiling.
  ProcessResult missing = runNabla({"compile", model, "-o", dir.file("no/libm.so")});
  CHECK(missing.exitCode == 1);
  CHECK_THAT(missing.err, Contains("its folder '" + dir.file("no") + "' does not exist"));
  CHECK(temporaries(dir).empty());
}

TEST_CASE("graph renders through Graphviz in a private folder and leaves nothing behind",
          "[cli][files]") {
  if (runProcess("/bin/sh", {"-c", "command -v dot"}).exitCode != 0) {
    WARN("Graphviz's dot is not installed: the rendering is not tried");
    return;
  }
  ScratchDir dir("cli_files_graphviz");
  fs::create_directory(dir.file("tmp"));
  const std::string svg = dir.file("g.svg");
  writeText(svg, "old");
  const ino_t before = inodeOf(svg);
  ProcessResult r =
      runProcess("/usr/bin/env", {"TMPDIR=" + dir.file("tmp"), NABLA_BINARY, "graph",
                                  "x*y + sin(x)", "--grad", "-o", svg});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(readText(svg).find("<svg") != std::string::npos);
  CHECK(inodeOf(svg) != before);
  CHECK(fs::is_empty(dir.file("tmp")));  // the DOT text and dot's output went with their folder
  CHECK(temporaries(dir).empty());
}

TEST_CASE(":save replaces its file whole and refuses what is not a regular file", "[cli][files]") {
  ScratchDir dir("cli_files_save");
  const std::string saved = dir.file("s.nabla"), victim = dir.file("victim");
  writeText(saved, "old = 1\n");
  writeText(victim, "precious");
  fs::create_symlink(victim, dir.file("s.nabla.tmp"));
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  const ino_t before = inodeOf(saved);
  ProcessResult r = runNabla({"repl"}, "a = 2\n:save " + saved + "\n:save " + dir.file("fifo") +
                                           "\n:save " + dir.file("no/s.nabla") + "\nb = 3\n:save " +
                                           dir.file("t.nabla") + "\n");
  INFO(r.err);
  CHECK(r.exitCode == 0);  // errors do not end a session
  CHECK(readText(saved) == "a = 2\n");
  CHECK(inodeOf(saved) != before);
  CHECK(readText(victim) == "precious");
  CHECK_THAT(r.err, Contains("'" + dir.file("fifo") + "': it is a FIFO"));
  CHECK_THAT(r.err, Contains(dir.file("no/s.nabla")));
  CHECK(fs::is_fifo(dir.file("fifo")));
  CHECK(readText(dir.file("t.nabla")) == "a = 2\nb = 3\n");
  // The file the session was loaded from may be saved over: it is read whole first.
  ProcessResult again = runNabla({"repl", saved}, "c = 4\n:save " + saved + "\n");
  CHECK(again.exitCode == 0);
  CHECK(readText(saved) == "a = 2\nc = 4\n");
  CHECK(temporaries(dir).empty());
}
