// Embeds nabla in a C++ program: JIT-compiles Rosenbrock's function, prints its value, gradient,
// Hessian and symbolic derivatives at a point, then runs Newton's method with the compiled
// Hessian to the minimum at (1, 1).
#include <nabla/nabla.hpp>

#include <cmath>
#include <cstdio>

int main() {
  const char *text = "f(x, y) = (1 - x)^2 + 100*(y - x^2)^2";
  nabla::Module module;
  try {
    module = nabla::compile(text);
  } catch (const nabla::Error &e) {
    std::fprintf(stderr, "%s", e.what());
    return 1;
  }
  const nabla::Function f = module.function("f");
  std::printf("%s\n", text);

  double x = -1.5, y = 2;
  auto [value, grad] = f.value_and_grad({x, y});
  const std::vector<double> h = f.hessian({x, y});
  std::printf("at (%g, %g):\n", x, y);
  std::printf("  value    %.17g\n", value);
  std::printf("  gradient %.17g %.17g\n", grad[0], grad[1]);
  std::printf("  hessian  %.17g %.17g %.17g %.17g\n", h[0], h[1], h[2], h[3]);
  const std::vector<std::string> text_grad = f.gradient_text();
  for (std::size_t i = 0; i < f.arity(); ++i)
    std::printf("  df/d%s = %s\n", f.arg_names()[i].c_str(), text_grad[i].c_str());

  // Newton's method: solve H step = -grad (2 x 2, by Cramer's rule) until the gradient vanishes.
  int steps = 0;
  for (; steps < 50; ++steps) {
    auto [v, g] = f.value_and_grad({x, y});
    if (std::hypot(g[0], g[1]) < 1e-12) break;
    const std::vector<double> H = f.hessian({x, y});
    const double det = H[0] * H[3] - H[1] * H[2];
    x -= (H[3] * g[0] - H[1] * g[1]) / det;
    y -= (H[0] * g[1] - H[2] * g[0]) / det;
  }
  std::printf("minimum  %.17g %.17g value %.17g after %d Newton steps\n", x, y, f(x, y), steps);

  // Bad text is an exception that carries the compiler's diagnostics.
  try {
    (void)nabla::compile("f(x) = sinh2(x)");
  } catch (const nabla::Error &e) {
    std::printf("error, as expected:\n%s", e.what());
  }
  return 0;
}
