#include "codegen/tape_body.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>

#include <algorithm>
#include <stdexcept>

namespace nabla::codegen {

namespace {

/// Frame and column accesses promise only the alignment of a double: a malloc'ed frame of vectors
/// is not aligned to the vector's size.
const llvm::Align kAlign(8);

/// Turns tape entries into instructions of the function being built. A slot's value is an SSA
/// value inside the function that computes it; a slot needed by a later part (or as a root of a
/// split body) is also stored to the frame, and other functions load it from there.
class BodyEmitter {
public:
  BodyEmitter(const Tape &tape, const FrameLayout &layout, llvm::IRBuilder<> &b, OpEmitter &emit,
              const BodyEnvironment &environment)
      : tape_(tape), layout_(layout), b_(b), emit_(emit), environment_(environment),
        value_(tape.size(), nullptr), epoch_(tape.size(), 0) {}

  /// Starts a new function body at the builder's insertion point: values of the previous one are
  /// not visible any more.
  void startFunction(std::vector<llvm::Value *> env, llvm::Value *frame) {
    ++currentEpoch_;
    env_ = std::move(env);
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
        throw std::logic_error("codegen: a variable that is not bound to an argument");
      v = environment_.loadVariable(b_, env_, e.argument);
    } else {
      if (!layout_.split || layout_.index[s] == Tape::kNoSlot || !frame_)
        throw std::logic_error("codegen: a slot used outside its part is not in the frame");
      v = b_.CreateAlignedLoad(emit_.type(), slotAddress(s), kAlign);
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
    if (layout_.split && layout_.index[i] != Tape::kNoSlot)
      b_.CreateAlignedStore(v, slotAddress(static_cast<std::uint32_t>(i)), kAlign);
  }

private:
  llvm::Value *slotAddress(std::uint32_t s) {
    return b_.CreateConstInBoundsGEP1_64(emit_.type(), frame_, layout_.index[s]);
  }
  void set(std::uint32_t s, llvm::Value *v) {
    value_[s] = v;
    epoch_[s] = currentEpoch_;
  }

  const Tape &tape_;
  const FrameLayout &layout_;
  llvm::IRBuilder<> &b_;
  OpEmitter &emit_;
  const BodyEnvironment &environment_;
  std::vector<llvm::Value *> env_;
  llvm::Value *frame_ = nullptr;
  std::vector<llvm::Value *> value_;
  std::vector<std::uint32_t> epoch_;  // value_[s] belongs to the current function iff equal
  std::uint32_t currentEpoch_ = 0;
};

}  // namespace

FrameLayout layOutFrame(const Tape &tape, std::size_t maxPartSize, std::size_t splitAbove) {
  FrameLayout layout;
  if (maxPartSize == 0 || tape.size() <= std::max(maxPartSize, splitAbove)) return layout;
  layout.split = true;
  layout.index.assign(tape.size(), Tape::kNoSlot);
  for (std::size_t s = 0; s < tape.size(); ++s) {
    Op op = tape.entries[s].op;
    if (op == Op::Const || op == Op::Var) continue;  // rebuilt where needed
    std::uint32_t last = tape.lastUse[s];
    if (last == Tape::kLiveOut || last / maxPartSize != s / maxPartSize)
      layout.index[s] = layout.size++;
  }
  return layout;
}

std::vector<llvm::Value *> emitTapeBody(llvm::Module &module, llvm::IRBuilder<> &b,
                                        const Tape &tape, OpEmitter &emit,
                                        const BodyEnvironment &environment,
                                        std::span<llvm::Value *const> env,
                                        const FrameLayout &layout, llvm::Value *frame,
                                        const BodyOptions &options) {
  BodyEmitter body(tape, layout, b, emit, environment);
  std::vector<llvm::Value *> outerEnv(env.begin(), env.end());
  if (layout.split) {
    // Small tapes become straight-line code. Larger ones are cut into parts of maxPartSize
    // entries, each its own function, because LLVM's register allocator and some passes grow
    // faster than linearly in the size of one function (a 10^5-node gradient takes many minutes
    // in one piece). Values that cross parts go through the frame.
    if (!frame) throw std::logic_error("codegen: a split body needs a frame");
    llvm::LLVMContext &ctx = module.getContext();
    std::vector<llvm::Type *> params = environment.types;
    params.push_back(llvm::PointerType::getUnqual(ctx));
    auto *partType = llvm::FunctionType::get(b.getVoidTy(), params, false);
    const std::size_t partSize = options.maxPartSize;
    for (std::size_t begin = 0, part = 0; begin < tape.size(); begin += partSize, ++part) {
      auto *partFn = llvm::Function::Create(partType, llvm::Function::InternalLinkage,
                                            options.partName + ".part" + std::to_string(part), module);
      partFn->setDoesNotThrow();
      partFn->addFnAttr(llvm::Attribute::NoInline);  // keeps the parts apart
      for (unsigned k = 0; k < params.size(); ++k)
        if (params[k]->isPointerTy()) {
          partFn->addParamAttr(k, llvm::Attribute::NoCapture);
          partFn->addParamAttr(k, llvm::Attribute::NoAlias);
        }
      if (options.fastMath) addFastMathAttributes(*partFn);
      llvm::IRBuilderBase::InsertPoint caller = b.saveIP();
      b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", partFn));
      std::vector<llvm::Value *> partEnv;
      for (unsigned k = 0; k + 1 < params.size(); ++k) partEnv.push_back(partFn->getArg(k));
      body.startFunction(partEnv, partFn->getArg(static_cast<unsigned>(params.size() - 1)));
      const std::size_t end = std::min(begin + partSize, tape.size());
      // Every value from earlier parts is loaded up front, before the part stores anything:
      // alias analysis then sees no store above any load, which keeps LLVM's time linear.
      for (std::size_t i = begin; i < end; ++i)
        for (std::uint32_t a : tape.entries[i].args)
          if (a != Tape::kNoSlot && a < begin) (void)body.get(a);
      for (std::size_t i = begin; i < end; ++i) body.emit(i);
      b.CreateRetVoid();
      b.restoreIP(caller);
      std::vector<llvm::Value *> callArgs = outerEnv;
      callArgs.push_back(frame);
      b.CreateCall(partFn, callArgs);
    }
    body.startFunction(outerEnv, frame);
  } else {
    body.startFunction(outerEnv, nullptr);
    if (options.variablesFirst)
      for (std::size_t i = 0; i < tape.size(); ++i)
        if (tape.entries[i].op == Op::Var) (void)body.get(static_cast<std::uint32_t>(i));
    for (std::size_t i = 0; i < tape.size(); ++i) {
      body.emit(i);
      const Op op = tape.entries[i].op;
      if (options.computed && op != Op::Const && op != Op::Var)
        options.computed(static_cast<std::uint32_t>(i), body.get(static_cast<std::uint32_t>(i)));
    }
  }
  std::vector<llvm::Value *> roots;
  roots.reserve(tape.roots.size());
  for (std::uint32_t r : tape.roots) roots.push_back(body.get(r));
  return roots;
}

Scratch allocateScratch(llvm::Module &module, llvm::IRBuilder<> &b, llvm::Type *type,
                        std::uint64_t count, const char *name) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  const std::uint64_t bytes = std::max<std::uint64_t>(count, 1) * (type->getPrimitiveSizeInBits() / 8);
  Scratch s;
  if (bytes <= kMaxStackBytes) {
    s.pointer = b.CreateAlloca(llvm::ArrayType::get(type, std::max<std::uint64_t>(count, 1)),
                               nullptr, name);
    return s;
  }
  llvm::Type *i64 = b.getInt64Ty();
  auto malloc = module.getOrInsertFunction("malloc", llvm::FunctionType::get(ptr, {i64}, false));
  s.free = module.getOrInsertFunction("free", llvm::FunctionType::get(b.getVoidTy(), {ptr}, false));
  s.onHeap = true;
  s.pointer = b.CreateCall(malloc, {b.getInt64(bytes)}, name);
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  s.failed = llvm::BasicBlock::Create(ctx, "out_of_memory", fn);
  auto *run = llvm::BasicBlock::Create(ctx, "run", fn);
  b.CreateCondBr(b.CreateIsNull(s.pointer), s.failed, run);
  b.SetInsertPoint(run);
  return s;
}

void addFastMathAttributes(llvm::Function &fn) {
  // Not "unsafe-fp-math": it lets the code generator reassociate, which turns the balanced sums
  // (balanceSums) back into long chains of fused multiply-adds.
  for (const char *attr : {"no-infs-fp-math", "no-nans-fp-math", "no-signed-zeros-fp-math",
                           "approx-func-fp-math"})
    fn.addFnAttr(attr, "true");
}

}  // namespace nabla::codegen
