#include "codegen/emit_llvm.h"

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

/// Emits the tape of one entry point into the body of one function.
class TapeEmitter {
public:
  TapeEmitter(llvm::Module &module, llvm::IRBuilder<> &b) : module_(module), b_(b) {
    f64_ = b.getDoubleTy();
  }

  /// A libm function `double name(double[, double])`. Declared without memory effects (we never
  /// read errno), so that LLVM may share or drop calls whose results are equal or unused.
  llvm::FunctionCallee libm(const char *name, int params) {
    llvm::Type *ps[2] = {f64_, f64_};
    auto *type = llvm::FunctionType::get(f64_, llvm::ArrayRef(ps, params), false);
    llvm::FunctionCallee callee = module_.getOrInsertFunction(name, type);
    if (auto *f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
      f->setDoesNotAccessMemory();
      f->setDoesNotThrow();
      f->setWillReturn();
    }
    return callee;
  }
  llvm::Value *call(const char *name, llvm::Value *a) { return b_.CreateCall(libm(name, 1), {a}); }
  llvm::Value *call(const char *name, llvm::Value *a, llvm::Value *b) {
    return b_.CreateCall(libm(name, 2), {a, b});
  }
  llvm::Value *fabs(llvm::Value *a) { return b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, a); }
  llvm::Value *c(double v) { return llvm::ConstantFP::get(f64_, v); }
  llvm::Value *truth(llvm::Value *cond) { return b_.CreateSelect(cond, c(1), c(0)); }
  llvm::Value *isNan(llvm::Value *a) { return b_.CreateFCmpUNO(a, a); }
  llvm::Value *eitherNan(llvm::Value *a, llvm::Value *b) { return b_.CreateFCmpUNO(a, b); }

  /// One op on already emitted operands: evalOp, case by case.
  llvm::Value *op(Op op, llvm::Value *a, llvm::Value *b, llvm::Value *x) {
    switch (op) {
    case Op::Const:
    case Op::Var:
      break;  // leaves are handled by the caller
    case Op::Neg: return b_.CreateFNeg(a);
    case Op::Not: return b_.CreateSelect(isNan(a), a, truth(b_.CreateFCmpOEQ(a, c(0))));
    case Op::Exp: return call("exp", a);
    case Op::Log: return call("log", a);
    case Op::Sqrt: return b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, a);  // correctly rounded
    case Op::Sin: return call("sin", a);
    case Op::Cos: return call("cos", a);
    case Op::Tan: return call("tan", a);
    case Op::Asin: return call("asin", a);
    case Op::Acos: return call("acos", a);
    case Op::Atan: return call("atan", a);
    case Op::Sinh: return call("sinh", a);
    case Op::Cosh: return call("cosh", a);
    case Op::Tanh: return call("tanh", a);
    case Op::Sigmoid: {
      // evalOp takes exp(-a) for a >= 0 and exp(a) otherwise; both are exp(-|a|) bit for bit
      // (including ±0 and NaN), so one exp serves both branches.
      llvm::Value *e = call("exp", b_.CreateFNeg(fabs(a)));
      llvm::Value *onePlus = b_.CreateFAdd(c(1), e);
      return b_.CreateSelect(b_.CreateFCmpOGE(a, c(0)), b_.CreateFDiv(c(1), onePlus),
                             b_.CreateFDiv(e, onePlus));
    }
    case Op::Softplus: {
      // a > 0 ? a + log1p(exp(-a)) : log1p(exp(a)), with exp(-|a|) shared as for sigmoid.
      llvm::Value *l = call("log1p", call("exp", b_.CreateFNeg(fabs(a))));
      return b_.CreateSelect(b_.CreateFCmpOGT(a, c(0)), b_.CreateFAdd(a, l), l);
    }
    case Op::Relu:
      // a > 0 or NaN: a; otherwise +0.
      return b_.CreateSelect(b_.CreateFCmpUGT(a, c(0)), a, c(0));
    case Op::Log1p: return call("log1p", a);
    case Op::Expm1: return call("expm1", a);
    case Op::Abs: return fabs(a);
    case Op::Sign:
      return b_.CreateSelect(b_.CreateFCmpOGT(a, c(0)), c(1),
                             b_.CreateSelect(b_.CreateFCmpOLT(a, c(0)), c(-1), a));
    case Op::Floor: return b_.CreateUnaryIntrinsic(llvm::Intrinsic::floor, a);
    case Op::Add: return b_.CreateFAdd(a, b);
    case Op::Sub: return b_.CreateFSub(a, b);
    case Op::Mul: return b_.CreateFMul(a, b);
    case Op::Div: return b_.CreateFDiv(a, b);
    case Op::Pow: return call("pow", a, b);
    case Op::Min:
      return b_.CreateSelect(eitherNan(a, b), b_.CreateFAdd(a, b),
                             b_.CreateSelect(b_.CreateFCmpOLE(a, b), a, b));
    case Op::Max:
      return b_.CreateSelect(eitherNan(a, b), b_.CreateFAdd(a, b),
                             b_.CreateSelect(b_.CreateFCmpOGE(a, b), a, b));
    case Op::Atan2: return call("atan2", a, b);
    case Op::Hypot: return call("hypot", a, b);
    case Op::LogAddExp: {
      llvm::Value *m = b_.CreateSelect(b_.CreateFCmpOGE(a, b), a, b);
      llvm::Value *tail = call("log1p", call("exp", b_.CreateFNeg(fabs(b_.CreateFSub(a, b)))));
      llvm::Value *finite = b_.CreateFAdd(m, tail);
      llvm::Value *inf = c(std::numeric_limits<double>::infinity());
      llvm::Value *notNan = b_.CreateSelect(b_.CreateFCmpOEQ(fabs(m), inf), m, finite);
      return b_.CreateSelect(eitherNan(a, b), b_.CreateFAdd(a, b), notNan);
    }
    case Op::Lt: return truth(b_.CreateFCmpOLT(a, b));
    case Op::Le: return truth(b_.CreateFCmpOLE(a, b));
    case Op::Gt: return truth(b_.CreateFCmpOGT(a, b));
    case Op::Ge: return truth(b_.CreateFCmpOGE(a, b));
    case Op::Eq: return truth(b_.CreateFCmpOEQ(a, b));
    case Op::Ne: return truth(b_.CreateFCmpUNE(a, b));  // NaN != anything
    case Op::And:
      return truth(b_.CreateAnd(b_.CreateFCmpUNE(a, c(0)), b_.CreateFCmpUNE(b, c(0))));
    case Op::Or:
      return truth(b_.CreateOr(b_.CreateFCmpUNE(a, c(0)), b_.CreateFCmpUNE(b, c(0))));
    case Op::Where: return b_.CreateSelect(b_.CreateFCmpUNE(a, c(0)), b, x);  // NaN counts as true
    }
    throw std::logic_error("emitEntryPoint: no code for op " + std::string(opName(op)));
  }

private:
  llvm::Module &module_;
  llvm::IRBuilder<> &b_;
  llvm::Type *f64_;
};

std::size_t expectedMinRoots(EntryKind kind) { return kind == EntryKind::Array ? 0 : 1; }

/// The C library functions the emitted code calls: an entry point may not take their names.
constexpr std::string_view kLibmNames[] = {"exp",  "log",   "sin",   "cos",  "tan",  "asin",
                                           "acos", "atan",  "sinh",  "cosh", "tanh", "log1p",
                                           "expm1", "pow", "atan2", "hypot", "malloc", "free"};

/// Frames up to this many bytes live on the stack; larger ones come from malloc, so that no input
/// can overflow a thread's stack.
constexpr std::uint64_t kMaxStackFrameBytes = 64 * 1024;

/// Turns tape entries into instructions of the function being built. A slot's value is an SSA
/// value inside the function that computes it; a slot needed by a later part (or as an output of a
/// split entry point) is also stored to the frame, and other functions load it from there.
class BodyEmitter {
public:
  BodyEmitter(const Graph &graph, const Tape &tape, const std::vector<std::int64_t> &argIndex,
              std::vector<std::uint32_t> frameIndex, llvm::IRBuilder<> &b, TapeEmitter &emit)
      : graph_(graph), tape_(tape), argIndex_(argIndex), frameIndex_(std::move(frameIndex)), b_(b),
        emit_(emit), value_(tape.size(), nullptr), epoch_(tape.size(), 0) {
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
    const Node &n = graph_[e.node];
    llvm::Value *v = nullptr;
    if (e.op == Op::Const) return llvm::ConstantFP::get(f64_, n.value);
    if (e.op == Op::Var) {
      auto k = static_cast<std::uint64_t>(argIndex_[n.symbol]);  // checked before emission
      v = b_.CreateLoad(f64_, b_.CreateConstInBoundsGEP1_64(f64_, args_, k), graph_.symbolName(n.symbol));
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

  const Graph &graph_;
  const Tape &tape_;
  const std::vector<std::int64_t> &argIndex_;
  std::vector<std::uint32_t> frameIndex_;  // per slot; kNoSlot: never leaves its function
  llvm::IRBuilder<> &b_;
  TapeEmitter &emit_;
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

}  // namespace

llvm::Function *emitEntryPoint(llvm::Module &module, const Graph &graph, const EntryPoint &entry,
                               std::span<const SymbolId> args, const EmitOptions &options) {
  if (entry.name.empty()) throw CodegenError("an entry point needs a name");
  for (std::string_view reserved : kLibmNames)
    if (entry.name == reserved)
      throw CodegenError("entry point name '" + entry.name + "' is taken by the C library");
  if (module.getNamedValue(entry.name))
    throw CodegenError("entry point '" + entry.name + "' is defined twice");
  if (entry.roots.size() < expectedMinRoots(entry.kind) ||
      (entry.kind == EntryKind::Value && entry.roots.size() != 1))
    throw CodegenError("entry point '" + entry.name + "' has " +
                       std::to_string(entry.roots.size()) + " roots");
  for (NodeId r : entry.roots)
    if (!r.valid() || r.index >= graph.size())
      throw CodegenError("entry point '" + entry.name + "' has a root outside the graph");

  // Argument index of each graph symbol (-1: not an argument).
  std::vector<std::int64_t> argIndex(graph.symbolCount(), -1);
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (args[k] >= graph.symbolCount())
      throw CodegenError("entry point '" + entry.name + "': argument " + std::to_string(k) +
                         " is not a symbol of the graph");
    if (argIndex[args[k]] >= 0)
      throw CodegenError("entry point '" + entry.name + "': symbol '" +
                         graph.symbolName(args[k]) + "' is two arguments");
    argIndex[args[k]] = static_cast<std::int64_t>(k);
  }

  Tape tape = buildTape(graph, entry.roots);
  for (const Tape::Entry &e : tape.entries) {
    const Node &n = graph[e.node];
    if (e.op == Op::Var && (n.symbol >= argIndex.size() || argIndex[n.symbol] < 0))
      throw CodegenError("entry point '" + entry.name + "' uses '" + graph.symbolName(n.symbol) +
                         "', which is not one of its arguments");
  }

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
  TapeEmitter emit(module, b);

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
  BodyEmitter body(graph, tape, argIndex, std::move(frameIndex), b, emit);

  llvm::Value *frame = nullptr;
  llvm::Function *freeFn = nullptr;
  llvm::BasicBlock *outOfMemory = nullptr;
  if (split) {
    const std::uint64_t bytes = std::uint64_t{frameSize} * 8;
    if (bytes <= kMaxStackFrameBytes) {
      frame = b.CreateAlloca(llvm::ArrayType::get(f64, frameSize), nullptr, "frame");
    } else {
      llvm::Type *i64 = b.getInt64Ty();
      auto malloc = module.getOrInsertFunction("malloc", llvm::FunctionType::get(ptr, {i64}, false));
      auto free = module.getOrInsertFunction("free", llvm::FunctionType::get(b.getVoidTy(), {ptr}, false));
      freeFn = llvm::cast<llvm::Function>(free.getCallee());
      frame = b.CreateCall(malloc, {b.getInt64(bytes)}, "frame");
      outOfMemory = llvm::BasicBlock::Create(ctx, "out_of_memory", fn);
      auto *run = llvm::BasicBlock::Create(ctx, "run", fn);
      b.CreateCondBr(b.CreateIsNull(frame), outOfMemory, run);
      b.SetInsertPoint(run);
    }
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
  if (freeFn) b.CreateCall(freeFn, {frame});
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

std::unique_ptr<llvm::Module> emitModule(llvm::LLVMContext &context, const std::string &moduleName,
                                         const Graph &graph, std::span<const EntryPoint> entries,
                                         std::span<const SymbolId> args,
                                         const EmitOptions &options) {
  auto module = std::make_unique<llvm::Module>(moduleName, context);
  module->setSourceFileName(moduleName);
  for (const EntryPoint &entry : entries) emitEntryPoint(*module, graph, entry, args, options);
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*module, &os))
    throw std::logic_error("emitModule: LLVM rejects the module '" + moduleName + "': " + os.str());
  return module;
}

std::string printModule(const llvm::Module &module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os, nullptr);
  return os.str();
}

}  // namespace nabla::codegen
