// Fused elementwise loops as LLVM IR (see loop_kernel.h): one counted loop per kernel, its values
// emitted per iteration by OpEmitter (evalOp's arithmetic), its sums carried in phi nodes.
#include "codegen/emit_llvm.h"
#include "codegen/loop_kernel.h"
#include "codegen/op_emitter.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

namespace nabla::codegen {

namespace {

void emitKernel(llvm::Module &module, const LoopKernel &k, const std::string &name) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type *f64 = b.getDoubleTy(), *i64 = b.getInt64Ty();
  llvm::Type *ptr = b.getPtrTy();
  auto *fnType = llvm::FunctionType::get(b.getVoidTy(), {ptr}, false);
  auto *fn = llvm::Function::Create(fnType, llvm::Function::ExternalLinkage, name, module);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::Value *slotsArg = fn->getArg(0);

  auto *entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  auto *loop = llvm::BasicBlock::Create(ctx, "loop", fn);
  auto *exit = llvm::BasicBlock::Create(ctx, "exit", fn);
  b.SetInsertPoint(entry);
  // Every slot's pointer, read once.
  std::vector<llvm::Value *> slots(k.slots);
  for (std::uint32_t s = 0; s < k.slots; ++s)
    slots[s] = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, slotsArg, s));
  // Scalars (loads of length 1, constants) before the loop.
  std::vector<llvm::Value *> hoisted(k.values.size(), nullptr);
  OpEmitter constants(module, b, f64, false);
  for (std::size_t v = 0; v < k.values.size(); ++v) {
    const LoopValue &lv = k.values[v];
    if (lv.kind == LoopValue::Kind::Const) hoisted[v] = constants.constant(lv.value);
    if (lv.kind == LoopValue::Kind::Load && lv.length == 1) hoisted[v] = b.CreateLoad(f64, slots[lv.slot]);
  }
  b.CreateBr(loop);

  b.SetInsertPoint(loop);
  llvm::PHINode *i = b.CreatePHI(i64, 2, "i");
  i->addIncoming(b.getInt64(0), entry);
  std::vector<llvm::PHINode *> sums;
  for (const LoopOutput &out : k.outputs) {
    if (!out.sum) continue;
    llvm::PHINode *acc = b.CreatePHI(f64, 2);
    acc->addIncoming(llvm::ConstantFP::get(f64, 0.0), entry);
    sums.push_back(acc);
  }
  OpEmitter ops(module, b, f64, false);
  std::vector<llvm::Value *> value(k.values.size(), nullptr);
  for (std::size_t v = 0; v < k.values.size(); ++v) {
    if (hoisted[v]) {
      value[v] = hoisted[v];
      continue;
    }
    const LoopValue &lv = k.values[v];
    switch (lv.kind) {
    case LoopValue::Kind::Load: {
      llvm::Value *j = b.CreateAdd(i, b.getInt64(lv.shift));
      // clamp(j, 0, length - 1): unsigned compare catches j < 0 as well.
      llvm::Value *inside = b.CreateICmpULT(j, b.getInt64(lv.length));
      llvm::Value *low = b.CreateICmpSLT(j, b.getInt64(0));
      llvm::Value *clamped =
          b.CreateSelect(inside, j, b.CreateSelect(low, b.getInt64(0), b.getInt64(lv.length - 1)));
      value[v] = b.CreateLoad(f64, b.CreateInBoundsGEP(f64, slots[lv.slot], clamped));
      break;
    }
    case LoopValue::Kind::Op:
      value[v] = ops.op(lv.op, value[lv.args[0]], lv.argCount > 1 ? value[lv.args[1]] : nullptr,
                        lv.argCount > 2 ? value[lv.args[2]] : nullptr);
      break;
    case LoopValue::Kind::Guard: {
      llvm::Value *j = b.CreateAdd(i, b.getInt64(lv.shift));
      llvm::Value *in = b.CreateAnd(b.CreateICmpSGE(j, b.getInt64(lv.lo)),
                                    b.CreateICmpSLT(j, b.getInt64(lv.hi)));
      value[v] = b.CreateSelect(in, value[lv.args[0]], llvm::ConstantFP::get(f64, 0.0));
      break;
    }
    case LoopValue::Kind::Const: break;  // hoisted
    }
  }
  std::size_t s = 0;
  for (const LoopOutput &out : k.outputs) {
    llvm::Value *valid = b.CreateICmpSLT(i, b.getInt64(out.length));
    if (out.sum) {
      llvm::PHINode *acc = sums[s++];
      llvm::Value *next = b.CreateSelect(valid, b.CreateFAdd(acc, value[out.value]), acc);
      acc->addIncoming(next, loop);
      continue;
    }
    // Stores past the output's length are skipped.
    auto *store = llvm::BasicBlock::Create(ctx, "store", fn);
    auto *after = llvm::BasicBlock::Create(ctx, "after", fn);
    b.CreateCondBr(valid, store, after);
    b.SetInsertPoint(store);
    b.CreateStore(value[out.value], b.CreateInBoundsGEP(f64, slots[out.slot], i));
    b.CreateBr(after);
    b.SetInsertPoint(after);
  }
  // The phis of the sums take their next value from the block the loop ends in.
  llvm::BasicBlock *latch = b.GetInsertBlock();
  if (latch != loop) {
    for (llvm::PHINode *acc : sums) {
      llvm::Value *next = acc->getIncomingValueForBlock(loop);
      acc->removeIncomingValue(loop, false);
      acc->addIncoming(next, latch);
    }
  }
  llvm::Value *iNext = b.CreateAdd(i, b.getInt64(1));
  i->addIncoming(iNext, latch);
  b.CreateCondBr(b.CreateICmpSLT(iNext, b.getInt64(k.n)), loop, exit);

  b.SetInsertPoint(exit);
  s = 0;
  for (const LoopOutput &out : k.outputs) {
    if (!out.sum) continue;
    llvm::PHINode *acc = sums[s++];
    llvm::Value *last = acc->getIncomingValueForBlock(latch);
    b.CreateStore(last, slots[out.slot]);
  }
  b.CreateRetVoid();
}

}  // namespace

std::unique_ptr<llvm::Module> emitLoopKernels(llvm::LLVMContext &context,
                                              const std::vector<LoopKernel> &kernels,
                                              const std::vector<std::string> &names) {
  auto module = std::make_unique<llvm::Module>("nabla_loops", context);
  for (std::size_t k = 0; k < kernels.size(); ++k) emitKernel(*module, kernels[k], names[k]);
  verifyModule(*module);
  return module;
}

}  // namespace nabla::codegen
