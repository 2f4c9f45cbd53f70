// The compiler's options under fuzzing: fuzz_support.h's limits as CompileOptions.
#pragma once

#include "fuzz_support.h"
#include "pipeline.h"

namespace nabla::fuzz {

inline CompileOptions fuzzOptions(bool allowBare) {
  CompileOptions o;
  o.parse.allowBareExpression = allowBare;
  o.parse.limits.maxSourceBytes = kMaxSourceBytes;
  o.parse.limits.maxNesting = kMaxNesting;
  o.lower.maxNodes = kMaxNodes;
  o.lower.maxArrayElements = kMaxArray;
  o.simplifyOptions.limits.maxNewNodes = kMaxNodes;
  return o;
}

}  // namespace nabla::fuzz
