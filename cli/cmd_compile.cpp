// `nabla compile`: a program's scalar functions and its objective, ahead of time, as a shared
// library with a C ABI (or its object, assembly or IR), and the C header that declares it.
#include "cli_common.h"

#include "runtime/fit/fit.h"

namespace nabla::cli {

namespace {

/// `--params PARAMS.json`: every param's values and the inputs' standardization, read as `nabla
/// predict` reads them (fit::readParamsFile: names, shapes, numbers checked), for the driver to
/// bake in. Nothing, after printing the error, when the file lacks a param.
std::optional<driver::LibraryOptions::BakedParams> readBakedParams(const Invocation &inv,
                                                                  const driver::Program &program,
                                                                  const std::string &path) {
  driver::LibraryOptions::BakedParams baked;
  baked.source = path;
  const std::vector<fit::ArrayInfo> params = program.params();
  // A model without params: the driver says so (its message is the same for every front end).
  if (params.empty()) return baked;
  std::size_t count = 0;
  for (const fit::ArrayInfo &p : params) count += p.size();
  fit::ParamsFile file =
      fit::readParamsFile(path, params, program.inputs(), std::vector<double>(count, 0.0));
  for (std::size_t k = 0; k < params.size(); ++k)
    if (!file.given[k]) {
      inputError(inv, path + ": no value for param '" + params[k].name +
                          "' (a library with baked params needs every one)");
      return std::nullopt;
    }
  baked.values = std::move(file.params);
  for (const auto &[input, scaling] : file.scaling) {
    driver::LibraryOptions::BakedParams::Standardized s{input, {}, {}};
    for (const data::Scaling &e : scaling) {
      s.mean.push_back(e.mean);
      s.scale.push_back(e.scale);
    }
    baked.standardize.push_back(std::move(s));
  }
  return baked;
}

}  // namespace

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
  options.hvp = !inv.noHvp;
  options.optLevel = inv.optLevel;
  options.fastMath = inv.fastMath;
  if (inv.level == "scalar") options.level = driver::LibraryOptions::Level::Scalar;
  if (inv.level == "array") options.level = driver::LibraryOptions::Level::Array;
  if (const std::string *paramsPath = inv.args.get("--params")) {
    if (paramsPath->empty()) return usageError(inv, "--params needs a file (--params params.json)");
    options.baked = readBakedParams(inv, *program, *paramsPath);
    if (!options.baked) return kExitInput;
  }
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
