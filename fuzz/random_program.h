// Random well-formed nabla expressions for the differential fuzzer: a seeded, deterministic
// generator (the same seed gives the same text) over the variables x0..x{vars-1}.
//
// Every built-in of the scalar language appears, each guarded into its domain where it has one
// (log(1 + u^2), asin(0.9*tanh(u)), a / (0.5 + u^2), ...), so that values stay finite for
// arguments in [-2, 2]; the forms the simplifier's stability rules rewrite (log(1 + exp(u)),
// log(sigmoid(u)), log(exp(a) + exp(b))) and vector built-ins over literals are among them, as
// is `d(e, x)` (a derivative inside the expression). Smooth expressions use only differentiable
// ops, so that finite differences apply; the others add abs, relu, min, max, floor, sign, where
// and comparisons.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace nabla::fuzz {

class RandomProgram {
public:
  RandomProgram(std::uint64_t seed, unsigned vars, bool smooth)
      : rng_(seed), vars_(vars < 1 ? 1 : vars), smooth_(smooth) {}

  /// An expression of at most `depth` levels of operations.
  std::string expression(unsigned depth) { return expr(depth); }

private:
  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }

  std::string leaf() {
    static const char *kConsts[] = {"0.5", "2", "1.5", "0.25", "3", "1", "0", "0.1", "7"};
    if (pick(4) == 0) return kConsts[pick(sizeof kConsts / sizeof kConsts[0])];
    return var();
  }
  std::string var() { return "x" + std::to_string(pick(vars_)); }

  static std::string p(const std::string &s) { return "(" + s + ")"; }

  std::string expr(unsigned depth) {
    if (depth == 0 || pick(8) == 0) return leaf();
    const unsigned d = depth - 1;
    const std::size_t kinds = smooth_ ? 34 : 46;
    switch (pick(kinds)) {
    case 0: case 1: return p(expr(d) + " + " + expr(d));
    case 2: case 3: return p(expr(d) + " - " + expr(d));
    case 4: case 5: return p(expr(d) + " * " + expr(d));
    case 6: return p(expr(d) + " / (0.5 + " + p(expr(d)) + "^2)");
    case 7: return "sin" + p(expr(d));
    case 8: return "cos" + p(expr(d));
    case 9: return "tanh" + p(expr(d));
    case 10: return "sigmoid" + p(expr(d));
    case 11: return "softplus" + p(expr(d));
    case 12: return "atan" + p(expr(d));
    case 13: return "exp(-" + p(expr(d)) + "^2)";
    case 14: return "exp(tanh" + p(expr(d)) + ")";
    case 15: return "log(1 + " + p(expr(d)) + "^2)";  // the simplifier makes it log1p
    case 16: return "log1p(" + p(expr(d)) + "^2)";
    case 17: return "sqrt(1 + " + p(expr(d)) + "^2)";
    case 18: return "expm1(tanh" + p(expr(d)) + ")";
    case 19: return "asin(0.9*tanh" + p(expr(d)) + ")";
    case 20: return "acos(0.9*tanh" + p(expr(d)) + ")";
    case 21: return "sinh(tanh" + p(expr(d)) + ")";
    case 22: return "cosh(tanh" + p(expr(d)) + ")";
    case 23: return "tan(tanh" + p(expr(d)) + ")";
    case 24: return "atan2(" + expr(d) + ", 1 + " + p(expr(d)) + "^2)";
    case 25: return p(expr(d)) + "^" + std::to_string(1 + pick(3));  // small integer powers
    case 26: return "(1 + " + p(expr(d)) + "^2)^tanh" + p(expr(d));  // a variable exponent
    case 27: return "log(1 + exp(tanh" + p(expr(d)) + "))";         // -> softplus
    case 28: return "log(sigmoid(tanh" + p(expr(d)) + "))";         // -> -softplus(-u)
    case 29: return "log(exp(tanh" + p(expr(d)) + ") + exp(tanh" + p(expr(d)) + "))";  // -> logaddexp
    case 30: return "logsumexp([tanh" + p(expr(d)) + ", " + expr(d) + "^2, 0.5])";
    case 31: return "mean([" + expr(d) + ", " + expr(d) + "]) + dot([" + expr(d) + ", 2], [0.5, " + expr(d) + "])";
    case 32: return "softmax([" + expr(d) + ", tanh" + p(expr(d)) + ", 1])[" + std::to_string(pick(3)) + "]";
    case 33: return "d(" + expr(d) + " * " + var() + ", " + var() + ")";
    // Not differentiable everywhere.
    case 34: return "abs" + p(expr(d));
    case 35: return "relu" + p(expr(d));
    case 36: return "max(" + expr(d) + ", " + expr(d) + ")";
    case 37: return "min(" + expr(d) + ", " + expr(d) + ")";
    case 38: return "floor" + p(expr(d));
    case 39: return "sign" + p(expr(d));
    case 40: return "where(" + expr(d) + " > " + expr(d) + ", " + expr(d) + ", " + expr(d) + ")";
    case 41: return p(p(expr(d) + " < " + expr(d)) + " * " + expr(d));
    case 42: return "hypot(" + expr(d) + ", " + expr(d) + ")";
    case 43: return "norm([" + expr(d) + ", " + expr(d) + "])";
    case 44: return "where(" + expr(d) + " >= 0 && " + expr(d) + " != 1, " + expr(d) + ", -" + p(expr(d)) + ")";
    default: return "prod([" + expr(d) + ", abs" + p(expr(d)) + ", 0.5])";
    }
  }

  std::mt19937_64 rng_;
  unsigned vars_;
  bool smooth_;
};

}  // namespace nabla::fuzz
