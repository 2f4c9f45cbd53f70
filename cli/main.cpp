// `nabla <command> [options]`: finds the command, parses its options, runs it, and turns anything
// unexpected into an error message and exit status instead of a crash.
#include "cli_common.h"

#include "runtime/fit/fit.h"
#include "support/output_file.h"

#include <llvm/Support/raw_ostream.h>

#include <exception>
#include <new>
#include <string>
#include <vector>

namespace nabla::cli {

const std::vector<CommandSpec> &commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"diff", "diff EXPR|FILE [--wrt x,y] [--hessian] [--sparsity] [--json] [--no-simplify]",
       "Print the partial derivatives of a function, simplified.",
       "Prints one line per partial derivative, `∂f/∂x = EXPR` (f is the function's name, `f` for "
       "an\n"
       "expression, `L` for a file's objective, which is differentiated with respect to its "
       "params).\n"
       "For a file, every scalar function and the objective. With --hessian also the second\n"
       "derivatives `∂²f/∂x∂y = EXPR` (upper triangle). Subexpressions shared between the results "
       "are\n"
       "printed once, after `where`, when that is shorter. --json prints {\"x\": \"EXPR\", ...} "
       "(for a\n"
       "file, one such object per function) with self-contained expressions and, with --hessian, "
       "the\n"
       "full matrix as \"hessian\": [[...], ...]. --wrt names variables (or whole arrays) to use, "
       "in\n"
       "order; a name that is not a variable of a function gets derivative 0 and a warning.\n"
       "--sparsity prints the Hessian's sparsity pattern instead (it implies --hessian): its size,\n"
       "nonzeros and rows (a picture `x . x` up to 40 variables), with --json as {\"n\", \"nonzeros\",\n"
       "\"vars\", \"row_start\", \"columns\"} (compressed rows, both triangles).\n",
       kOptLimits | kOptSimplify | kOptJson | kOptWrt | kOptHessian | kOptFunction | kOptMatrix,
       runDiff, diffOptions},
      {"eval", "eval EXPR|FILE --at x=1,y=2 [--vars x,y] [--grad] [--hessian] [--json] [--interp]",
       "Evaluate a function, its gradient and its Hessian at a point.",
       "Compiles the function to native code (nabla's baseline JIT) and prints `f = VALUE`, with --grad\n"
       "the lines `∂f/∂x = VALUE`, with --hessian the lines `∂²f/∂x∂y = VALUE` (upper triangle).\n"
       "The variables are the expression's free variables in order of first appearance, a\n"
       "function's arguments, or an objective's params (its inputs then need values too); --vars\n"
       "sets them exactly and may name variables the function does not use (their derivatives\n"
       "are 0; a name listed twice is used once). Array elements are named w[0], W[1][2].\n"
       "--interp evaluates with the reference interpreter instead (the results are the same).\n"
       "--json prints {\"vars\": [...], \"value\": V, \"grad\": {...}, \"hessian\": [[...]]} with 17\n"
       "significant digits; NaN and infinities, which JSON cannot hold, are the strings \"nan\",\n"
       "\"inf\" and \"-inf\".\n",
       kOptLimits | kOptSimplify | kOptJson | kOptAt | kOptVars | kOptGrad | kOptHessian |
           kOptFunction | kOptInterp,
       runEval},
      {"graph", "graph EXPR|FILE [--grad] [--stats [--json]] [-o out.dot|out.svg]",
       "Draw a function's DAG (Graphviz DOT), or count its nodes.",
       "Prints the DAG of the function (with --grad, of its value and gradient together) in "
       "Graphviz\n"
       "DOT to standard output or to -o FILE; a .svg, .png or .pdf file runs Graphviz's `dot`.\n"
       "--stats prints the number of nodes of the function and of the value+gradient DAG (shared\n"
       "nodes counted once, after simplification); with --json as {\"nodes\": N, \"grad_nodes\": "
       "M}.\n",
       kOptLimits | kOptSimplify | kOptJson | kOptGrad | kOptStats | kOptOutput | kOptFunction,
       runGraph},
      {"check", "check FILE", "Parse and check a program; print nothing when it is correct.",
       "Reports every error it finds (exit 1); exit 0 and no output when there is none. The\n"
       "argument is always a file (or '-' for standard input).\n",
       kOptLimits, runCheck},
      {"compile",
       "compile FILE -o libNAME.so [--header NAME.h] [--emit obj|asm|llvm-ir] [-O0..-O3] "
       "[--fast-math] [--no-hessian] [--no-hvp] [--level auto|scalar|array] [--params PARAMS.json]",
       "Compile a program ahead of time into a shared library with a C ABI.",
       "Writes a shared library (linked by the C compiler driver: $CC, else `cc` on PATH) that\n"
       "needs only glibc (libc, libm, and libmvec for a batched objective), and BLAS\n"
       "(libopenblas.so.0) for an objective at the array level: by default (--level auto)\n"
       "a large model's, when its Hessian is left out or beyond the node limit. For each\n"
       "scalar function f(x, y) of the file it exports\n"
       "  double f(double x, double y)\n"
       "  double f_grad(double x, double y, double *grad)   the value; grad[2]\n"
       "  void   f_hess(double x, double y, double *hess)   2 x 2, row-major\n"
       "and for the objective (params, then inputs, in declaration order, arrays row-major)\n"
       "  double nabla_objective(const double *params, const double *inputs, double *grad)\n"
       "  double nabla_objective_batch(const double *params, size_t n,\n"
       "                               const double *const *columns, double *grad)\n"
       "  void   nabla_objective_batch_sums(const double *params, size_t begin, size_t end,\n"
       "                                    const double *const *columns, double *sums)\n"
       "  void   nabla_objective_hess(const double *params, const double *inputs, double *hess)\n"
       "(the batch returns the mean over n rows, columns[k] holding input k of every row, its\n"
       "rows vectorized with SIMD; the sums are its totals over a range of rows, for hosts that\n"
       "split rows over their own threads;\n"
       "for `maximize` every entry point returns the objective as written), and\n"
       "  const char *nabla_module_info(void)   a JSON description of every entry point.\n"
       "--header writes a C header declaring all of it; --emit writes the object (obj), the\n"
       "assembly (asm) or the optimized LLVM IR (llvm-ir) to -o instead of linking. Functions\n"
       "whose value is an array are skipped (with a note). A name that cannot be a C symbol (a\n"
       "C or C++ keyword, a C library function the code calls or libm has, a clash between\n"
       "exported names) is an error (exit 1), as is a failing linker. The argument is always a\n"
       "file (or '-'). docs/aot.md describes the ABI, the header and the module description.\n"
       "--params PARAMS.json (the -o file of `nabla fit`) bakes trained params in: each scalar\n"
       "definition (`p = sigmoid(dot(w, x) + b)`) and function is exported as a function of\n"
       "the inputs it reads alone, `double p(const double *x)`, standardizing them inside as\n"
       "training did, so a host gets `nabla predict`'s numbers; the objective is left out.\n",
       kOptLimits | kOptSimplify | kOptLibrary | kOptCompile | kOptCodegen, runCompile},
      {"ir", "ir EXPR|FILE [--grad] [--asm] [-O LEVEL] [--fast-math] [--fn NAME]",
       "Print the optimized LLVM IR (or assembly) of a function's entry point.",
       "Prints the value entry point of the function, as the JIT compiles it for this machine,\n"
       "`double f(const double *args)` with args[k] the k-th argument (for the objective `L`:\n"
       "the params, then the inputs), after LLVM's optimizations at -O LEVEL. With --grad the\n"
       "value-and-gradient entry point `double f_grad(const double *args, double *grad)`; with\n"
       "--asm the host's assembly instead of IR. For a file, --fn chooses the function when\n"
       "there are several.\n",
       kOptLimits | kOptSimplify | kOptGrad | kOptAsm | kOptCodegen | kOptFunction, runIr},
      {"fit", "fit MODEL [--data FILE.csv] [--optimizer NAME] [--lr LR] [--batch M] [--epochs E | --steps K] [options]",
       "Train a model's params with an optimizer, on data from a CSV file.", fitDetails(), kOptOwn,
       runFit, fitOptions, fitEpilogue},
      {"predict", "predict MODEL --params PARAMS.json --data FILE.csv [--output NAME,...] [-o FILE.csv]",
       "Write a model's definitions for every row of a CSV file.", predictDetails(), kOptOwn,
       runPredict, predictOptions},
      {"repl", "repl [FILE] [--strict]",
       "Start an interactive session: define, differentiate, evaluate, time and see the code.",
       "Reads nabla statements, expressions and commands (:help lists them) line by line, with\n"
       "line editing, history (~/.nabla_history) and tab completion on a terminal. FILE is loaded\n"
       "first (as :load FILE). Without a terminal (nabla repl < script) it prints results only:\n"
       "no prompts, no colours; errors go to standard error and the session goes on. --strict\n"
       "makes the exit status 1 when any line failed. docs/repl.md has the details.\n",
       kOptLimits | kOptSimplify | kOptRepl, runRepl},
  };
  return kCommands;
}

}  // namespace nabla::cli

namespace {

using namespace nabla::cli;

void printGeneralHelp(llvm::raw_ostream &os) {
  os << "nabla " NABLA_VERSION " - a symbolic gradient compiler\n\n"
        "usage: nabla <command> [options]\n\ncommands:\n";
  for (const CommandSpec &c : commands()) {
    os << "  " << c.name;
    for (std::size_t i = c.name.size(); i < 9; ++i)
      os << ' ';
    os << c.summary << "\n";
  }
  os << "\nRun 'nabla <command> --help' for a command's options.\n"
        "Exit status: 0 success, 1 bad input, 2 bad usage, 3 internal error.\n";
  os.flush();
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::string names;
    for (const CommandSpec &c : commands())
      names += (names.empty() ? "" : ", ") + std::string(c.name);
    return usageError(Invocation{}, "missing command (one of " + names + ")");
  }
  const std::string &first = args[0];
  if (first == "--help" || first == "-h" || first == "help") {
    if (first == "help" && args.size() > 1) {
      for (const CommandSpec &c : commands())
        if (c.name == args[1]) {
          llvm::outs() << commandHelp(c);
          llvm::outs().flush();
          return kExitOk;
        }
    }
    printGeneralHelp(llvm::outs());
    return kExitOk;
  }
  if (first == "--version") {
    llvm::outs() << "nabla " NABLA_VERSION "\n";
    return kExitOk;
  }
  const CommandSpec *command = nullptr;
  for (const CommandSpec &c : commands())
    if (c.name == first)
      command = &c;
  if (!command) {
    Invocation inv;
    std::vector<std::string> names;
    for (const CommandSpec &c : commands())
      names.emplace_back(c.name);
    std::string close = nabla::closestName(first, names);
    std::string message = first.rfind("-", 0) == 0 ? "unknown option '" + first + "'"
                                                   : "unknown command '" + first + "'";
    if (!close.empty())
      message += " (did you mean '" + close + "'?)";
    return usageError(inv, message);
  }

  Invocation inv;
  try {
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (std::optional<int> done = parseArguments(*command, rest, inv))
      return *done;
    if (std::optional<int> refused = checkCommandFiles(inv))
      return *refused;
    int code = command->run(inv);
    llvm::outs().flush();
    return code;
  } catch (const nabla::driver::Error &e) {
    return reportError(inv, e);
  } catch (const nabla::fit::FitError &e) {
    // fit and predict: a problem with the model, a file or the run, with its whole message.
    llvm::outs().flush();
    return inputError(inv, e.what());
  } catch (const nabla::FileError &e) {
    llvm::outs().flush();
    return inputError(inv, e.what());
  } catch (const nabla::data::DataError &e) {
    llvm::outs().flush();
    return inputError(inv, e.what());
  } catch (const std::bad_alloc &) {
    llvm::outs().flush();
    return inputError(inv,
                      "out of memory (the input is too large; lower --max-nodes to stop sooner)");
  } catch (const std::exception &e) {
    llvm::outs().flush();
    llvm::errs() << "nabla: internal error: " << e.what() << "\n"
                 << "this is a bug in nabla; please report it with the input that caused it\n";
    return kExitInternal;
  }
}
