#include "parse/ast_builder.h"

#include <array>
#include <cerrno>
#include <clocale>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace nabla::parse {

bool isKeyword(std::string_view word) {
  static constexpr std::array<std::string_view, 7> kKeywords = {
      "param", "input", "const", "minimize", "maximize", "report", "from"};
  for (std::string_view k : kKeywords)
    if (k == word) return true;
  return false;
}

std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 40;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, kMax - 8)) + "...' (" + std::to_string(text.size()) +
         " characters)";
}

void AstBuilder::beginStatement(ast::StmtKind kind, std::uint32_t begin) {
  stmt_ = ast::Stmt{};
  stmt_.kind = kind;
  stmt_.range = SourceRange::point(begin);
  arenaMark_ = program_->exprs.size();
  stmt_.bodyBegin = static_cast<ast::ExprId>(arenaMark_);
  operands_.clear();
  brackets_.clear();
  lastToken_ = {};
  lastKind_ = TokenKind::None;
}

void AstBuilder::commitStatement() {
  if (lastToken_.valid()) stmt_.range = SourceRange::of(stmt_.range.begin, lastToken_.end);
  program_->stmts.push_back(std::move(stmt_));
  stmt_ = ast::Stmt{};
  operands_.clear();
  brackets_.clear();
}

void AstBuilder::abortStatement() {
  program_->exprs.resize(arenaMark_);
  stmt_ = ast::Stmt{};
  operands_.clear();
  brackets_.clear();
}

ast::ExprId AstBuilder::add(ast::Expr expr) {
  program_->exprs.push_back(std::move(expr));
  return static_cast<ast::ExprId>(program_->exprs.size() - 1);
}

AstBuilder::Operand AstBuilder::pop() {
  // The grammar pushes before it combines; an empty stack here is a bug in grammar.cpp.
  if (operands_.empty())
    throw ParseError{SourceRange::point(0), "internal error: operand stack empty", {}};
  Operand top = operands_.back();
  operands_.pop_back();
  return top;
}

ast::ExprId AstBuilder::popOperand() { return pop().id; }

void AstBuilder::pushNumber(SourceRange range) {
  // strtod follows the C locale's decimal point; the literal always uses '.', so translate it
  // rather than depend on (or change) the process locale.
  std::string literal(text(range));
  const char *point = std::localeconv()->decimal_point;
  if (point && point[0] != '.' && point[0] != '\0' && point[1] == '\0')
    for (char &c : literal)
      if (c == '.') c = point[0];
  errno = 0;
  double value = std::strtod(literal.c_str(), nullptr);
  // Overflow gives HUGE_VAL; underflow (to 0 or a subnormal) is accepted as the nearest double.
  if (std::isinf(value))
    throw ParseError{range,
                     "number " + quoted(text(range)) +
                         " is too large for a double (the largest is about 1.8e308)",
                     {}};
  ast::Expr e;
  e.kind = ast::ExprKind::Number;
  e.range = range;
  e.number = value;
  operands_.push_back({add(std::move(e)), range});
}

void AstBuilder::pushName(SourceRange range) {
  ast::Expr e;
  e.kind = ast::ExprKind::Name;
  e.range = range;
  e.name = std::string(text(range));
  operands_.push_back({add(std::move(e)), range});
}

void AstBuilder::foldBinary(ast::BinaryOp op) {
  Operand rhs = pop();
  Operand lhs = pop();
  ast::Expr e;
  e.kind = ast::ExprKind::Binary;
  e.binaryOp = op;
  e.range = SourceRange::join(lhs.outer, rhs.outer);
  e.args = {lhs.id, rhs.id};
  SourceRange r = e.range;
  operands_.push_back({add(std::move(e)), r});
}

void AstBuilder::applyPrefix(const std::vector<PrefixOp> &ops) {
  if (ops.empty()) return;
  Operand operand = pop();
  for (std::size_t i = ops.size(); i-- > 0;) {
    ast::Expr e;
    e.kind = ast::ExprKind::Unary;
    e.unaryOp = ops[i].op;
    e.range = SourceRange::of(ops[i].offset, operand.outer.end);
    e.args = {operand.id};
    SourceRange r = e.range;
    operand = {add(std::move(e)), r};
  }
  operands_.push_back(operand);
}

void AstBuilder::foldPower(const std::vector<std::vector<PrefixOp>> &exponentPrefixes) {
  if (exponentPrefixes.empty()) return;
  // Operands p0..pk sit on top of the stack; p_{i} ^ (prefix_i (p_{i+1} ^ ...)), innermost first.
  for (std::size_t i = exponentPrefixes.size(); i-- > 0;) {
    applyPrefix(exponentPrefixes[i]);
    foldBinary(ast::BinaryOp::Pow);
  }
}

void AstBuilder::makeCall(SourceRange nameRange, std::size_t mark, std::uint32_t end) {
  ast::Expr e;
  e.kind = ast::ExprKind::Call;
  e.name = std::string(text(nameRange));
  e.nameRange = nameRange;
  e.range = SourceRange::of(nameRange.begin, end);
  for (std::size_t i = mark; i < operands_.size(); ++i) e.args.push_back(operands_[i].id);
  operands_.resize(mark);
  SourceRange r = e.range;
  operands_.push_back({add(std::move(e)), r});
}

void AstBuilder::makeIndex(std::size_t mark, std::uint32_t end) {
  ast::Expr e;
  e.kind = ast::ExprKind::Index;
  const Operand &base = operands_[mark - 1];
  e.range = SourceRange::of(base.outer.begin, end);
  for (std::size_t i = mark - 1; i < operands_.size(); ++i) e.args.push_back(operands_[i].id);
  operands_.resize(mark - 1);
  SourceRange r = e.range;
  operands_.push_back({add(std::move(e)), r});
}

void AstBuilder::makeSlice(std::size_t mark, std::uint8_t bounds, SourceRange range) {
  ast::Expr e;
  e.kind = ast::ExprKind::Slice;
  e.range = range;
  e.bounds = bounds;
  for (std::size_t i = mark; i < operands_.size(); ++i) e.args.push_back(operands_[i].id);
  operands_.resize(mark);
  operands_.push_back({add(std::move(e)), range});
}

void AstBuilder::makeVector(std::size_t mark, SourceRange range) {
  ast::Expr e;
  e.kind = ast::ExprKind::Vector;
  e.range = range;
  for (std::size_t i = mark; i < operands_.size(); ++i) e.args.push_back(operands_[i].id);
  operands_.resize(mark);
  operands_.push_back({add(std::move(e)), range});
}

void AstBuilder::parenthesize(SourceRange range) {
  if (!operands_.empty()) operands_.back().outer = range;
}

std::uint32_t AstBuilder::closeBracket() {
  if (brackets_.empty()) return 0;
  std::uint32_t at = brackets_.back();
  brackets_.pop_back();
  return at;
}

}  // namespace nabla::parse
