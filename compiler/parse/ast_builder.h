// Builds the post-order expression arena while the grammar runs, and the token-level helpers the
// grammar shares with the rest of parse/. Boost-free: grammar/grammar.cpp drives it from X3.
//
// The grammar works like a shunting stack machine: every parsed operand is pushed, and each
// combining step (an operator, a call, a subscript) pops its operands and pushes the new node.
// Nodes enter the arena when they are made, so a node's children always have smaller ids
// (post-order).
#pragma once

#include "parse/ast.h"
#include "source/source.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::parse {

/// A syntax error, thrown inside the grammar and caught per statement.
struct ParseError {
  SourceRange range;
  std::string message;
  std::vector<DiagnosticNote> notes;
};

inline bool isDigit(char c) { return c >= '0' && c <= '9'; }
inline bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }

/// The reserved words: `param input const minimize maximize report from`.
bool isKeyword(std::string_view word);

/// `text` quoted for a message, shortened when long (a 10^6-character name stays readable).
std::string quoted(std::string_view text);

/// A prefix operator as written: `-`, `+` or `!` at `offset`.
struct PrefixOp {
  ast::UnaryOp op;
  std::uint32_t offset;
};

class AstBuilder {
public:
  /// `base` and `size` are the whole buffer: offsets count from `base`.
  AstBuilder(ast::Program &program, const char *base, std::size_t size)
      : program_(&program), base_(base), end_(base + size) {}

  const char *base() const { return base_; }
  const char *bufferEnd() const { return end_; }
  std::uint32_t offset(const char *p) const { return static_cast<std::uint32_t>(p - base_); }
  std::string_view text(SourceRange r) const { return {base_ + r.begin, r.end - r.begin}; }

  // --- statements ---
  void beginStatement(ast::StmtKind kind, std::uint32_t begin);
  ast::Stmt &stmt() { return stmt_; }
  std::uint32_t stmtBegin() const { return stmt_.range.begin; }
  /// Appends the statement (its range ends at the last token) and clears the operand stacks.
  void commitStatement();
  /// Drops everything the failed statement added to the arena.
  void abortStatement();
  /// Pops the finished expression on top of the stack (the statement's body, an initializer, a
  /// dim).
  ast::ExprId popOperand();

  // --- operands ---
  /// Converts the literal at `range` with strtod; throws ParseError if it overflows a double.
  void pushNumber(SourceRange range);
  void pushName(SourceRange range);
  void foldBinary(ast::BinaryOp op);
  /// Applies `ops` to the top operand, the last one innermost (`-!x` is Neg(Not(x))).
  void applyPrefix(const std::vector<PrefixOp> &ops);
  /// The top `exponentPrefixes.size() + 1` operands are `p0 ^ p1 ^ ... ^ pk` with the prefix
  /// operators written before each exponent; folds them to the right.
  void foldPower(const std::vector<std::vector<PrefixOp>> &exponentPrefixes);
  /// `name(args)`: the arguments are the operands above `mark`.
  void makeCall(SourceRange nameRange, std::size_t mark, std::uint32_t end);
  /// base[subscripts...]: the base is the operand below `mark`, the subscripts those from it.
  void makeIndex(std::size_t mark, std::uint32_t end);
  /// A slice subscript lo:hi from the bounds above `mark` (those that `bounds` says were written).
  void makeSlice(std::size_t mark, std::uint8_t bounds, SourceRange range);
  void makeVector(std::size_t mark, SourceRange range);
  /// A parenthesized operand: later ranges that include it include the parentheses.
  void parenthesize(SourceRange range);
  std::size_t operandCount() const { return operands_.size(); }

  // --- brackets (for "expected ')' to close '('" notes) ---
  void openBracket(std::uint32_t at) { brackets_.push_back(at); }
  std::uint32_t closeBracket();
  std::uint32_t innermostBracket() const { return brackets_.empty() ? 0 : brackets_.back(); }

  // --- the last token consumed, for juxtaposition messages ---
  enum class TokenKind : std::uint8_t { None, Atom, Close, Other };
  void noteToken(SourceRange r, TokenKind kind) {
    lastToken_ = r;
    lastKind_ = kind;
  }
  SourceRange lastToken() const { return lastToken_; }
  TokenKind lastKind() const { return lastKind_; }

private:
  struct Operand {
    ast::ExprId id;
    SourceRange outer;  // the expression's range, with any parentheses around it
  };
  ast::ExprId add(ast::Expr expr);
  Operand pop();

  ast::Program *program_;
  const char *base_;
  const char *end_;
  ast::Stmt stmt_;
  std::size_t arenaMark_ = 0;
  std::vector<Operand> operands_;
  std::vector<std::uint32_t> brackets_;
  SourceRange lastToken_;
  TokenKind lastKind_ = TokenKind::None;
};

}  // namespace nabla::parse
