// Helpers for the ahead-of-time tests: a temporary directory, running `nabla compile` and the C
// compilers, loading a library with dlopen, and calling C functions of any arity through
// pointers.
#pragma once

#include "support/files.h"
#include "support/process.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace nabla::aottest {

/// A fresh directory under the system's temporary directory, removed with everything in it.
class TempDir {
public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "nabla-aot-test-XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  std::string operator/(const std::string &name) const { return path_ + "/" + name; }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

using nabla::test::readText;
using nabla::test::writeText;

inline bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

/// Runs the nabla binary with a generous deadline (compiling hundreds of functions takes a while
/// on a loaded machine); `env` entries (`CC=...`) are set through env(1).
inline test::ProcessResult runNablaWith(const std::vector<std::string> &args,
                                 const std::vector<std::string> &env = {}) {
  if (env.empty()) return test::runProcess(NABLA_BINARY, args, {}, 600);
  std::vector<std::string> all = env;
  all.push_back(NABLA_BINARY);
  all.insert(all.end(), args.begin(), args.end());
  return test::runProcess("/usr/bin/env", all, {}, 600);
}

/// Runs a program found on PATH (through env(1), which searches it).
inline test::ProcessResult run(const std::vector<std::string> &command, double deadline = 120) {
  return test::runProcess("/usr/bin/env", command, {}, deadline);
}

/// A shared library opened with dlopen (RTLD_LOCAL: each test's library keeps its own
/// nabla_module_info), closed when this goes.
class Library {
public:
  explicit Library(const std::string &path) : handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    if (!handle_) {
      const char *why = dlerror();
      throw std::runtime_error("dlopen " + path + ": " + (why ? why : "?"));
    }
  }
  ~Library() { dlclose(handle_); }
  Library(const Library &) = delete;
  Library &operator=(const Library &) = delete;

  /// The symbol, or null.
  void *find(const std::string &name) const { return dlsym(handle_, name.c_str()); }
  template <class Fn>
  Fn get(const std::string &name) const {
    void *p = find(name);
    if (!p) throw std::runtime_error("no symbol " + name);
    return reinterpret_cast<Fn>(p);
  }

private:
  void *handle_;
};

/// Calls a C function `R f(double a0, ..., double a{N-1}, Extra...)` at `args` (N = args.size(),
/// at most 16), passing `extra` after the doubles.
template <class R, class... Extra>
R callDoubles(void *fn, const std::vector<double> &args, Extra... extra) {
  auto call = [&]<std::size_t... I>(std::index_sequence<I...>) {
    using Fn = R (*)(decltype(static_cast<double>(I))..., Extra...);
    return reinterpret_cast<Fn>(fn)(args[I]..., extra...);
  };
  switch (args.size()) {
#define NABLA_ARITY(n) \
  case n: return call(std::make_index_sequence<n>{});
    NABLA_ARITY(0) NABLA_ARITY(1) NABLA_ARITY(2) NABLA_ARITY(3) NABLA_ARITY(4) NABLA_ARITY(5)
    NABLA_ARITY(6) NABLA_ARITY(7) NABLA_ARITY(8) NABLA_ARITY(9) NABLA_ARITY(10) NABLA_ARITY(11)
    NABLA_ARITY(12) NABLA_ARITY(13) NABLA_ARITY(14) NABLA_ARITY(15) NABLA_ARITY(16)
#undef NABLA_ARITY
  }
  throw std::logic_error("callDoubles: more than 16 arguments");
}

}  // namespace nabla::aottest
