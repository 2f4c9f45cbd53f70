// `nabla ir`: the optimized LLVM IR (or the host's assembly) of one entry point, as the JIT
// compiles it.
#include "cli_common.h"

#include <cstdio>

namespace nabla::cli {

int runIr(Invocation &inv) {
  int code = kExitOk;
  std::optional<driver::Program> program = loadProgram(inv, driver::ArgumentKind::ExpressionOrFile, code);
  if (!program)
    return code;
  std::optional<driver::Entry> entry = selectEntry(inv, *program, code);
  if (!entry)
    return code;
  try {
    std::string text = driver::entryPointCode(*program, *entry, inv.grad, inv.assembly,
                                              inv.optLevel, inv.fastMath);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return kExitOk;
  } catch (const driver::Error &e) {
    return reportError(inv, e);
  }
}

}  // namespace nabla::cli
