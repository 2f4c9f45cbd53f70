#include "codegen/emit_llvm.h"

#include "codegen/op_emitter.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <limits>
#include <string_view>

namespace nabla::codegen {

namespace {

std::size_t expectedMinRoots(EntryKind kind) { return kind == EntryKind::Array ? 0 : 1; }

/// Frames up to this many bytes live on the stack; larger ones come from malloc, so that no input
/// can overflow a thread's stack.
constexpr std::uint64_t kMaxStackFrameBytes = 64 * 1024;

/// Turns tape entries into instructions of the function being built. A slot's value is an SSA
/// value inside the function that computes it; a slot needed by a later part (or as an output of a
/// split entry point) is also stored to the frame, and other functions load it from there.
class BodyEmitter {
public:
  BodyEmitter(const Tape &tape, std::vector<std::uint32_t> frameIndex, llvm::IRBuilder<> &b,
              OpEmitter &emit)
      : tape_(tape), frameIndex_(std::move(frameIndex)), b_(b), emit_(emit),
        value_(tape.size(), nullptr), epoch_(tape.size(), 0) {
    f64_ = b.getDoubleTy();
  }

  /// Starts a new function body at the builder's insertion point: values of the previous one are
  /// not visible any more.
  void startFunction(llvm::Value *args, llvm::Value *frame) {
    ++currentEpoch_;
    args_ = args;
    frame_ = frame;
  }

  /// The value of slot `s` in the current function.
  llvm::Value *get(std::uint32_t s) {
    if (epoch_[s] == currentEpoch_) return value_[s];
    const Tape::Entry &e = tape_.entries[s];
    llvm::Value *v = nullptr;
    if (e.op == Op::Const) return emit_.constant(e.constant);
    if (e.op == Op::Var) {
      if (e.argument == Tape::kNoSlot)
        throw std::logic_error("emitEntryPoint: a variable that is not bound to an argument");
      v = b_.CreateLoad(f64_, b_.CreateConstInBoundsGEP1_64(f64_, args_, e.argument));
    } else {
      if (frameIndex_[s] == Tape::kNoSlot || !frame_)
        throw std::logic_error("emitEntryPoint: a slot used outside its part is not in the frame");
      v = b_.CreateLoad(f64_, b_.CreateConstInBoundsGEP1_64(f64_, frame_, frameIndex_[s]));
    }
    set(s, v);
    return v;
  }

  /// Emits the computation of entry `i` (leaves are materialized where they are used).
  void emit(std::size_t i) {
    const Tape::Entry &e = tape_.entries[i];
    if (e.op == Op::Const || e.op == Op::Var) return;
    auto arg = [&](int j) { return e.args[j] == Tape::kNoSlot ? nullptr : get(e.args[j]); };
    llvm::Value *v = emit_.op(e.op, arg(0), arg(1), arg(2));
    set(static_cast<std::uint32_t>(i), v);
    if (frameIndex_[i] != Tape::kNoSlot)
      b_.CreateStore(v, b_.CreateConstInBoundsGEP1_64(f64_, frame_, frameIndex_[i]));
  }

private:
  void set(std::uint32_t s, llvm::Value *v) {
    value_[s] = v;
    epoch_[s] = currentEpoch_;
  }

  const Tape &tape_;
  std::vector<std::uint32_t> frameIndex_;  // per slot; kNoSlot: never leaves its function
  llvm::IRBuilder<> &b_;
  OpEmitter &emit_;
  llvm::Type *f64_;
  llvm::Value *args_ = nullptr, *frame_ = nullptr;
  std::vector<llvm::Value *> value_;
  std::vector<std::uint32_t> epoch_;  // value_[s] belongs to the current function iff equal
  std::uint32_t currentEpoch_ = 0;
};

void addFastMathAttributes(llvm::Function &fn) {
  for (const char *attr : {"unsafe-fp-math", "no-infs-fp-math", "no-nans-fp-math",
                           "no-signed-zeros-fp-math", "approx-func-fp-math"})
    fn.addFnAttr(attr, "true");
}

/// A scratch buffer of `bytes`: on the stack when small, else from malloc. Returns the pointer and
/// the call of free to make before returning (nullptr when on the stack); on a failed malloc the
/// builder continues in a block that `onFailure` fills.
struct Scratch {
  llvm::Value *pointer = nullptr;
  llvm::FunctionCallee free;
  bool onHeap = false;
};
Scratch allocateScratch(llvm::Module &module, llvm::Function *fn, llvm::IRBuilder<> &b,
                        std::uint64_t doubles, llvm::BasicBlock *&failed, const char *name) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  Scratch s;
  if (doubles * 8 <= kMaxStackFrameBytes) {
    s.pointer = b.CreateAlloca(llvm::ArrayType::get(b.getDoubleTy(), doubles), nullptr, name);
    return s;
  }
  llvm::Type *i64 = b.getInt64Ty();
  auto malloc = module.getOrInsertFunction("malloc", llvm::FunctionType::get(ptr, {i64}, false));
  s.free = module.getOrInsertFunction("free", llvm::FunctionType::get(b.getVoidTy(), {ptr}, false));
  s.onHeap = true;
  s.pointer = b.CreateCall(malloc, {b.getInt64(doubles * 8)}, name);
  failed = llvm::BasicBlock::Create(ctx, "out_of_memory", fn);
  auto *run = llvm::BasicBlock::Create(ctx, "run", fn);
  b.CreateCondBr(b.CreateIsNull(s.pointer), failed, run);
  b.SetInsertPoint(run);
  return s;
}

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
  const Tape &tape = entry.tape;

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
    b.setFastMathFlags(fmf);
  }
  OpEmitter emit(module, b, f64, options.forFastIsel);

  // Small tapes become one straight-line function. Larger ones are cut into parts of
  // `maxPartSize` entries, each its own function, because LLVM's register allocator and some
  // passes grow faster than linearly in the size of one function (a 10^5-node gradient takes
  // many minutes in one piece). Values that cross parts go through a frame of doubles.
  const std::size_t partSize = std::max<std::size_t>(options.maxPartSize, 1);
  const bool split = tape.size() > partSize;
  std::vector<std::uint32_t> frameIndex(tape.size(), Tape::kNoSlot);
  std::uint32_t frameSize = 0;
  if (split) {
    for (std::size_t s = 0; s < tape.size(); ++s) {
      Op op = tape.entries[s].op;
      if (op == Op::Const || op == Op::Var) continue;  // rebuilt where needed
      std::uint32_t last = tape.lastUse[s];
      if (last == Tape::kLiveOut || last / partSize != s / partSize) frameIndex[s] = frameSize++;
    }
  }
  BodyEmitter body(tape, std::move(frameIndex), b, emit);

  llvm::Value *frame = nullptr;
  Scratch scratch;
  llvm::BasicBlock *outOfMemory = nullptr;
  if (split) {
    scratch = allocateScratch(module, fn, b, std::max<std::uint32_t>(frameSize, 1), outOfMemory,
                              "frame");
    frame = scratch.pointer;
    // One internal function per part, called in order; noinline keeps them apart.
    auto *partType = llvm::FunctionType::get(b.getVoidTy(), {ptr, ptr}, false);
    for (std::size_t begin = 0, part = 0; begin < tape.size(); begin += partSize, ++part) {
      auto *partFn = llvm::Function::Create(partType, llvm::Function::InternalLinkage,
                                            entry.name + ".part" + std::to_string(part), module);
      partFn->setDoesNotThrow();
      partFn->addFnAttr(llvm::Attribute::NoInline);
      for (unsigned k = 0; k < 2; ++k) partFn->addParamAttr(k, llvm::Attribute::NoCapture);
      partFn->addParamAttr(0, llvm::Attribute::ReadOnly);
      partFn->addParamAttr(0, llvm::Attribute::NoAlias);
      partFn->addParamAttr(1, llvm::Attribute::NoAlias);
      if (options.fastMath) addFastMathAttributes(*partFn);
      llvm::IRBuilderBase::InsertPoint caller = b.saveIP();
      b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", partFn));
      body.startFunction(partFn->getArg(0), partFn->getArg(1));
      const std::size_t end = std::min(begin + partSize, tape.size());
      // Every value from earlier parts is loaded up front, before the part stores anything:
      // alias analysis then sees no store above any load, which keeps LLVM's time linear.
      for (std::size_t i = begin; i < end; ++i)
        for (std::uint32_t a : tape.entries[i].args)
          if (a != Tape::kNoSlot && a < begin) (void)body.get(a);
      for (std::size_t i = begin; i < end; ++i) body.emit(i);
      b.CreateRetVoid();
      b.restoreIP(caller);
      b.CreateCall(partFn, {fn->getArg(0), frame});
    }
    body.startFunction(fn->getArg(0), frame);
  } else {
    body.startFunction(fn->getArg(0), nullptr);
    for (std::size_t i = 0; i < tape.size(); ++i) body.emit(i);
  }

  // Outputs last: every argument has been read by now.
  std::vector<llvm::Value *> results;
  for (std::uint32_t r : tape.roots) results.push_back(body.get(r));
  if (scratch.onHeap) b.CreateCall(scratch.free, {frame});
  auto finish = [&](auto result) {
    std::size_t first = entry.kind == EntryKind::Array ? 0 : 1;
    for (std::size_t r = first; r < results.size(); ++r)
      b.CreateStore(result(r), b.CreateConstInBoundsGEP1_64(f64, fn->getArg(1), r - first));
    if (entry.kind == EntryKind::Array)
      b.CreateRetVoid();
    else
      b.CreateRet(result(0));
  };
  finish([&](std::size_t r) { return results[r]; });
  if (outOfMemory) {
    // No frame, no results: every output is NaN, which the runtime reports like any other NaN.
    b.SetInsertPoint(outOfMemory);
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
  llvm::BasicBlock *outOfMemory = nullptr;
  Scratch scratch = allocateScratch(module, fn, b, std::max<std::size_t>(gradSize, 1), outOfMemory,
                                    "grad");
  llvm::Value *v = b.CreateCall(grad, {fn->getArg(0), scratch.pointer});
  if (scratch.onHeap) b.CreateCall(scratch.free, {scratch.pointer});
  b.CreateRet(v);
  if (outOfMemory) {
    b.SetInsertPoint(outOfMemory);
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
