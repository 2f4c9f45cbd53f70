// Numerical-stability rewrites: each replacement equals its pattern in exact arithmetic and is
// at least as close to that exact value on every input, with the same NaN and infinity results,
// except where the pattern overflows or underflows in an intermediate (log(1 + exp(1000)) is inf,
// softplus(1000) is 1000): there the replacement gives the finite, correct value. That trade is
// the point of these rules; SimplifyOptions::stability turns the whole family off.
#include "simplify/rule.h"

#include <cmath>

namespace nabla::rules {

namespace {

// log(S + exp(c)) == logaddexp(log(S), c) needs S > 0: an exp, a positive finite multiple of
// one (add-self makes 2*exp(a) of exp(a) + exp(a)), or a sum of such terms. The replacement's
// log(S) is rewritten in turn, so a sum of n exps becomes n - 1 nested logaddexps.
template <char S> bool isSumOfExps(const Match &m) { return m.facts->isExpTermOrSum(m.node(S)); }

// log(c * exp(x)) == x + log(c) for c > 0 finite: the only inputs where the two differ by more
// than rounding are those where c * exp(x) overflows or underflows, which the replacement does
// not (x = ±inf and NaN give the same results).
template <char C> bool isPositiveFinite(const Match &m) {
  double c = m.value(C);
  return c > 0 && std::isfinite(c);
}
// log(c*exp(x) + 1) for c >= 1 finite: for x > 0, x + log(c) > 0 and softplus of it is at least
// as large, so rounding x + log(c) costs one rounding of the result; for x <= 0, c * exp(x)
// cannot overflow and log1p keeps it exactly as written.
template <char C> bool isAtLeastOneFinite(const Match &m) {
  double c = m.value(C);
  return c >= 1 && std::isfinite(c);
}

// Order matters where patterns overlap: log(1 + exp(x)) is softplus before it is log1p. Sums
// reach these rules with their constant last (`exp(x) + 1`), so both spellings are listed.
//
// The children of a node are rewritten before the node (simplifier.cpp), so a stability pattern
// must also match what the other families make of its operands: add-self turns exp(x) + exp(x)
// into 2*exp(x) and add-scaled-self 2*exp(x) + exp(x) into 3*exp(x) before log() is looked at.
// The *-scaled rules below are those forms; a test simplifies each stable pattern with equal
// operands and constant factors and checks the result at large arguments.
const Rule kStabilityRules[] = {
    {"softplus", "log(1 + exp(?x))", "softplus(?x)"},
    {"softplus-right", "log(exp(?x) + 1)", "softplus(?x)"},
    {"softplus-log1p", "log1p(exp(?x))", "softplus(?x)"},
    {"softplus-scaled", "log(#c * exp(?x) + 1)",
     "where(?x > 0, softplus(?x + fold(log(#c))), log1p(#c * exp(?x)))", isAtLeastOneFinite<'c'>},
    {"softplus-scaled-left", "log(1 + #c * exp(?x))",
     "where(?x > 0, softplus(?x + fold(log(#c))), log1p(#c * exp(?x)))", isAtLeastOneFinite<'c'>},
    // A sum of exps plus a constant, before log1p takes `log(S + 1)` as log1p(S), which
    // overflows with S: log(exp(x) + exp(y) + 1) is logaddexp(logaddexp(x, y), 0).
    {"logsumexp-const", "log(?s + #c)", "logaddexp(log(?s), fold(log(#c)))",
     [](const Match &m) { return isPositiveFinite<'c'>(m) && isSumOfExps<'s'>(m); }},
    {"log1p", "log(1 + ?x)", "log1p(?x)"},
    {"log1p-right", "log(?x + 1)", "log1p(?x)"},
    {"log1p-sub", "log(1 - ?x)", "log1p(-?x)"},
    {"expm1", "exp(?x) - 1", "expm1(?x)"},
    {"expm1-neg", "1 - exp(?x)", "-expm1(?x)"},
    {"log-sigmoid", "log(sigmoid(?x))", "-softplus(-?x)"},
    {"log-one-minus-sigmoid", "log(1 - sigmoid(?x))", "-softplus(?x)"},
    {"one-minus-sigmoid", "1 - sigmoid(?x)", "sigmoid(-?x)"},
    {"sigmoid", "1 / (1 + exp(?x))", "sigmoid(-?x)"},
    {"sigmoid-right", "1 / (exp(?x) + 1)", "sigmoid(-?x)"},
    {"logaddexp", "log(exp(?a) + exp(?b))", "logaddexp(?a, ?b)"},
    {"logsumexp", "log(?s + exp(?c))", "logaddexp(log(?s), ?c)", isSumOfExps<'s'>},
    {"logsumexp-left", "log(exp(?c) + ?s)", "logaddexp(?c, log(?s))", isSumOfExps<'s'>},
    {"log-exp", "log(exp(?x))", "?x"}, // exact; exp(x) alone overflows from x = 710
    {"log-scaled-exp", "log(#c * exp(?x))", "?x + fold(log(#c))", isPositiveFinite<'c'>},
    {"logsumexp-scaled", "log(?s + #c * exp(?x))", "logaddexp(log(?s), ?x + fold(log(#c)))",
     [](const Match &m) { return isPositiveFinite<'c'>(m) && isSumOfExps<'s'>(m); }},
    {"logsumexp-scaled-left", "log(#c * exp(?x) + ?s)", "logaddexp(?x + fold(log(#c)), log(?s))",
     [](const Match &m) { return isPositiveFinite<'c'>(m) && isSumOfExps<'s'>(m); }},
};

} // namespace

std::span<const Rule> stabilityRules() { return kStabilityRules; }

} // namespace nabla::rules
