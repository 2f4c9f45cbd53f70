// The seed function f(x, y) = (x^2 + y)^2 * (y - x*y) = u^2 v, u = x^2 + y, v = y - x*y, with its
// derivatives worked out by hand (product and chain rule), in double precision: the independent
// oracle of the command-line and REPL tests.
#pragma once

namespace nabla::test {

struct Seed {
  double x, y;
  double u() const { return x * x + y; }
  double v() const { return y - x * y; }
  double f() const { return u() * u() * v(); }
  double fx() const { return 4 * x * u() * v() - y * u() * u(); }
  double fy() const { return 2 * u() * v() + u() * u() * (1 - x); }
  double fxx() const { return 4 * u() * v() + 4 * x * (2 * x * v() - y * u()) - 4 * x * y * u(); }
  double fxy() const { return 4 * x * (v() + u() * (1 - x)) - u() * u() - 2 * y * u(); }
  double fyy() const { return 2 * (v() + u() * (1 - x)) + 2 * u() * (1 - x); }
};

}  // namespace nabla::test
