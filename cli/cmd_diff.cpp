// `nabla diff`: the partial derivatives (and Hessian) of each function, printed as nabla text
// (driver::diffText, which the Python module's diff() prints too).
#include "cli_common.h"

#include <llvm/Support/raw_ostream.h>

namespace nabla::cli {

const std::vector<Option> &diffOptions() {
  static const std::vector<Option> kOptions = {
      {"--sparsity", Option::Kind::Flag, "",
       "the Hessian's sparsity pattern instead of the derivatives (implies --hessian)"},
  };
  return kOptions;
}

int runDiff(Invocation &inv) {
  int code = kExitOk;
  const std::string *sparsityFlag = inv.args.get("--sparsity");
  const bool sparsity = sparsityFlag && *sparsityFlag == "true";
  if (inv.matrix && (inv.hessian || inv.json || sparsity || !inv.wrt.empty() || !inv.function.empty()))
    return usageError(inv, "--matrix prints the objective's gradient alone: it takes no --hessian, "
                           "--sparsity, --json, --wrt or --fn");
  // --matrix reads the syntax tree at the array level: the bodies are not unrolled to scalars
  // (a network's millions of elements), unless the array level gives up; then the full lowering
  // reports any error in them as always. So does --sparsity for a file's objective, whose pattern
  // the array level gives (the driver completes the lowering for anything else).
  Invocation load = inv;
  load.options.deferBodies = inv.matrix || sparsity;
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
  request.hessian = inv.hessian || sparsity;
  request.json = inv.json;
  request.sparsity = sparsity;
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
