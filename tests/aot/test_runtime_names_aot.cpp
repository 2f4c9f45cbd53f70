// Exported names that a host would resolve to something else than the library: every name that
// the machine's C runtime defines (the shared libraries with all their symbol versions, and the
// static archives that every host links) is refused, read here with nm, independently of how
// nabla reads them; the built-in floor holds the static archives' names for machines without them.
#include "aot_test_util.h"

#include "jit/aot.h"

#include <cctype>
#include <set>

using namespace nabla::aottest;
using nabla::jit::RuntimeNames;

namespace {

bool isCIdentifier(const std::string &name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_') return false;
  return true;
}

/// The path of `file` as the C compiler driver finds it, or empty when it has none.
std::string driverFile(const std::string &file) {
  nabla::test::ProcessResult r = run({"cc", "-print-file-name=" + file});
  std::string path = r.out.substr(0, r.out.find('\n'));
  return r.exitCode == 0 && path.find('/') != std::string::npos &&
                 std::filesystem::exists(path)
             ? path
             : std::string();
}

/// The defined global names of an archive or (with `dynamic`) of a shared library's dynamic
/// symbol table, every version, as nm lists them; those that are C identifiers and not reserved.
std::set<std::string> definedNames(const std::string &path, bool dynamic) {
  std::vector<std::string> command{"nm", "--defined-only", "--format=posix", "-g"};
  if (dynamic) command.push_back("-D");
  command.push_back(path);
  nabla::test::ProcessResult r = run(command);
  INFO(path << ": " << r.err);
  REQUIRE(r.exitCode == 0);
  std::set<std::string> names;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::string name = line.substr(0, line.find(' '));
    name = name.substr(0, name.find('@'));  // name@VERSION, name@@VERSION
    if (isCIdentifier(name) && name[0] != '_') names.insert(name);
  }
  return names;
}

nabla::jit::AotModule moduleOf(const std::vector<std::string> &names) {
  nabla::jit::AotModule module;
  module.name = "names";
  std::uint32_t at = 0;
  for (const std::string &name : names) {
    nabla::jit::AotFunction f;
    f.name = name;
    f.range = nabla::SourceRange::of(at, at + static_cast<std::uint32_t>(name.size()));
    at += static_cast<std::uint32_t>(name.size()) + 1;
    module.functions.push_back(std::move(f));
  }
  return module;
}

}  // namespace

TEST_CASE("the built-in floor refuses the names of the static parts of the runtime",
          "[aot][names]") {
  const RuntimeNames floor = RuntimeNames::builtIn();
  // glibc's libc_nonshared.a (stat and mknod before 2.33), libm in its three precisions,
  // libgcc.a, and the C library's most dangerous functions.
  for (const char *name : {"atexit", "at_quick_exit", "pthread_atfork", "stat", "fstat", "lstat",
                           "mknod", "fstatat", "mknodat", "stat64", "erf", "erff", "erfl", "sinf",
                           "cosl", "lgamma", "isinfd32", "isinfd128", "exit", "system", "fopen",
                           "execve", "dlopen", "environ", "errno"}) {
    INFO(name);
    CHECK(floor.owner(name) != nullptr);
  }
  for (const char *name : {"loss", "model", "sq", "atexit_rate", "erf2", "f"}) {
    INFO(name);
    CHECK(floor.owner(name) == nullptr);
  }
  CHECK(std::string(floor.owner("atexit")) == "the C library");
  CHECK(std::string(floor.owner("erf")) == "the C math library");
  CHECK(std::string(floor.owner("isinfd64")) == "libgcc");
}

TEST_CASE("every name of this machine's static runtime archives is in the built-in floor",
          "[aot][names]") {
  const RuntimeNames floor = RuntimeNames::builtIn();
  bool any = false;
  for (const char *archive : {"libc_nonshared.a", "libgcc.a", "libgcc_eh.a"}) {
    const std::string path = driverFile(archive);
    if (path.empty()) continue;
    any = true;
    for (const std::string &name : definedNames(path, false)) {
      INFO(path << ": " << name);
      CHECK(floor.owner(name) != nullptr);
    }
  }
  if (!any) WARN("no static runtime archive found by cc -print-file-name: nothing compared");
}

TEST_CASE("every name of this machine's shared runtime is refused, in every symbol version",
          "[aot][names]") {
  const RuntimeNames runtime = RuntimeNames::ofThisMachine();
  CHECK(runtime.size() > RuntimeNames::builtIn().size());
  std::vector<std::string> all;
  for (const char *library :
       {"libc.so.6", "libm.so.6", "libgcc_s.so.1", "libstdc++.so.6", "libc_nonshared.a"}) {
    const std::string path = driverFile(library);
    if (path.empty()) {
      WARN("cc -print-file-name finds no " << library);
      continue;
    }
    for (const std::string &name : definedNames(path, path.find(".so") != std::string::npos)) {
      INFO(path << ": " << name);
      CHECK(runtime.owner(name) != nullptr);
      all.push_back(name);
    }
  }
  // Names that only an older version of a symbol has (a host linked against that release still
  // asks for it) are there too.
  for (const char *name : {"atexit", "pthread_atfork", "exit", "system", "sinf", "step", "pow10"}) {
    INFO(name);
    CHECK(runtime.owner(name) != nullptr);
  }

  // And the check refuses each of them as a function's name, at that name.
  const std::vector<nabla::jit::AotNameProblem> problems =
      nabla::jit::checkExportedNames(moduleOf(all), runtime);
  std::set<std::string> refused;
  for (const auto &p : problems) refused.insert(p.function);
  for (const std::string &name : all) {
    INFO(name);
    CHECK(refused.count(name) == 1);
  }
}

TEST_CASE("a function whose gradient or Hessian symbol is reserved cannot be exported",
          "[aot][names]") {
  nabla::jit::AotModule module = moduleOf({"g_", "h_", "fine"});
  module.functions[1].d.hessian.assign(1, {nabla::NodeId{}});  // h_hess is fine, h__grad is not
  const auto problems = nabla::jit::checkExportedNames(module, RuntimeNames::builtIn());
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].message ==
        "cannot export 'g_': its symbol 'g__grad' contains '__', which C++ reserves for its "
        "implementation");
  CHECK(problems[0].range.begin == 0);
  CHECK(problems[1].function == "h_");
  CHECK_FALSE(nabla::jit::isSafeParameterName("a__b"));
  CHECK(nabla::jit::isSafeParameterName("a_b"));
}
