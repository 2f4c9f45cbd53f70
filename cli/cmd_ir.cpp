// `nabla ir`: the optimized LLVM IR (or the host's assembly) of one entry point, as the JIT
// compiles it.
#include "cli_common.h"

#include <cstdio>

namespace nabla::cli {

int runIr(Invocation &inv) {
  return withEntry(inv, [&](driver::Program &program, const driver::Entry &entry) -> int {
    std::string text = driver::entryPointCode(program, entry, inv.grad, inv.assembly,
                                              inv.optLevel, inv.fastMath);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return kExitOk;
  });
}

}  // namespace nabla::cli
