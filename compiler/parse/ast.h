// The syntax tree of a nabla program, free of Boost: what parse/ produces and sema/ consumes.
//
// Expressions live in one arena per Program and are stored in post-order: every child has a smaller
// ExprId than its parent. Later stages therefore walk an expression with a loop over ids instead of
// recursion, so a sum of 10^5 terms (a left-leaning chain 10^5 deep) costs no stack.
#pragma once

#include "graph/precedence.h"
#include "source/source.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nabla::ast {

using ExprId = std::uint32_t;
inline constexpr ExprId kNoExpr = UINT32_MAX;

enum class ExprKind : std::uint8_t {
  Number,  // number
  Name,    // name
  Unary,   // op args[0]
  Binary,  // args[0] op args[1]
  Call,    // name(args...): built-ins, d/grad/hessian, user functions
  Index,   // args[0][args[1], ..., args[k]]: one subscript per dimension, leading ones first
           // (m[i][j] is Index(Index(m, i), j); m[i, j] is one Index)
  Vector,  // [args...]; a matrix is a vector of vectors
  Slice,   // a subscript lo:hi, either bound omitted: args holds the bounds given (see bounds)
};

/// Slice: which bounds were written (`x[1:]` has kLowerBound, `x[:-1]` kUpperBound).
inline constexpr std::uint8_t kLowerBound = 1, kUpperBound = 2;

/// The operators of graph/precedence.h, in its order: Neg, Plus, Not; Or, And, Lt, ..., Pow.
enum class UnaryOp : std::uint8_t {
#define NABLA_UNARY_OP_NAME(name, spelling) name,
  NABLA_PREFIX_OPERATORS(NABLA_UNARY_OP_NAME)
#undef NABLA_UNARY_OP_NAME
};
enum class BinaryOp : std::uint8_t {
#define NABLA_BINARY_OP_NAME(name, spelling, level) name,
  NABLA_BINARY_OPERATORS(NABLA_BINARY_OP_NAME)
#undef NABLA_BINARY_OP_NAME
};

const char *spelling(UnaryOp op);
const char *spelling(BinaryOp op);

struct Expr {
  ExprKind kind = ExprKind::Number;
  SourceRange range;         // the whole expression
  double number = 0;         // Number: the IEEE double nearest the literal (strtod)
  std::string name;          // Name; Call: the callee
  SourceRange nameRange;     // Call: the callee's spelling
  UnaryOp unaryOp = UnaryOp::Neg;
  BinaryOp binaryOp = BinaryOp::Add;
  std::vector<ExprId> args;  // operands, call arguments, or vector elements, in source order
  std::uint8_t bounds = 0;   // Slice: kLowerBound | kUpperBound, those written
};

enum class StmtKind : std::uint8_t {
  Param,     // param w[3][2] = init | ~ normal(m, s) | ~ uniform(lo, hi)
  Input,     // input x[3] from (a, b, c) | from (first .. last)
  Const,     // const name = expr
  Define,    // name = expr
  Function,  // name(a, b) = expr
  Minimize,  // minimize expr
  Maximize,  // maximize expr
  Report,    // report name = expr
  Bare,      // a bare expression (only where the caller allows it: `nabla eval EXPR`)
};

enum class InitKind : std::uint8_t { None, Value, Normal, Uniform };

struct Name {
  std::string text;
  SourceRange range;
};

struct Stmt {
  StmtKind kind = StmtKind::Define;
  SourceRange range;                 // the whole statement
  Name name;                         // declared/defined name (unset for Minimize/Maximize/Bare)
  std::vector<ExprId> dims;          // Param/Input/Const: declared shape, outermost first
  std::vector<Name> params;          // Function: parameter names
  ExprId body = kNoExpr;             // Define/Function/Const/Minimize/Maximize/Report/Bare: the expression
  ExprId bodyBegin = kNoExpr;        // first arena id of the statement's expressions (post-order range)
  InitKind init = InitKind::None;    // Param (and Const uses body)
  ExprId initValue = kNoExpr;        // InitKind::Value
  std::vector<ExprId> initArgs;      // InitKind::Normal/Uniform: (mean, std) or (lo, hi)
  SourceRange initRange;             // the initializer as written
  std::vector<Name> fromColumns;     // Input: `from (a, b, c)`
  bool fromIsRange = false;          // Input: `from (first .. last)`: fromColumns holds first and last
};

struct Program {
  std::vector<Expr> exprs;  // the arena, post-order
  std::vector<Stmt> stmts;  // in source order

  const Expr &operator[](ExprId id) const { return exprs[id]; }
  Expr &operator[](ExprId id) { return exprs[id]; }
};

}  // namespace nabla::ast
