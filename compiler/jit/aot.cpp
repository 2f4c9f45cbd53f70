#include "jit/aot.h"

#include "codegen/emit_batch.h"
#include "codegen/emit_c_abi.h"
#include "support/output_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <llvm/ADT/SmallString.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/Program.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

namespace nabla::jit {

namespace {

std::vector<SymbolId> flatten(const std::vector<VarGroup> &groups) {
  std::vector<SymbolId> out;
  for (const VarGroup &g : groups) out.insert(out.end(), g.symbols.begin(), g.symbols.end());
  return out;
}

std::vector<codegen::CParam> cParams(const std::vector<VarGroup> &groups) {
  std::vector<codegen::CParam> out;
  for (const VarGroup &g : groups) out.push_back({g.name, g.symbols.size(), !g.shape.isScalar()});
  return out;
}

std::vector<NodeId> concat(NodeId first, const std::vector<NodeId> &rest) {
  std::vector<NodeId> out{first};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::vector<NodeId> rowMajor(const std::vector<std::vector<NodeId>> &matrix) {
  std::vector<NodeId> out;
  for (const auto &row : matrix) out.insert(out.end(), row.begin(), row.end());
  return out;
}

/// The array entry points of one function or of the objective, internal to the module: only the
/// C wrappers (and the batch loop) call them, so LLVM inlines them there where it pays and
/// drops the copies nobody calls any more.
struct Inner {
  llvm::Function *value = nullptr, *grad = nullptr, *hess = nullptr, *hvp = nullptr;
};

Inner emitInner(llvm::Module &module, const Graph &graph, const std::string &base,
                std::span<const SymbolId> args, const Derivatives &d,
                const codegen::EmitOptions &options) {
  auto entry = [&](const char *suffix, codegen::EntryKind kind, std::vector<NodeId> roots) {
    codegen::EntryPoint e{base + suffix, kind, std::move(roots)};
    llvm::Function *fn = codegen::emitEntryPoint(module, graph, e, args, options);
    fn->setLinkage(llvm::GlobalValue::InternalLinkage);
    return fn;
  };
  Inner inner;
  // The '.' keeps these names apart from every C identifier.
  inner.value = entry(".value", codegen::EntryKind::Value, {d.value});
  inner.grad = entry(".grad", codegen::EntryKind::ValueAndGrad, concat(d.value, d.grad));
  if (!d.hessian.empty())
    inner.hess = entry(".hess", codegen::EntryKind::Array, rowMajor(d.hessian));
  if (!d.hvp.empty()) {
    // Over the arguments and then the direction v.
    std::vector<SymbolId> packed(args.begin(), args.end());
    for (NodeId v : d.direction) packed.push_back(graph[v].symbol);
    codegen::EntryPoint e{base + ".hvp", codegen::EntryKind::Array, d.hvp};
    inner.hvp = codegen::emitEntryPoint(module, graph, e, packed, options);
    inner.hvp->setLinkage(llvm::GlobalValue::InternalLinkage);
  }
  return inner;
}

void checkDerivatives(const std::string &what, std::size_t n, const Derivatives &d) {
  if (d.grad.size() != n)
    throw codegen::CodegenError(what + " has " + std::to_string(n) + " arguments but " +
                                std::to_string(d.grad.size()) + " gradient entries");
  if (!d.hvp.empty() && (d.hvp.size() != n || d.direction.size() != n))
    throw codegen::CodegenError("the Hessian-vector product of " + what + " does not have " +
                                std::to_string(n) + " entries");
  if (d.hessian.empty()) return;
  bool square = d.hessian.size() == n;
  for (const auto &row : d.hessian) square = square && row.size() == n;
  if (!square)
    throw codegen::CodegenError("the Hessian of " + what + " is not " + std::to_string(n) + " x " +
                                std::to_string(n));
}

/// The batched objective: the kernel that sums loss and gradient over a range of rows,
/// vectorized across rows for the host (codegen/emit_batch.h), exported as
/// nabla_objective_batch_sums so that a host can split rows over its own threads, and the mean
/// over all rows as nabla_objective_batch.
/// The batched kernels' options for the host: its vector width and glibc's vector math.
codegen::BatchOptions hostBatchOptions(const codegen::EmitOptions &options) {
  const VectorTarget vector = hostVectorTarget();
  const std::vector<std::string> available = hostVectorMath(vector);
  codegen::BatchOptions batch;
  batch.lanes = vector.lanes;
  batch.vectorMathPrefix = available.empty() ? "" : vector.mathPrefix;
  batch.hasVectorMath = [available](std::string_view name) {
    return std::find(available.begin(), available.end(), name) != available.end();
  };
  batch.fastMath = options.fastMath;
  batch.maxPartSize = options.maxPartSize;
  batch.splitAbove = options.splitAbove;
  return batch;
}

void emitObjectiveBatch(llvm::Module &module, const Graph &graph, std::span<const SymbolId> args,
                        const Derivatives &d, std::size_t nParams, std::size_t nInputs,
                        const codegen::EmitOptions &options) {
  const codegen::TapeEntryPoint kernel = codegen::bindEntryPoint(
      graph, {"nabla_objective_batch_sums", codegen::EntryKind::Array, concat(d.value, d.grad)},
      args);
  llvm::Function *sums =
      codegen::emitBatchKernel(module, kernel, nParams, nInputs, hostBatchOptions(options));
  codegen::emitBatchMean(module, "nabla_objective_batch", *sums, nParams);
}

/// A function's vectorized entry points over n points (codegen::emitMapKernel, internal), each
/// behind an exported wrapper:
///   int NAME_batch(size_t n, const double *points, int by_column, double *values)
///   int NAME_grad_batch(size_t n, const double *points, int by_column, double *values,
///                       double *grads)
///   int NAME_hess_batch(size_t n, const double *points, int by_column, double *hess)
/// by_column 0: points and results row-major (n x arity, n x arity, n x arity x arity); else
/// argument c of point r at points[c * n + r], and every result entry's column n apart.
void emitFunctionBatches(llvm::Module &module, const Graph &graph, const std::string &name,
                         std::span<const SymbolId> args, const Derivatives &d,
                         const codegen::EmitOptions &options) {
  const std::size_t n = args.size();
  const codegen::BatchOptions batch = hostBatchOptions(options);
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  auto emit = [&](const char *innerSuffix, const char *suffix, std::vector<NodeId> roots,
                  std::vector<std::size_t> groups) {
    // The '.' keeps the kernel's name apart from every C identifier.
    const codegen::TapeEntryPoint entry = codegen::bindEntryPoint(
        graph, {name + innerSuffix, codegen::EntryKind::Array, std::move(roots)}, args);
    llvm::Function *kernel = codegen::emitMapKernel(module, entry, n, groups, batch);
    kernel->setLinkage(llvm::GlobalValue::InternalLinkage);
    std::vector<llvm::Type *> params{i64, ptr, i32};
    for (std::size_t g = 0; g < groups.size(); ++g) params.push_back(ptr);
    auto *fn = llvm::Function::Create(llvm::FunctionType::get(i32, params, false),
                                      llvm::Function::ExternalLinkage, name + suffix, module);
    fn->setDoesNotThrow();
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
    llvm::Value *count = fn->getArg(0);
    llvm::Value *ld = b.CreateSelect(b.CreateICmpNE(fn->getArg(2), b.getInt32(0)), count, b.getInt64(0));
    llvm::Value *outs = b.CreateAlloca(ptr, b.getInt32(static_cast<unsigned>(groups.size())));
    llvm::Value *lds = b.CreateAlloca(i64, b.getInt32(static_cast<unsigned>(groups.size())));
    for (unsigned g = 0; g < groups.size(); ++g) {
      b.CreateStore(fn->getArg(3 + g), b.CreateConstInBoundsGEP1_64(ptr, outs, g));
      b.CreateStore(ld, b.CreateConstInBoundsGEP1_64(i64, lds, g));
    }
    b.CreateRet(b.CreateCall(kernel, {b.getInt64(0), count, fn->getArg(1), ld, outs, lds}));
  };
  emit(".vmap", "_batch", {d.value}, {1});
  emit(".gmap", "_grad_batch", concat(d.value, d.grad), {1, n});
  if (!d.hessian.empty()) emit(".hmap", "_hess_batch", rowMajor(d.hessian), {n * n});
}

std::unique_ptr<llvm::Module> verified(std::unique_ptr<llvm::Module> module, const std::string &name) {
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*module, &os))
    throw std::logic_error("LLVM rejects the library module '" + name + "': " + os.str());
  return module;
}

std::unique_ptr<llvm::Module> buildModule(llvm::LLVMContext &context, const AotModule &aot,
                                          const AotOptions &options, llvm::TargetMachine &tm) {
  if (!aot.graph) throw codegen::CodegenError("an AOT module needs its graph");
  if (std::vector<AotNameProblem> problems = checkExportedNames(aot); !problems.empty())
    throw codegen::CodegenError(problems.front().message);
  const Graph &graph = *aot.graph;
  auto module = std::make_unique<llvm::Module>(aot.name, context);
  module->setSourceFileName(aot.source);
  // The C wrappers use the target's size_t.
  module->setDataLayout(tm.createDataLayout());
  module->setTargetTriple(tm.getTargetTriple().str());

  for (const AotFunction &f : aot.functions) {
    const std::vector<SymbolId> args = flatten(f.args);
    checkDerivatives("'" + f.name + "'", args.size(), f.d);
    const Inner inner = emitInner(*module, graph, f.name, args, f.d, options.emit);
    const std::vector<codegen::CParam> params = cParams(f.args);
    const std::size_t n = args.size();
    codegen::emitCWrapper(*module, f.name, *inner.value, codegen::EntryKind::Value, params, 0,
                          nullptr, options.emit);
    codegen::emitCWrapper(*module, f.name + "_grad", *inner.grad, codegen::EntryKind::ValueAndGrad,
                          params, n, nullptr, options.emit);
    if (inner.hess)
      codegen::emitCWrapper(*module, f.name + "_hess", *inner.hess, codegen::EntryKind::Array,
                            params, n * n, nullptr, options.emit);
    if (inner.hvp) {
      std::vector<codegen::CParam> withV = params;
      withV.push_back({"v", n, true});
      codegen::emitCWrapper(*module, f.name + "_hvp", *inner.hvp, codegen::EntryKind::Array, withV,
                            n, nullptr, options.emit);
    }
    emitFunctionBatches(*module, graph, f.name, args, f.d, options.emit);
  }

  if (aot.objective) {
    const AotObjective &o = *aot.objective;
    std::vector<VarGroup> params, inputs;
    for (const ParamDecl &p : o.params) params.push_back(p.vars);
    for (const InputDecl &i : o.inputs) inputs.push_back(i.vars);
    const std::vector<SymbolId> paramSymbols = flatten(params), inputSymbols = flatten(inputs);
    std::vector<SymbolId> args = paramSymbols;
    args.insert(args.end(), inputSymbols.begin(), inputSymbols.end());
    const std::size_t P = paramSymbols.size(), I = inputSymbols.size();
    if (o.array) {
      // The entry points are C (linkSharedLibrary compiles them); the object holds their loops,
      // which the library does not export.
      for (llvm::Function *fn : codegen::emitLoopKernels(*module, o.array->kernels, o.array->kernelNames))
        fn->setVisibility(llvm::GlobalValue::HiddenVisibility);
      codegen::emitStringFunction(*module, "nabla_module_info", moduleInfoJson(aot, options));
      return verified(std::move(module), aot.name);
    }
    checkDerivatives("the objective", P, o.d);
    const Inner inner = emitInner(*module, graph, "nabla_objective", args, o.d, options.emit);
    const codegen::CParam rowParams[] = {{"params", P, true}, {"inputs", I, true}};
    codegen::emitCWrapper(*module, "nabla_objective", *inner.grad, codegen::EntryKind::ValueAndGrad,
                          rowParams, P, inner.value, options.emit);
    emitObjectiveBatch(*module, graph, args, o.d, P, I, options.emit);
    if (inner.hess)
      codegen::emitCWrapper(*module, "nabla_objective_hess", *inner.hess, codegen::EntryKind::Array,
                            rowParams, P * P, nullptr, options.emit);
    if (inner.hvp) {
      const codegen::CParam withV[] = {{"params", P, true}, {"inputs", I, true}, {"v", P, true}};
      codegen::emitCWrapper(*module, "nabla_objective_hvp", *inner.hvp, codegen::EntryKind::Array,
                            withV, P, nullptr, options.emit);
    }
  }

  codegen::emitStringFunction(*module, "nabla_module_info", moduleInfoJson(aot, options));
  return verified(std::move(module), aot.name);
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (!ec) {
    out << bytes;
    out.close();
    ec = out.error();
  }
  if (ec) throw AotError("cannot write '" + path + "': " + ec.message());
}

std::string readBytes(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer) throw AotError("cannot read '" + path + "': " + buffer.getError().message());
  return (*buffer)->getBuffer().str();
}

std::string commandLine(const std::vector<std::string> &words) {
  std::string out;
  for (const std::string &w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

/// `text` for a message: control characters as \xNN, so that a file name cannot move the
/// terminal's cursor or start a line of its own.
std::string shown(const std::string &text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

/// Whether the object calls a function of glibc's vector math library (whose symbols are the
/// only ones that start with _ZGV; see codegen/emit_batch.h), read from its symbol table: the
/// names of the model are in the object too (the module info), and must not choose what is
/// linked. An object LLVM cannot read gets the library anyway (--as-needed drops it unused).
bool callsVectorMath(const std::string &object) {
  llvm::Expected<std::unique_ptr<llvm::object::ObjectFile>> file =
      llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(object, "library.o"));
  if (!file) {
    llvm::consumeError(file.takeError());
    return true;
  }
  for (const llvm::object::SymbolRef &symbol : (*file)->symbols()) {
    llvm::Expected<std::uint32_t> flags = symbol.getFlags();
    llvm::Expected<llvm::StringRef> name = symbol.getName();
    if (!flags || !name) {
      if (!flags) llvm::consumeError(flags.takeError());
      if (!name) llvm::consumeError(name.takeError());
      return true;
    }
    if ((*flags & llvm::object::SymbolRef::SF_Undefined) && name->starts_with("_ZGV"))
      return true;
  }
  return false;
}

}  // namespace

std::string emitAot(const AotModule &module, const AotOptions &options, AotEmitKind kind) {
  std::unique_ptr<llvm::TargetMachine> tm = createHostTargetMachine(options.optLevel);
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> m = buildModule(context, module, options, *tm);
  optimizeModule(*m, *tm, options.optLevel, IrPipeline::Default, options.cancel);
  const std::string what = "the library '" + module.name + "'";
  switch (kind) {
  case AotEmitKind::Object: return emitObject(*m, *tm, what, options.cancel);
  case AotEmitKind::Assembly: return emitAssembly(*m, *tm, what, options.cancel);
  case AotEmitKind::LlvmIr: return codegen::printModule(*m);
  }
  throw std::logic_error("emitAot: unknown output kind");
}

std::string linkSharedLibrary(const std::string &object, const std::string &soname,
                              const LinkOptions &options, const AotModule *module) {
  // The soname is the output's file name, bytes as they are (commas, '=', spaces, a leading '-'
  // or '@', UTF-8), except control characters: a newline in a soname is never meant, and would
  // break the lines of every tool that lists it.
  for (const char c : soname)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      throw AotError("cannot link '" + shown(soname) +
                     "': the library's file name holds a control character, and it would be "
                     "the library's soname (choose another name for -o)");

  if (options.driver.empty() || options.driver[0].empty())
    throw AotError("no C compiler driver to link with (set CC, or install cc)");
  const std::string origin =
      options.driverOrigin.empty() ? "" : " (from " + options.driverOrigin + ")";
  std::string program = options.driver[0];
  if (program.find('/') == std::string::npos) {
    llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName(program);
    if (!found)
      throw AotError("the C compiler driver '" + program + "'" + origin +
                     " is not on PATH: it links the library (install a C compiler, or set CC)");
    program = *found;
  } else if (!llvm::sys::fs::can_execute(program)) {
    throw AotError(
        "the C compiler driver '" + program + "'" + origin +
        " does not exist or cannot be run: it links the library (set CC to a C compiler)");
  }

  // A fresh folder of the system's temporary folder that only this user can enter (mkdtemp),
  // removed with everything in it (also what the driver may have left beside our files).
  std::optional<TempDir> made;
  try {
    made.emplace("nabla-aot");
  } catch (const FileError &e) {
    throw AotError(e.what());
  }
  const TempDir &dir = *made;
  // Fixed names: nothing of the user's reaches a path here.
  const std::string objectPath = dir.file("library.o");
  const std::string libraryPath = dir.file("library.so");
  const std::string logPath = dir.file("link.log");
  writeBytes(objectPath, object);

  std::vector<std::string> words = options.driver;
  for (const char *w : {"-shared", "-o"}) words.emplace_back(w);
  words.push_back(libraryPath);
  words.push_back(objectPath);
  const AotArrayObjective *array =
      module && module->objective && module->objective->array ? &*module->objective->array : nullptr;
  if (array) {
    // The objective's C, with the files it includes beside it (fixed names again). Compiled as
    // the executor's kernels are: optimized, without contracting a*b+c into one rounding
    // (-ffp-contract=off), and exporting nothing but the marked entry points.
    for (const auto &[name, text] : array->includes) writeBytes(dir.file(name), text);
    const std::string source = dir.file("objective.c");
    writeBytes(source, array->c);
    for (const char *w : {"-O2", "-fPIC", "-fvisibility=hidden", "-ffp-contract=off", "-w"})
      words.emplace_back(w);
    words.push_back(source);
  }
  // The soname travels as one word of the linker, `-soname=NAME`: the driver hands an -Xlinker
  // word on whole (it splits -Wl,... at every comma, so a name `a,-z,execstack` would add an
  // option), and with the name attached to the option no leading '-' or '@' of it can make it an
  // option or a response file of its own.
  if (!soname.empty()) {
    words.emplace_back("-Xlinker");
    words.push_back("-soname=" + soname);
  }
  // -z defs: an unresolved symbol is an error now, not when a host loads the library.
  // -z noexecstack: the stack stays non-executable whatever the object's notes say.
  // --as-needed: libm is recorded only when the code calls it.
  for (const char *w : {"-Wl,-z,defs", "-Wl,-z,noexecstack", "-Wl,--as-needed"})
    words.emplace_back(w);
  if (callsVectorMath(object)) words.emplace_back("-lmvec");
  if (array) words.insert(words.end(), array->libraries.begin(), array->libraries.end());
  words.emplace_back("-lm");
  std::vector<llvm::StringRef> argv(words.begin(), words.end());
  const std::optional<llvm::StringRef> redirects[] = {llvm::StringRef(""), llvm::StringRef(logPath),
                                                      llvm::StringRef(logPath)};
  std::string error;
  bool failed = false;
  const int status = llvm::sys::ExecuteAndWait(program, argv, std::nullopt, redirects, 0, 0,
                                               &error, &failed);
  if (failed || status != 0) {
    std::string output;
    try {
      output = readBytes(logPath);
    } catch (const AotError &) {
    }
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
    const std::string why = failed       ? "could not be run"
                            : status < 0 ? "crashed"
                                         : "exited with status " + std::to_string(status);
    throw AotError("cannot link '" + shown(soname) + "': the C compiler driver" + origin + " " +
                   why + "\n  " + commandLine(words) + (error.empty() ? "" : "\n" + error) +
                   (output.empty() ? "" : "\n" + output));
  }
  return readBytes(libraryPath);
}

std::string entryPointCode(const Graph &graph, const std::string &name,
                           std::span<const SymbolId> args, const Derivatives &d, bool withGrad,
                           bool assembly, const AotOptions &options) {
  codegen::EntryPoint entry =
      withGrad ? codegen::EntryPoint{name + "_grad", codegen::EntryKind::ValueAndGrad,
                                     concat(d.value, d.grad)}
               : codegen::EntryPoint{name, codegen::EntryKind::Value, {d.value}};
  std::unique_ptr<llvm::TargetMachine> tm = createHostTargetMachine(options.optLevel);
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> module =
      codegen::emitModule(context, name, graph, std::span(&entry, 1), args, options.emit);
  checkCancelled(options.cancel);
  // As the JIT's optimized tier compiles it: a function split into parts (twice the size where
  // splitting starts) with the lean pipeline, whose time stays linear where the default one's
  // grows to minutes.
  const IrPipeline pipeline = graph.reachable(entry.roots).size() > 2 * options.emit.splitAbove
                                  ? IrPipeline::Lean
                                  : IrPipeline::Default;
  optimizeModule(*module, *tm, options.optLevel, pipeline, options.cancel);
  return assembly ? emitAssembly(*module, *tm, "'" + entry.name + "'", options.cancel)
                  : codegen::printModule(*module);
}

}  // namespace nabla::jit
