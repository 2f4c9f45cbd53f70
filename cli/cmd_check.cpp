// `nabla check`: parse and check a program; silent when it is correct.
#include "cli_common.h"

namespace nabla::cli {

int runCheck(Invocation &inv) {
  std::optional<LoadedInput> input = loadInput(inv, true);
  if (!input)
    return kExitInput;
  return compileInput(inv, *input) ? kExitOk : kExitInput;
}

}  // namespace nabla::cli
