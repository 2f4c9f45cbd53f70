// Numbers as nabla writes them: the one formatter that messages, printed expressions, dumps, the
// command line's results, logs, params files, checkpoints' summaries and predictions all use.
#pragma once

#include <string>

namespace nabla {

/// The shortest decimal (15 to 17 significant digits, `%g` style) that reads back as the same
/// double, with a plain exponent (`1e-5`, `2.5e20`: what every nabla reader accepts); `nan`,
/// `inf`, `-inf`; `-0` for negative zero.
std::string formatNumber(double v);

}  // namespace nabla
