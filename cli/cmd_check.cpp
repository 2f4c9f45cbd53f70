// `nabla check`: parse and check a program; silent when it is correct.
#include "cli_common.h"

namespace nabla::cli {

int runCheck(Invocation &inv) {
  int code = kExitOk;
  return loadProgram(inv, driver::ArgumentKind::File, code) ? kExitOk : code;
}

}  // namespace nabla::cli
