#include "codegen/emit_llvm.h"

#include "codegen/op_emitter.h"
#include "codegen/tape_body.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <limits>
#include <string_view>

namespace nabla::codegen {

namespace {

std::size_t expectedMinRoots(EntryKind kind) { return kind == EntryKind::Array ? 0 : 1; }

}  // namespace

TapeEntryPoint bindEntryPoint(const Graph &graph, const EntryPoint &entry,
                              std::span<const SymbolId> args) {
  if (entry.name.empty()) throw CodegenError("an entry point needs a name");
  if (isReservedName(entry.name))
    throw CodegenError("entry point name '" + entry.name + "' is taken by the C library");
  if (entry.roots.size() < expectedMinRoots(entry.kind) ||
      (entry.kind == EntryKind::Value && entry.roots.size() != 1))
    throw CodegenError("entry point '" + entry.name + "' has " +
                       std::to_string(entry.roots.size()) + " roots");
  return {entry.name, entry.kind,
          buildTape(graph, entry.roots, args, "entry point '" + entry.name + "'")};
}

llvm::Function *emitEntryPoint(llvm::Module &module, const Graph &graph, const EntryPoint &entry,
                               std::span<const SymbolId> args, const EmitOptions &options) {
  return emitEntryPoint(module, bindEntryPoint(graph, entry, args), options);
}

llvm::Function *emitEntryPoint(llvm::Module &module, const TapeEntryPoint &entry,
                               const EmitOptions &options) {
  if (module.getNamedValue(entry.name))
    throw CodegenError("entry point '" + entry.name + "' is defined twice");
  const Tape unscheduled = codeTape(entry.tape, options.fastMath);
  const FrameLayout layout = layOutFrame(unscheduled, options.maxPartSize, options.splitAbove);
  // Straight-line code in an order that keeps few values live, each output stored when computed.
  const bool straight = options.schedule && !layout.split;
  const Tape scheduled = straight ? scheduleForRegisters(unscheduled) : Tape();
  const Tape &tape = straight ? scheduled : unscheduled;

  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *f64 = llvm::Type::getDoubleTy(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type *ret = entry.kind == EntryKind::Array ? llvm::Type::getVoidTy(ctx) : f64;
  std::vector<llvm::Type *> params{ptr};
  if (entry.kind != EntryKind::Value) params.push_back(ptr);
  auto *fnType = llvm::FunctionType::get(ret, params, false);
  auto *fn = llvm::Function::Create(fnType, llvm::Function::ExternalLinkage, entry.name, module);
  fn->setDoesNotThrow();
  fn->getArg(0)->setName("args");
  fn->addParamAttr(0, llvm::Attribute::NoCapture);
  fn->addParamAttr(0, llvm::Attribute::ReadOnly);
  if (entry.kind != EntryKind::Value) {
    fn->getArg(1)->setName(entry.kind == EntryKind::ValueAndGrad ? "grad" : "out");
    fn->addParamAttr(1, llvm::Attribute::NoCapture);
    fn->addParamAttr(1, llvm::Attribute::WriteOnly);
  }
  if (options.fastMath) addFastMathAttributes(*fn);

  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  if (options.fastMath) {
    llvm::FastMathFlags fmf;
    fmf.setFast();
    // Without `reassoc`: the sums are balanced already (balanceSums), and LLVM's reassociation
    // would turn them back into chains.
    fmf.setAllowReassoc(false);
    b.setFastMathFlags(fmf);
  }
  OpEmitter emit(module, b, f64, options.forFastIsel);

  BodyEnvironment environment;
  environment.types = {ptr};
  environment.loadVariable = [f64](llvm::IRBuilder<> &b, std::span<llvm::Value *const> env,
                                   std::uint32_t argument) -> llvm::Value * {
    return b.CreateLoad(f64, b.CreateConstInBoundsGEP1_64(f64, env[0], argument));
  };
  Scratch frame;
  if (layout.split) frame = allocateScratch(module, b, f64, layout.size, "frame");
  llvm::Value *args = fn->getArg(0);
  BodyOptions bodyOptions{options.maxPartSize, options.fastMath, entry.name, {}};
  const std::size_t first = entry.kind == EntryKind::Array ? 0 : 1;
  std::vector<char> stored(tape.roots.size(), 0);
  std::vector<std::vector<std::size_t>> rootsOf;  // slot -> the outputs it is
  std::uint64_t reads = 0, variables = 0;
  for (const Tape::Entry &e : tape.entries)
    if (e.op == Op::Var && e.argument != Tape::kNoSlot) {
      reads = std::max<std::uint64_t>(reads, e.argument + 1ull);
      ++variables;
    }
  // The copy of the args lives on the stack: at most 32 KiB of it.
  constexpr std::uint64_t kMaxCopied = 4096;
  if (straight && entry.kind != EntryKind::Value && reads <= kMaxCopied) {
    // Outputs as they are computed. They may overlap args (the API allows it). A few args are
    // all read first; with more, the function calls itself on a copy of the args when they
    // overlap the outputs (a copy cannot).
    const std::uint64_t outputs = tape.roots.size() - first;
    constexpr std::uint64_t kReadFirst = 8;
    if (variables <= kReadFirst) {
      bodyOptions.variablesFirst = true;
    } else if (outputs > 0) {
      llvm::Value *out = fn->getArg(1);
      llvm::Value *copy = b.CreateAlloca(llvm::ArrayType::get(f64, reads), nullptr, "args.copy");
      llvm::Value *overlap = b.CreateAnd(
          b.CreateICmpULT(out, b.CreateConstInBoundsGEP1_64(f64, args, reads)),
          b.CreateICmpULT(args, b.CreateConstInBoundsGEP1_64(f64, out, outputs)), "overlap");
      auto *copying = llvm::BasicBlock::Create(ctx, "copy.args", fn);
      auto *body = llvm::BasicBlock::Create(ctx, "body", fn);
      b.CreateCondBr(overlap, copying, body, llvm::MDBuilder(ctx).createBranchWeights(1, 1000));
      b.SetInsertPoint(copying);
      b.CreateMemCpy(copy, llvm::Align(8), args, llvm::Align(8), reads * 8);
      llvm::Value *again = b.CreateCall(fn, {copy, out});
      if (entry.kind == EntryKind::Array)
        b.CreateRetVoid();
      else
        b.CreateRet(again);
      b.SetInsertPoint(body);
    }
    rootsOf.resize(tape.size());
    for (std::size_t r = first; r < tape.roots.size(); ++r) rootsOf[tape.roots[r]].push_back(r);
    bodyOptions.computed = [&](std::uint32_t slot, llvm::Value *value) {
      for (std::size_t r : rootsOf[slot]) {
        b.CreateStore(value, b.CreateConstInBoundsGEP1_64(f64, fn->getArg(1), r - first));
        stored[r] = 1;
      }
    };
  }
  // Otherwise outputs last: every argument has been read by then.
  std::vector<llvm::Value *> results = emitTapeBody(module, b, tape, emit, environment,
                                                    std::span(&args, 1), layout, frame.pointer,
                                                    bodyOptions);
  if (frame.onHeap) b.CreateCall(frame.free, {frame.pointer});
  auto finish = [&](auto result) {
    for (std::size_t r = first; r < results.size(); ++r)
      if (!stored[r])
        b.CreateStore(result(r), b.CreateConstInBoundsGEP1_64(f64, fn->getArg(1), r - first));
    if (entry.kind == EntryKind::Array)
      b.CreateRetVoid();
    else
      b.CreateRet(result(0));
  };
  finish([&](std::size_t r) { return results[r]; });
  if (frame.failed) {
    // No frame, no results: every output is NaN, which the runtime reports like any other NaN.
    b.SetInsertPoint(frame.failed);
    llvm::Value *nan = llvm::ConstantFP::getNaN(f64);
    finish([&](std::size_t) { return nan; });
  }
  return fn;
}

llvm::Function *emitValueThroughGrad(llvm::Module &module, const std::string &name,
                                     const std::string &gradName, std::size_t gradSize) {
  if (module.getNamedValue(name)) throw CodegenError("entry point '" + name + "' is defined twice");
  llvm::Function *grad = module.getFunction(gradName);
  if (!grad) throw CodegenError("entry point '" + name + "': no function '" + gradName + "'");
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *f64 = llvm::Type::getDoubleTy(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  auto *fn = llvm::Function::Create(llvm::FunctionType::get(f64, {ptr}, false),
                                    llvm::Function::ExternalLinkage, name, module);
  fn->setDoesNotThrow();
  fn->getArg(0)->setName("args");
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  Scratch scratch = allocateScratch(module, b, f64, gradSize, "grad");
  llvm::Value *v = b.CreateCall(grad, {fn->getArg(0), scratch.pointer});
  if (scratch.onHeap) b.CreateCall(scratch.free, {scratch.pointer});
  b.CreateRet(v);
  if (scratch.failed) {
    b.SetInsertPoint(scratch.failed);
    b.CreateRet(llvm::ConstantFP::getNaN(f64));
  }
  return fn;
}

void verifyModule(const llvm::Module &module) {
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(module, &os))
    throw std::logic_error("emitModule: LLVM rejects the module '" +
                           module.getModuleIdentifier() + "': " + os.str());
}

std::unique_ptr<llvm::Module> emitModule(llvm::LLVMContext &context, const std::string &moduleName,
                                         std::span<const TapeEntryPoint> entries,
                                         const EmitOptions &options) {
  auto module = std::make_unique<llvm::Module>(moduleName, context);
  module->setSourceFileName(moduleName);
  for (const TapeEntryPoint &entry : entries) emitEntryPoint(*module, entry, options);
  if (options.verify) codegen::verifyModule(*module);
  return module;
}

std::unique_ptr<llvm::Module> emitModule(llvm::LLVMContext &context, const std::string &moduleName,
                                         const Graph &graph, std::span<const EntryPoint> entries,
                                         std::span<const SymbolId> args,
                                         const EmitOptions &options) {
  std::vector<TapeEntryPoint> bound;
  bound.reserve(entries.size());
  for (const EntryPoint &entry : entries) bound.push_back(bindEntryPoint(graph, entry, args));
  return emitModule(context, moduleName, bound, options);
}

std::string printModule(const llvm::Module &module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os, nullptr);
  return os.str();
}

}  // namespace nabla::codegen
