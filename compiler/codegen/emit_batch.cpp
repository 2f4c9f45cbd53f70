#include "codegen/emit_batch.h"

#include "codegen/op_emitter.h"
#include "codegen/tape_body.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

namespace nabla::codegen {

namespace {

const llvm::Align kAlign(8);  // columns and buffers are only known to hold doubles

constexpr std::string_view kLibmvecFunctions[] = {
    "exp",  "log",  "sin",  "cos",   "tan",   "asin", "acos",  "atan",
    "sinh", "cosh", "tanh", "log1p", "expm1", "pow",  "atan2", "hypot"};

}  // namespace

bool libmvecHas(std::string_view name) {
  for (std::string_view f : kLibmvecFunctions)
    if (f == name) return true;
  return false;
}

namespace {

/// A counted loop at the builder's position (the code stays small whatever the count): body(k)
/// for k < count, then the builder continues after the loop.
template <class Body>
void countedLoop(llvm::IRBuilder<> &b, const char *name, std::uint64_t count, const Body &body) {
  if (count == 0) return;
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::LLVMContext &ctx = fn->getContext();
  llvm::BasicBlock *before = b.GetInsertBlock();
  auto *each = llvm::BasicBlock::Create(ctx, name, fn);
  auto *after = llvm::BasicBlock::Create(ctx, std::string(name) + ".end", fn);
  b.CreateBr(each);
  b.SetInsertPoint(each);
  llvm::PHINode *k = b.CreatePHI(b.getInt64Ty(), 2, "k");
  k->addIncoming(b.getInt64(0), before);
  body(k);
  llvm::Value *next = b.CreateAdd(k, b.getInt64(1));
  k->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpULT(next, b.getInt64(count)), each, after);
  b.SetInsertPoint(after);
}

/// A kernel's scratch buffers (allocateScratch): on the stack, or from malloc, each checked; a
/// failed malloc frees the buffers before it and branches to `failed`.
class KernelScratch {
public:
  KernelScratch(llvm::Module &module, llvm::IRBuilder<> &b, llvm::BasicBlock *failed)
      : module_(module), b_(b), failed_(failed) {}
  llvm::Value *allocate(llvm::Type *type, std::uint64_t count, const char *name) {
    Scratch s = allocateScratch(module_, b_, type, count, name);
    if (s.failed) {
      llvm::IRBuilder<> fb(s.failed);
      for (const Scratch &h : heap_) fb.CreateCall(h.free, {h.pointer});
      fb.CreateBr(failed_);
      heap_.push_back(s);
    }
    return s.pointer;
  }
  /// Frees the heap buffers at the builder's position.
  void free() {
    for (const Scratch &h : heap_) b_.CreateCall(h.free, {h.pointer});
  }

private:
  llvm::Module &module_;
  llvm::IRBuilder<> &b_;
  llvm::BasicBlock *failed_;
  std::vector<Scratch> heap_;
};

/// sums[k] = the lanes of accumulator k added in order (no reassociation: reproducible), k < roots.
void storeSums(llvm::IRBuilder<> &b, llvm::Value *acc, llvm::Value *sums, std::uint64_t roots,
               unsigned lanes) {
  llvm::Type *f64 = b.getDoubleTy();
  llvm::Type *vec = lanes == 1 ? f64 : static_cast<llvm::Type *>(llvm::FixedVectorType::get(f64, lanes));
  countedLoop(b, "reduce", roots, [&](llvm::Value *k) {
    llvm::Value *v = b.CreateAlignedLoad(vec, b.CreateInBoundsGEP(vec, acc, k), kAlign);
    llvm::Value *total = lanes == 1 ? v : b.CreateFAddReduce(llvm::ConstantFP::getNegativeZero(f64), v);
    b.CreateStore(total, b.CreateInBoundsGEP(f64, sums, k));
  });
}

/// sums[k] = value for k < roots.
void fillSums(llvm::IRBuilder<> &b, const char *name, llvm::Value *sums, std::uint64_t roots,
              llvm::Constant *value) {
  countedLoop(b, name, roots, [&](llvm::Value *k) {
    b.CreateStore(value, b.CreateInBoundsGEP(b.getDoubleTy(), sums, k));
  });
}

/// Rows prefetched ahead of the block being computed by the gathered kernel: a few blocks, so
/// that the rows' cache lines are on their way from memory while the blocks before them compute.
constexpr std::uint64_t kPrefetchRows = 32;

/// The gathered kernel (BatchOptions::gatherName) over the block function of a batched kernel:
/// each block's rows are gathered from the table into a small column-major buffer, which the
/// block reads as its columns. One loop covers the last partial block too: its missing rows
/// repeat the block's first row and are masked out of the sums, as the padding of the column
/// kernel is.
void emitGatherKernel(llvm::Module &module, const std::string &name, llvm::Function &block,
                      const FrameLayout &layout, std::uint64_t roots, std::size_t inputCount,
                      unsigned lanes, bool fastMath) {
  if (module.getNamedValue(name)) throw CodegenError("entry point '" + name + "' is defined twice");
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *f64 = llvm::Type::getDoubleTy(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type *vec = lanes == 1 ? f64 : static_cast<llvm::Type *>(llvm::FixedVectorType::get(f64, lanes));
  llvm::Type *indexVec = lanes == 1 ? i64 : static_cast<llvm::Type *>(llvm::FixedVectorType::get(i64, lanes));
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64, i64, ptr, i64, ptr, ptr}, false);
  auto *fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, module);
  fn->setDoesNotThrow();
  const char *names[] = {"params", "begin", "end", "table", "stride", "index", "sums"};
  for (unsigned k = 0; k < 7; ++k) fn->getArg(k)->setName(names[k]);
  for (unsigned k : {0u, 3u, 5u, 6u}) fn->addParamAttr(k, llvm::Attribute::NoCapture);
  for (unsigned k : {0u, 3u, 5u}) fn->addParamAttr(k, llvm::Attribute::ReadOnly);
  if (fastMath) addFastMathAttributes(*fn);
  llvm::Value *params = fn->getArg(0), *begin = fn->getArg(1), *end = fn->getArg(2),
              *table = fn->getArg(3), *stride = fn->getArg(4), *index = fn->getArg(5),
              *sums = fn->getArg(6);

  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  auto *failed = llvm::BasicBlock::Create(ctx, "failed", fn);
  KernelScratch scratch(module, b, failed);
  const std::uint64_t width = std::max<std::uint64_t>(inputCount, 1);
  llvm::Value *acc = scratch.allocate(vec, roots, "acc");
  llvm::Value *frame = layout.split ? scratch.allocate(vec, layout.size, "frame")
                                    : llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx));
  llvm::Value *rows = scratch.allocate(f64, width * lanes, "block.rows");
  llvm::Value *columns = scratch.allocate(ptr, width, "block.columns");
  llvm::Value *padded = scratch.allocate(i64, lanes, "block.index");
  b.CreateMemSet(acc, b.getInt8(0), b.getInt64(std::max<std::uint64_t>(roots, 1) * lanes * 8), kAlign);
  countedLoop(b, "columns", inputCount, [&](llvm::Value *c) {
    b.CreateStore(b.CreateInBoundsGEP(f64, rows, b.CreateMul(c, b.getInt64(lanes))),
                  b.CreateInBoundsGEP(ptr, columns, c));
  });
  // Cache lines per row, counting the one a row that starts inside a line spills into.
  llvm::Value *lines = b.CreateAdd(b.CreateUDiv(b.CreateMul(stride, b.getInt64(8)), b.getInt64(64)),
                                   b.getInt64(2), "lines");
  llvm::BasicBlock *start = b.GetInsertBlock();
  auto *loop = llvm::BasicBlock::Create(ctx, "loop", fn);
  auto *whole = llvm::BasicBlock::Create(ctx, "whole", fn);
  auto *partial = llvm::BasicBlock::Create(ctx, "partial", fn);
  auto *prefetch = llvm::BasicBlock::Create(ctx, "prefetch", fn);
  auto *prefetchLine = llvm::BasicBlock::Create(ctx, "prefetch.line", fn);
  auto *gather = llvm::BasicBlock::Create(ctx, "gather", fn);
  auto *run = llvm::BasicBlock::Create(ctx, "run", fn);
  auto *done = llvm::BasicBlock::Create(ctx, "done", fn);
  b.CreateCondBr(b.CreateICmpUGE(begin, end), done, loop);

  b.SetInsertPoint(loop);
  llvm::PHINode *row = b.CreatePHI(i64, 2, "row");
  row->addIncoming(begin, start);
  llvm::Value *left = b.CreateSub(end, row, "left");
  b.CreateCondBr(b.CreateICmpUGE(left, b.getInt64(lanes)), whole, partial);

  // A partial block: its rows, then the first of them again.
  b.SetInsertPoint(partial);
  for (unsigned l = 0; l < lanes; ++l) {
    llvm::Value *inside = b.CreateICmpULT(b.getInt64(l), left);
    llvm::Value *at = b.CreateInBoundsGEP(i64, index, b.CreateAdd(row, b.CreateSelect(inside, b.getInt64(l), b.getInt64(0))));
    b.CreateStore(b.CreateLoad(i64, at), b.CreateConstInBoundsGEP1_64(i64, padded, l));
  }
  b.CreateBr(gather);

  // A whole block: prefetch the rows kPrefetchRows on, when there are that many.
  b.SetInsertPoint(whole);
  llvm::Value *ahead = b.CreateAdd(row, b.getInt64(kPrefetchRows + lanes));
  b.CreateCondBr(b.CreateICmpULE(ahead, end), prefetch, gather);
  b.SetInsertPoint(prefetch);
  llvm::Function *prefetchFn = llvm::Intrinsic::getDeclaration(&module, llvm::Intrinsic::prefetch, {ptr});
  std::vector<llvm::Value *> rowStarts;
  for (unsigned l = 0; l < lanes; ++l) {
    llvm::Value *at = b.CreateAdd(row, b.getInt64(kPrefetchRows + l));
    llvm::Value *r = b.CreateLoad(i64, b.CreateInBoundsGEP(i64, index, at));
    rowStarts.push_back(b.CreateInBoundsGEP(f64, table, b.CreateMul(r, stride)));
  }
  b.CreateBr(prefetchLine);
  b.SetInsertPoint(prefetchLine);
  llvm::PHINode *line = b.CreatePHI(i64, 2, "line");
  line->addIncoming(b.getInt64(0), prefetch);
  llvm::Value *offset = b.CreateMul(line, b.getInt64(64));
  for (llvm::Value *p : rowStarts)
    b.CreateCall(prefetchFn, {b.CreateGEP(b.getInt8Ty(), p, offset), b.getInt32(0), b.getInt32(3), b.getInt32(1)});
  llvm::Value *nextLine = b.CreateAdd(line, b.getInt64(1));
  line->addIncoming(nextLine, prefetchLine);
  b.CreateCondBr(b.CreateICmpULT(nextLine, lines), prefetchLine, gather);

  // The block's rows into its columns: one vector gather per input.
  b.SetInsertPoint(gather);
  llvm::PHINode *indices = b.CreatePHI(ptr, 3, "indices");
  indices->addIncoming(padded, partial);
  llvm::Value *here = nullptr;
  {
    llvm::IRBuilder<> wb(whole->getTerminator());
    here = wb.CreateInBoundsGEP(i64, index, row, "here");
  }
  indices->addIncoming(here, whole);
  indices->addIncoming(here, prefetchLine);
  llvm::PHINode *valid = b.CreatePHI(i64, 3, "valid");
  valid->addIncoming(left, partial);
  valid->addIncoming(b.getInt64(lanes), whole);
  valid->addIncoming(b.getInt64(lanes), prefetchLine);
  llvm::Value *base = b.CreateMul(b.CreateAlignedLoad(indexVec, indices, kAlign), lanes == 1 ? stride : b.CreateVectorSplat(lanes, stride), "base");
  countedLoop(b, "gather.column", inputCount, [&](llvm::Value *c) {
    llvm::Value *offsets = b.CreateAdd(base, lanes == 1 ? c : b.CreateVectorSplat(lanes, c));
    llvm::Value *cells = b.CreateInBoundsGEP(f64, table, offsets);
    llvm::Value *values = lanes == 1 ? static_cast<llvm::Value *>(b.CreateAlignedLoad(f64, cells, kAlign))
                                     : b.CreateMaskedGather(vec, cells, kAlign);
    b.CreateAlignedStore(values, b.CreateInBoundsGEP(f64, rows, b.CreateMul(c, b.getInt64(lanes))), kAlign);
  });
  b.CreateBr(run);

  b.SetInsertPoint(run);
  b.CreateCall(&block, {params, columns, b.getInt64(0), valid, frame, acc});
  llvm::Value *nextRow = b.CreateAdd(row, valid);
  row->addIncoming(nextRow, run);
  b.CreateCondBr(b.CreateICmpULT(nextRow, end), loop, done);

  b.SetInsertPoint(done);
  storeSums(b, acc, sums, roots, lanes);
  scratch.free();
  b.CreateRetVoid();

  b.SetInsertPoint(failed);
  fillSums(b, "nan", sums, roots, llvm::ConstantFP::getNaN(f64));
  b.CreateRetVoid();
}

}  // namespace

llvm::Function *emitBatchKernel(llvm::Module &module, const TapeEntryPoint &entry,
                                std::size_t paramCount, std::size_t inputCount,
                                const BatchOptions &options) {
  if (module.getNamedValue(entry.name))
    throw CodegenError("entry point '" + entry.name + "' is defined twice");
  if (options.lanes < 1) throw CodegenError("a batched kernel needs at least one lane");
  const Tape tape = codeTape(entry.tape, options.fastMath);
  for (const Tape::Entry &e : tape.entries)
    if (e.op == Op::Var && (e.argument == Tape::kNoSlot || e.argument >= paramCount + inputCount))
      throw CodegenError("batched kernel '" + entry.name + "' reads an argument that is neither a "
                         "param nor an input");

  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *f64 = llvm::Type::getDoubleTy(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  const unsigned lanes = options.lanes;
  llvm::Type *vec = lanes == 1 ? f64 : static_cast<llvm::Type *>(llvm::FixedVectorType::get(f64, lanes));
  const std::uint64_t roots = tape.roots.size();

  // The block function: rows [row, row + lanes) of `columns`, the first `valid` of them counted,
  // added to the accumulators acc[k] (one vector per root).
  //   void NAME.block(ptr params, ptr columns, i64 row, i64 valid, ptr frame, ptr acc)
  auto *blockType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr, i64, i64, ptr, ptr}, false);
  auto *block = llvm::Function::Create(blockType, llvm::Function::InternalLinkage,
                                       entry.name + ".block", module);
  block->setDoesNotThrow();
  for (unsigned k : {0u, 1u, 4u, 5u}) {
    block->addParamAttr(k, llvm::Attribute::NoCapture);
    block->addParamAttr(k, llvm::Attribute::NoAlias);
  }
  if (options.fastMath) addFastMathAttributes(*block);
  const FrameLayout layout = layOutFrame(tape, options.maxPartSize, options.splitAbove);
  // An unsplit body is inlined into both loops: in the main one its lane mask is then all true and
  // folds away, and the loads of params leave the loop.
  if (!layout.split) block->addFnAttr(llvm::Attribute::AlwaysInline);
  {
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", block));
    if (options.fastMath) {
      llvm::FastMathFlags fmf;
      fmf.setFast();
    // Without `reassoc`: the sums are balanced already (balanceSums), and LLVM's reassociation
    // would turn them back into chains.
    fmf.setAllowReassoc(false);
      b.setFastMathFlags(fmf);
    }
    VectorMath math;
    if (!options.vectorMathPrefix.empty()) {
      math.prefix = options.vectorMathPrefix;
      math.has = options.hasVectorMath ? options.hasVectorMath : std::function<bool(std::string_view)>(libmvecHas);
    }
    OpEmitter emit(module, b, vec, options.forFastIsel, math);
    BodyEnvironment environment;
    environment.types = {ptr, ptr, i64};  // params, columns, row
    environment.loadVariable = [=](llvm::IRBuilder<> &b, std::span<llvm::Value *const> env,
                                   std::uint32_t argument) -> llvm::Value * {
      if (argument < paramCount) {
        llvm::Value *p = b.CreateLoad(f64, b.CreateConstInBoundsGEP1_64(f64, env[0], argument));
        return lanes == 1 ? p : b.CreateVectorSplat(lanes, p);
      }
      llvm::Value *column = b.CreateLoad(
          ptr, b.CreateConstInBoundsGEP1_64(ptr, env[1], argument - paramCount));
      return b.CreateAlignedLoad(vec, b.CreateInBoundsGEP(f64, column, env[2]), kAlign);
    };
    llvm::Value *env[] = {block->getArg(0), block->getArg(1), block->getArg(2)};
    std::vector<llvm::Value *> values =
        emitTapeBody(module, b, tape, emit, environment, env, layout,
                     layout.split ? block->getArg(4) : nullptr,
                     {options.maxPartSize, options.fastMath, entry.name, {}});
    // Lanes at or beyond `valid` hold padding: they add 0 (whatever they computed, NaN included).
    llvm::Value *mask = nullptr;
    if (lanes > 1) {
      std::vector<llvm::Constant *> index;
      for (unsigned l = 0; l < lanes; ++l) index.push_back(llvm::ConstantInt::get(i64, l));
      mask = b.CreateICmpULT(llvm::ConstantVector::get(index),
                             b.CreateVectorSplat(lanes, block->getArg(3)));
    }
    llvm::Value *zero = llvm::ConstantFP::get(vec, 0.0);
    for (std::uint64_t k = 0; k < roots; ++k) {
      llvm::Value *slot = b.CreateConstInBoundsGEP1_64(vec, block->getArg(5), k);
      llvm::Value *term = lanes > 1 ? b.CreateSelect(mask, values[k], zero) : values[k];
      llvm::Value *sum = b.CreateFAdd(b.CreateAlignedLoad(vec, slot, kAlign), term);
      b.CreateAlignedStore(sum, slot, kAlign);
    }
    b.CreateRetVoid();
  }

  // The kernel: whole blocks straight from the columns, then the rest through a padded copy.
  auto *kernelType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64, i64, ptr, ptr}, false);
  auto *fn = llvm::Function::Create(kernelType, llvm::Function::ExternalLinkage, entry.name, module);
  fn->setDoesNotThrow();
  const char *names[] = {"params", "begin", "end", "columns", "sums"};
  for (unsigned k = 0; k < 5; ++k) fn->getArg(k)->setName(names[k]);
  for (unsigned k : {0u, 3u, 4u}) fn->addParamAttr(k, llvm::Attribute::NoCapture);
  fn->addParamAttr(0, llvm::Attribute::ReadOnly);
  fn->addParamAttr(3, llvm::Attribute::ReadOnly);
  if (options.fastMath) addFastMathAttributes(*fn);
  llvm::Value *params = fn->getArg(0), *begin = fn->getArg(1), *end = fn->getArg(2),
              *columns = fn->getArg(3), *sums = fn->getArg(4);

  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  auto *loopCheck = llvm::BasicBlock::Create(ctx, "loop.check", fn);
  auto *loopBody = llvm::BasicBlock::Create(ctx, "loop.body", fn);
  auto *tailCheck = llvm::BasicBlock::Create(ctx, "tail.check", fn);
  auto *tail = llvm::BasicBlock::Create(ctx, "tail", fn);
  auto *done = llvm::BasicBlock::Create(ctx, "done", fn);
  auto *failed = llvm::BasicBlock::Create(ctx, "failed", fn);
  auto *empty = llvm::BasicBlock::Create(ctx, "empty", fn);

  // Scratch: the accumulators, the frame of a split body, the padded tail block and its column
  // pointers. Every heap buffer is checked; a failure leaves NaN in every sum.
  KernelScratch scratch(module, b, failed);
  llvm::Value *acc = scratch.allocate(vec, roots, "acc");
  llvm::Value *frame = layout.split ? scratch.allocate(vec, layout.size, "frame") : llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx));
  llvm::Value *padded = scratch.allocate(f64, std::max<std::uint64_t>(inputCount, 1) * lanes, "padded");
  llvm::Value *paddedColumns = scratch.allocate(ptr, std::max<std::uint64_t>(inputCount, 1), "padded.columns");
  const std::uint64_t vecBytes = lanes * 8;
  b.CreateMemSet(acc, b.getInt8(0), b.getInt64(std::max<std::uint64_t>(roots, 1) * vecBytes), kAlign);
  llvm::BasicBlock *start = b.GetInsertBlock();
  b.CreateCondBr(b.CreateICmpUGE(begin, end), empty, loopCheck);

  b.SetInsertPoint(loopCheck);
  llvm::PHINode *row = b.CreatePHI(i64, 2, "row");
  row->addIncoming(begin, start);
  llvm::Value *left = b.CreateSub(end, row, "left");
  b.CreateCondBr(b.CreateICmpUGE(left, b.getInt64(lanes)), loopBody, tailCheck);

  b.SetInsertPoint(loopBody);
  b.CreateCall(block, {params, columns, row, b.getInt64(lanes), frame, acc});
  row->addIncoming(b.CreateAdd(row, b.getInt64(lanes)), loopBody);
  b.CreateBr(loopCheck);

  b.SetInsertPoint(tailCheck);
  b.CreateCondBr(b.CreateICmpEQ(left, b.getInt64(0)), done, tail);

  // The last rows, copied column by column into zero-padded blocks: a loop over the columns, so
  // that the code stays small whatever their number.
  b.SetInsertPoint(tail);
  b.CreateMemSet(padded, b.getInt8(0), b.getInt64(std::max<std::uint64_t>(inputCount, 1) * vecBytes), kAlign);
  countedLoop(b, "tail.copy", inputCount, [&](llvm::Value *c) {
    llvm::Value *to = b.CreateInBoundsGEP(f64, padded, b.CreateMul(c, b.getInt64(lanes)));
    llvm::Value *column = b.CreateLoad(ptr, b.CreateInBoundsGEP(ptr, columns, c));
    b.CreateMemCpy(to, kAlign, b.CreateInBoundsGEP(f64, column, row), kAlign,
                   b.CreateMul(left, b.getInt64(8)));
    b.CreateStore(to, b.CreateInBoundsGEP(ptr, paddedColumns, c));
  });
  b.CreateCall(block, {params, paddedColumns, b.getInt64(0), left, frame, acc});
  b.CreateBr(done);

  // The sums: lanes added in order (no reassociation, so the result is reproducible).
  b.SetInsertPoint(done);
  storeSums(b, acc, sums, roots, lanes);
  scratch.free();
  b.CreateRetVoid();

  b.SetInsertPoint(empty);
  fillSums(b, "zero", sums, roots, llvm::ConstantFP::get(f64, 0.0));
  scratch.free();
  b.CreateRetVoid();

  b.SetInsertPoint(failed);
  fillSums(b, "nan", sums, roots, llvm::ConstantFP::getNaN(f64));
  b.CreateRetVoid();
  if (!options.gatherName.empty())
    emitGatherKernel(module, options.gatherName, *block, layout, roots, inputCount, lanes,
                     options.fastMath);
  return fn;
}

llvm::Function *emitBatchMean(llvm::Module &module, const std::string &name, llvm::Function &sums,
                              std::size_t gradSize) {
  if (module.getNamedValue(name)) throw CodegenError("entry point '" + name + "' is defined twice");
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *f64 = llvm::Type::getDoubleTy(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  auto *fn = llvm::Function::Create(llvm::FunctionType::get(f64, {ptr, i64, ptr, ptr}, false),
                                    llvm::Function::ExternalLinkage, name, module);
  fn->setDoesNotThrow();
  const char *names[] = {"params", "n", "columns", "grad"};
  for (unsigned k = 0; k < 4; ++k) fn->getArg(k)->setName(names[k]);
  for (unsigned k : {0u, 2u, 3u}) fn->addParamAttr(k, llvm::Attribute::NoCapture);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  Scratch totals = allocateScratch(module, b, f64, gradSize + 1, "sums");
  b.CreateCall(&sums, {fn->getArg(0), b.getInt64(0), fn->getArg(1), fn->getArg(2), totals.pointer});
  llvm::Value *count = b.CreateUIToFP(fn->getArg(1), f64, "count");
  llvm::Value *mean = b.CreateFDiv(b.CreateLoad(f64, totals.pointer), count, "mean");
  auto *write = llvm::BasicBlock::Create(ctx, "grad", fn);
  auto *done = llvm::BasicBlock::Create(ctx, "done", fn);
  b.CreateCondBr(b.CreateIsNull(fn->getArg(3)), done, write);
  b.SetInsertPoint(write);
  for (std::uint64_t i = 0; i < gradSize; ++i) {
    llvm::Value *g = b.CreateLoad(f64, b.CreateConstInBoundsGEP1_64(f64, totals.pointer, 1 + i));
    b.CreateStore(b.CreateFDiv(g, count), b.CreateConstInBoundsGEP1_64(f64, fn->getArg(3), i));
  }
  b.CreateBr(done);
  b.SetInsertPoint(done);
  if (totals.onHeap) b.CreateCall(totals.free, {totals.pointer});
  b.CreateRet(mean);
  if (totals.failed) {
    // No room for the sums: NaN everywhere, as for every other out-of-memory path.
    b.SetInsertPoint(totals.failed);
    llvm::Value *nan = llvm::ConstantFP::getNaN(f64);
    auto *fill = llvm::BasicBlock::Create(ctx, "nan.grad", fn);
    auto *out = llvm::BasicBlock::Create(ctx, "nan.done", fn);
    b.CreateCondBr(b.CreateIsNull(fn->getArg(3)), out, fill);
    b.SetInsertPoint(fill);
    for (std::uint64_t i = 0; i < gradSize; ++i)
      b.CreateStore(nan, b.CreateConstInBoundsGEP1_64(f64, fn->getArg(3), i));
    b.CreateBr(out);
    b.SetInsertPoint(out);
    b.CreateRet(nan);
  }
  return fn;
}

}  // namespace nabla::codegen

// --- Map kernels: every point's roots, stored ------------------------------------------------------

namespace nabla::codegen {

namespace {

/// Inputs or outputs of this many doubles per block, or fewer, move as one wide load or store
/// and shuffles (row-major points); more move column by column.
constexpr std::uint64_t kMaxInterleaved = 64;
/// Columns up to this many are moved by straight-line code (their buffers then live in
/// registers); more by a loop.
constexpr std::uint64_t kMaxUnrolledColumns = 64;

/// `count` loop iterations body(k), straight-line when count is small (k a constant), else a
/// counted loop.
template <class Body>
void forColumns(llvm::IRBuilder<> &b, const char *name, std::uint64_t count, const Body &body) {
  if (count <= kMaxUnrolledColumns) {
    for (std::uint64_t k = 0; k < count; ++k) body(static_cast<llvm::Value *>(b.getInt64(k)));
  } else {
    countedLoop(b, name, count, body);
  }
}

/// The parts, lane vectors of equal length, as one vector of all their lanes in order.
llvm::Value *concatenate(llvm::IRBuilder<> &b, std::vector<llvm::Value *> parts) {
  while (parts.size() > 1) {
    if (parts.size() % 2) parts.push_back(llvm::PoisonValue::get(parts.back()->getType()));
    std::vector<llvm::Value *> next;
    for (std::size_t i = 0; i < parts.size(); i += 2) {
      const unsigned width = llvm::cast<llvm::FixedVectorType>(parts[i]->getType())->getNumElements();
      std::vector<int> mask(2 * width);
      for (unsigned l = 0; l < 2 * width; ++l) mask[l] = static_cast<int>(l);
      next.push_back(b.CreateShuffleVector(parts[i], parts[i + 1], mask));
    }
    parts = std::move(next);
  }
  return parts.front();
}

}  // namespace

llvm::Function *emitMapKernel(llvm::Module &module, const TapeEntryPoint &entry,
                              std::size_t arity, std::span<const std::size_t> groups,
                              const BatchOptions &options) {
  if (module.getNamedValue(entry.name))
    throw CodegenError("entry point '" + entry.name + "' is defined twice");
  if (options.lanes < 1) throw CodegenError("a map kernel needs at least one lane");
  const Tape tape = codeTape(entry.tape, options.fastMath);
  for (const Tape::Entry &e : tape.entries)
    if (e.op == Op::Var && (e.argument == Tape::kNoSlot || e.argument >= arity))
      throw CodegenError("map kernel '" + entry.name + "' reads an argument beyond its " +
                         std::to_string(arity));
  std::uint64_t roots = 0;
  for (std::size_t w : groups) roots += w;
  if (roots != tape.roots.size())
    throw CodegenError("map kernel '" + entry.name + "' has " + std::to_string(tape.roots.size()) +
                       " roots but its groups hold " + std::to_string(roots));

  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *f64 = llvm::Type::getDoubleTy(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  const unsigned lanes = options.lanes;
  const bool scalar = lanes == 1;
  llvm::Type *vec = scalar ? f64 : static_cast<llvm::Type *>(llvm::FixedVectorType::get(f64, lanes));
  const std::uint64_t k = arity;

  // The block: the roots of `lanes` points, from in[c] (one vector per argument) to out[j].
  //   void NAME.block(ptr in, ptr out, ptr frame)
  auto *blockType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr, ptr}, false);
  auto *block = llvm::Function::Create(blockType, llvm::Function::InternalLinkage,
                                       entry.name + ".block", module);
  block->setDoesNotThrow();
  for (unsigned a = 0; a < 3; ++a) {
    block->addParamAttr(a, llvm::Attribute::NoCapture);
    block->addParamAttr(a, llvm::Attribute::NoAlias);
  }
  if (options.fastMath) addFastMathAttributes(*block);
  const FrameLayout layout = layOutFrame(tape, options.maxPartSize, options.splitAbove);
  if (!layout.split) block->addFnAttr(llvm::Attribute::AlwaysInline);
  {
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", block));
    if (options.fastMath) {
      llvm::FastMathFlags fmf;
      fmf.setFast();
      fmf.setAllowReassoc(false);  // as in the batched kernel
      b.setFastMathFlags(fmf);
    }
    VectorMath math;
    if (!options.vectorMathPrefix.empty()) {
      math.prefix = options.vectorMathPrefix;
      math.has = options.hasVectorMath ? options.hasVectorMath : std::function<bool(std::string_view)>(libmvecHas);
    }
    OpEmitter emit(module, b, vec, options.forFastIsel, math);
    BodyEnvironment environment;
    environment.types = {ptr};
    environment.loadVariable = [=](llvm::IRBuilder<> &b, std::span<llvm::Value *const> env,
                                   std::uint32_t argument) -> llvm::Value * {
      return b.CreateAlignedLoad(vec, b.CreateConstInBoundsGEP1_64(vec, env[0], argument), kAlign);
    };
    llvm::Value *env[] = {block->getArg(0)};
    std::vector<llvm::Value *> values =
        emitTapeBody(module, b, tape, emit, environment, env, layout,
                     layout.split ? block->getArg(2) : nullptr,
                     {options.maxPartSize, options.fastMath, entry.name, {}});
    for (std::uint64_t j = 0; j < roots; ++j)
      b.CreateAlignedStore(values[j], b.CreateConstInBoundsGEP1_64(vec, block->getArg(1), j), kAlign);
    b.CreateRetVoid();
  }

  // The kernel.
  //   i32 NAME(i64 begin, i64 end, ptr in, i64 inLd, ptr out, ptr outLd)
  auto *type = llvm::FunctionType::get(i32, {i64, i64, ptr, i64, ptr, ptr}, false);
  auto *fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, entry.name, module);
  fn->setDoesNotThrow();
  const char *names[] = {"begin", "end", "in", "in.ld", "out", "out.ld"};
  for (unsigned a = 0; a < 6; ++a) fn->getArg(a)->setName(names[a]);
  for (unsigned a : {2u, 4u, 5u}) fn->addParamAttr(a, llvm::Attribute::NoCapture);
  for (unsigned a : {2u, 4u, 5u}) fn->addParamAttr(a, llvm::Attribute::ReadOnly);
  if (options.fastMath) addFastMathAttributes(*fn);
  llvm::Value *begin = fn->getArg(0), *end = fn->getArg(1), *in = fn->getArg(2),
              *inLd = fn->getArg(3), *out = fn->getArg(4), *outLd = fn->getArg(5);

  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  auto *failed = llvm::BasicBlock::Create(ctx, "failed", fn);
  KernelScratch scratch(module, b, failed);
  // The block's arguments and roots, one vector each (registers, once the block is inlined and
  // the accesses are constant); the last, partial block's points and results by column (lanes
  // apart), where the one code path for blocks reads and writes them.
  llvm::Value *inVectors = scratch.allocate(vec, k, "in.vectors");
  llvm::Value *outVectors = scratch.allocate(vec, roots, "out.vectors");
  llvm::Value *inPart = scratch.allocate(f64, std::max<std::uint64_t>(k, 1) * lanes, "in.part");
  llvm::Value *outPart = scratch.allocate(f64, std::max<std::uint64_t>(roots, 1) * lanes, "out.part");
  llvm::Value *frame = layout.split ? scratch.allocate(vec, layout.size, "frame")
                                    : llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx));
  std::vector<llvm::Value *> base, ld, partBase;
  {
    std::uint64_t j0 = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      base.push_back(b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, out, g), "base"));
      ld.push_back(b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(i64, outLd, g), "ld"));
      partBase.push_back(b.CreateConstInBoundsGEP1_64(f64, outPart, j0 * lanes));
      j0 += groups[g];
    }
  }
  llvm::BasicBlock *start = b.GetInsertBlock();
  auto *loop = llvm::BasicBlock::Create(ctx, "loop", fn);
  auto *done = llvm::BasicBlock::Create(ctx, "done", fn);
  auto *whole = llvm::BasicBlock::Create(ctx, "whole", fn);
  auto *part = llvm::BasicBlock::Create(ctx, "part", fn);
  auto *block1 = llvm::BasicBlock::Create(ctx, "block", fn);
  b.CreateCondBr(b.CreateICmpUGE(begin, end), done, loop);

  b.SetInsertPoint(loop);
  llvm::PHINode *row = b.CreatePHI(i64, 2, "row");
  row->addIncoming(begin, start);
  llvm::Value *left = b.CreateSub(end, row, "left");
  b.CreateCondBr(b.CreateICmpUGE(left, b.getInt64(lanes)), whole, part);

  b.SetInsertPoint(whole);
  b.CreateBr(block1);

  // The partial block's points into in.part by column, the missing lanes repeating the first
  // point (their results are not stored).
  b.SetInsertPoint(part);
  llvm::Value *byRows = b.CreateICmpEQ(inLd, b.getInt64(0), "in.rows");
  countedLoop(b, "part.lane", lanes, [&](llvm::Value *l) {
    llvm::Value *point = b.CreateAdd(row, b.CreateSelect(b.CreateICmpULT(l, left), l, b.getInt64(0)));
    forColumns(b, "part.in", k, [&](llvm::Value *c) {
      llvm::Value *at = b.CreateSelect(byRows, b.CreateAdd(b.CreateMul(point, b.getInt64(k)), c),
                                       b.CreateAdd(b.CreateMul(c, inLd), point));
      llvm::Value *v = b.CreateAlignedLoad(f64, b.CreateInBoundsGEP(f64, in, at), kAlign);
      b.CreateAlignedStore(v, b.CreateInBoundsGEP(f64, inPart, b.CreateAdd(b.CreateMul(c, b.getInt64(lanes)), l)), kAlign);
    });
  });
  llvm::BasicBlock *partEnd = b.GetInsertBlock();
  b.CreateBr(block1);

  // One block: from the caller's arrays (a whole block at `row`) or from the partial block's
  // buffers (by column, lanes apart, at 0).
  b.SetInsertPoint(block1);
  llvm::PHINode *isPart = b.CreatePHI(b.getInt1Ty(), 2, "is.part");
  isPart->addIncoming(b.getFalse(), whole);
  isPart->addIncoming(b.getTrue(), partEnd);
  llvm::PHINode *src = b.CreatePHI(ptr, 2, "src");
  src->addIncoming(in, whole);
  src->addIncoming(inPart, partEnd);
  llvm::PHINode *srcLd = b.CreatePHI(i64, 2, "src.ld");
  srcLd->addIncoming(inLd, whole);
  srcLd->addIncoming(b.getInt64(lanes), partEnd);
  llvm::PHINode *at = b.CreatePHI(i64, 2, "at");
  at->addIncoming(row, whole);
  at->addIncoming(b.getInt64(0), partEnd);
  std::vector<llvm::PHINode *> dst, dstLd;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    dst.push_back(b.CreatePHI(ptr, 2, "dst"));
    dst[g]->addIncoming(base[g], whole);
    dst[g]->addIncoming(partBase[g], partEnd);
    dstLd.push_back(b.CreatePHI(i64, 2, "dst.ld"));
    dstLd[g]->addIncoming(ld[g], whole);
    dstLd[g]->addIncoming(b.getInt64(lanes), partEnd);
  }
  // Lane indices 0..lanes-1 as a vector (gathers, scatters).
  auto iota = [&]() -> llvm::Value * {
    std::vector<llvm::Constant *> index;
    for (unsigned l = 0; l < lanes; ++l) index.push_back(llvm::ConstantInt::get(i64, l));
    return llvm::ConstantVector::get(index);
  };
  auto allTrue = [&]() -> llvm::Value * {
    return llvm::ConstantVector::getSplat(llvm::ElementCount::getFixed(lanes), b.getTrue());
  };
  {
    auto *rows = llvm::BasicBlock::Create(ctx, "in.rows", fn);
    auto *columns = llvm::BasicBlock::Create(ctx, "in.columns", fn);
    auto *compute = llvm::BasicBlock::Create(ctx, "compute", fn);
    b.CreateCondBr(b.CreateICmpEQ(srcLd, b.getInt64(0)), rows, columns);

    b.SetInsertPoint(columns);
    forColumns(b, "in.column", k, [&](llvm::Value *c) {
      llvm::Value *from = b.CreateAdd(b.CreateMul(c, srcLd), at);
      llvm::Value *v = b.CreateAlignedLoad(vec, b.CreateInBoundsGEP(f64, src, from), kAlign);
      b.CreateAlignedStore(v, b.CreateInBoundsGEP(vec, inVectors, c), kAlign);
    });
    b.CreateBr(compute);

    b.SetInsertPoint(rows);
    llvm::Value *first = b.CreateMul(at, b.getInt64(k), "first");
    if (scalar) {
      forColumns(b, "in.row", k, [&](llvm::Value *c) {
        llvm::Value *v = b.CreateAlignedLoad(f64, b.CreateInBoundsGEP(f64, src, b.CreateAdd(first, c)), kAlign);
        b.CreateAlignedStore(v, b.CreateInBoundsGEP(f64, inVectors, c), kAlign);
      });
    } else if (k >= 1 && k * lanes <= kMaxInterleaved) {
      // One wide load of the block's rows, and each argument's lanes shuffled out of it.
      llvm::Type *wide = llvm::FixedVectorType::get(f64, static_cast<unsigned>(k * lanes));
      llvm::Value *all = b.CreateAlignedLoad(wide, b.CreateInBoundsGEP(f64, src, first), kAlign);
      for (std::uint64_t c = 0; c < k; ++c) {
        std::vector<int> mask(lanes);
        for (unsigned l = 0; l < lanes; ++l) mask[l] = static_cast<int>(l * k + c);
        b.CreateAlignedStore(b.CreateShuffleVector(all, mask),
                             b.CreateConstInBoundsGEP1_64(vec, inVectors, c), kAlign);
      }
    } else {
      llvm::Value *offsets = b.CreateMul(b.CreateAdd(b.CreateVectorSplat(lanes, at), iota()),
                                         b.CreateVectorSplat(lanes, b.getInt64(k)));
      forColumns(b, "in.gather", k, [&](llvm::Value *c) {
        llvm::Value *cells = b.CreateInBoundsGEP(f64, src, b.CreateAdd(offsets, b.CreateVectorSplat(lanes, c)));
        llvm::Value *v = b.CreateMaskedGather(vec, cells, kAlign, allTrue());
        b.CreateAlignedStore(v, b.CreateInBoundsGEP(vec, inVectors, c), kAlign);
      });
    }
    b.CreateBr(compute);

    b.SetInsertPoint(compute);
    b.CreateCall(block, {inVectors, outVectors, frame});
    std::uint64_t j0 = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::uint64_t w = groups[g];
      if (w == 0) continue;  // the gradient of a function of no arguments
      auto *groupRows = llvm::BasicBlock::Create(ctx, "out.rows", fn);
      auto *groupColumns = llvm::BasicBlock::Create(ctx, "out.columns", fn);
      auto *next = llvm::BasicBlock::Create(ctx, "out.next", fn);
      b.CreateCondBr(b.CreateICmpEQ(dstLd[g], b.getInt64(0)), groupRows, groupColumns);

      b.SetInsertPoint(groupColumns);
      forColumns(b, "out.column", w, [&](llvm::Value *j) {
        llvm::Value *v = b.CreateAlignedLoad(vec, b.CreateInBoundsGEP(vec, outVectors, b.CreateAdd(j, b.getInt64(j0))), kAlign);
        llvm::Value *to = b.CreateAdd(b.CreateMul(j, dstLd[g]), at);
        b.CreateAlignedStore(v, b.CreateInBoundsGEP(f64, dst[g], to), kAlign);
      });
      b.CreateBr(next);

      b.SetInsertPoint(groupRows);
      llvm::Value *firstOut = b.CreateMul(at, b.getInt64(w));
      if (scalar) {
        forColumns(b, "out.row", w, [&](llvm::Value *j) {
          llvm::Value *v = b.CreateAlignedLoad(f64, b.CreateInBoundsGEP(f64, outVectors, b.CreateAdd(j, b.getInt64(j0))), kAlign);
          b.CreateAlignedStore(v, b.CreateInBoundsGEP(f64, dst[g], b.CreateAdd(firstOut, j)), kAlign);
        });
      } else if (w * lanes <= kMaxInterleaved) {
        // The group's vectors interleaved into one wide store of the block's rows.
        std::vector<llvm::Value *> parts;
        for (std::uint64_t j = 0; j < w; ++j)
          parts.push_back(b.CreateAlignedLoad(vec, b.CreateConstInBoundsGEP1_64(vec, outVectors, j0 + j), kAlign));
        llvm::Value *all = concatenate(b, parts);
        std::vector<int> mask(w * lanes);
        for (unsigned l = 0; l < lanes; ++l)
          for (std::uint64_t j = 0; j < w; ++j) mask[l * w + j] = static_cast<int>(j * lanes + l);
        llvm::Value *interleaved = w == 1 ? all : b.CreateShuffleVector(all, mask);
        b.CreateAlignedStore(interleaved, b.CreateInBoundsGEP(f64, dst[g], firstOut), kAlign);
      } else {
        llvm::Value *offsets = b.CreateMul(b.CreateAdd(b.CreateVectorSplat(lanes, at), iota()),
                                           b.CreateVectorSplat(lanes, b.getInt64(w)));
        forColumns(b, "out.scatter", w, [&](llvm::Value *j) {
          llvm::Value *v = b.CreateAlignedLoad(vec, b.CreateInBoundsGEP(vec, outVectors, b.CreateAdd(j, b.getInt64(j0))), kAlign);
          llvm::Value *cells = b.CreateInBoundsGEP(f64, dst[g], b.CreateAdd(offsets, b.CreateVectorSplat(lanes, j)));
          b.CreateMaskedScatter(v, cells, kAlign, allTrue());
        });
      }
      b.CreateBr(next);
      b.SetInsertPoint(next);
      j0 += w;
    }
  }
  auto *nextBlock = llvm::BasicBlock::Create(ctx, "next", fn);
  auto *partOut = llvm::BasicBlock::Create(ctx, "part.out", fn);
  b.CreateCondBr(isPart, partOut, nextBlock);

  b.SetInsertPoint(nextBlock);
  llvm::Value *nextRow = b.CreateAdd(row, b.getInt64(lanes));
  row->addIncoming(nextRow, nextBlock);
  b.CreateCondBr(b.CreateICmpUGT(left, b.getInt64(lanes)), loop, done);

  // The partial block's results, from out.part (by column) to the caller's arrays, for the
  // points there are.
  b.SetInsertPoint(partOut);
  {
    std::uint64_t j0 = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::uint64_t w = groups[g];
      if (w == 0) continue;
      llvm::Value *rowsOut = b.CreateICmpEQ(ld[g], b.getInt64(0));
      countedLoop(b, "part.column", w, [&](llvm::Value *j) {
        countedLoop(b, "part.point", lanes, [&](llvm::Value *l) {
          auto *store = llvm::BasicBlock::Create(ctx, "part.store", fn);
          auto *skip = llvm::BasicBlock::Create(ctx, "part.skip", fn);
          b.CreateCondBr(b.CreateICmpULT(l, left), store, skip);
          b.SetInsertPoint(store);
          llvm::Value *point = b.CreateAdd(row, l);
          llvm::Value *from = b.CreateAdd(b.CreateMul(b.CreateAdd(j, b.getInt64(j0)), b.getInt64(lanes)), l);
          llvm::Value *v = b.CreateAlignedLoad(f64, b.CreateInBoundsGEP(f64, outPart, from), kAlign);
          llvm::Value *to = b.CreateSelect(rowsOut, b.CreateAdd(b.CreateMul(point, b.getInt64(w)), j),
                                           b.CreateAdd(b.CreateMul(j, ld[g]), point));
          b.CreateAlignedStore(v, b.CreateInBoundsGEP(f64, base[g], to), kAlign);
          b.CreateBr(skip);
          b.SetInsertPoint(skip);
        });
      });
      j0 += w;
    }
  }
  b.CreateBr(done);

  b.SetInsertPoint(done);
  scratch.free();
  b.CreateRet(b.getInt32(0));

  b.SetInsertPoint(failed);
  b.CreateRet(b.getInt32(1));
  return fn;
}

}  // namespace nabla::codegen
