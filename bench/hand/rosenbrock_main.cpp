// The hand-written chained Rosenbrock value+gradient (kernels.cpp, run-time n) timed alone, for
// bench/rosenbrock_chain.sh: prints the microseconds of one call at each n given.
//   rosenbrock_hand N [N ...]
#include "kernels.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv) {
  for (int k = 1; k < argc; ++k) {
    const std::size_t n = std::strtoull(argv[k], nullptr, 10);
    std::vector<double> x(n), grad(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = i % 2 ? 1.0 : -1.2;
    const int reps = static_cast<int>(std::max<std::size_t>(10, 200000000 / (n + 1) / 10));
    double sink = 0;
    sink += hand_o3::rosenbrockGrad(x.data(), grad.data(), n);  // warm up
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) sink += hand_o3::rosenbrockGrad(x.data(), grad.data(), n) + grad[r % n];
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("n = %-7zu hand-written C++ (-O3 -march=native)       value+gradient %9.1f us per call (%g)\n",
                n, s / reps * 1e6, sink > 0 ? 0.0 : 1.0);
  }
}
