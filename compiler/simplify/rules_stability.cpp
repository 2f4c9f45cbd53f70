// Numerical-stability rewrites: each replacement equals its pattern in exact arithmetic and is
// at least as close to that exact value on every input, with the same NaN and infinity results,
// except where the pattern overflows or underflows in an intermediate (log(1 + exp(1000)) is inf,
// softplus(1000) is 1000): there the replacement gives the finite, correct value. That trade is
// the point of these rules; SimplifyOptions::stability turns the whole family off.
#include "simplify/rule.h"

namespace nabla::rules {

namespace {

// log(S + exp(c)) == logaddexp(log(S), c) needs S > 0: a sum whose terms are all exps. The
// replacement's log(S) is rewritten in turn, so a sum of n exps becomes n - 1 nested logaddexps.
template <char S> bool isSumOfExps(const Match &m) { return m.facts->isSumOfExps(m.node(S)); }

// Order matters where patterns overlap: log(1 + exp(x)) is softplus before it is log1p. Sums
// reach these rules with their constant last (`exp(x) + 1`), so both spellings are listed.
const Rule kStabilityRules[] = {
    {"softplus", "log(1 + exp(?x))", "softplus(?x)"},
    {"softplus-right", "log(exp(?x) + 1)", "softplus(?x)"},
    {"softplus-log1p", "log1p(exp(?x))", "softplus(?x)"},
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
};

} // namespace

std::span<const Rule> stabilityRules() { return kStabilityRules; }

} // namespace nabla::rules
