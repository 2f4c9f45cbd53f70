// Identities of the unary built-ins and min/max; all exact for every input.
#include "simplify/rule.h"

namespace nabla::rules {

namespace {

const Rule kFunctionRules[] = {
    {"abs-abs", "abs(abs(?x))", "abs(?x)"},
    {"abs-neg", "abs(-?x)", "abs(?x)"},
    {"sign-sign", "sign(sign(?x))", "sign(?x)"}, // sign keeps ±0 and NaN, and sign(±1) = ±1
    {"sign-neg", "sign(-?x)", "-sign(?x)"},
    {"floor-floor", "floor(floor(?x))", "floor(?x)"},
    {"relu-relu", "relu(relu(?x))", "relu(?x)"},
    {"min-same", "min(?x, ?x)", "?x"}, // min/max of a NaN is NaN, of equal values the value
    {"max-same", "max(?x, ?x)", "?x"},
};

} // namespace

std::span<const Rule> functionRules() { return kFunctionRules; }

} // namespace nabla::rules
