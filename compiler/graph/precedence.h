// The operators of the nabla language and their precedence, once. Read by the grammar
// (grammar/grammar.cpp), the simplifier's pattern parser (simplify/match.cpp), the printer
// (graph/print.cpp, through the spellings of ops.def) and ast::BinaryOp / ast::UnaryOp.
//
// Header-only and free of Boost, LLVM and the graph, so that every stage may include it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nabla {

/// Levels of precedence, loosest first: an operand printed at a lower level than its context
/// needs parentheses.
enum class Precedence : std::uint8_t {
  Or = 1,
  And,
  Compare,
  Additive,
  Multiplicative,
  Prefix,  // - + ! (and negative numbers, which print as `-2`)
  Power,   // tighter than a prefix minus on its left: -x^2 is -(x^2)
  Atom,    // names, numbers, calls, indexing, anything in brackets
};

/// How a chain of binary operators of one level groups.
enum class Assoc : std::uint8_t {
  Left,       // a - b - c is (a - b) - c
  Right,      // a^b^c is a^(b^c)
  Unchained,  // read like Left (a < b < c is (a < b) < c), but printed text never relies on it:
              // an operand at the same level is parenthesized on either side
};

/// The binary operators, loosest level first: X(Name, spelling, level). Name is the
/// enumerator of ast::BinaryOp; a DAG op of ops.def with the same spelling and arity 2 prints as
/// the operator. Within a level the parsers try longer spellings first (`<=` before `<`).
// clang-format off
#define NABLA_BINARY_OPERATORS(X) \
  X(Or, "||", Or) \
  X(And, "&&", And) \
  X(Lt, "<", Compare) X(Le, "<=", Compare) X(Gt, ">", Compare) \
  X(Ge, ">=", Compare) X(Eq, "==", Compare) X(Ne, "!=", Compare) \
  X(Add, "+", Additive) X(Sub, "-", Additive) \
  X(Mul, "*", Multiplicative) X(Div, "/", Multiplicative) X(MatMul, "@", Multiplicative) \
  X(Pow, "^", Power)

/// The prefix operators (level Prefix, one character each): X(Name, spelling). Name is the
/// enumerator of ast::UnaryOp; a DAG op with the same spelling and arity 1 prints as the operator.
/// `@` and unary `+` have no DAG op: sema lowers the matrix product, and +x is x.
#define NABLA_PREFIX_OPERATORS(X) X(Neg, "-") X(Plus, "+") X(Not, "!")
// clang-format on

struct OperatorSyntax {
  std::string_view spelling;
  Precedence level;
};

/// Indexed by ast::BinaryOp.
inline constexpr OperatorSyntax kBinaryOperators[] = {
#define NABLA_BINARY_OPERATOR_ROW(name, spelling, level) {spelling, Precedence::level},
    NABLA_BINARY_OPERATORS(NABLA_BINARY_OPERATOR_ROW)
#undef NABLA_BINARY_OPERATOR_ROW
};

/// Indexed by ast::UnaryOp.
inline constexpr std::string_view kPrefixOperators[] = {
#define NABLA_PREFIX_OPERATOR_ROW(name, spelling) spelling,
    NABLA_PREFIX_OPERATORS(NABLA_PREFIX_OPERATOR_ROW)
#undef NABLA_PREFIX_OPERATOR_ROW
};

/// Grouping, and whether printed text has a space on each side of the operator (only at the
/// loose levels: `2*x*(y + 1)`, `(x^2 + y)^2`, `a < b && c`).
struct LevelSyntax {
  Assoc assoc;
  bool spaced;
};

constexpr LevelSyntax levelSyntax(Precedence level) {
  switch (level) {
  case Precedence::Or:
  case Precedence::And:
  case Precedence::Additive: return {Assoc::Left, true};
  case Precedence::Compare: return {Assoc::Unchained, true};
  case Precedence::Multiplicative: return {Assoc::Left, false};
  case Precedence::Power: return {Assoc::Right, false};
  case Precedence::Prefix:
  case Precedence::Atom: break;  // no binary operators
  }
  return {Assoc::Left, false};
}

/// The next tighter level.
constexpr Precedence tighter(Precedence level) {
  return static_cast<Precedence>(static_cast<int>(level) + 1);
}

/// The binary operator of that spelling, as an index into kBinaryOperators; -1 if none.
constexpr int findBinaryOperator(std::string_view spelling) {
  for (std::size_t i = 0; i < std::size(kBinaryOperators); ++i)
    if (kBinaryOperators[i].spelling == spelling) return static_cast<int>(i);
  return -1;
}

/// The prefix operator of that spelling, as an index into kPrefixOperators; -1 if none.
constexpr int findPrefixOperator(std::string_view spelling) {
  for (std::size_t i = 0; i < std::size(kPrefixOperators); ++i)
    if (kPrefixOperators[i] == spelling) return static_cast<int>(i);
  return -1;
}

// What the parsers' structure takes for granted (grammar.cpp's rules, match.cpp's loop): the
// binary levels below Prefix read left to right, Power alone reads right to left and has one
// operator, and prefix operators are one character.
namespace precedence_detail {
constexpr bool parsersFitTable() {
  int powerOperators = 0;
  for (const OperatorSyntax &o : kBinaryOperators) {
    if (o.level == Precedence::Prefix || o.level == Precedence::Atom) return false;
    const bool right = levelSyntax(o.level).assoc == Assoc::Right;
    if (right != (o.level == Precedence::Power)) return false;
    powerOperators += o.level == Precedence::Power;
  }
  for (std::string_view p : kPrefixOperators)
    if (p.size() != 1) return false;
  return powerOperators == 1;
}
}  // namespace precedence_detail
static_assert(precedence_detail::parsersFitTable());

/// The one operator of level Power.
inline constexpr std::string_view kPowerOperator = [] {
  for (const OperatorSyntax &o : kBinaryOperators)
    if (o.level == Precedence::Power) return o.spelling;
  return std::string_view();
}();

}  // namespace nabla
