// `nabla compile`: a program's scalar functions and its objective, ahead of time, as a shared
// library with a C ABI (or its object, assembly or IR), and the C header that declares it.
#include "cli_common.h"

namespace nabla::cli {

int runCompile(Invocation &inv) {
  if (inv.output.empty())
    return usageError(inv, "missing -o FILE: the library to write (for example -o libmodel.so)");
  int code = kExitOk;
  // The bodies are lowered by compileLibrary: to scalars, or not at all when the objective runs
  // at the array level (driver::Options::deferBodies).
  Invocation deferred = inv;
  deferred.options.deferBodies = true;
  std::optional<driver::Program> program = loadProgram(deferred, driver::ArgumentKind::File, code);
  if (!program)
    return code;
  driver::LibraryOptions options;
  options.fileName = inv.output;
  options.hessian = !inv.noHessian;
  options.optLevel = inv.optLevel;
  options.fastMath = inv.fastMath;
  if (inv.level == "scalar") options.level = driver::LibraryOptions::Level::Scalar;
  if (inv.level == "array") options.level = driver::LibraryOptions::Level::Array;
  if (inv.emit == "obj")
    options.emit = driver::LibraryOptions::Emit::Object;
  else if (inv.emit == "asm")
    options.emit = driver::LibraryOptions::Emit::Assembly;
  else if (inv.emit == "llvm-ir")
    options.emit = driver::LibraryOptions::Emit::LlvmIr;
  try {
    driver::Library library = driver::compileLibrary(*program, options);
    printMessages(inv, library.messages());
    if (!writeFile(inv, inv.output, library.bytes()))
      return kExitInput;
    std::string header = inv.header;
    if (std::size_t slash = header.find_last_of('/'); slash != std::string::npos)
      header = header.substr(slash + 1);
    if (!inv.header.empty() && !writeFile(inv, inv.header, library.header(header)))
      return kExitInput;
    return kExitOk;
  } catch (const driver::Error &e) {
    return reportError(inv, e, "--no-hessian leaves the Hessians out");
  }
}

}  // namespace nabla::cli
