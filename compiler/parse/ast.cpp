#include "parse/ast.h"

namespace nabla::ast {

// The spellings are string literals (graph/precedence.h), so their data ends in a NUL.
const char *spelling(UnaryOp op) { return kPrefixOperators[static_cast<int>(op)].data(); }

const char *spelling(BinaryOp op) { return kBinaryOperators[static_cast<int>(op)].spelling.data(); }

}  // namespace nabla::ast
