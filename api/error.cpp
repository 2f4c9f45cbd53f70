// nabla::Error (include/nabla/nabla.hpp): what the C++ API and the optimizers throw. On its own so
// that the optimizers need nothing else of the API.
#include "nabla/nabla.hpp"

namespace nabla {

Error::Error(Kind kind, const std::string &what, std::vector<Diagnostic> diagnostics)
    : std::runtime_error(what), kind_(kind),
      diagnostics_(std::make_shared<const std::vector<Diagnostic>>(std::move(diagnostics))) {}

const std::vector<Error::Diagnostic> &Error::diagnostics() const noexcept { return *diagnostics_; }

}  // namespace nabla
