// The nabla grammar in Boost.Spirit X3: the only translation unit that compiles X3.
//
//   statement  = "param" name dim* ( "=" expr | "~" ("normal" | "uniform") "(" expr "," expr ")" )?
//              | "input" name dim* ( "from" "(" name ( ".." name | ("," name)* ) ")" )?
//              | "const" name dim* "=" expr
//              | ("minimize" | "maximize") expr
//              | "report" name "=" expr
//              | name "(" name ("," name)* ")" "=" expr        (a function)
//              | name "=" expr                                 (a definition)
//              | expr                                          (only where bare expressions are
//              allowed)
//   dim        = "[" expr "]"
//   expr       = and  ( "||" and )*
//   and        = cmp  ( "&&" cmp )*
//   cmp        = add  ( ("<" | "<=" | ">" | ">=" | "==" | "!=") add )*
//   add        = mul  ( ("+" | "-") mul )*
//   mul        = unary ( ("*" | "/" | "@") unary )*
//   unary      = ("-" | "+" | "!")* postfix ( "^" ("-" | "+" | "!")* postfix )*   (^ folds right)
//   postfix    = primary ( "[" expr "]" )*
//   primary    = number | name "(" (expr ("," expr)*)? ")" | name | "(" expr ")"
//              | "[" expr ("," expr)* "]"
//
// The operators, their levels and their order are graph/precedence.h's (expr to mul: one rule per
// binary level, loosest first; the prefix operators and "^" in unary).
//
// "=" never matches the first character of "==". Blanks, newlines (statements arrive already split,
// so a newline here is inside brackets) and `#` comments are skipped between tokens.
//
// Recursion only happens at brackets: chains (`x+x+...`, `x^x^...`, `-----x`) are loops that push
// operands onto the AstBuilder's stack and fold them, so the C++ stack grows with bracket nesting
// alone, which parse.cpp bounds (ParseLimits::maxNesting) before the grammar runs. The left-
// associative levels are X3 sequences with a fold action; tokens, brackets and the power chain are
// small custom X3 parsers, which keeps error messages precise and the compile short.

#include "grammar/grammar.h"
#include "grammar/error_handler.h"
#include "grammar/tokens.h"
#include "graph/precedence.h"

#include <boost/spirit/home/x3.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nabla::grammar {
namespace x3 = boost::spirit::x3;
using ast::BinaryOp;
using ast::StmtKind;
using ast::UnaryOp;
using parse::AstBuilder;
using parse::ParseError;
using parse::quoted;
using TokenKind = AstBuilder::TokenKind;

namespace {

struct builder_tag;

[[noreturn]] void fail(ParseError e) { throw e; }

[[noreturn]] void failClose(AstBuilder &b, It at, It end, std::uint32_t open, char openChar,
                            std::string_view listName) {
  throw closeError(b, at, end, open, openChar, listName);
}

template <typename Ctx> AstBuilder &builderOf(Ctx const &ctx) { return x3::get<builder_tag>(ctx); }

template <typename Ctx> It skipped(It p, It end, Ctx const &ctx) {
  x3::skip_over(p, end, ctx);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Skipper: blanks, newlines (inside brackets) and `#` comments.

struct Blank : x3::parser<Blank> {
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &, RCtx &, Attr &) const {
    It p = skipBlanks(first, last);
    if (p == first) return false;
    first = p;
    return true;
  }
};

// ---------------------------------------------------------------------------------------------
// Binary operators of one precedence level, from graph/precedence.h (longest match, so `<=`
// before `<`; `=` is not one).

struct OpSpelling {
  std::string_view text;
  BinaryOp op;
};

template <Precedence Level> constexpr std::size_t operatorCount() {
  std::size_t n = 0;
  for (const OperatorSyntax &o : kBinaryOperators) n += o.level == Level;
  return n;
}

/// The operators of one level, longest spelling first.
template <Precedence Level> constexpr auto operatorsOf() {
  std::array<OpSpelling, operatorCount<Level>()> out{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < std::size(kBinaryOperators); ++i)
    if (kBinaryOperators[i].level == Level)
      out[n++] = {kBinaryOperators[i].spelling, static_cast<BinaryOp>(i)};
  for (std::size_t i = 1; i < n; ++i)  // insertion sort: stable
    for (std::size_t j = i; j > 0 && out[j - 1].text.size() < out[j].text.size(); --j)
      std::swap(out[j - 1], out[j]);
  return out;
}

template <Precedence Level> struct BinOp : x3::parser<BinOp<Level>> {
  using attribute_type = BinaryOp;
  [[maybe_unused]] static bool const has_attribute = true;
  static constexpr auto ops = operatorsOf<Level>();

  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &, Attr &attr) const {
    It p = skipped(first, last, ctx);
    for (const OpSpelling &s : ops) {
      if (static_cast<std::size_t>(last - p) >= s.text.size() &&
          std::string_view(p, s.text.size()) == s.text) {
        AstBuilder &b = builderOf(ctx);
        first = p + s.text.size();
        b.noteToken(SourceRange::of(b.offset(p), b.offset(first)), TokenKind::Other);
        x3::traits::move_to(s.op, attr);
        return true;
      }
    }
    return false;
  }
};

// ---------------------------------------------------------------------------------------------
// Numbers and names

/// Lexes `digits ('.' digits)? ([eE] [+-]? digits)?` at p and returns its end, or throws for a
/// malformed literal. A letter right after a complete literal is left alone: `2x` is reported as
/// a missing operator by whoever meets the `x`.
It lexNumber(AstBuilder &b, It s, It end) {
  auto malformed = [&](It runEnd, std::string hint) -> ParseError {
    SourceRange r = SourceRange::of(b.offset(s), b.offset(runEnd));
    std::string message = "malformed number " + quoted(b.text(r));
    if (!hint.empty()) message += ": " + hint;
    return {r, std::move(message), {}};
  };
  It p = s;
  if (*p == '.') {
    It digitsEnd = p + 1;
    while (digitsEnd != end && isDigit(*digitsEnd)) ++digitsEnd;
    It runEnd = numberRunEnd(p, end);
    // `.5` -> "write '0.5'"; no rewrite to offer for `.5.5` or `.5x`.
    fail(malformed(runEnd, runEnd == digitsEnd ? "write '0" + std::string(s, runEnd) + "'" : ""));
  }
  while (p != end && isDigit(*p)) ++p;
  if (p != end && *p == '.') {
    if (p + 1 != end && isDigit(p[1])) {
      ++p;
      while (p != end && isDigit(*p)) ++p;
    } else {
      fail(malformed(numberRunEnd(p, end), "expected digits after '.'"));
    }
  }
  if (p != end && (*p == 'e' || *p == 'E')) {
    It q = p + 1;
    if (q != end && (*q == '+' || *q == '-')) ++q;
    if (q != end && isDigit(*q)) {
      p = q;
      while (p != end && isDigit(*p)) ++p;
    } else if (q == p + 1 && q != end && isIdentChar(*q)) {
      // `2exp(x)`: a missing operator, not an exponent.
      return p;
    } else {
      fail(malformed(q, "expected digits in the exponent"));
    }
  }
  if (p != end && *p == '.') fail(malformed(numberRunEnd(p, end), ""));
  if (p != end && *p == '_')
    fail(malformed(numberRunEnd(p, end), "digit separators are not supported"));
  if (p - s == 1 && *s == '0' && p != end && (*p == 'x' || *p == 'X'))
    fail(malformed(numberRunEnd(p, end), "hexadecimal literals are not supported"));
  return p;
}

[[noreturn]] void failReserved(AstBuilder &b, It s, It e) {
  SourceRange r = SourceRange::of(b.offset(s), b.offset(e));
  fail({r, "reserved word " + quoted(b.text(r)) + " cannot be used as a name", {}});
}

/// Expects a name at `first` (skipping blanks); throws with `context` ("after 'param'").
SourceRange expectName(AstBuilder &b, It &first, It last, std::string_view what,
                       std::string_view context) {
  It p = skipBlanks(first, last);
  if (p == last || !isIdentStart(*p)) {
    ParseError e = expectedError(b, p, last, what);
    if (!context.empty() && e.message.find(" after '") == std::string::npos)
      e.message += " " + std::string(context);
    fail(e);
  }
  It e = identEnd(p, last);
  if (parse::isKeyword(std::string_view(p, e - p))) failReserved(b, p, e);
  first = e;
  SourceRange r = SourceRange::of(b.offset(p), b.offset(e));
  b.noteToken(r, TokenKind::Atom);
  return r;
}

// ---------------------------------------------------------------------------------------------
// postfix = primary ( "[" subscript ("," subscript)* "]" )*, subscript = expr | expr? ":" expr?,
// with the primaries. Subject: the expr rule.

template <typename Subject> struct Postfix : x3::unary_parser<Subject, Postfix<Subject>> {
  using base = x3::unary_parser<Subject, Postfix<Subject>>;
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  constexpr Postfix(Subject const &subject) : base(subject) {}

  template <typename Ctx, typename RCtx>
  void expectExpr(It &first, It const &last, Ctx const &ctx, RCtx &rctx) const {
    if (!this->subject.parse(first, last, ctx, rctx, x3::unused))
      fail(expectedError(builderOf(ctx), first, last, "expression"));
  }

  /// After '(' of a call or '[' of a vector: expr ("," expr)* and the closing bracket.
  template <typename Ctx, typename RCtx>
  It parseList(It first, It const &last, Ctx const &ctx, RCtx &rctx, std::uint32_t open,
               char openChar, std::string_view listName) const {
    AstBuilder &b = builderOf(ctx);
    char closeChar = openChar == '(' ? ')' : ']';
    for (;;) {
      expectExpr(first, last, ctx, rctx);
      It p = skipBlanks(first, last);
      if (p != last && *p == ',') {
        b.noteToken(SourceRange::of(b.offset(p), b.offset(p + 1)), TokenKind::Other);
        first = p + 1;
        continue;
      }
      if (p != last && *p == closeChar) return p + 1;
      failClose(b, p, last, open, openChar, listName);
    }
  }

  template <typename Ctx, typename RCtx>
  bool parsePrimary(It &first, It const &last, Ctx const &ctx, RCtx &rctx) const {
    AstBuilder &b = builderOf(ctx);
    It p = skipBlanks(first, last);
    if (p == last) return false;
    if (startsNumber(p, last)) {
      It e = lexNumber(b, p, last);
      SourceRange r = SourceRange::of(b.offset(p), b.offset(e));
      b.pushNumber(r);
      b.noteToken(r, TokenKind::Atom);
      first = e;
      return true;
    }
    if (*p == '.') fail({SourceRange::of(b.offset(p), b.offset(p + 1)), "unexpected '.'", {}});
    if (isIdentStart(*p)) {
      It e = identEnd(p, last);
      if (parse::isKeyword(std::string_view(p, e - p))) failReserved(b, p, e);
      SourceRange nameRange = SourceRange::of(b.offset(p), b.offset(e));
      b.noteToken(nameRange, TokenKind::Atom);
      It q = skipBlanks(e, last);
      if (q == last || *q != '(') {
        b.pushName(nameRange);
        first = e;
        return true;
      }
      // name "(" args ")"
      std::uint32_t open = b.offset(q);
      b.noteToken(SourceRange::of(open, open + 1), TokenKind::Other);
      std::size_t mark = b.operandCount();
      It r = skipBlanks(q + 1, last);
      It close = (r != last && *r == ')')
                     ? r + 1
                     : parseList(q + 1, last, ctx, rctx, open, '(', "argument list");
      b.makeCall(nameRange, mark, b.offset(close));
      b.noteToken(SourceRange::of(b.offset(close - 1), b.offset(close)), TokenKind::Close);
      first = close;
      return true;
    }
    if (*p == '(') {
      std::uint32_t open = b.offset(p);
      b.noteToken(SourceRange::of(open, open + 1), TokenKind::Other);
      It q = p + 1;
      expectExpr(q, last, ctx, rctx);
      It r = skipBlanks(q, last);
      if (r == last || *r != ')') failClose(b, r, last, open, '(', "");
      b.parenthesize(SourceRange::of(open, b.offset(r + 1)));
      b.noteToken(SourceRange::of(b.offset(r), b.offset(r + 1)), TokenKind::Close);
      first = r + 1;
      return true;
    }
    if (*p == '[') {
      std::uint32_t open = b.offset(p);
      b.noteToken(SourceRange::of(open, open + 1), TokenKind::Other);
      It q = skipBlanks(p + 1, last);
      if (q != last && *q == ']')
        fail({SourceRange::of(open, b.offset(q + 1)), "empty vector literal '[]'", {}});
      std::size_t mark = b.operandCount();
      It close = parseList(p + 1, last, ctx, rctx, open, '[', "vector literal");
      b.makeVector(mark, SourceRange::of(open, b.offset(close)));
      b.noteToken(SourceRange::of(b.offset(close - 1), b.offset(close)), TokenKind::Close);
      first = close;
      return true;
    }
    return false;
  }

  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &rctx, Attr &) const {
    if (!parsePrimary(first, last, ctx, rctx)) return false;
    AstBuilder &b = builderOf(ctx);
    for (;;) {
      It p = skipBlanks(first, last);
      if (p == last || *p != '[') return true;
      std::uint32_t open = b.offset(p);
      b.noteToken(SourceRange::of(open, open + 1), TokenKind::Other);
      const std::size_t mark = b.operandCount();
      It q = p + 1;
      for (;;) {
        q = parseSubscript(q, last, ctx, rctx);
        It r = skipBlanks(q, last);
        if (r != last && *r == ',') {
          b.noteToken(SourceRange::of(b.offset(r), b.offset(r + 1)), TokenKind::Other);
          q = r + 1;
          continue;
        }
        if (r == last || *r != ']') failClose(b, r, last, open, '[', "");
        b.makeIndex(mark, b.offset(r + 1));
        b.noteToken(SourceRange::of(b.offset(r), b.offset(r + 1)), TokenKind::Close);
        first = r + 1;
        break;
      }
    }
  }

  /// One subscript: expr, or a slice `expr? ":" expr?` (an omitted bound is the array's start
  /// or end). Returns where it ends.
  template <typename Ctx, typename RCtx>
  It parseSubscript(It q, It const &last, Ctx const &ctx, RCtx &rctx) const {
    AstBuilder &b = builderOf(ctx);
    const std::size_t mark = b.operandCount();
    It s = skipBlanks(q, last);
    const std::uint32_t start = b.offset(s);
    std::uint8_t bounds = 0;
    if (s == last || *s != ':') {
      expectExpr(q, last, ctx, rctx);
      bounds |= ast::kLowerBound;
      s = skipBlanks(q, last);
      if (s == last || *s != ':') return q;  // a plain subscript
    }
    b.noteToken(SourceRange::of(b.offset(s), b.offset(s + 1)), TokenKind::Other);
    It end = s + 1;
    It t = skipBlanks(end, last);
    if (t != last && *t != ',' && *t != ']') {
      expectExpr(end, last, ctx, rctx);
      bounds |= ast::kUpperBound;
    }
    if (It u = skipBlanks(end, last); u != last && *u == ':')
      fail({SourceRange::of(b.offset(u), b.offset(u + 1)),
            "a slice has one ':' (steps such as 'x[0:n:2]' are not supported)", {}});
    b.makeSlice(mark, bounds, SourceRange::of(start, b.offset(end)));
    return end;
  }
};

// ---------------------------------------------------------------------------------------------
// unary = prefix* postfix ( "^" prefix* postfix )*. Subject: the postfix rule. The prefix
// operators and the power operator are graph/precedence.h's (AstBuilder::foldPower makes Pow).

static_assert(kBinaryOperators[static_cast<int>(BinaryOp::Pow)].spelling == kPowerOperator);

template <typename Subject> struct UnaryPower : x3::unary_parser<Subject, UnaryPower<Subject>> {
  using base = x3::unary_parser<Subject, UnaryPower<Subject>>;
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  constexpr UnaryPower(Subject const &subject) : base(subject) {}

  /// The prefix operator (graph/precedence.h: one character each) at p, if any.
  static std::optional<UnaryOp> prefixAt(It p) {
    for (std::size_t i = 0; i < std::size(kPrefixOperators); ++i)
      if (*p == kPrefixOperators[i][0]) return static_cast<UnaryOp>(i);
    return std::nullopt;
  }

  static It collectPrefix(AstBuilder &b, It p, It last, std::vector<parse::PrefixOp> &ops) {
    for (;;) {
      p = skipBlanks(p, last);
      if (p == last) return p;
      std::optional<UnaryOp> op = prefixAt(p);
      if (!op) return p;
      ops.push_back({*op, b.offset(p)});
      b.noteToken(SourceRange::of(b.offset(p), b.offset(p + 1)), TokenKind::Other);
      ++p;
    }
  }

  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &rctx, Attr &) const {
    AstBuilder &b = builderOf(ctx);
    std::vector<parse::PrefixOp> prefix;
    It p = collectPrefix(b, first, last, prefix);
    if (!this->subject.parse(p, last, ctx, rctx, x3::unused)) {
      if (prefix.empty()) return false;
      fail(expectedError(b, p, last, "expression"));
    }
    std::vector<std::vector<parse::PrefixOp>> exponentPrefixes;
    for (;;) {
      It q = skipBlanks(p, last);
      const std::size_t n = kPowerOperator.size();
      if (static_cast<std::size_t>(last - q) < n || std::string_view(q, n) != kPowerOperator) break;
      b.noteToken(SourceRange::of(b.offset(q), b.offset(q + n)), TokenKind::Other);
      std::vector<parse::PrefixOp> ops;
      q = collectPrefix(b, q + n, last, ops);
      if (!this->subject.parse(q, last, ctx, rctx, x3::unused))
        fail(expectedError(b, q, last, "expression"));
      exponentPrefixes.push_back(std::move(ops));
      p = q;
    }
    b.foldPower(exponentPrefixes);
    b.applyPrefix(prefix);
    first = p;
    return true;
  }
};

// ---------------------------------------------------------------------------------------------
// The expression rules

x3::rule<class expr_class> const expr = "expression";
x3::rule<class and_class> const and_expr = "expression";
x3::rule<class cmp_class> const cmp_expr = "expression";
x3::rule<class add_class> const add_expr = "expression";
x3::rule<class mul_class> const mul_expr = "expression";
x3::rule<class unary_class> const unary_expr = "expression";
x3::rule<class postfix_class> const postfix_expr = "expression";

auto const fold = [](auto &ctx) { builderOf(ctx).foldBinary(x3::_attr(ctx)); };

// One rule per level of graph/precedence.h, loosest first, each reading the next tighter one:
// the rules' order must follow the table's levels (checked below), and a new binary level needs
// a rule here. The operators of each level come from the table.
static_assert(tighter(Precedence::Or) == Precedence::And &&
              tighter(Precedence::And) == Precedence::Compare &&
              tighter(Precedence::Compare) == Precedence::Additive &&
              tighter(Precedence::Additive) == Precedence::Multiplicative &&
              tighter(Precedence::Multiplicative) == Precedence::Prefix &&
              tighter(Precedence::Prefix) == Precedence::Power &&
              tighter(Precedence::Power) == Precedence::Atom);
auto const expr_def = and_expr >> *((BinOp<Precedence::Or>() > and_expr)[fold]);
auto const and_expr_def = cmp_expr >> *((BinOp<Precedence::And>() > cmp_expr)[fold]);
auto const cmp_expr_def = add_expr >> *((BinOp<Precedence::Compare>() > add_expr)[fold]);
auto const add_expr_def = mul_expr >> *((BinOp<Precedence::Additive>() > mul_expr)[fold]);
auto const mul_expr_def = unary_expr >> *((BinOp<Precedence::Multiplicative>() > unary_expr)[fold]);
auto const unary_expr_def = UnaryPower<std::remove_const_t<decltype(postfix_expr)>>(postfix_expr);
auto const postfix_expr_def = Postfix<std::remove_const_t<decltype(expr)>>(expr);

BOOST_SPIRIT_DEFINE(expr, and_expr, cmp_expr, add_expr, mul_expr, unary_expr, postfix_expr)

// ---------------------------------------------------------------------------------------------
// Statement pieces. Each throws once it has seen enough to know what was meant.

/// A keyword at the start of the statement (the dispatcher has already checked it).
struct Keyword : x3::parser<Keyword> {
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  constexpr Keyword(const char *word) : word(word) {}
  const char *word;
  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &, Attr &) const {
    AstBuilder &b = builderOf(ctx);
    It p = skipBlanks(first, last);
    It e = identEnd(p, last);
    if (std::string_view(p, e - p) != word) return false;
    b.noteToken(SourceRange::of(b.offset(p), b.offset(e)), TokenKind::Other);
    first = e;
    return true;
  }
};

std::string keywordOf(StmtKind kind) {
  switch (kind) {
  case StmtKind::Param: return "param";
  case StmtKind::Input: return "input";
  case StmtKind::Const: return "const";
  case StmtKind::Minimize: return "minimize";
  case StmtKind::Maximize: return "maximize";
  case StmtKind::Report: return "report";
  case StmtKind::Define:
  case StmtKind::Function:
  case StmtKind::Bare: return "";
  }
  return "";
}

/// The declared or defined name.
struct DeclName : x3::parser<DeclName> {
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &, Attr &) const {
    AstBuilder &b = builderOf(ctx);
    std::string kw = keywordOf(b.stmt().kind);
    SourceRange r = expectName(b, first, last, "a name", kw.empty() ? "" : "after '" + kw + "'");
    b.stmt().name = {std::string(b.text(r)), r};
    return true;
  }
};

/// An expression that completes the statement (body, initializer or dim) and is popped off the
/// stack into `slot`.
template <typename Subject> struct Operand : x3::unary_parser<Subject, Operand<Subject>> {
  using base = x3::unary_parser<Subject, Operand<Subject>>;
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  constexpr Operand(Subject const &subject) : base(subject) {}
  template <typename Ctx, typename RCtx>
  ast::ExprId parseOne(It &first, It const &last, Ctx const &ctx, RCtx &rctx) const {
    AstBuilder &b = builderOf(ctx);
    if (!this->subject.parse(first, last, ctx, rctx, x3::unused))
      fail(expectedError(b, first, last, "expression"));
    return b.popOperand();
  }
  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &rctx, Attr &) const {
    builderOf(ctx).stmt().body = parseOne(first, last, ctx, rctx);
    return true;
  }
};
using ExprRule = std::remove_const_t<decltype(expr)>;
auto const body = Operand<ExprRule>(expr);

/// dim = "[" expr "]"
struct Dim : x3::parser<Dim> {
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &rctx, Attr &) const {
    AstBuilder &b = builderOf(ctx);
    It p = skipBlanks(first, last);
    if (p == last || *p != '[') return false;
    std::uint32_t open = b.offset(p);
    b.noteToken(SourceRange::of(open, open + 1), TokenKind::Other);
    It q = p + 1;
    ast::ExprId id = body.parseOne(q, last, ctx, rctx);
    It r = skipBlanks(q, last);
    if (r == last || *r != ']') failClose(b, r, last, open, '[', "");
    b.noteToken(SourceRange::of(b.offset(r), b.offset(r + 1)), TokenKind::Close);
    b.stmt().dims.push_back(id);
    first = r + 1;
    return true;
  }
};

bool atEquals(It p, It last) { return p != last && *p == '=' && (p + 1 == last || p[1] != '='); }

/// "=" (never the start of "==")
struct Equals : x3::parser<Equals> {
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &, Attr &) const {
    AstBuilder &b = builderOf(ctx);
    It p = skipBlanks(first, last);
    if (!atEquals(p, last)) {
      const ast::Stmt &s = b.stmt();
      std::string kw = keywordOf(s.kind);
      fail(expectedError(b, p, last,
                         "'=' after '" + (kw.empty() ? "" : kw + " ") + s.name.text + "'"));
    }
    b.noteToken(SourceRange::of(b.offset(p), b.offset(p + 1)), TokenKind::Other);
    first = p + 1;
    return true;
  }
};

/// param initializer: "=" expr | "~" ("normal" | "uniform") "(" expr "," expr ")"
struct ParamInit : x3::parser<ParamInit> {
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &rctx, Attr &) const {
    AstBuilder &b = builderOf(ctx);
    ast::Stmt &s = b.stmt();
    It p = skipBlanks(first, last);
    if (atEquals(p, last)) {
      b.noteToken(SourceRange::of(b.offset(p), b.offset(p + 1)), TokenKind::Other);
      It q = p + 1;
      s.initValue = body.parseOne(q, last, ctx, rctx);
      s.init = ast::InitKind::Value;
      s.initRange = SourceRange::of(b.offset(p), b.lastToken().end);
      first = q;
      return true;
    }
    if (p == last || *p != '~') return false;
    b.noteToken(SourceRange::of(b.offset(p), b.offset(p + 1)), TokenKind::Other);
    It q = skipBlanks(p + 1, last);
    It e = identEnd(q, last);
    std::string_view dist(q, e - q);
    if (dist != "normal" && dist != "uniform")
      fail(expectedError(b, q, last, "'normal' or 'uniform'"));
    s.init = dist == "normal" ? ast::InitKind::Normal : ast::InitKind::Uniform;
    b.noteToken(SourceRange::of(b.offset(q), b.offset(e)), TokenKind::Other);
    const char *args = dist == "normal" ? "(mean, std)" : "(lo, hi)";
    It r = skipBlanks(e, last);
    if (r == last || *r != '(')
      fail(expectedError(b, r, last, "'" + std::string(dist) + args + "'"));
    std::uint32_t open = b.offset(r);
    b.noteToken(SourceRange::of(open, open + 1), TokenKind::Other);
    r = r + 1;
    for (int i = 0; i < 2; ++i) {
      s.initArgs.push_back(body.parseOne(r, last, ctx, rctx));
      It t = skipBlanks(r, last);
      char want = i == 0 ? ',' : ')';
      if (t == last || *t != want) {
        ParseError err = expectedError(b, t, last, std::string("'") + want + "'");
        err.message += " in '" + std::string(dist) + args + "'";
        err.notes.push_back({SourceRange::of(open, open + 1), "to match this '('"});
        fail(err);
      }
      b.noteToken(SourceRange::of(b.offset(t), b.offset(t + 1)),
                  i == 0 ? TokenKind::Other : TokenKind::Close);
      r = t + 1;
    }
    s.initRange = SourceRange::of(b.offset(p), b.offset(r));
    first = r;
    return true;
  }
};

/// input columns: "from" "(" name ( ".." name | ("," name)* ) ")"
struct FromColumns : x3::parser<FromColumns> {
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &, Attr &) const {
    AstBuilder &b = builderOf(ctx);
    ast::Stmt &s = b.stmt();
    It p = skipBlanks(first, last);
    It e = identEnd(p, last);
    if (std::string_view(p, e - p) != "from") return false;
    b.noteToken(SourceRange::of(b.offset(p), b.offset(e)), TokenKind::Other);
    It q = skipBlanks(e, last);
    if (q == last || *q != '(') fail(expectedError(b, q, last, "'(' after 'from'"));
    std::uint32_t open = b.offset(q);
    b.noteToken(SourceRange::of(open, open + 1), TokenKind::Other);
    q = q + 1;
    auto column = [&] {
      SourceRange r = expectName(b, q, last, "a column name", "");
      s.fromColumns.push_back({std::string(b.text(r)), r});
    };
    column();
    It t = skipBlanks(q, last);
    if (last - t >= 2 && t[0] == '.' && t[1] == '.') {
      b.noteToken(SourceRange::of(b.offset(t), b.offset(t + 2)), TokenKind::Other);
      q = t + 2;
      column();
      s.fromIsRange = true;
      t = skipBlanks(q, last);
    } else {
      while (t != last && *t == ',') {
        b.noteToken(SourceRange::of(b.offset(t), b.offset(t + 1)), TokenKind::Other);
        q = t + 1;
        column();
        t = skipBlanks(q, last);
      }
    }
    if (t == last || *t != ')') {
      ParseError err =
          expectedError(b, t, last,
                        s.fromIsRange               ? "')' after the column range"
                        : s.fromColumns.size() == 1 ? "',', '..' or ')' in the column list"
                                                    : "',' or ')' in the column list");
      err.notes.push_back({SourceRange::of(open, open + 1), "to match this '('"});
      fail(err);
    }
    b.noteToken(SourceRange::of(b.offset(t), b.offset(t + 1)), TokenKind::Close);
    first = t + 1;
    return true;
  }
};

/// name "(" name ("," name)* ")" -- the dispatcher has checked the shape already.
struct FunctionHead : x3::parser<FunctionHead> {
  using attribute_type = x3::unused_type;
  [[maybe_unused]] static bool const has_attribute = false;
  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(It &first, It const &last, Ctx const &ctx, RCtx &, Attr &) const {
    AstBuilder &b = builderOf(ctx);
    ast::Stmt &s = b.stmt();
    SourceRange nameRange = expectName(b, first, last, "a name", "");
    s.name = {std::string(b.text(nameRange)), nameRange};
    It p = skipBlanks(first, last);  // at '('
    b.noteToken(SourceRange::of(b.offset(p), b.offset(p + 1)), TokenKind::Other);
    ++p;
    It q = skipBlanks(p, last);
    if (q != last && *q == ')') {
      fail({SourceRange::of(nameRange.begin, b.offset(q + 1)),
            "function " + quoted(s.name.text) + " has no parameters (define it as '" + s.name.text +
                " = ...')",
            {}});
    }
    for (;;) {
      SourceRange r = expectName(b, p, last, "a parameter name", "");
      s.params.push_back({std::string(b.text(r)), r});
      q = skipBlanks(p, last);
      if (q != last && *q == ',') {
        p = q + 1;
        continue;
      }
      break;
    }
    b.noteToken(SourceRange::of(b.offset(q), b.offset(q + 1)), TokenKind::Close);
    first = q + 1;
    return true;
  }
};

auto const param_stmt = Keyword("param") >> DeclName() >> *Dim() >> -ParamInit();
auto const input_stmt = Keyword("input") >> DeclName() >> *Dim() >> -FromColumns();
auto const const_stmt = Keyword("const") >> DeclName() >> *Dim() >> Equals() >> body;
auto const minimize_stmt = Keyword("minimize") >> body;
auto const maximize_stmt = Keyword("maximize") >> body;
auto const report_stmt = Keyword("report") >> DeclName() >> Equals() >> body;
auto const define_stmt = DeclName() >> Equals() >> body;
auto const function_stmt = FunctionHead() >> Equals() >> body;
auto const bare_stmt = body;

// ---------------------------------------------------------------------------------------------
// Dispatch: the first word says which statement this is.

/// `name (` name ("," name)* `)` `=` -- a function head (names only, so no recursion).
bool looksLikeFunction(It p, It last) {
  p = skipBlanks(identEnd(p, last), last);
  if (p == last || *p != '(') return false;
  p = skipBlanks(p + 1, last);
  if (p != last && *p == ')') return atEquals(skipBlanks(p + 1, last), last);
  for (;;) {
    if (p == last || !isIdentStart(*p)) return false;
    p = skipBlanks(identEnd(p, last), last);
    if (p != last && *p == ',') {
      p = skipBlanks(p + 1, last);
      continue;
    }
    if (p == last || *p != ')') return false;
    return atEquals(skipBlanks(p + 1, last), last);
  }
}

template <typename Parser> bool run(AstBuilder &b, It &first, It last, const Parser &p) {
  return x3::phrase_parse(first, last, x3::with<builder_tag>(b)[p], Blank(),
                          x3::skip_flag::dont_post_skip);
}

/// Whatever follows a complete statement.
[[noreturn]] void failTrailing(AstBuilder &b, It p, It last) {
  const ast::Stmt &s = b.stmt();
  if (s.kind == StmtKind::Param && s.init == ast::InitKind::None) {
    ParseError e = unexpectedError(b, p, last);
    if (e.message.rfind("unexpected", 0) == 0 || e.message.rfind("expected an operator", 0) == 0) {
      std::string_view tok = tokenAt(skipBlanks(p, last), last);
      e.message = "unexpected " + quoted(tok) + " in 'param " + s.name.text +
                  "': expected '[', '=', '~' or the end of the statement";
    }
    throw e;
  }
  if (s.kind == StmtKind::Input && s.fromColumns.empty()) {
    std::string_view tok = tokenAt(skipBlanks(p, last), last);
    ParseError e = unexpectedError(b, p, last);
    e.message = "unexpected " + quoted(tok) + " in 'input " + s.name.text +
                "': expected '[', 'from' or the end of the statement";
    throw e;
  }
  throw unexpectedError(b, p, last);
}

}  // namespace

bool parseStatement(AstBuilder &b, const char *begin, const char *end, bool allowBareExpression,
                    ParseError &error) {
  It p = skipBlanks(begin, end);
  if (p == end) return true;
  It e = identEnd(p, end);
  std::string_view word(p, e - p);
  StmtKind kind = StmtKind::Bare;
  if (word == "param")
    kind = StmtKind::Param;
  else if (word == "input")
    kind = StmtKind::Input;
  else if (word == "const")
    kind = StmtKind::Const;
  else if (word == "minimize")
    kind = StmtKind::Minimize;
  else if (word == "maximize")
    kind = StmtKind::Maximize;
  else if (word == "report")
    kind = StmtKind::Report;
  else if (!word.empty() && looksLikeFunction(p, end))
    kind = StmtKind::Function;
  else if (!word.empty() && atEquals(skipBlanks(e, end), end))
    kind = StmtKind::Define;

  b.beginStatement(kind, b.offset(p));
  It first = p;
  try {
    bool ok = false;
    switch (kind) {
    case StmtKind::Param: ok = run(b, first, end, param_stmt); break;
    case StmtKind::Input: ok = run(b, first, end, input_stmt); break;
    case StmtKind::Const: ok = run(b, first, end, const_stmt); break;
    case StmtKind::Minimize: ok = run(b, first, end, minimize_stmt); break;
    case StmtKind::Maximize: ok = run(b, first, end, maximize_stmt); break;
    case StmtKind::Report: ok = run(b, first, end, report_stmt); break;
    case StmtKind::Function: ok = run(b, first, end, function_stmt); break;
    case StmtKind::Define: ok = run(b, first, end, define_stmt); break;
    case StmtKind::Bare: ok = run(b, first, end, bare_stmt); break;
    }
    if (!ok) fail(expectedError(b, first, end, "a statement"));
    It rest = skipBlanks(first, end);
    if (rest != end) failTrailing(b, rest, end);
    if (kind == StmtKind::Bare && !allowBareExpression) {
      ParseError err{b.stmt().range, "an expression on its own is not a statement", {}};
      err.range = SourceRange::of(b.offset(p), b.lastToken().end);
      err.notes.push_back(
          {SourceRange{},
           "write 'name = ...' to define it or 'minimize ...' to make it the objective"});
      fail(err);
    }
    b.commitStatement();
    return true;
  } catch (ParseError &err) {
    error = std::move(err);
  } catch (const x3::expectation_failure<It> &f) {
    error = fromExpectationFailure(b, f, end);
  }
  b.abortStatement();
  return false;
}

}  // namespace nabla::grammar
