// Text for messages: "did you mean" suggestions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nabla {

/// "did you mean" support: the closest candidate within a small edit distance (one edit per
/// three characters, at least one; a case-only difference first), or empty.
std::string closestName(std::string_view name, const std::vector<std::string> &candidates);

}  // namespace nabla
