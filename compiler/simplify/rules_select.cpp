// where() and logic. A NaN condition counts as true (NaN != 0) in where(), and !NaN is NaN, so
// the rules that look through `!` need a condition that is never NaN.
#include "simplify/rule.h"

namespace nabla::rules {

namespace {

// A comparison, && or ||: 0 or 1, never NaN.
template <char C> bool isTruthValue(const Match &m) { return m.facts->isTruthValue(m.node(C)); }
// A truth value or a `!`: 0, 1 or NaN.
template <char C> bool isBooleanOrNaN(const Match &m) { return m.facts->isBooleanOrNaN(m.node(C)); }

const Rule kSelectRules[] = {
    {"where-same", "where(?c, ?a, ?a)", "?a"},
    // where(!c, a, b) with c = NaN is a (!NaN is NaN, which counts as true), but
    // where(c, b, a) is b: only a condition that is never NaN may be flipped.
    {"where-not", "where(!?c, ?a, ?b)", "where(?c, ?b, ?a)", isTruthValue<'c'>},
    {"where-where-then", "where(?c, where(?c, ?a, ?b), ?d)", "where(?c, ?a, ?d)"},
    {"where-where-else", "where(?c, ?a, where(?c, ?b, ?d))", "where(?c, ?a, ?d)"},
    {"where-truth", "where(?c, 1, 0)", "?c", isTruthValue<'c'>},
    {"where-truth-not", "where(?c, 0, 1)", "!?c", isTruthValue<'c'>},
    // !!c is c only for c in {0, 1, NaN}: !!5 is 1.
    {"not-not", "!!?c", "?c", isBooleanOrNaN<'c'>},
};

} // namespace

std::span<const Rule> selectRules() { return kSelectRules; }

} // namespace nabla::rules
