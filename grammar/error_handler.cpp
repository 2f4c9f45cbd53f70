#include "grammar/error_handler.h"

#include "grammar/tokens.h"

#include <string>

namespace nabla::grammar {

using parse::AstBuilder;
using parse::ParseError;
using parse::quoted;
using TokenKind = AstBuilder::TokenKind;

namespace {
/// Where to point when something is missing at `p`: there, or (at the end of the statement) just
/// after the last token, so that the caret is not on a later blank line.
std::uint32_t endPoint(const AstBuilder &b, It at, It p, It end) {
  if (p != end) return b.offset(p);
  SourceRange last = b.lastToken();
  if (last.valid() && last.end <= b.offset(p)) return last.end;
  return b.offset(at);
}
}  // namespace

std::string_view operatorBefore(const char *stmtBegin, const char *at) {
  It p = at;
  for (;;) {
    while (p != stmtBegin && isBlank(p[-1])) --p;
    // A `#` earlier on this line means p is inside a comment: continue before it.
    It lineStart = p;
    while (lineStart != stmtBegin && lineStart[-1] != '\n') --lineStart;
    It hash = lineStart;
    while (hash != p && *hash != '#') ++hash;
    if (hash == p) break;
    p = hash;
  }
  if (p == stmtBegin) return {};
  if (p - stmtBegin >= 2) {
    std::string_view two(p - 2, 2);
    for (std::string_view op : kTwoCharOperators)
      if (two == op) return two;
  }
  switch (p[-1]) {
  case '+':
  case '-':
  case '*':
  case '/':
  case '@':
  case '^':
  case '<':
  case '>':
  case '!':
  case '=':
  case '~': return {p - 1, 1};
  default: return {};
  }
}

std::string_view tokenAt(const char *at, const char *end) {
  if (at == end) return {};
  if (isIdentStart(*at)) return {at, static_cast<std::size_t>(identEnd(at, end) - at)};
  if (startsNumber(at, end)) return {at, static_cast<std::size_t>(numberRunEnd(at, end) - at)};
  if (end - at >= 2) {
    std::string_view two(at, 2);
    for (std::string_view op : kTwoCharOperators)
      if (two == op) return two;
  }
  return {at, 1};
}

parse::ParseError expectedError(const AstBuilder &b, const char *at, const char *end,
                                std::string_view what) {
  It p = skipBlanks(at, end);
  if (p != end && (std::string_view(kOutsideGrammar).find(*p) != std::string_view::npos ||
                   ((*p == '&' || *p == '|') && tokenAt(p, end).size() == 1) ||
                   b.lastKind() == TokenKind::None))
    return unexpectedError(b, p, end);
  std::string message = "expected " + std::string(what);
  std::string_view op = operatorBefore(b.base() + b.stmtBegin(), p);
  if (!op.empty()) {
    message += " after '" + std::string(op) + "'";
  } else if (b.lastKind() == TokenKind::Other && b.lastToken().valid()) {
    std::string_view kw = b.text(b.lastToken());  // `minimize`, `from`
    if (!kw.empty() && isIdentStart(kw[0]) && message.find(" after ") == std::string::npos)
      message += " after '" + std::string(kw) + "'";
  }
  if (p == b.bufferEnd()) message = "unexpected end of input: " + message;
  ParseError e{SourceRange::point(endPoint(b, at, p, end)), std::move(message), {}};
  if (p != end) {
    std::string_view tok = tokenAt(p, end);
    e.range = SourceRange::of(b.offset(p), b.offset(p + tok.size()));
  }
  return e;
}

parse::ParseError unexpectedError(const AstBuilder &b, const char *at, const char *end) {
  It p = skipBlanks(at, end);
  std::string_view tok = tokenAt(p, end);
  SourceRange range = SourceRange::of(b.offset(p), b.offset(p + tok.size()));
  if (p == end) return {range, "unexpected end of statement", {}};
  SourceRange last = b.lastToken();
  std::string_view prev = last.valid() ? b.text(last) : std::string_view{};
  if (startsAtom(p, end) && b.lastKind() == TokenKind::Atom)
    return {range, "expected an operator between " + quoted(prev) + " and " + quoted(tok), {}};
  std::string after = b.lastKind() == TokenKind::Atom    ? " after " + quoted(prev)
                      : b.lastKind() == TokenKind::Close ? " after expression"
                                                         : "";
  char c = *p;
  if (c == ')' || c == ']')
    return {range,
            "unexpected '" + std::string(1, c) + "' without a matching '" + (c == ')' ? "(" : "[") +
                "'",
            {}};
  if (c == '&' || c == '|') {
    ParseError e{range, "unexpected character '" + std::string(1, c) + "'", {}};
    e.notes.push_back({range, std::string("did you mean '") + c + c + "'?"});
    return e;
  }
  if (c == '=' && tok == "=")
    return {
        range, "unexpected '='" + after + ": only a name or 'name(parameters)' can be defined", {}};
  if (std::string_view(kOutsideGrammar).find(c) != std::string_view::npos)
    return {range,
            std::string("unexpected character ") +
                (c == '\'' ? "\"'\"" : "'" + std::string(1, c) + "'"),
            {}};
  return {range, "unexpected " + quoted(tok) + after, {}};
}

parse::ParseError closeError(const AstBuilder &b, const char *at, const char *end,
                             std::uint32_t open, char openChar, std::string_view listName) {
  It p = skipBlanks(at, end);
  char closeChar = openChar == '(' ? ')' : ']';
  ParseError e;
  if (p != end && startsAtom(p, end) && b.lastKind() == TokenKind::Atom && listName.empty())
    return unexpectedError(b, p, end);  // `(x y)`: the missing operator is the likelier slip
  {
    std::string_view tok = tokenAt(p, end);
    e.range = SourceRange::of(b.offset(p), b.offset(p + tok.size()));
    if (p == end) e.range = SourceRange::point(endPoint(b, at, p, end));
    if (p == end || listName.empty())
      e.message = std::string("expected '") + closeChar + "' to close '" + openChar + "'";
    else
      e.message = std::string("expected ',' or '") + closeChar + "' in " + std::string(listName);
    if (p == b.bufferEnd()) e.message = "unexpected end of input: " + e.message;
  }
  e.notes.push_back(
      {SourceRange::of(open, open + 1), std::string("to match this '") + openChar + "'"});
  return e;
}

}  // namespace nabla::grammar
