// The differential fuzzer: random well-formed expressions (random_program.h) evaluated five ways
// that must agree. For each expression and each random point in [-2, 2]^n:
//
//   simplify   the simplified value, gradient and Hessian against the unsimplified ones
//              (interpreter), within their error bounds: the rules never change a value;
//   baseline   nabla's baseline machine code against the interpreter, bit for bit (docs/jit.md);
//   llvm       LLVM's -O2 code against the interpreter, within the error bound;
//   fd         the gradient against central differences of the value, and the Hessian against
//              central differences of the gradient (smooth expressions only), within the
//              truncation error estimated from two step sizes plus the rounding error.
//
// The tolerance is scaled to the expression's conditioning: a running error analysis over the
// DAG bounds each node's rounding error to first order, e = u*|v| + sum |d op/d arg| * e_arg
// (u: half an ulp for + - * / sqrt, a few ulps for the math library), and two results agree when
// they differ by at most kSlack times the sum of their bounds. A point where a comparison, a kink
// (abs, relu, max, min, sign, floor) or a branch lies within the error bound of its arguments is
// ill-conditioned: it is skipped and counted.
//
//   differential [--seed S] [--count N] [--depth D] [--vars V] [--points P] [--verbose]
//
// NABLA_DIFFERENTIAL_SEED and NABLA_DIFFERENTIAL_COUNT set the defaults of --seed and --count
// (for longer runs through ctest). Exit status 0: all agree; 1: a disagreement (each printed with
// its expression, point and tolerance); 2: bad usage.
#include "random_program.h"

#include "graph/interp.h"
#include "jit/compiled_function.h"
#include "pipeline.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace nabla;

constexpr double kUnit = 0x1p-53;  // half an ulp of 1
constexpr double kSlack = 4;       // margin over the first-order error bounds
constexpr double kFdSlack = 8;

struct Settings {
  std::uint64_t seed = 1;
  std::uint64_t count = 300;
  unsigned depth = 6;
  unsigned vars = 3;
  unsigned points = 3;
  bool verbose = false;
};

/// A value with a bound on its rounding error, and whether some discontinuity at this point is
/// closer than the error bounds can resolve.
struct Evaluated {
  std::vector<double> value, error;
  bool uncertain = false;
};

/// The magnitudes of the partial derivatives of one op at its arguments (an oracle of its own,
/// independent of diff/partials.cpp), and its rounding error in units of kUnit*|value|.
struct Local {
  double slope[3] = {0, 0, 0};
  double ulps = 1;
};

Local localOf(Op op, double a, double b, double c, double v) {
  Local l;
  auto one = [&](double s, double ulps) {
    l.slope[0] = std::fabs(s);
    l.ulps = ulps;
  };
  switch (op) {
  case Op::Const:
  case Op::Var: l.ulps = 0; break;
  case Op::Neg: one(1, 0); break;
  case Op::Not: one(0, 0); break;
  case Op::Exp: one(v, 2); break;
  case Op::Log: one(1 / a, 2); break;
  case Op::Sqrt: one(0.5 / v, 1); break;
  case Op::Sin: one(std::cos(a), 2); break;
  case Op::Cos: one(std::sin(a), 2); break;
  case Op::Tan: one(1 + v * v, 2); break;
  case Op::Asin:
  case Op::Acos: one(1 / std::sqrt(1 - a * a), 2); break;
  case Op::Atan: one(1 / (1 + a * a), 2); break;
  case Op::Sinh: one(std::cosh(a), 2); break;
  case Op::Cosh: one(std::sinh(a), 2); break;
  case Op::Tanh: one(1 - v * v, 2); break;
  case Op::Sigmoid: one(v * (1 - v), 6); break;
  case Op::Softplus: one(1 / (1 + std::exp(-a)), 6); break;
  case Op::Relu: one(a > 0 ? 1 : 0, 0); break;
  case Op::Log1p: one(1 / (1 + a), 2); break;
  case Op::Expm1: one(std::exp(a), 2); break;
  case Op::Abs: one(1, 0); break;
  case Op::Sign:
  case Op::Floor: one(0, 0); break;
  case Op::Add:
  case Op::Sub: l.slope[0] = l.slope[1] = 1; break;
  case Op::Mul: l.slope[0] = std::fabs(b), l.slope[1] = std::fabs(a); break;
  case Op::Div: l.slope[0] = std::fabs(1 / b), l.slope[1] = std::fabs(a / (b * b)); break;
  case Op::Pow:
    l.slope[0] = b == 0 ? 0 : std::fabs(b * std::pow(a, b - 1));
    l.slope[1] = a > 0 ? std::fabs(std::log(a) * v) : 0;
    l.ulps = 2;
    break;
  case Op::Min: l.slope[(std::isnan(a) || a <= b) ? 0 : 1] = 1, l.ulps = 0; break;
  case Op::Max: l.slope[(std::isnan(a) || a >= b) ? 0 : 1] = 1, l.ulps = 0; break;
  case Op::Atan2: {
    const double r = a * a + b * b;
    l.slope[0] = std::fabs(b / r), l.slope[1] = std::fabs(a / r), l.ulps = 2;
    break;
  }
  case Op::Hypot: l.slope[0] = std::fabs(a / v), l.slope[1] = std::fabs(b / v), l.ulps = 1; break;
  case Op::LogAddExp: {
    const double wa = std::exp(a - v), wb = std::exp(b - v);
    l.slope[0] = wa, l.slope[1] = wb, l.ulps = 6;
    break;
  }
  case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: case Op::Eq: case Op::Ne:
  case Op::And: case Op::Or: l.ulps = 0; break;
  case Op::Where: l.slope[a != 0 ? 1 : 2] = 1, l.ulps = 0; (void)c; break;
  case Op::Fma: case Op::Fms: case Op::Fnma:
    l.slope[0] = std::fabs(b), l.slope[1] = std::fabs(a), l.slope[2] = 1, l.ulps = 0.5;
    break;
  }
  return l;
}

/// The distance from a discontinuity of the op (of its value or of its derivative) in units of
/// the arguments' error, small when the op's branch at this point is not certain.
bool nearDiscontinuity(Op op, double a, double b, double ea, double eb) {
  // An exact tie (error 0) is decided the same way by every evaluation: not uncertain.
  auto close = [](double margin, double error) {
    return error > 0 && std::fabs(margin) <= kSlack * error;
  };
  switch (op) {
  case Op::Abs: case Op::Relu: case Op::Sign: case Op::Not: return close(a, ea);
  case Op::Floor: return close(a - std::round(a), ea);
  case Op::Min: case Op::Max:
  case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: case Op::Eq: case Op::Ne:
    return close(a - b, ea + eb);
  case Op::And: case Op::Or: return close(a, ea) || close(b, eb);
  case Op::Where: return close(a, ea);
  case Op::Hypot: return close(a, ea) && close(b, eb);
  case Op::Sqrt: return close(a, ea);
  default: return false;
  }
}

/// The interpreter's arithmetic (evalNode) with the running error analysis beside it.
Evaluated evaluateWithError(const Graph &graph, const std::vector<NodeId> &roots,
                            const std::vector<double> &symbols) {
  Evaluated out;
  std::vector<NodeId> order = graph.reachable(roots);
  std::vector<double> v(order.empty() ? 0 : order.back().index + 1), e(v.size());
  for (NodeId id : order) {
    const Node &n = graph[id];
    double a = 0, b = 0, c = 0, ea = 0, eb = 0, ec = 0;
    if (n.args[0].valid()) a = v[n.args[0].index], ea = e[n.args[0].index];
    if (n.args[1].valid()) b = v[n.args[1].index], eb = e[n.args[1].index];
    if (n.args[2].valid()) c = v[n.args[2].index], ec = e[n.args[2].index];
    // The interpreter's value (a fused multiply-add where it fuses); the error model below is
    // that of the unfused operation, an upper bound for the fused one, which rounds once less.
    double value = n.op == Op::Const ? n.value : n.op == Op::Var ? symbols[n.symbol] : evalNode(graph, id, v.data());
    Local l = localOf(n.op, a, b, c, value);
    double err = l.ulps * kUnit * std::fabs(value) + l.slope[0] * ea + l.slope[1] * eb + l.slope[2] * ec;
    if (std::isnan(err)) err = std::numeric_limits<double>::infinity();
    if (nearDiscontinuity(n.op, a, b, ea, eb)) out.uncertain = true;
    v[id.index] = value;
    e[id.index] = err;
  }
  for (NodeId r : roots) {
    out.value.push_back(v[r.index]);
    out.error.push_back(e[r.index]);
  }
  return out;
}

bool sameBits(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

/// Whether `b` (error bound eb) agrees with the reference `a` (bound ea). A reference that is not
/// finite or whose bound is not finite says nothing (simplification may make an overflowing
/// form finite).
bool agrees(double a, double ea, double b, double eb) {
  if (sameBits(a, b)) return true;
  if (!std::isfinite(a) || !std::isfinite(ea) || !std::isfinite(eb)) return true;
  if (!std::isfinite(b)) return false;
  return std::fabs(a - b) <= kSlack * (ea + eb);
}

struct Stats {
  std::uint64_t expressions = 0, smooth = 0, points = 0, uncertain = 0, comparisons = 0;
  std::uint64_t fdUnreliable = 0, failures = 0;
};

std::string pointText(const std::vector<std::string> &names, const std::vector<double> &x) {
  std::string s;
  char buf[64];
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%s=%.17g", i ? "," : "", names[i].c_str(), x[i]);
    s += buf;
  }
  return s;
}

class Checker {
public:
  Checker(const Settings &settings, Stats &stats) : settings_(settings), stats_(stats) {
    jit::SessionOptions baseline;
    baseline.optimizeInBackground = false;  // the first tier only: nabla's baseline code
    baseline_.emplace(baseline);
    jit::SessionOptions llvm;
    llvm.tiered = false;  // LLVM at -O2 in the calling thread
    llvm_.emplace(llvm);
  }

  void run(std::uint64_t index) {
    std::uint64_t seed = settings_.seed * 0x9E3779B97F4A7C15ull + index;
    std::mt19937_64 rng(seed);
    const bool smooth = index % 2 == 0;
    const unsigned depth = 2 + static_cast<unsigned>(rng() % std::max(1u, settings_.depth - 1));
    fuzz::RandomProgram gen(rng(), settings_.vars, smooth);
    text_ = gen.expression(depth);
    ++stats_.expressions;
    if (smooth) ++stats_.smooth;
    if (settings_.verbose) std::printf("%llu: %s\n", static_cast<unsigned long long>(index), text_.c_str());

    SourceBuffer buffer("<random>", text_);
    DiagnosticSink sink(buffer);
    CompileOptions options;
    options.parse.allowBareExpression = true;
    std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
    if (!program || !program->bare || program->bare->result.elems.size() != 1) {
      fail("compile", renderDiagnostics(sink));
      return;
    }
    Graph &graph = program->graph;
    std::vector<NodeId> vars;
    std::vector<SymbolId> args;
    names_.clear();
    for (const VarGroup &g : program->bare->args) {
      vars.push_back(g.nodes.at(0));
      args.push_back(g.symbols.at(0));
      names_.push_back(g.name);
    }
    const std::size_t n = vars.size();
    const bool withHessian = n <= 4;
    CompileOptions plain = options;
    plain.simplify = false;
    const NodeId value = program->bare->result.elems[0];
    Derivatives u = differentiate(graph, value, vars, withHessian, plain);
    Derivatives s = differentiate(graph, value, vars, withHessian, options);
    const std::vector<NodeId> rootsU = rootsOf(u), rootsS = rootsOf(s);

    jit::CompiledFunction base = jit::compileFunction(*baseline_, graph, "f", args, s);
    jit::CompiledFunction opt = jit::compileFunction(*llvm_, graph, "f", args, s);

    std::uniform_real_distribution<double> coordinate(-2, 2);
    for (unsigned p = 0; p < settings_.points; ++p) {
      std::vector<double> x(n);
      for (double &xi : x) xi = coordinate(rng);
      x_ = x;
      std::vector<double> symbols(graph.symbolCount(), 0.0);
      for (std::size_t i = 0; i < n; ++i) symbols[args[i]] = x[i];
      ++stats_.points;
      Evaluated eu = evaluateWithError(graph, rootsU, symbols);
      Evaluated es = evaluateWithError(graph, rootsS, symbols);
      if (eu.uncertain || es.uncertain) {
        ++stats_.uncertain;
        continue;
      }
      // simplify: the same layout (value, gradient, Hessian) on both sides.
      for (std::size_t k = 0; k < rootsU.size(); ++k)
        compare("simplify", rootName(k, n), eu.value[k], eu.error[k], es.value[k], es.error[k]);

      std::vector<double> jb = compiled(base, x, withHessian), jo = compiled(opt, x, withHessian);
      for (std::size_t k = 0; k < rootsS.size(); ++k) {
        ++stats_.comparisons;
        if (!sameBits(jb[k], es.value[k]))
          fail("baseline", rootName(k, n) + ": baseline code " + number(jb[k]) + ", interpreter " +
                               number(es.value[k]));
        compare("llvm", rootName(k, n), es.value[k], es.error[k], jo[k], es.error[k]);
      }
      if (smooth) finiteDifferences(graph, value, s, args, symbols, es, withHessian);
    }
  }

private:
  static std::vector<NodeId> rootsOf(const Derivatives &d) {
    std::vector<NodeId> roots{d.value};
    roots.insert(roots.end(), d.grad.begin(), d.grad.end());
    for (const auto &row : d.hessian) roots.insert(roots.end(), row.begin(), row.end());
    return roots;
  }

  std::string rootName(std::size_t k, std::size_t n) const {
    if (k == 0) return "f";
    if (k <= n) return "df/d" + names_[k - 1];
    const std::size_t i = (k - 1 - n) / n, j = (k - 1 - n) % n;
    return "d2f/d" + names_[i] + "d" + names_[j];
  }

  static std::vector<double> compiled(const jit::CompiledFunction &f, const std::vector<double> &x,
                                      bool withHessian) {
    auto [value, grad] = f.valueAndGrad(x);
    std::vector<double> out{value};
    out.insert(out.end(), grad.begin(), grad.end());
    if (withHessian && !x.empty()) {
      std::vector<double> h = f.hessian(x);
      out.insert(out.end(), h.begin(), h.end());
    }
    return out;
  }

  static std::string number(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }

  void compare(const char *check, const std::string &what, double a, double ea, double b, double eb) {
    ++stats_.comparisons;
    if (agrees(a, ea, b, eb)) return;
    fail(check, what + ": " + number(b) + " against " + number(a) + ", difference " +
                    number(std::fabs(a - b)) + ", tolerance " + number(kSlack * (ea + eb)));
  }

  /// Central differences at steps h and 2h of `fn` (evaluated by the interpreter with error
  /// bounds) along coordinate i, against the analytic derivative `g` with bound `eg`.
  void compareDifference(const char *what, const Graph &graph, NodeId fn, std::size_t i,
                         const std::vector<SymbolId> &args, std::vector<double> symbols, double g,
                         double eg) {
    const double h = 1e-4 * std::max(1.0, std::fabs(symbols[args[i]]));
    const double x0 = symbols[args[i]];
    double f[4], e[4];
    const double steps[4] = {h, -h, 2 * h, -2 * h};
    for (int k = 0; k < 4; ++k) {
      symbols[args[i]] = x0 + steps[k];
      Evaluated r = evaluateWithError(graph, {fn}, symbols);
      if (r.uncertain) return;  // a discontinuity within the steps
      f[k] = r.value[0];
      e[k] = r.error[0];
    }
    const double d1 = (f[0] - f[1]) / (2 * h), d2 = (f[2] - f[3]) / (4 * h);
    const double rounding = (e[0] + e[1]) / (2 * h) + (e[2] + e[3]) / (4 * h);
    const double truncation = std::fabs(d2 - d1) / 3;
    if (!std::isfinite(d1) || !std::isfinite(d2) || !std::isfinite(g) ||
        truncation > 1e-3 * (std::fabs(d1) + 1)) {
      ++stats_.fdUnreliable;  // the steps are not small against the function's scale here
      return;
    }
    ++stats_.comparisons;
    const double tolerance = kFdSlack * (truncation + rounding + eg) + 1e-9 * std::fabs(g);
    if (std::fabs(g - d1) <= tolerance) return;
    fail("fd", std::string(what) + " along " + names_[i] + ": analytic " + number(g) +
                   ", central difference " + number(d1) + " (2h: " + number(d2) + "), tolerance " +
                   number(tolerance));
  }

  void finiteDifferences(const Graph &graph, NodeId value, const Derivatives &s,
                         const std::vector<SymbolId> &args, const std::vector<double> &symbols,
                         const Evaluated &es, bool withHessian) {
    const std::size_t n = args.size();
    for (std::size_t i = 0; i < n; ++i)
      compareDifference(("df/d" + names_[i]).c_str(), graph, value, i, args, symbols,
                        es.value[1 + i], es.error[1 + i]);
    if (!withHessian) return;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        compareDifference(("d2f/d" + names_[i] + "d" + names_[j]).c_str(), graph, s.grad[i], j,
                          args, symbols, es.value[1 + n + i * n + j], es.error[1 + n + i * n + j]);
  }

  void fail(const char *check, const std::string &message) {
    ++stats_.failures;
    if (stats_.failures > 20) return;
    std::printf("differential: %s: %s\n  expression: %s\n  at: %s\n", check, message.c_str(),
                text_.c_str(), pointText(names_, x_).c_str());
  }

  const Settings &settings_;
  Stats &stats_;
  std::optional<jit::Session> baseline_, llvm_;
  std::string text_;
  std::vector<std::string> names_;
  std::vector<double> x_;
};

std::optional<std::uint64_t> parseNumber(const char *s) {
  if (!s || !*s) return std::nullopt;
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || *s == '-') return std::nullopt;
  return v;
}

int usage(const char *message) {
  std::fprintf(stderr, "differential: %s\nusage: differential [--seed S] [--count N] [--depth D] "
                       "[--vars V] [--points P] [--verbose]\n", message);
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  Settings settings;
  if (auto v = parseNumber(std::getenv("NABLA_DIFFERENTIAL_SEED"))) settings.seed = *v;
  if (auto v = parseNumber(std::getenv("NABLA_DIFFERENTIAL_COUNT"))) settings.count = *v;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("usage: differential [--seed S] [--count N] [--depth D] [--vars V] [--points P] "
                  "[--verbose]\n\nRandom expressions (seed S, default 1; N of them, default 300, "
                  "of depth 2 to D, default 6, over V variables, default 3), each at P random "
                  "points (default 3): the interpreter, the simplified graph, nabla's baseline "
                  "code, LLVM's -O2 code and central differences must agree.\n"
                  "NABLA_DIFFERENTIAL_SEED and NABLA_DIFFERENTIAL_COUNT set the defaults.\n");
      return 0;
    }
    if (arg == "--verbose") {
      settings.verbose = true;
      continue;
    }
    if (i + 1 >= argc) return usage(("option '" + arg + "' needs a value").c_str());
    std::optional<std::uint64_t> v = parseNumber(argv[++i]);
    if (!v) return usage(("option '" + arg + "' needs a whole number").c_str());
    if (arg == "--seed") settings.seed = *v;
    else if (arg == "--count") settings.count = *v;
    else if (arg == "--depth" && *v >= 1 && *v <= 12) settings.depth = static_cast<unsigned>(*v);
    else if (arg == "--vars" && *v >= 1 && *v <= 8) settings.vars = static_cast<unsigned>(*v);
    else if (arg == "--points" && *v >= 1 && *v <= 100) settings.points = static_cast<unsigned>(*v);
    else return usage(("unknown option or value out of range: '" + arg + "'").c_str());
  }

  Stats stats;
  Checker checker(settings, stats);
  for (std::uint64_t k = 0; k < settings.count; ++k) checker.run(k);
  std::printf("differential: seed %llu: %llu expressions (%llu smooth), %llu points (%llu "
              "ill-conditioned, skipped), %llu comparisons (%llu finite differences unreliable, "
              "skipped), %llu failures\n",
              static_cast<unsigned long long>(settings.seed),
              static_cast<unsigned long long>(stats.expressions),
              static_cast<unsigned long long>(stats.smooth),
              static_cast<unsigned long long>(stats.points),
              static_cast<unsigned long long>(stats.uncertain),
              static_cast<unsigned long long>(stats.comparisons),
              static_cast<unsigned long long>(stats.fdUnreliable),
              static_cast<unsigned long long>(stats.failures));
  return stats.failures == 0 ? 0 : 1;
}
