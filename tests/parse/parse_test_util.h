// Helpers for the parser tests: parse a string, print a tree as a fully parenthesized
// S-expression, evaluate it, and check the arena's invariants. All of them walk the post-order
// arena with a loop, so they work on 10^5-deep chains too.
#pragma once

#include "parse/parse.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nabla::test {

struct Parsed {
  std::unique_ptr<SourceBuffer> buffer;
  std::unique_ptr<DiagnosticSink> sink;
  std::optional<ast::Program> program;
  bool ok() const { return program.has_value(); }
  std::string rendered() const { return renderDiagnostics(*sink); }
};

inline Parsed parseText(const std::string &text, bool bare, ParseOptions options = {}) {
  Parsed p;
  p.buffer = std::make_unique<SourceBuffer>("input", text);
  p.sink = std::make_unique<DiagnosticSink>(*p.buffer);
  options.allowBareExpression = bare;
  p.program = parseProgram(*p.buffer, *p.sink, options);
  return p;
}

/// `(a + (b * c))`, `(- x)`, `f(a, b)`, `m[i]`, `[1, 2]`: every operation parenthesized, built
/// bottom-up over the arena.
inline std::string sexpr(const ast::Program &program, ast::ExprId root) {
  std::vector<std::string> text(root + 1);
  for (ast::ExprId id = 0; id <= root; ++id) {
    const ast::Expr &e = program[id];
    auto list = [&] {
      std::string s;
      for (std::size_t i = 0; i < e.args.size(); ++i) s += (i ? ", " : "") + text[e.args[i]];
      return s;
    };
    switch (e.kind) {
    case ast::ExprKind::Number: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", e.number);
      text[id] = buf;
      break;
    }
    case ast::ExprKind::Name: text[id] = e.name; break;
    case ast::ExprKind::Unary:
      text[id] = std::string("(") + ast::spelling(e.unaryOp) + " " + text[e.args[0]] + ")";
      break;
    case ast::ExprKind::Binary:
      text[id] =
          "(" + text[e.args[0]] + " " + ast::spelling(e.binaryOp) + " " + text[e.args[1]] + ")";
      break;
    case ast::ExprKind::Call: text[id] = e.name + "(" + list() + ")"; break;
    case ast::ExprKind::Index: {
      std::string subscripts;
      for (std::size_t i = 1; i < e.args.size(); ++i)
        subscripts += (i > 1 ? ", " : "") + text[e.args[i]];
      text[id] = text[e.args[0]] + "[" + subscripts + "]";
      break;
    }
    case ast::ExprKind::Vector: text[id] = "[" + list() + "]"; break;
    case ast::ExprKind::Slice: {
      std::size_t next = 0;
      std::string lo = e.bounds & ast::kLowerBound ? text[e.args[next++]] : "";
      std::string hi = e.bounds & ast::kUpperBound ? text[e.args[next]] : "";
      text[id] = lo + ":" + hi;
      break;
    }
    }
  }
  return text[root];
}

/// Evaluates a scalar expression of the reference corpus' language (numbers, names, + - * / ^,
/// unary minus, the corpus' functions); NaN for anything else.
inline double evaluate(const ast::Program &program, ast::ExprId root,
                       const std::map<std::string, double> &vars) {
  std::vector<double> v(root + 1, std::nan(""));
  for (ast::ExprId id = 0; id <= root; ++id) {
    const ast::Expr &e = program[id];
    auto arg = [&](std::size_t i) { return v[e.args[i]]; };
    switch (e.kind) {
    case ast::ExprKind::Number: v[id] = e.number; break;
    case ast::ExprKind::Name: {
      auto it = vars.find(e.name);
      if (it != vars.end()) v[id] = it->second;
      break;
    }
    case ast::ExprKind::Unary:
      v[id] = e.unaryOp == ast::UnaryOp::Neg    ? -arg(0)
              : e.unaryOp == ast::UnaryOp::Plus ? arg(0)
                                                : std::nan("");
      break;
    case ast::ExprKind::Binary:
      switch (e.binaryOp) {
      case ast::BinaryOp::Add: v[id] = arg(0) + arg(1); break;
      case ast::BinaryOp::Sub: v[id] = arg(0) - arg(1); break;
      case ast::BinaryOp::Mul: v[id] = arg(0) * arg(1); break;
      case ast::BinaryOp::Div: v[id] = arg(0) / arg(1); break;
      case ast::BinaryOp::Pow: v[id] = std::pow(arg(0), arg(1)); break;
      default: break;
      }
      break;
    case ast::ExprKind::Call: {
      const std::string &f = e.name;
      if (e.args.size() == 1) {
        double x = arg(0);
        if (f == "exp")
          v[id] = std::exp(x);
        else if (f == "log")
          v[id] = std::log(x);
        else if (f == "sqrt")
          v[id] = std::sqrt(x);
        else if (f == "sin")
          v[id] = std::sin(x);
        else if (f == "cos")
          v[id] = std::cos(x);
        else if (f == "tan")
          v[id] = std::tan(x);
        else if (f == "tanh")
          v[id] = std::tanh(x);
        else if (f == "atan")
          v[id] = std::atan(x);
        else if (f == "abs")
          v[id] = std::fabs(x);
        else if (f == "log1p")
          v[id] = std::log1p(x);
        else if (f == "expm1")
          v[id] = std::expm1(x);
        else if (f == "sigmoid")
          v[id] = 1 / (1 + std::exp(-x));
        else if (f == "softplus")
          v[id] = x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
      } else if (e.args.size() == 2) {
        if (f == "pow")
          v[id] = std::pow(arg(0), arg(1));
        else if (f == "min")
          v[id] = std::fmin(arg(0), arg(1));
        else if (f == "max")
          v[id] = std::fmax(arg(0), arg(1));
      }
      break;
    }
    case ast::ExprKind::Index:
    case ast::ExprKind::Vector:
    case ast::ExprKind::Slice: break;
    }
  }
  return v[root];
}

/// The arena is post-order, each statement owns the ids from its bodyBegin up to the next
/// statement's, and every range lies inside the buffer and inside its parent's range. Returns an
/// empty string or what is wrong.
inline std::string checkInvariants(const ast::Program &program, std::size_t bufferSize) {
  auto inBuffer = [&](SourceRange r) {
    return r.valid() && r.begin <= r.end && r.end <= bufferSize;
  };
  for (ast::ExprId id = 0; id < program.exprs.size(); ++id) {
    const ast::Expr &e = program[id];
    if (!inBuffer(e.range)) return "expr " + std::to_string(id) + " has a range outside the buffer";
    for (ast::ExprId a : e.args) {
      if (a >= id) return "expr " + std::to_string(id) + " has a child with a larger id";
      const SourceRange c = program[a].range;
      if (c.begin < e.range.begin || c.end > e.range.end)
        return "expr " + std::to_string(id) + " does not cover its child " + std::to_string(a);
    }
  }
  for (std::size_t s = 0; s < program.stmts.size(); ++s) {
    const ast::Stmt &st = program.stmts[s];
    ast::ExprId end = s + 1 < program.stmts.size() ? program.stmts[s + 1].bodyBegin
                                                   : static_cast<ast::ExprId>(program.exprs.size());
    if (st.bodyBegin > end) return "statement " + std::to_string(s) + ": bodyBegin out of order";
    if (!inBuffer(st.range))
      return "statement " + std::to_string(s) + " has a range outside the buffer";
    std::vector<ast::ExprId> owned = st.dims;
    if (st.body != ast::kNoExpr) owned.push_back(st.body);
    if (st.initValue != ast::kNoExpr) owned.push_back(st.initValue);
    owned.insert(owned.end(), st.initArgs.begin(), st.initArgs.end());
    for (ast::ExprId id : owned) {
      if (id < st.bodyBegin || id >= end)
        return "statement " + std::to_string(s) + " refers to an expression it does not own";
      const SourceRange r = program[id].range;
      if (r.begin < st.range.begin || r.end > st.range.end)
        return "statement " + std::to_string(s) + " does not cover its expression";
    }
  }
  return {};
}

}  // namespace nabla::test
