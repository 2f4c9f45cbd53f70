// The nabla grammar (Boost.Spirit X3, compiled in grammar.cpp only). This header is Boost-free so
// that parse/ can call it without paying X3's compile time in more than one translation unit.
#pragma once

#include "parse/ast_builder.h"

namespace nabla::grammar {

/// Parses one statement, the text [begin, end) of the builder's buffer (statement separators are
/// already removed; newlines inside brackets and comments may remain), and appends it to the
/// builder's program. Blank text adds nothing. Returns false with `error` set on a syntax error,
/// leaving the arena as it was.
bool parseStatement(parse::AstBuilder &builder, const char *begin, const char *end,
                    bool allowBareExpression, parse::ParseError &error);

}  // namespace nabla::grammar
