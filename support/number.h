// Numbers as nabla prints them: the one formatter that every message, printed expression, log,
// params file and prediction uses.
#pragma once

#include <string>

namespace nabla {

/// The shortest decimal (15 to 17 significant digits, `%g` style) that reads back as the same
/// double; `nan`, `inf`, `-inf`.
std::string formatNumber(double v);

}  // namespace nabla
