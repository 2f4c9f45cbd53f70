#include "codegen/emit_c_abi.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <limits>
#include <numeric>

namespace nabla::codegen {

namespace {

/// Scratch arrays up to this many bytes live on the stack, larger ones come from malloc (the
/// same bound as the frames of split entry points): no argument count can overflow a stack.
constexpr std::uint64_t kMaxStackBytes = 64 * 1024;

/// What emit_llvm.cpp marks fast-math functions with, so that wrappers and the functions
/// inlined into them agree.
void addFastMathAttributes(llvm::Function &fn) {
  for (const char *attr : {"unsafe-fp-math", "no-infs-fp-math", "no-nans-fp-math",
                           "no-signed-zeros-fp-math", "approx-func-fp-math"})
    fn.addFnAttr(attr, "true");
}

llvm::Function *createFunction(llvm::Module &module, const std::string &name,
                               llvm::FunctionType *type, const EmitOptions &options) {
  if (name.empty()) throw CodegenError("a C entry point needs a name");
  if (module.getNamedValue(name))
    throw CodegenError("'" + name + "' is defined twice in the module");
  auto *fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, module);
  fn->setDoesNotThrow();
  if (options.fastMath) addFastMathAttributes(*fn);
  return fn;
}

void readOnlyPointer(llvm::Function &fn, unsigned k, const char *name) {
  fn.getArg(k)->setName(name);
  fn.addParamAttr(k, llvm::Attribute::NoCapture);
  fn.addParamAttr(k, llvm::Attribute::ReadOnly);
}

/// `count` doubles of scratch memory for the function being built.
struct Scratch {
  llvm::Value *ptr = nullptr;
  llvm::FunctionCallee free;                 // set when the memory came from malloc
  llvm::BasicBlock *outOfMemory = nullptr;   // where a failed malloc goes; nothing is built there
};

Scratch allocateDoubles(llvm::Module &module, llvm::IRBuilder<> &b, std::uint64_t count,
                        const char *name) {
  llvm::LLVMContext &ctx = module.getContext();
  Scratch s;
  const std::uint64_t bytes = count * 8;
  if (bytes <= kMaxStackBytes) {
    s.ptr = b.CreateAlloca(llvm::ArrayType::get(b.getDoubleTy(), std::max<std::uint64_t>(count, 1)),
                           nullptr, name);
    return s;
  }
  // The same declarations as emit_llvm.cpp's frames, so that both may share them.
  llvm::Type *ptr = b.getPtrTy();
  auto malloc =
      module.getOrInsertFunction("malloc", llvm::FunctionType::get(ptr, {b.getInt64Ty()}, false));
  s.free = module.getOrInsertFunction("free", llvm::FunctionType::get(b.getVoidTy(), {ptr}, false));
  s.ptr = b.CreateCall(malloc, {b.getInt64(bytes)}, name);
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  s.outOfMemory = llvm::BasicBlock::Create(ctx, "out_of_memory", fn);
  auto *run = llvm::BasicBlock::Create(ctx, "run", fn);
  b.CreateCondBr(b.CreateIsNull(s.ptr), s.outOfMemory, run);
  b.SetInsertPoint(run);
  return s;
}

void release(llvm::IRBuilder<> &b, Scratch s) {
  if (s.free.getCallee()) b.CreateCall(s.free, {s.ptr});
}

llvm::Value *element(llvm::IRBuilder<> &b, llvm::Value *base, llvm::Value *index) {
  return b.CreateInBoundsGEP(b.getDoubleTy(), base, index);
}
llvm::Value *element(llvm::IRBuilder<> &b, llvm::Value *base, std::uint64_t index) {
  return b.CreateConstInBoundsGEP1_64(b.getDoubleTy(), base, index);
}

/// `for (i = 0; i < count; ++i) body(i)` with an i64 counter; the builder continues after it.
template <class Body>
void emitLoop(llvm::IRBuilder<> &b, std::uint64_t count, const std::string &name, Body body) {
  if (count == 0) return;
  llvm::LLVMContext &ctx = b.getContext();
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::BasicBlock *before = b.GetInsertBlock();
  auto *header = llvm::BasicBlock::Create(ctx, name, fn);
  auto *loopBody = llvm::BasicBlock::Create(ctx, name + ".body", fn);
  auto *exit = llvm::BasicBlock::Create(ctx, name + ".end", fn);
  b.CreateBr(header);
  b.SetInsertPoint(header);
  llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2, name + ".i");
  i->addIncoming(b.getInt64(0), before);
  b.CreateCondBr(b.CreateICmpULT(i, b.getInt64(count)), loopBody, exit);
  b.SetInsertPoint(loopBody);
  body(i);
  i->addIncoming(b.CreateNUWAdd(i, b.getInt64(1)), b.GetInsertBlock());
  b.CreateBr(header);
  b.SetInsertPoint(exit);
}

void fill(llvm::IRBuilder<> &b, llvm::Value *base, std::uint64_t count, double value,
          const std::string &name) {
  llvm::Value *v = llvm::ConstantFP::get(b.getDoubleTy(), value);
  emitLoop(b, count, name, [&](llvm::Value *i) { b.CreateStore(v, element(b, base, i)); });
}

/// Branches on `out != null` to a block that runs `then`, and continues after it.
template <class Then>
void ifNotNull(llvm::IRBuilder<> &b, llvm::Value *out, const std::string &name, Then then) {
  llvm::LLVMContext &ctx = b.getContext();
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  auto *yes = llvm::BasicBlock::Create(ctx, name, fn);
  auto *done = llvm::BasicBlock::Create(ctx, name + ".done", fn);
  b.CreateCondBr(b.CreateIsNotNull(out), yes, done);
  b.SetInsertPoint(yes);
  then();
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

}  // namespace

llvm::Function *emitCWrapper(llvm::Module &module, const std::string &name, llvm::Function &inner,
                             EntryKind kind, std::span<const CParam> params, std::size_t outputs,
                             llvm::Function *valueOnly, const EmitOptions &options) {
  if (valueOnly && kind != EntryKind::ValueAndGrad)
    throw CodegenError("'" + name + "': only a value-and-gradient wrapper has a value-only path");
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type *f64 = b.getDoubleTy();
  llvm::Type *ptr = b.getPtrTy();
  std::vector<llvm::Type *> types;
  for (const CParam &p : params) types.push_back(p.byPointer ? ptr : f64);
  const bool hasOutput = kind != EntryKind::Value;
  if (hasOutput) types.push_back(ptr);
  llvm::Type *ret = kind == EntryKind::Array ? b.getVoidTy() : f64;
  llvm::Function *fn =
      createFunction(module, name, llvm::FunctionType::get(ret, types, false), options);
  for (unsigned k = 0; k < params.size(); ++k) {
    if (params[k].byPointer)
      readOnlyPointer(*fn, k, params[k].name.c_str());
    else
      fn->getArg(k)->setName(params[k].name);
  }
  llvm::Value *out = nullptr;
  if (hasOutput) {
    const auto k = static_cast<unsigned>(params.size());
    out = fn->getArg(k);
    out->setName(kind == EntryKind::ValueAndGrad ? "grad" : "out");
    fn->addParamAttr(k, llvm::Attribute::NoCapture);
    fn->addParamAttr(k, llvm::Attribute::WriteOnly);
  }

  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  const std::uint64_t total = std::accumulate(
      params.begin(), params.end(), std::uint64_t{0},
      [](std::uint64_t n, const CParam &p) { return n + p.size; });
  Scratch args = allocateDoubles(module, b, total, "args");
  std::uint64_t offset = 0;
  for (unsigned k = 0; k < params.size(); ++k) {
    const CParam &p = params[k];
    if (!p.byPointer)
      b.CreateStore(fn->getArg(k), element(b, args.ptr, offset));
    else if (p.size > 0)
      b.CreateMemCpy(element(b, args.ptr, offset), llvm::Align(8), fn->getArg(k), llvm::Align(8),
                     p.size * 8);
    offset += p.size;
  }

  auto finish = [&](llvm::Value *result) {
    release(b, args);
    if (result)
      b.CreateRet(result);
    else
      b.CreateRetVoid();
  };
  if (valueOnly) {
    auto *withGrad = llvm::BasicBlock::Create(ctx, "with_grad", fn);
    auto *alone = llvm::BasicBlock::Create(ctx, "value_only", fn);
    b.CreateCondBr(b.CreateIsNull(out), alone, withGrad);
    b.SetInsertPoint(alone);
    finish(b.CreateCall(valueOnly, {args.ptr}));
    b.SetInsertPoint(withGrad);
  }
  if (kind == EntryKind::Value)
    finish(b.CreateCall(&inner, {args.ptr}));
  else if (kind == EntryKind::ValueAndGrad)
    finish(b.CreateCall(&inner, {args.ptr, out}));
  else {
    b.CreateCall(&inner, {args.ptr, out});
    finish(nullptr);
  }

  if (args.outOfMemory) {
    // No room for the arguments: every result is NaN, as for a split entry point's frame.
    b.SetInsertPoint(args.outOfMemory);
    if (hasOutput) {
      auto nanFill = [&] {
        fill(b, out, outputs, std::numeric_limits<double>::quiet_NaN(), "nan");
      };
      if (valueOnly)
        ifNotNull(b, out, "fill", nanFill);
      else
        nanFill();
    }
    if (kind == EntryKind::Array)
      b.CreateRetVoid();
    else
      b.CreateRet(llvm::ConstantFP::getNaN(f64));
  }
  return fn;
}

llvm::Function *emitBatchByRows(llvm::Module &module, const std::string &name,
                                llvm::Function &rowValue, llvm::Function &rowGrad,
                                std::size_t nParams, std::size_t nInputs,
                                const EmitOptions &options) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> b(ctx);
  if (options.fastMath) {
    llvm::FastMathFlags fmf;
    fmf.setFast();
    b.setFastMathFlags(fmf);
  }
  llvm::Type *f64 = b.getDoubleTy();
  llvm::Type *ptr = b.getPtrTy();
  llvm::Type *size = module.getDataLayout().getIntPtrType(ctx);
  llvm::Function *fn = createFunction(
      module, name, llvm::FunctionType::get(f64, {ptr, size, ptr, ptr}, false), options);
  readOnlyPointer(*fn, 0, "params");
  fn->getArg(1)->setName("n");
  readOnlyPointer(*fn, 2, "columns");
  fn->getArg(3)->setName("grad");
  fn->addParamAttr(3, llvm::Attribute::NoCapture);
  llvm::Value *params = fn->getArg(0), *n = fn->getArg(1), *columns = fn->getArg(2),
              *grad = fn->getArg(3);
  const std::uint64_t P = nParams, I = nInputs;

  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  // One scratch array: a row's arguments (the params, then its inputs), then its gradient.
  Scratch scratch = allocateDoubles(module, b, P + I + P, "scratch");
  llvm::Value *args = scratch.ptr;
  llvm::Value *rowGradient = element(b, scratch.ptr, P + I);
  if (P > 0) b.CreateMemCpy(args, llvm::Align(8), params, llvm::Align(8), P * 8);
  llvm::Value *hasGrad = b.CreateIsNotNull(grad, "has_grad");
  ifNotNull(b, grad, "zero", [&] { fill(b, grad, P, 0.0, "zero.loop"); });

  // for (r = 0; r < n; ++r) sum += row(r)
  llvm::BasicBlock *before = b.GetInsertBlock();
  auto *header = llvm::BasicBlock::Create(ctx, "rows", fn);
  auto *body = llvm::BasicBlock::Create(ctx, "row", fn);
  auto *withGrad = llvm::BasicBlock::Create(ctx, "row.grad", fn);
  auto *valueOnly = llvm::BasicBlock::Create(ctx, "row.value", fn);
  auto *latch = llvm::BasicBlock::Create(ctx, "row.next", fn);
  auto *done = llvm::BasicBlock::Create(ctx, "rows.end", fn);
  b.CreateBr(header);
  b.SetInsertPoint(header);
  llvm::PHINode *r = b.CreatePHI(size, 2, "r");
  llvm::PHINode *sum = b.CreatePHI(f64, 2, "sum");
  r->addIncoming(llvm::ConstantInt::get(size, 0), before);
  sum->addIncoming(llvm::ConstantFP::get(f64, 0.0), before);
  b.CreateCondBr(b.CreateICmpULT(r, n), body, done);

  b.SetInsertPoint(body);
  emitLoop(b, I, "gather", [&](llvm::Value *k) {
    llvm::Value *column = b.CreateLoad(ptr, b.CreateInBoundsGEP(ptr, columns, k), "column");
    llvm::Value *x = b.CreateLoad(f64, element(b, column, r));
    b.CreateStore(x, element(b, args, b.CreateNUWAdd(k, b.getInt64(P))));
  });
  b.CreateCondBr(hasGrad, withGrad, valueOnly);

  b.SetInsertPoint(withGrad);
  llvm::Value *gradValue = b.CreateCall(&rowGrad, {args, rowGradient}, "loss");
  emitLoop(b, P, "accumulate", [&](llvm::Value *i) {
    llvm::Value *slot = element(b, grad, i);
    llvm::Value *g = b.CreateLoad(f64, element(b, rowGradient, i));
    b.CreateStore(b.CreateFAdd(b.CreateLoad(f64, slot), g), slot);
  });
  llvm::BasicBlock *withGradEnd = b.GetInsertBlock();
  b.CreateBr(latch);

  b.SetInsertPoint(valueOnly);
  llvm::Value *value = b.CreateCall(&rowValue, {args}, "loss");
  b.CreateBr(latch);

  b.SetInsertPoint(latch);
  llvm::PHINode *loss = b.CreatePHI(f64, 2, "loss");
  loss->addIncoming(gradValue, withGradEnd);
  loss->addIncoming(value, valueOnly);
  sum->addIncoming(b.CreateFAdd(sum, loss), latch);
  r->addIncoming(b.CreateNUWAdd(r, llvm::ConstantInt::get(size, 1)), latch);
  b.CreateBr(header);

  // The means: sum / n (NaN for n == 0), and each gradient entry likewise.
  b.SetInsertPoint(done);
  llvm::Value *count = b.CreateUIToFP(n, f64, "count");
  llvm::Value *mean = b.CreateFDiv(sum, count, "mean");
  ifNotNull(b, grad, "scale", [&] {
    emitLoop(b, P, "scale.loop", [&](llvm::Value *i) {
      llvm::Value *slot = element(b, grad, i);
      b.CreateStore(b.CreateFDiv(b.CreateLoad(f64, slot), count), slot);
    });
  });
  release(b, scratch);
  b.CreateRet(mean);

  if (scratch.outOfMemory) {
    b.SetInsertPoint(scratch.outOfMemory);
    ifNotNull(b, grad, "fill", [&] {
      fill(b, grad, P, std::numeric_limits<double>::quiet_NaN(), "nan");
    });
    b.CreateRet(llvm::ConstantFP::getNaN(f64));
  }
  return fn;
}

llvm::Function *emitStringFunction(llvm::Module &module, const std::string &name,
                                   std::string_view text) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Function *fn =
      createFunction(module, name, llvm::FunctionType::get(b.getPtrTy(), false), EmitOptions{});
  llvm::Constant *init = llvm::ConstantDataArray::getString(ctx, text, /*AddNull=*/true);
  auto *global = new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true,
                                          llvm::GlobalValue::PrivateLinkage, init, name + ".text");
  global->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  global->setAlignment(llvm::Align(1));
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  b.CreateRet(global);
  return fn;
}

}  // namespace nabla::codegen
