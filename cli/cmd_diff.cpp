// `nabla diff`: the partial derivatives (and Hessian) of each function, printed as nabla text
// (driver::diffText, which the Python module's diff() prints too).
#include "cli_common.h"

#include <llvm/Support/raw_ostream.h>

namespace nabla::cli {

int runDiff(Invocation &inv) {
  int code = kExitOk;
  if (inv.matrix && (inv.hessian || inv.json || !inv.wrt.empty() || !inv.function.empty()))
    return usageError(inv, "--matrix prints the objective's gradient alone: it takes no --hessian, "
                           "--json, --wrt or --fn");
  // --matrix reads the syntax tree at the array level: the bodies are not unrolled to scalars
  // (a network's millions of elements), unless the array level gives up; then the full lowering
  // reports any error in them as always.
  Invocation load = inv;
  load.options.deferBodies = inv.matrix;
  std::optional<driver::Program> program = loadProgram(load, driver::ArgumentKind::ExpressionOrFile, code);
  if (!program)
    return code;
  if (inv.matrix) {
    if (!program->objective())
      return inputError(inv, "--matrix: '" + inv.input + "' has no objective");
    std::string why;
    std::optional<std::string> text = driver::printArrayGradient(*program, &why);
    if (!text) {
      try {
        program->complete();
      } catch (const driver::Error &e) {
        return reportError(inv, e);
      }
      return inputError(inv, "--matrix: the array level cannot take '" + inv.input + "': " + why);
    }
    llvm::outs() << *text;
    llvm::outs().flush();
    return kExitOk;
  }

  driver::DiffRequest request;
  request.function = inv.function;
  request.wrt = inv.wrt;
  request.hessian = inv.hessian;
  request.json = inv.json;
  std::vector<driver::Message> messages;
  std::string text;
  try {
    text = driver::diffText(*program, request, messages);
  } catch (const driver::Error &e) {
    printMessages(inv, messages);
    return reportError(inv, e);
  }
  printMessages(inv, messages);
  llvm::outs() << text;
  llvm::outs().flush();
  return kExitOk;
}

}  // namespace nabla::cli
