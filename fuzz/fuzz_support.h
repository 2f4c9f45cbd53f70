// What the fuzz targets share: limits small enough that one input costs milliseconds (hitting them
// is a clean error, which is tested too), and a check that stops the process loudly, so that
// libFuzzer and the corpus replay both report a broken property as a crash with its input.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace nabla::fuzz {

/// The limits of a fuzzed compile: inputs are at most a few KiB, so these still admit every shape
/// of program while keeping each run cheap; a program beyond them gets its limit error.
inline constexpr std::size_t kMaxSourceBytes = std::size_t{1} << 16;
inline constexpr unsigned kMaxNesting = 64;
inline constexpr std::size_t kMaxNodes = std::size_t{1} << 15;
inline constexpr std::size_t kMaxArray = std::size_t{1} << 10;

/// Arguments beyond this many per function are not evaluated (the gradient is still built).
inline constexpr std::size_t kMaxEvaluatedArgs = 64;
/// Hessians are built for at most this many variables.
inline constexpr std::size_t kMaxHessianVars = 8;

[[noreturn]] inline void failed(const char *what, const char *file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz property broken: %s\n", file, line, what);
  std::abort();
}

}  // namespace nabla::fuzz

/// A property of the code under test; a broken one aborts (libFuzzer saves the input).
#define NABLA_FUZZ_CHECK(cond)                                                                     \
  do {                                                                                             \
    if (!(cond)) ::nabla::fuzz::failed(#cond, __FILE__, __LINE__);                                 \
  } while (false)
