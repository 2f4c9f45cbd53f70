// `nabla compile` on bad input and bad usage: located diagnostics (exit 1), usage errors
// (exit 2), names that cannot be C symbols, an unwritable output, a missing or failing linker;
// and nothing is written when it fails.
#include "aot_test_util.h"

#include <sys/stat.h>
#include <unistd.h>

using namespace nabla::aottest;
using nabla::test::ProcessResult;

namespace {

bool exists(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

const std::string kSeed = std::string(NABLA_SOURCE_DIR) + "/samples/seed.nabla";

}  // namespace

TEST_CASE("a model with errors gets located diagnostics and no library", "[aot][errors]") {
  TempDir dir;
  writeText(dir / "syntax.nabla", "f(x) = x +\n");
  writeText(dir / "names.nabla", "f(x) = x\ng(y) = sinh2(y)\n");
  ProcessResult r = runNablaWith({"compile", dir / "syntax.nabla", "-o", dir / "libbad.so",
                                  "--header", dir / "bad.h"});
  CHECK(r.exitCode == 1);
  CHECK(contains(r.err, "syntax.nabla:1:11: error: expected expression after '+'"));
  ProcessResult names = runNablaWith({"compile", dir / "names.nabla", "-o", dir / "libbad.so",
                                      "--header", dir / "bad.h"});
  CHECK(names.exitCode == 1);
  CHECK(contains(names.err, "names.nabla:2:8: error: unknown function 'sinh2'"));
  CHECK_FALSE(exists(dir / "libbad.so"));
  CHECK_FALSE(exists(dir / "bad.h"));

  // A missing file, and a program with nothing to export.
  ProcessResult missing =
      runNablaWith({"compile", dir / "missing.nabla", "-o", dir / "libmissing.so"});
  CHECK(missing.exitCode == 1);
  CHECK(contains(missing.err, "cannot read"));
  writeText(dir / "empty.nabla", "v(a) = [a, a]\n");
  ProcessResult empty = runNablaWith({"compile", dir / "empty.nabla", "-o", dir / "libempty.so"});
  CHECK(empty.exitCode == 1);
  CHECK(contains(empty.err, "note: skipping 'v'"));
  CHECK(contains(empty.err, "no scalar function and no objective"));
  CHECK_FALSE(exists(dir / "libempty.so"));
}

TEST_CASE("names that cannot be C symbols are errors at their definitions", "[aot][errors]") {
  TempDir dir;
  writeText(dir / "clash.nabla",
            "f(x) = x^2\n"
            "f_grad(x) = 2*x\n"
            "free(p) = p\n"
            "int(y) = y\n"
            "_g(x) = x\n"
            "erf(x) = x\n"
            "nabla_module_info(t) = t\n"
            "fine(t) = t\n"
            "exit(t) = t\n"
            "system(t) = t\n"
            "fopen(t) = t\n"
            "environ(t) = t\n");
  ProcessResult r = runNablaWith({"compile", dir / "clash.nabla", "-o", dir / "libclash.so"});
  INFO(r.err);
  CHECK(r.exitCode == 1);
  CHECK(contains(r.err, "clash.nabla:2:1: error: 'f_grad' would be exported twice: as the gradient "
                        "of 'f' and as the value of 'f_grad'"));
  CHECK(contains(r.err, "clash.nabla:1:1: note: 'f' is defined here"));
  CHECK(contains(r.err, "clash.nabla:3:1: error: cannot export 'free': 'free' is a function of the "
                        "C library that the compiled code calls"));
  CHECK(contains(r.err, "clash.nabla:4:1: error: cannot export 'int': 'int' is a C or C++ "
                        "keyword"));
  CHECK(contains(r.err, "clash.nabla:5:1: error: cannot export '_g'"));
  CHECK(contains(r.err, "clash.nabla:6:1: error: cannot export 'erf'"));
  CHECK(contains(r.err, "clash.nabla:7:1: error: 'nabla_module_info' would be exported twice"));
  CHECK_FALSE(contains(r.err, "'fine'"));
  // Any name of the C library: a host that loads the library would call the model instead.
  CHECK(contains(r.err, "clash.nabla:9:1: error: cannot export 'exit': 'exit' is a name of the C "
                        "library, which the library would replace in its host"));
  CHECK(contains(r.err, "clash.nabla:10:1: error: cannot export 'system'"));
  CHECK(contains(r.err, "clash.nabla:11:1: error: cannot export 'fopen'"));
  CHECK(contains(r.err, "clash.nabla:12:1: error: cannot export 'environ'"));
  CHECK_FALSE(exists(dir / "libclash.so"));

  // Without the Hessian, f and f_hess no longer clash.
  writeText(dir / "hess.nabla", "f(x) = x^2\nf_hess(x) = 2\n");
  ProcessResult clash = runNablaWith({"compile", dir / "hess.nabla", "-o", dir / "libhess.so"});
  CHECK(clash.exitCode == 1);
  CHECK(contains(clash.err, "'f_hess' would be exported twice"));
  ProcessResult fine =
      runNablaWith({"compile", dir / "hess.nabla", "-o", dir / "libhess.so", "--no-hessian"});
  INFO(fine.err);
  CHECK(fine.exitCode == 0);
}

TEST_CASE("names a host would resolve to its C runtime are errors at their definitions",
          "[aot][errors][names]") {
  TempDir dir;
  // One per line: line k + 1 holds names[k].
  const std::vector<std::string> names = {
      "atexit",            // glibc's libc_nonshared.a, in no shared library's default version
      "at_quick_exit",     "pthread_atfork",
      "stat",              // libc_nonshared.a before glibc 2.33
      "fstat",             "lstat",             "mknod",
      "step",              // only an old version of libc.so.6 has it
      "__libc_start_main", "_init",             "_fini",
      "main",              "end",               // the host program's own
      "sinf",              "lgamma",            "j0",          // libm
      "__udivti3",         "isinfd32",          // libgcc
      "a__b",              // reserved by C++
      "g_",                // its gradient would be g__grad
  };
  std::string text;
  for (const std::string &name : names) text += name + "(x) = x + 1\n";
  text += "atexit_rate(x) = x + 1\n";
  writeText(dir / "runtime.nabla", text);
  ProcessResult r = runNablaWith({"compile", dir / "runtime.nabla", "-o", dir / "librt.so"});
  INFO(r.err);
  CHECK(r.exitCode == 1);
  for (std::size_t k = 0; k < names.size(); ++k) {
    INFO(names[k]);
    CHECK(contains(r.err, "runtime.nabla:" + std::to_string(k + 1) + ":1: error: cannot export '" +
                              names[k] + "': "));
  }
  CHECK(contains(r.err, "runtime.nabla:1:1: error: cannot export 'atexit': 'atexit' is a name of "
                        "the C library, which the library would replace in its host"));
  CHECK(contains(r.err, "runtime.nabla:14:1: error: cannot export 'sinf': 'sinf' is a name of "
                        "the C math library"));
  CHECK(contains(r.err, "runtime.nabla:18:1: error: cannot export 'isinfd32': 'isinfd32' is a "
                        "name of libgcc"));
  CHECK(contains(r.err, "runtime.nabla:19:1: error: cannot export 'a__b': 'a__b' contains '__', "
                        "which C++ reserves for its implementation"));
  CHECK(contains(r.err, "runtime.nabla:20:1: error: cannot export 'g_': its symbol 'g__grad' "
                        "contains '__'"));
  CHECK_FALSE(contains(r.err, "'atexit_rate'"));
  CHECK_FALSE(exists(dir / "librt.so"));
  // --emit obj checks the same names.
  ProcessResult object = runNablaWith(
      {"compile", dir / "runtime.nabla", "-o", dir / "rt.o", "--emit", "obj"});
  CHECK(object.exitCode == 1);
  CHECK(contains(object.err, "cannot export 'atexit'"));

  // A name that only begins like one of them compiles, and the library exports it.
  writeText(dir / "fine.nabla", "atexit_rate(x) = x + 1\nstats(x) = 2*x\n");
  ProcessResult fine = runNablaWith({"compile", dir / "fine.nabla", "-o", dir / "libfine.so"});
  INFO(fine.err);
  REQUIRE(fine.exitCode == 0);
  Library library(dir / "libfine.so");
  CHECK(library.get<double (*)(double)>("atexit_rate")(2.0) == 3.0);
  CHECK(library.get<double (*)(double)>("stats")(2.0) == 4.0);
}

TEST_CASE("an output that cannot be written is an error", "[aot][errors]") {
  TempDir dir;
  ProcessResult r = runNablaWith({"compile", kSeed, "-o", dir / "no/such/dir/libseed.so"});
  CHECK(r.exitCode == 1);
  CHECK(contains(r.err, "cannot write '" + (dir / "no/such/dir/libseed.so") + "'"));
  // The library is written, the header is not: an error, and the header's path is named.
  ProcessResult header = runNablaWith(
      {"compile", kSeed, "-o", dir / "libseed.so", "--header", dir / "missing/seed.h"});
  CHECK(header.exitCode == 1);
  CHECK(contains(header.err, "cannot write '" + (dir / "missing/seed.h") + "'"));
}

TEST_CASE("a missing or failing C compiler driver is an error that says so", "[aot][errors]") {
  TempDir dir;
  ProcessResult missing =
      runNablaWith({"compile", kSeed, "-o", dir / "libseed.so"}, {"CC=/nonexistent"});
  CHECK(missing.exitCode == 1);
  CHECK(contains(missing.err, "the C compiler driver '/nonexistent' (from $CC)"));
  CHECK_FALSE(exists(dir / "libseed.so"));
  ProcessResult notOnPath =
      runNablaWith({"compile", kSeed, "-o", dir / "libseed.so"}, {"CC=no-such-cc-driver"});
  CHECK(notOnPath.exitCode == 1);
  CHECK(contains(notOnPath.err, "'no-such-cc-driver' (from $CC) is not on PATH"));

  // A driver that fails: its own message is shown, with the command that ran.
  writeText(dir / "fakecc", "#!/bin/sh\necho \"fakecc: cannot find -lsomething\" >&2\nexit 3\n");
  REQUIRE(chmod((dir / "fakecc").c_str(), 0755) == 0);
  ProcessResult failing = runNablaWith({"compile", kSeed, "-o", dir / "libseed.so"},
                                       {"CC=" + (dir / "fakecc") + " -m64"});
  INFO(failing.err);
  CHECK(failing.exitCode == 1);
  CHECK(contains(failing.err, "cannot link 'libseed.so'"));
  CHECK(contains(failing.err, "exited with status 3"));
  CHECK(contains(failing.err, "fakecc: cannot find -lsomething"));
  CHECK(contains(failing.err, dir / "fakecc" + " -m64 -shared"));
  CHECK_FALSE(exists(dir / "libseed.so"));

  // --emit needs no linker.
  ProcessResult object = runNablaWith({"compile", kSeed, "-o", dir / "seed.o", "--emit", "obj"},
                                      {"CC=/nonexistent"});
  CHECK(object.exitCode == 0);
}

TEST_CASE("usage errors of nabla compile exit 2", "[aot][errors]") {
  TempDir dir;
  const std::vector<std::vector<std::string>> bad = {
      {"compile", kSeed},                                            // no -o
      {"compile", "-o", dir / "libx.so"},                             // no input
      {"compile", kSeed, "-o", dir / "x", "--emit", "exe"},           // bad --emit
      {"compile", kSeed, "-o", dir / "x", "--emit"},                  // --emit without value
      {"compile", kSeed, "-o", dir / "x", "-O4"},                     // bad level
      {"compile", kSeed, "-o", dir / "x", "-Ofast"},
      {"compile", kSeed, "-o", dir / "x", "--asm"},                   // an option of `ir`
      {"compile", kSeed, "-o", dir / "x", "--header"},
      {"compile", kSeed, "-o", dir / "x", "--header", dir / "x"},    // the same file
  };
  for (const auto &args : bad) {
    ProcessResult r = runNablaWith(args);
    INFO(args.back() << ": " << r.err);
    CHECK(r.exitCode == 2);
    CHECK(contains(r.err, "nabla compile: error:"));
    CHECK(contains(r.err, "run 'nabla compile --help'"));
  }
  ProcessResult help = runNablaWith({"compile", "--help"});
  CHECK(help.exitCode == 0);
  for (const char *part : {"nabla_objective_batch", "--emit obj|asm|llvm-ir", "--header FILE.h",
                           "-O LEVEL", "--fast-math", "--no-hessian", "$CC"})
    CHECK(contains(help.out, part));
  for (const char *level : {"-O0", "-O1", "-O=3", "-O"}) {
    std::vector<std::string> args{"compile", kSeed, "-o", dir / "libseed.so", level};
    if (std::string(level) == "-O") args.push_back("2");
    ProcessResult r = runNablaWith(args);
    INFO(level << ": " << r.err);
    CHECK(r.exitCode == 0);
  }
}

TEST_CASE("nabla compile takes the array level for a large objective, and says when it cannot",
          "[aot][errors]") {
  TempDir dir;
  const std::string digits = std::string(NABLA_SOURCE_DIR) + "/samples/mlp_digits.nabla";
  // 2,410 params: the Hessian would be beyond the node limit, so the array level takes it.
  ProcessResult r = runNablaWith({"compile", digits, "-o", dir / "libdigits.so", "--header",
                                  dir / "digits.h"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(contains(r.err, "runs at the array level"));
  CHECK(contains(r.err, "no nabla_objective_hess"));
  const std::string header = readText(dir / "digits.h");
  CHECK(contains(header, "libopenblas.so.0"));
  CHECK(contains(header, "nabla_objective_batch_sums"));
  CHECK_FALSE(contains(header, "nabla_objective_hess"));
  CHECK(contains(header, "nabla_objective_hvp"));  // the array level's forward mode
  CHECK_FALSE(contains(r.err, "nabla_objective_hvp"));
  {
    Library lib(dir / "libdigits.so");
    CHECK(lib.find("nabla_objective_hvp") != nullptr);
    const std::string info = lib.get<const char *(*)()>("nabla_module_info")();
    CHECK(contains(info, "\"libraries\":[\"libopenblas.so.0\"]"));
    CHECK(contains(info, "\"level\":\"array\""));
    CHECK(contains(info, "\"num_params\":2410"));
    CHECK(lib.find("nabla_objective_hess") == nullptr);
    // Only the entry points are exported: none of the kernels or loops inside.
    CHECK(lib.find("nabla_rt_matmul") == nullptr);
    CHECK(lib.find("run") == nullptr);
  }
  // --no-hvp leaves it out at the array level too.
  r = runNablaWith({"compile", digits, "-o", dir / "libnohvp.so", "--no-hvp", "--header",
                    dir / "nohvp.h"});
  REQUIRE(r.exitCode == 0);
  CHECK_FALSE(contains(readText(dir / "nohvp.h"), "nabla_objective_hvp"));
  {
    Library lib(dir / "libnohvp.so");
    CHECK(lib.find("nabla_objective_hvp") == nullptr);
    CHECK_FALSE(contains(lib.get<const char *(*)()>("nabla_module_info")(), "nabla_objective_hvp"));
  }
  // --level scalar keeps the scalar level, whose Hessian is beyond the limit.
  r = runNablaWith({"compile", digits, "-o", dir / "libscalar.so", "--level", "scalar"});
  CHECK(r.exitCode == 1);
  CHECK(contains(r.err, "more than the limit"));
  CHECK_FALSE(exists(dir / "libscalar.so"));
  // A small program's library stays at the scalar level and needs no BLAS.
  r = runNablaWith({"compile", kSeed, "-o", dir / "libseed.so"});
  REQUIRE(r.exitCode == 0);
  {
    Library lib(dir / "libseed.so");
    CHECK(contains(lib.get<const char *(*)()>("nabla_module_info")(), "\"libraries\":[]"));
  }
  // --level array where the array level cannot: the reason, at the objective.
  writeText(dir / "prod.nabla", "param w[3]\nminimize prod(w)\n");
  r = runNablaWith({"compile", dir / "prod.nabla", "-o", dir / "libprod.so", "--level", "array"});
  CHECK(r.exitCode == 1);
  CHECK(contains(r.err, "prod.nabla:2:1: error: the objective cannot run at the array level"));
  CHECK_FALSE(exists(dir / "libprod.so"));
  r = runNablaWith({"compile", digits, "-o", dir / "digits.o", "--level", "array", "--emit", "obj"});
  CHECK(r.exitCode == 1);
  CHECK(contains(r.err, "--emit writes LLVM's object alone"));
  r = runNablaWith({"compile", digits, "-o", dir / "x.so", "--level", "vector"});
  CHECK(r.exitCode == 2);
  CHECK(contains(r.err, "unknown --level 'vector' (auto, scalar or array)"));
}
