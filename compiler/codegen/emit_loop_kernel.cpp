// Fused elementwise loops as LLVM IR (see loop_kernel.h): one counted loop per kernel, its values
// emitted per iteration by OpEmitter (evalOp's arithmetic), its sums carried in phi nodes.
#include "codegen/emit_llvm.h"
#include "codegen/loop_kernel.h"
#include "codegen/op_emitter.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <algorithm>

namespace nabla::codegen {

namespace {

/// The indices i where every load is inside its array, every guard holds and every output is
/// stored or summed: there the loop needs no clamp, select or branch.
std::pair<std::int64_t, std::int64_t> uncheckedRange(const LoopKernel &k) {
  std::int64_t lo = 0, hi = k.n;
  for (const LoopValue &v : k.values) {
    if (v.kind == LoopValue::Kind::Load && v.length > 1) {
      lo = std::max(lo, -v.shift);
      hi = std::min(hi, v.length - v.shift);
    } else if (v.kind == LoopValue::Kind::Guard) {
      lo = std::max(lo, v.lo - v.shift);
      hi = std::min(hi, v.hi - v.shift);
    }
  }
  for (const LoopOutput &out : k.outputs) hi = std::min(hi, out.length);
  if (hi < lo) hi = lo;
  return {lo, hi};
}

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
  b.SetInsertPoint(entry);
  // Every slot's pointer, read once.
  std::vector<llvm::Value *> slots(k.slots);
  for (std::uint32_t s = 0; s < k.slots; ++s)
    slots[s] = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, slotsArg, s));
  // Scalars (loads of length 1, constants) before the loops.
  std::vector<llvm::Value *> hoisted(k.values.size(), nullptr);
  OpEmitter constants(module, b, f64, false);
  for (std::size_t v = 0; v < k.values.size(); ++v) {
    const LoopValue &lv = k.values[v];
    if (lv.kind == LoopValue::Kind::Const) hoisted[v] = constants.constant(lv.value);
    if (lv.kind == LoopValue::Kind::Load && lv.length == 1) hoisted[v] = b.CreateLoad(f64, slots[lv.slot]);
  }
  // The sums so far, carried from loop to loop (in the order of i).
  std::vector<llvm::Value *> sums;
  for (const LoopOutput &out : k.outputs)
    if (out.sum) sums.push_back(llvm::ConstantFP::get(f64, 0.0));

  // One loop over [from, to): `checked` evaluates anywhere (clamped loads, guards, conditional
  // stores and sums), unchecked only inside uncheckedRange.
  auto loop = [&](std::int64_t from, std::int64_t to, bool checked) {
    if (from >= to) return;
    llvm::BasicBlock *before = b.GetInsertBlock();
    auto *body = llvm::BasicBlock::Create(ctx, checked ? "checked" : "loop", fn);
    auto *done = llvm::BasicBlock::Create(ctx, "done", fn);
    b.CreateBr(body);
    b.SetInsertPoint(body);
    llvm::PHINode *i = b.CreatePHI(i64, 2, "i");
    i->addIncoming(b.getInt64(from), before);
    std::vector<llvm::PHINode *> phis;
    for (llvm::Value *start : sums) {
      llvm::PHINode *acc = b.CreatePHI(f64, 2);
      acc->addIncoming(start, before);
      phis.push_back(acc);
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
        if (checked) {
          // clamp(j, 0, length - 1): the unsigned compare catches j < 0 as well.
          llvm::Value *inside = b.CreateICmpULT(j, b.getInt64(lv.length));
          llvm::Value *low = b.CreateICmpSLT(j, b.getInt64(0));
          j = b.CreateSelect(inside, j, b.CreateSelect(low, b.getInt64(0), b.getInt64(lv.length - 1)));
        }
        value[v] = b.CreateLoad(f64, b.CreateInBoundsGEP(f64, slots[lv.slot], j));
        break;
      }
      case LoopValue::Kind::Op:
        value[v] = ops.op(lv.op, value[lv.args[0]], lv.argCount > 1 ? value[lv.args[1]] : nullptr,
                          lv.argCount > 2 ? value[lv.args[2]] : nullptr);
        break;
      case LoopValue::Kind::Guard: {
        if (!checked) {
          value[v] = value[lv.args[0]];
          break;
        }
        llvm::Value *j = b.CreateAdd(i, b.getInt64(lv.shift));
        llvm::Value *in = b.CreateAnd(b.CreateICmpSGE(j, b.getInt64(lv.lo)),
                                      b.CreateICmpSLT(j, b.getInt64(lv.hi)));
        value[v] = b.CreateSelect(in, value[lv.args[0]], llvm::ConstantFP::get(f64, 0.0));
        break;
      }
      case LoopValue::Kind::Const: break;  // hoisted
      }
    }
    std::vector<llvm::Value *> next;
    std::size_t s = 0;
    for (const LoopOutput &out : k.outputs) {
      llvm::Value *valid = checked ? b.CreateICmpSLT(i, b.getInt64(out.length)) : nullptr;
      if (out.sum) {
        llvm::Value *acc = phis[s++];
        llvm::Value *added = b.CreateFAdd(acc, value[out.value]);
        next.push_back(checked ? b.CreateSelect(valid, added, acc) : added);
        continue;
      }
      llvm::Value *address = b.CreateInBoundsGEP(f64, slots[out.slot], i);
      if (!checked) {
        b.CreateStore(value[out.value], address);
        continue;
      }
      // Stores past the output's length are skipped.
      auto *store = llvm::BasicBlock::Create(ctx, "store", fn);
      auto *after = llvm::BasicBlock::Create(ctx, "after", fn);
      b.CreateCondBr(valid, store, after);
      b.SetInsertPoint(store);
      b.CreateStore(value[out.value], address);
      b.CreateBr(after);
      b.SetInsertPoint(after);
    }
    llvm::BasicBlock *latch = b.GetInsertBlock();
    for (std::size_t a = 0; a < phis.size(); ++a) phis[a]->addIncoming(next[a], latch);
    llvm::Value *iNext = b.CreateAdd(i, b.getInt64(1));
    i->addIncoming(iNext, latch);
    b.CreateCondBr(b.CreateICmpSLT(iNext, b.getInt64(to)), body, done);
    b.SetInsertPoint(done);
    for (std::size_t a = 0; a < phis.size(); ++a) sums[a] = next[a];
  };

  const auto [lo, hi] = uncheckedRange(k);
  loop(0, lo, true);
  loop(lo, hi, false);
  loop(std::max(lo, hi), k.n, true);

  std::size_t s = 0;
  for (const LoopOutput &out : k.outputs)
    if (out.sum) b.CreateStore(sums[s++], slots[out.slot]);
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
