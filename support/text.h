// Text for messages: untrusted bytes made safe for a terminal, and "did you mean" suggestions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nabla {

/// `text` safe to show on a terminal, in one form every message uses: C0 controls and DEL
/// (`\x1B`), C1 controls (U+0080..U+009F, as `\u009B`), the invisible characters that reorder or
/// hide text (bidirectional overrides and isolates, zero-width characters, U+FEFF: `\u202E`) and
/// bytes that are not UTF-8 (`\xC3`) are escaped; a backslash stays one; every other character,
/// printable UTF-8 included (`∂`, `²`), is kept. With `keepLines`, line feeds and tabs are kept
/// too (messages of several lines, such as a linker's output).
std::string escapeForTerminal(std::string_view text, bool keepLines = false);

/// "did you mean" support: the closest candidate within a small edit distance (one edit per
/// three characters, at least one; a case-only difference first), or empty.
std::string closestName(std::string_view name, const std::vector<std::string> &candidates);

}  // namespace nabla
