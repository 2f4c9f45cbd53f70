// Fused elementwise loops as LLVM IR (see loop_kernel.h): one counted loop per kernel, its values
// emitted per iteration by OpEmitter (evalOp's arithmetic), its sums carried in phi nodes.
#include "codegen/emit_llvm.h"
#include "codegen/loop_kernel.h"
#include "codegen/op_emitter.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

namespace nabla::codegen {

namespace {

/// Narrows [lo, hi) to the i where from <= stride * i + shift < to.
void narrow(std::int64_t &lo, std::int64_t &hi, std::int64_t stride, std::int64_t shift,
            std::int64_t from, std::int64_t to) {
  if (stride == 0) {
    if (shift < from || shift >= to) hi = lo;
    return;
  }
  lo = std::max(lo, -floorDiv(shift - from, stride));         // ceil((from - shift) / stride)
  hi = std::min(hi, -floorDiv(shift - to, stride));           // ceil((to - shift) / stride)
}

/// The indices i where every load is inside its array, every guard holds and every output is
/// stored or summed: there the loop needs no clamp, select or branch.
std::pair<std::int64_t, std::int64_t> uncheckedRange(const LoopKernel &k) {
  std::int64_t lo = 0, hi = k.n;
  for (const LoopValue &v : k.values) {
    if (v.kind == LoopValue::Kind::Load && v.length > 1)
      narrow(lo, hi, v.stride, v.shift, 0, v.length);
    else if (v.kind == LoopValue::Kind::Guard)
      narrow(lo, hi, v.stride, v.shift, v.lo, v.hi);
  }
  for (const LoopOutput &out : k.outputs) hi = std::min(hi, out.length);
  if (hi < lo) hi = lo;
  return {lo, hi};
}

/// Per value, the value it is one iteration later, or -1: carried[v] = a when v(i) = a(i - 1)
/// wherever both are evaluated unchecked (same ops over the same arrays, every load one index
/// lower). In a loop over i, v then needs no work: it is a as the previous iteration had it.
/// A slice's adjoint beside the slice (x[1:] and x[:-1] in one stencil) makes such pairs.
/// Values that read with a stride other than 1 (a matrix's columns) are never carried.
std::vector<std::int64_t> carriedValues(const LoopKernel &k) {
  // Each value as a class (its structure, up to a shift of every load) and an offset: value v
  // is class c evaluated at i + offset. Values that read no array have no offset; those that
  // read one with another stride have kStrided.
  constexpr std::int64_t kAny = INT64_MIN, kStrided = INT64_MIN + 1;
  struct Structure {
    int kind;
    std::int64_t a = 0, b = 0;       // Load: slot, length; Const: the bits; Op: the op
    std::vector<std::int64_t> args;  // Op: per operand its class and its offset from this one's
    bool operator<(const Structure &o) const {
      return std::tie(kind, a, b, args) < std::tie(o.kind, o.a, o.b, o.args);
    }
  };
  std::map<Structure, std::int64_t> classes;
  std::vector<std::int64_t> cls(k.values.size()), off(k.values.size(), kAny);
  auto classOf = [&](Structure shape) {
    return classes.emplace(std::move(shape), static_cast<std::int64_t>(classes.size())).first->second;
  };
  for (std::size_t v = 0; v < k.values.size(); ++v) {
    const LoopValue &lv = k.values[v];
    switch (lv.kind) {
    case LoopValue::Kind::Load:
      cls[v] = classOf({0, lv.slot, lv.length, {}});
      if (lv.length > 1) off[v] = lv.stride == 1 ? lv.shift : kStrided;
      break;
    case LoopValue::Kind::Const: {
      std::int64_t bits;
      std::memcpy(&bits, &lv.value, sizeof bits);
      cls[v] = classOf({1, bits, 0, {}});
      break;
    }
    case LoopValue::Kind::Guard:  // unchecked, the operand itself
      cls[v] = cls[lv.args[0]];
      off[v] = lv.stride == 1 ? off[lv.args[0]] : kStrided;
      break;
    case LoopValue::Kind::Op: {
      std::int64_t base = kAny;
      for (std::uint8_t j = 0; j < lv.argCount; ++j)
        if (off[lv.args[j]] != kAny) base = base == kAny ? off[lv.args[j]] : std::min(base, off[lv.args[j]]);
      if (std::any_of(lv.args, lv.args + lv.argCount, [&](std::uint32_t a) { return off[a] == kStrided; })) {
        cls[v] = classOf({3, static_cast<std::int64_t>(v), 0, {}});  // a class of its own
        off[v] = kStrided;
        break;
      }
      Structure shape{2, static_cast<std::int64_t>(lv.op), 0, {}};
      for (std::uint8_t j = 0; j < lv.argCount; ++j) {
        shape.args.push_back(cls[lv.args[j]]);
        shape.args.push_back(off[lv.args[j]] == kAny ? kAny : off[lv.args[j]] - base);
      }
      cls[v] = classOf(std::move(shape));
      off[v] = base;
      break;
    }
    }
  }
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> first;  // (class, offset) -> value
  for (std::size_t v = 0; v < k.values.size(); ++v)
    if (off[v] != kAny && off[v] != kStrided) first.emplace(std::pair{cls[v], off[v]}, static_cast<std::int64_t>(v));
  std::vector<std::int64_t> carried(k.values.size(), -1);
  for (std::size_t v = 0; v < k.values.size(); ++v) {
    if (off[v] == kAny || off[v] == kStrided || k.values[v].kind == LoopValue::Kind::Const) continue;
    auto later = first.find({cls[v], off[v] + 1});
    if (later != first.end() && later->second != static_cast<std::int64_t>(v)) carried[v] = later->second;
  }
  return carried;
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
  // The sums so far, carried from loop to loop (in the order of i); chained sums add into the
  // one before them. Each adds as nabla_rt_sum does: a block of kSumBlock elements from -0, a
  // group adding the blocks, a total adding the groups. Element e of a chain of w sums (a row of
  // w lanes) is lane e % w of iteration e / w.
  struct SumState {
    llvm::Value *block, *group, *total;
  };
  llvm::Value *minusZero = llvm::ConstantFP::get(f64, -0.0);
  std::vector<SumState> sums;
  // Per sum output: its lane in its chain, and the chain's first output, whose width counts them.
  std::vector<std::int64_t> laneOf(k.outputs.size(), 0), widthOf(k.outputs.size(), 1);
  std::vector<std::size_t> headOf(k.outputs.size(), 0);
  for (std::size_t o = 0, head = 0; o < k.outputs.size(); ++o) {
    const LoopOutput &out = k.outputs[o];
    if (!out.sum) continue;
    if (!out.chained) {
      sums.push_back({minusZero, minusZero, minusZero});
      head = o;
    } else {
      laneOf[o] = widthOf[head]++;
    }
    headOf[o] = head;
  }
  // Index `stride * i + shift`.
  auto index = [&](llvm::Value *i, std::int64_t stride, std::int64_t shift) {
    llvm::Value *scaled = stride == 1 ? i : b.CreateMul(i, b.getInt64(stride));
    return shift == 0 ? scaled : b.CreateAdd(scaled, b.getInt64(shift));
  };

  // Every value at index i: `checked` anywhere (clamped loads, guards), unchecked only inside
  // uncheckedRange. Values given in `preset` are taken as they are.
  auto evaluate = [&](llvm::Value *i, bool checked, const std::vector<llvm::Value *> &preset) {
    OpEmitter ops(module, b, f64, false);
    std::vector<llvm::Value *> value(k.values.size(), nullptr);
    for (std::size_t v = 0; v < k.values.size(); ++v) {
      if (hoisted[v] || preset[v]) {
        value[v] = hoisted[v] ? hoisted[v] : preset[v];
        continue;
      }
      const LoopValue &lv = k.values[v];
      switch (lv.kind) {
      case LoopValue::Kind::Load: {
        llvm::Value *j = index(i, lv.stride, lv.shift);
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
        llvm::Value *j = index(i, lv.stride, lv.shift);
        llvm::Value *in = b.CreateAnd(b.CreateICmpSGE(j, b.getInt64(lv.lo)),
                                      b.CreateICmpSLT(j, b.getInt64(lv.hi)));
        value[v] = b.CreateSelect(in, value[lv.args[0]], llvm::ConstantFP::get(f64, 0.0));
        break;
      }
      case LoopValue::Kind::Const: break;  // hoisted
      }
    }
    return value;
  };

  // A loop without sums is left to LLVM's vectorizer, which recomputes shifted values cheaply;
  // a loop with sums runs one index at a time (they add in the order of i), and there a value
  // that is another one a step later is carried over from the previous iteration.
  const bool hasSums = !sums.empty();
  const std::vector<std::int64_t> carried = hasSums ? carriedValues(k) : std::vector<std::int64_t>{};
  const std::vector<llvm::Value *> none(k.values.size(), nullptr);

  // One loop over [from, to): `checked` evaluates anywhere (clamped loads, guards, conditional
  // stores and sums), unchecked only inside uncheckedRange.
  auto loop = [&](std::int64_t from, std::int64_t to, bool checked) {
    if (from >= to) return;
    const bool carry = !checked && hasSums &&
                       std::any_of(carried.begin(), carried.end(), [](std::int64_t c) { return c >= 0; });
    // The carried values' first iteration, computed before the loop.
    std::vector<llvm::Value *> initial;
    if (carry) initial = evaluate(b.getInt64(from), false, none);
    llvm::BasicBlock *before = b.GetInsertBlock();
    auto *body = llvm::BasicBlock::Create(ctx, checked ? "checked" : "loop", fn);
    auto *done = llvm::BasicBlock::Create(ctx, "done", fn);
    b.CreateBr(body);
    b.SetInsertPoint(body);
    llvm::PHINode *i = b.CreatePHI(i64, 2, "i");
    i->addIncoming(b.getInt64(from), before);
    std::vector<SumState> phis;
    for (const SumState &start : sums) {
      SumState acc;
      for (auto [to, from] : {std::pair{&acc.block, start.block}, {&acc.group, start.group},
                              {&acc.total, start.total}}) {
        llvm::PHINode *phi = b.CreatePHI(f64, 2);
        phi->addIncoming(from, before);
        *to = phi;
      }
      phis.push_back(acc);
    }
    std::vector<llvm::Value *> preset = none;
    std::vector<std::pair<llvm::PHINode *, std::size_t>> carries;  // a phi and the value it takes
    if (carry) {
      // Values carried from one value are one value (a guard beside its operand): one phi.
      std::map<std::int64_t, llvm::PHINode *> phiOf;
      for (std::size_t v = 0; v < k.values.size(); ++v) {
        if (carried[v] < 0 || hoisted[v]) continue;
        llvm::PHINode *&phi = phiOf[carried[v]];
        if (!phi) {
          phi = b.CreatePHI(f64, 2);
          phi->addIncoming(initial[v], before);
          carries.emplace_back(phi, static_cast<std::size_t>(carried[v]));
        }
        preset[v] = phi;
      }
    }
    const std::vector<llvm::Value *> value = evaluate(i, checked, preset);
    std::vector<SumState> next;
    for (std::size_t o = 0; o < k.outputs.size(); ++o) {
      const LoopOutput &out = k.outputs[o];
      llvm::Value *valid = checked ? b.CreateICmpSLT(i, b.getInt64(out.length)) : nullptr;
      if (out.sum) {
        const SumState acc = out.chained ? next.back() : phis[next.size()];
        const std::int64_t width = widthOf[headOf[o]];
        llvm::Value *e = width == 1 ? i : b.CreateAdd(b.CreateMul(i, b.getInt64(width)),
                                                      b.getInt64(laneOf[o]));
        auto ends = [&](std::int64_t size) {  // e is the last element of a block or group
          llvm::Value *c = b.CreateICmpEQ(b.CreateAnd(e, b.getInt64(size - 1)), b.getInt64(size - 1));
          return checked ? b.CreateAnd(c, valid) : c;
        };
        llvm::Value *block = b.CreateFAdd(acc.block, value[out.value]);
        if (checked) block = b.CreateSelect(valid, block, acc.block);
        // A block's end (one iteration in kSumBlock) branches to the flush, so that the other
        // iterations add once and test once: selects at every element doubled the time of
        // chained Rosenbrock's loops (bench/RESULTS.md, "Arrowhead Hessians").
        llvm::Value *blockEnds = ends(kSumBlock);
        llvm::BasicBlock *adding = b.GetInsertBlock();
        auto *flush = llvm::BasicBlock::Create(ctx, "flush", fn);
        auto *flushed = llvm::BasicBlock::Create(ctx, "flushed", fn);
        b.CreateCondBr(blockEnds, flush, flushed,
                       llvm::MDBuilder(ctx).createBranchWeights(1, kSumBlock - 1));
        b.SetInsertPoint(flush);
        llvm::Value *group = b.CreateFAdd(acc.group, block);
        llvm::Value *groupEnds = ends(kSumGroup);
        llvm::Value *total = b.CreateSelect(groupEnds, b.CreateFAdd(acc.total, group), acc.total);
        group = b.CreateSelect(groupEnds, minusZero, group);
        b.CreateBr(flushed);
        b.SetInsertPoint(flushed);
        SumState added;
        for (auto [to, kept, flushedValue] :
             {std::tuple{&added.block, block, minusZero}, {&added.group, acc.group, group},
              {&added.total, acc.total, total}}) {
          llvm::PHINode *phi = b.CreatePHI(f64, 2);
          phi->addIncoming(kept, adding);
          phi->addIncoming(flushedValue, flush);
          *to = phi;
        }
        if (out.chained) next.back() = added;
        else next.push_back(added);
        continue;
      }
      llvm::Value *address = b.CreateInBoundsGEP(f64, slots[out.slot], index(i, out.stride, out.offset));
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
    for (std::size_t a = 0; a < phis.size(); ++a) {
      llvm::cast<llvm::PHINode>(phis[a].block)->addIncoming(next[a].block, latch);
      llvm::cast<llvm::PHINode>(phis[a].group)->addIncoming(next[a].group, latch);
      llvm::cast<llvm::PHINode>(phis[a].total)->addIncoming(next[a].total, latch);
    }
    for (auto &[phi, later] : carries) phi->addIncoming(value[later], latch);
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
  for (const LoopOutput &out : k.outputs) {
    if (!out.sum || out.chained) continue;
    const SumState &sum = sums[s++];
    b.CreateStore(b.CreateFAdd(b.CreateFAdd(sum.total, sum.group), sum.block), slots[out.slot]);
  }
  b.CreateRetVoid();
}

}  // namespace

std::unique_ptr<llvm::Module> emitLoopKernels(llvm::LLVMContext &context,
                                              const std::vector<LoopKernel> &kernels,
                                              const std::vector<std::string> &names) {
  auto module = std::make_unique<llvm::Module>("nabla_loops", context);
  emitLoopKernels(*module, kernels, names);
  verifyModule(*module);
  return module;
}

std::vector<llvm::Function *> emitLoopKernels(llvm::Module &module,
                                              const std::vector<LoopKernel> &kernels,
                                              const std::vector<std::string> &names) {
  std::vector<llvm::Function *> out;
  for (std::size_t k = 0; k < kernels.size(); ++k) {
    emitKernel(module, kernels[k], names[k]);
    out.push_back(module.getFunction(names[k]));
  }
  return out;
}

}  // namespace nabla::codegen
