// Turns parse failures into located messages: X3 expectation failures (`a > b` where b did not
// match) and the "expected ..." / "unexpected ..." errors the grammar raises itself. Boost-free:
// the X3 exception type only appears as a template parameter, so only grammar.cpp compiles X3.
#pragma once

#include "parse/ast_builder.h"

#include <cstdint>
#include <string_view>

namespace nabla::grammar {

/// The operator that ends just before `at` within [stmtBegin, at), skipping blanks and comments
/// (`+` in `x + # note`), or empty when the previous token is not an operator.
std::string_view operatorBefore(const char *stmtBegin, const char *at);

/// The text of the token that starts at `at` (a name, a number, an operator or one character).
std::string_view tokenAt(const char *at, const char *end);

/// "expected WHAT" at `at`, with "after 'OP'" when an operator or keyword precedes it, prefixed
/// by "unexpected end of input: " when the input ends there. A character no token starts with is
/// reported as unexpected instead.
parse::ParseError expectedError(const parse::AstBuilder &b, const char *at, const char *end,
                                std::string_view what);

/// Something is left after a complete expression (or a bracket expected something else):
/// "expected an operator between 'x' and 'y'", "unexpected ')' without a matching '('",
/// "unexpected character '$'".
parse::ParseError unexpectedError(const parse::AstBuilder &b, const char *at, const char *end);

/// A closing bracket was expected at `at` for the `openChar` at offset `open`: "expected ')' to
/// close '('" or, inside a list, "expected ',' or ')' in argument list", with a note at the opener.
parse::ParseError closeError(const parse::AstBuilder &b, const char *at, const char *end,
                             std::uint32_t open, char openChar, std::string_view listName);

/// An x3::expectation_failure<const char *> (`where()` and the rule name `which()`).
template <typename ExpectationFailure>
parse::ParseError fromExpectationFailure(const parse::AstBuilder &b, const ExpectationFailure &f,
                                         const char *end) {
  return expectedError(b, f.where(), end, f.which());
}

}  // namespace nabla::grammar
