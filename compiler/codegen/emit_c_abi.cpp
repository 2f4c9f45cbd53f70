#include "codegen/emit_c_abi.h"

#include "codegen/tape_body.h"

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

/// Frees a scratch buffer that came from malloc.
void release(llvm::IRBuilder<> &b, const Scratch &s) {
  if (s.onHeap) b.CreateCall(s.free, {s.pointer});
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
  Scratch args = allocateScratch(module, b, b.getDoubleTy(), total, "args");
  std::uint64_t offset = 0;
  for (unsigned k = 0; k < params.size(); ++k) {
    const CParam &p = params[k];
    if (!p.byPointer)
      b.CreateStore(fn->getArg(k), element(b, args.pointer, offset));
    else if (p.size > 0)
      b.CreateMemCpy(element(b, args.pointer, offset), llvm::Align(8), fn->getArg(k), llvm::Align(8),
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
    finish(b.CreateCall(valueOnly, {args.pointer}));
    b.SetInsertPoint(withGrad);
  }
  if (kind == EntryKind::Value)
    finish(b.CreateCall(&inner, {args.pointer}));
  else if (kind == EntryKind::ValueAndGrad)
    finish(b.CreateCall(&inner, {args.pointer, out}));
  else {
    b.CreateCall(&inner, {args.pointer, out});
    finish(nullptr);
  }

  if (args.failed) {
    // No room for the arguments: every result is NaN, as for a split entry point's frame.
    b.SetInsertPoint(args.failed);
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
