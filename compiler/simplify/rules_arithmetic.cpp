// Identities of + - * / ^ and unary minus. Every rule here gives bit-for-bit the same value for
// every input (finite or not), except that +0 and -0 may trade places; docs/simplifier.md has
// the reason for each one.
//
// Canonical forms the rules steer towards, so that other rules meet fewer shapes: a constant
// factor goes first (`2*x`, as the differentiator writes it), a constant term goes last (`x + 1`),
// and negation moves outwards (`-(a*b)`) until an addition or subtraction absorbs it.
#include "simplify/rule.h"

#include <cmath>

namespace nabla::rules {

namespace {

template <char C> bool isNegative(const Match &m) { return m.value(C) < 0; } // NaN: false

bool isPowerOfTwo(double v) {
  int exponent = 0;
  return std::isfinite(v) && v != 0 && std::fabs(std::frexp(v, &exponent)) == 0.5;
}

// a*(b*x) == (a*b)*x when a and b are powers of two of magnitude >= 1: b*x is exact or
// overflows (and then so does the whole product); scaling down could round twice in the
// subnormal range, so factors below 1 are left alone.
bool scalesUp(const Match &m) {
  double a = m.value('a'), b = m.value('b');
  return isPowerOfTwo(a) && isPowerOfTwo(b) && std::fabs(a) >= 1 && std::fabs(b) >= 1 &&
         std::isfinite(a * b);
}

// x / c == (1/c) * x exactly when 1/c is exact: c a power of two whose reciprocal is finite.
bool reciprocalIsExact(const Match &m) {
  double c = m.value('c');
  return isPowerOfTwo(c) && std::isfinite(1 / c) && (1 / c) * c == 1;
}

// c*x + x == (c+1)*x for c = 2^k, 1 <= k <= 52: c*x is exact (or overflows, and then (c+1)*x
// does too), so the sum rounds once, like the product; c + 1 is exact up to 2^52 + 1.
bool isSmallPowerOfTwo(const Match &m) {
  double c = m.value('c');
  return isPowerOfTwo(c) && c >= 2 && c <= 0x1p52;
}

const Rule kArithmeticRules[] = {
    // Addition. x + 0 is x except that -0 + 0 is +0, which counts as the same value.
    {"add-zero", "?x + 0", "?x"},
    {"add-zero-left", "0 + ?x", "?x"},
    {"add-const-last", "#c + ?x", "?x + #c"},
    {"add-neg-neg", "-?a + -?b", "-(?a + ?b)"}, // rounding is symmetric under negation
    {"add-neg", "?a + -?b", "?a - ?b"},         // IEEE defines a - b as a + (-b)
    {"add-neg-left", "-?a + ?b", "?b - ?a"},
    {"add-neg-const", "?x + #c", "?x - fold(-#c)", isNegative<'c'>},
    {"add-neg-scaled", "?a + #c * ?b", "?a - fold(-#c) * ?b", isNegative<'c'>},
    {"add-self", "?x + ?x", "2 * ?x"}, // doubling is exact, overflow included
    {"add-scaled-self", "#c * ?x + ?x", "fold(#c + 1) * ?x", isSmallPowerOfTwo},
    {"add-self-scaled", "?x + #c * ?x", "fold(#c + 1) * ?x", isSmallPowerOfTwo},

    // Subtraction. x - x is not 0 (inf - inf is NaN), so it is not here.
    {"sub-zero", "?x - 0", "?x"},
    {"sub-from-zero", "0 - ?x", "-?x"},
    {"sub-neg", "?a - -?b", "?a + ?b"},
    {"sub-neg-left", "-?a - ?b", "-(?a + ?b)"},
    {"sub-neg-const", "?x - #c", "?x + fold(-#c)", isNegative<'c'>},
    {"sub-neg-scaled", "?a - #c * ?b", "?a + fold(-#c) * ?b", isNegative<'c'>},

    // Negation.
    {"neg-neg", "-(-?x)", "?x"},
    {"neg-sub", "-(?a - ?b)", "?b - ?a"},
    {"neg-scaled", "-(#c * ?x)", "fold(-#c) * ?x"},
    {"neg-div-const", "-(#c / ?x)", "fold(-#c) / ?x"},

    // Multiplication. x * 0 is not 0 (inf * 0 is NaN), so it is not here.
    {"mul-one", "1 * ?x", "?x"},
    {"mul-one-right", "?x * 1", "?x"},
    {"mul-neg-one", "-1 * ?x", "-?x"},
    {"mul-neg-one-right", "?x * -1", "-?x"},
    {"mul-const-first", "?x * #c", "#c * ?x"},
    {"mul-neg-neg", "-?a * -?b", "?a * ?b"},
    {"mul-neg-left", "-?a * ?b", "-(?a * ?b)"},
    {"mul-neg-right", "?a * -?b", "-(?a * ?b)"},
    {"mul-scale-scale", "#a * (#b * ?x)", "fold(#a * #b) * ?x", scalesUp},

    // Division. x / x is not 1 (0/0, inf/inf), so it is not here.
    {"div-one", "?x / 1", "?x"},
    {"div-neg-one", "?x / -1", "-?x"},
    {"div-neg-neg", "-?a / -?b", "?a / ?b"},
    {"div-neg-left", "-?a / ?b", "-(?a / ?b)"},
    {"div-neg-right", "?a / -?b", "-(?a / ?b)"},
    {"div-power-of-two", "?x / #c", "fold(1 / #c) * ?x", reciprocalIsExact},

    // Powers. pow(x, 1) is x and pow(x, 0) is 1 for every x, NaN included (C99 F.9.4.4).
    {"pow-one", "?x ^ 1", "?x"},
    {"pow-zero", "?x ^ 0", "1"},
};

} // namespace

std::span<const Rule> arithmeticRules() { return kArithmeticRules; }

} // namespace nabla::rules
