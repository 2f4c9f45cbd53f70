// The cost of second derivatives at the array level against the gradient's: for each model file
// given (an objective without inputs, such as bench/large/*.nabla at some n), the median time of
// the value and gradient, of one Hessian-vector product (forward mode over the gradient's
// graph), of the Hessian's structural pattern (once), and of the sparse Hessian (one product per
// colour of a star colouring), and the peak memory.
//
//   nabla_bench_hvp [--reps K] FILE.nabla ...      (bench/hvp.sh writes the files for n = 10^3..10^6)
#include "driver/driver.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

template <class F>
double median(int reps, F &&f) {
  std::vector<double> t;
  for (int k = 0; k < reps; ++k) {
    const Clock::time_point a = Clock::now();
    f();
    t.push_back(seconds(a, Clock::now()));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double peakMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char **argv) {
  int reps = 21;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = std::atoi(argv[++i]);
    else files.push_back(argv[i]);
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: nabla_bench_hvp [--reps K] FILE.nabla ...\n");
    return 2;
  }
  std::printf("%-28s %9s %12s %12s %7s %12s %8s %12s %10s\n", "model", "n", "grad (us)", "hvp (us)",
              "ratio", "pattern (ms)", "colours", "sparse (us)", "peak MiB");
  for (const std::string &file : files) {
    nabla::driver::Options options;
    options.deferBodies = true;
    options.limits.maxArray = std::size_t{1} << 26;
    nabla::driver::Program program = nabla::driver::Program::load(
        nabla::driver::readFile(file, options.limits), options);
    std::string why;
    std::optional<nabla::driver::ArrayCode> code =
        nabla::driver::compileArrays(program, 1, &why);
    if (!code) {
      std::fprintf(stderr, "%s: the array level cannot take it: %s\n", file.c_str(), why.c_str());
      return 1;
    }
    const std::size_t n = code->paramCount();
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> uniform(-1, 1);
    std::vector<double> x(n), v(n), g(n), hv(n);
    for (double &e : x) e = uniform(rng);
    for (double &e : v) e = uniform(rng);
    nabla::driver::ArrayRows rows;
    rows.count = 1;
    code->objective(x, rows, g);  // first calls: buffers, the fused loops
    code->hvp(x, v, rows, hv);
    const double grad = median(reps, [&] { code->objective(x, rows, g); });
    const double prod = median(reps, [&] { code->hvp(x, v, rows, hv); });
    const std::string name = file.substr(file.find_last_of('/') + 1);
    // One row; the pattern's columns as text, "-" where the pattern meets its limit.
    auto row = [&](const std::string &pattern, const std::string &colours,
                   const std::string &sparse, const std::string &note) {
      std::printf("%-28s %9zu %12.1f %12.1f %7.2f %12s %8s %12s %10.1f%s\n", name.c_str(), n,
                  grad * 1e6, prod * 1e6, prod / grad, pattern.c_str(), colours.c_str(),
                  sparse.c_str(), peakMiB(), note.c_str());
      std::fflush(stdout);
    };
    auto fixed = [](double v) {
      char text[32];
      std::snprintf(text, sizeof text, "%.1f", v);
      return std::string(text);
    };
    const Clock::time_point p0 = Clock::now();
    std::size_t nonzeros = 0, colours = 0;
    try {
      nonzeros = code->hessianPattern().nonzeros();
      colours = code->hessianColours();
    } catch (const nabla::driver::Error &e) {
      // A dense Hessian (a matrix product of two params) meets the pattern's limit: the
      // products are still measured.
      row("-", "-", "-", std::string("  (pattern: ") + e.what() + ")");
      continue;
    }
    const double pattern = seconds(p0, Clock::now());
    std::vector<double> values(nonzeros);
    code->sparseHessian(x, rows, values);
    const double sparse = median(std::max(3, reps / 4), [&] { code->sparseHessian(x, rows, values); });
    row(fixed(pattern * 1e3), std::to_string(colours), fixed(sparse * 1e6), "");
  }
  return 0;
}
