#include "codegen/op_emitter.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/PatternMatch.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace nabla::codegen {

namespace {

/// Besides the functions of the NABLA_LIBM ops: what LLVM's intrinsics may call where the CPU
/// lacks the instruction, and what large frames and copies call.
constexpr std::string_view kOtherCalls[] = {"sqrt",   "fabs", "floor",  "fma",
                                            "malloc", "free", "memcpy", "memset"};

}  // namespace

bool isReservedName(std::string_view name) {
  for (const OpInfo &op : kOpInfo)
    if (op.kind == OpKind::Libm && name == op.libmFunction) return true;
  for (std::string_view reserved : kOtherCalls)
    if (name == reserved) return true;
  return name.starts_with("_ZGV");  // libmvec's vector variants
}

OpEmitter::OpEmitter(llvm::Module &module, llvm::IRBuilder<> &b, llvm::Type *type,
                     bool forFastIsel, VectorMath vectorMath)
    : module_(module), b_(b), type_(type), f64_(b.getDoubleTy()), forFastIsel_(forFastIsel),
      vectorMath_(std::move(vectorMath)) {
  auto *vector = llvm::dyn_cast<llvm::FixedVectorType>(type);
  lanes_ = vector ? vector->getNumElements() : 0;
}

llvm::Value *OpEmitter::constant(double v) { return llvm::ConstantFP::get(type_, v); }

llvm::FunctionCallee OpEmitter::libm(llvm::StringRef name, llvm::Type *type, int params) {
  llvm::Type *ps[2] = {type, type};
  auto *fnType = llvm::FunctionType::get(type, llvm::ArrayRef(ps, params), false);
  llvm::FunctionCallee callee = module_.getOrInsertFunction(name, fnType);
  if (auto *f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    // Declared without memory effects (we never read errno), so that LLVM may share or drop
    // calls whose results are equal or unused.
    f->setDoesNotAccessMemory();
    f->setDoesNotThrow();
    f->setWillReturn();
  }
  return callee;
}

llvm::Value *OpEmitter::callScalar(std::string_view name, llvm::ArrayRef<llvm::Value *> args) {
  if (lanes_ == 0) return b_.CreateCall(libm(name, f64_, static_cast<int>(args.size())), args);
  // No vector variant: one scalar call per lane.
  llvm::FunctionCallee scalar = libm(name, f64_, static_cast<int>(args.size()));
  llvm::Value *out = llvm::PoisonValue::get(type_);
  for (unsigned lane = 0; lane < lanes_; ++lane) {
    llvm::Value *laneArgs[2];
    for (std::size_t k = 0; k < args.size(); ++k)
      laneArgs[k] = b_.CreateExtractElement(args[k], b_.getInt32(lane));
    llvm::Value *r = b_.CreateCall(scalar, llvm::ArrayRef(laneArgs, args.size()));
    out = b_.CreateInsertElement(out, r, b_.getInt32(lane));
  }
  return out;
}

llvm::Value *OpEmitter::call(std::string_view name, llvm::Value *a) {
  if (lanes_ != 0 && !vectorMath_.prefix.empty() && vectorMath_.has(name))
    return b_.CreateCall(libm(vectorMath_.prefix + "v_" + std::string(name), type_, 1), {a});
  return callScalar(name, {a});
}

llvm::Value *OpEmitter::call(std::string_view name, llvm::Value *a, llvm::Value *b) {
  if (lanes_ != 0 && !vectorMath_.prefix.empty() && vectorMath_.has(name))
    return b_.CreateCall(libm(vectorMath_.prefix + "vv_" + std::string(name), type_, 2), {a, b});
  return callScalar(name, {a, b});
}

llvm::Value *OpEmitter::power(llvm::Value *a, int k) {
  // power() of graph/libm.h, operation for operation: p + (e + l*a) for a cube, p + (e + 2h*l)
  // for a fourth power, where p is 0, infinite or NaN p itself.
  auto fma = [&](llvm::Value *x, llvm::Value *y, llvm::Value *z) {
    return b_.CreateIntrinsic(llvm::Intrinsic::fma, {type_}, {x, y, z});
  };
  llvm::Value *h = b_.CreateFMul(a, a);
  llvm::Value *l = fma(a, a, b_.CreateFNeg(h));
  llvm::Value *p = k == 3 ? b_.CreateFMul(h, a) : b_.CreateFMul(h, h);
  llvm::Value *e = k == 3 ? fma(h, a, b_.CreateFNeg(p)) : fma(h, h, b_.CreateFNeg(p));
  llvm::Value *t = k == 3 ? fma(l, a, e) : fma(b_.CreateFAdd(h, h), l, e);
  llvm::Value *ordinary = b_.CreateAnd(b_.CreateFCmpOLT(fabs(p), constant(HUGE_VAL)),
                                       b_.CreateFCmpONE(p, constant(0)));
  return b_.CreateSelect(ordinary, b_.CreateFAdd(p, t), p);
}

llvm::Value *OpEmitter::pow(llvm::Value *a, llvm::Value *b) {
  // The values of power() (graph/libm.h): cubes and fourth powers as compensated products,
  // squares as one product, the rest the C library's pow. LLVM's library-call simplifier
  // rewrites a scalar pow with the other constant exponents below where one instruction gives
  // the same value (pow(x, 0) is 1 even for a NaN x), but it does not know libmvec's vector pow;
  // so vectors get that rewrite here, and the lanes of a batch have the values of the scalar
  // entry point compiled at O1 or above (a vector pow calls the scalar pow for lanes with a
  // negative x).
  const llvm::APFloat *e = nullptr;
  if (llvm::PatternMatch::match(b, llvm::PatternMatch::m_APFloat(e))) {
    if (e->isExactlyValue(2)) return b_.CreateFMul(a, a);
    if (e->isExactlyValue(3)) return power(a, 3);
    if (e->isExactlyValue(4)) return power(a, 4);
    if (lanes_ != 0) {
      if (e->isZero()) return constant(1);
      if (e->isExactlyValue(1)) return a;
      if (e->isExactlyValue(-1)) return b_.CreateFDiv(constant(1), a);
    }
    return call("pow", a, b);
  }
  // An exponent known only when the code runs: power()'s cases chosen by its value.
  llvm::Value *general = call("pow", a, b);
  llvm::Value *value = b_.CreateSelect(b_.CreateFCmpOEQ(b, constant(4)), power(a, 4), general);
  value = b_.CreateSelect(b_.CreateFCmpOEQ(b, constant(3)), power(a, 3), value);
  return b_.CreateSelect(b_.CreateFCmpOEQ(b, constant(2)), b_.CreateFMul(a, a), value);
}

llvm::Value *OpEmitter::fabs(llvm::Value *a) {
  if (!forFastIsel_) return b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, a);
  // FastISel has no fabs: clearing the sign bit is the same operation, NaNs included.
  llvm::Type *bits = lanes_ ? static_cast<llvm::Type *>(llvm::FixedVectorType::get(b_.getInt64Ty(), lanes_))
                            : b_.getInt64Ty();
  llvm::Value *masked = b_.CreateAnd(b_.CreateBitCast(a, bits),
                                     llvm::ConstantInt::get(bits, 0x7fffffffffffffffULL));
  return b_.CreateBitCast(masked, type_);
}

llvm::Value *OpEmitter::op(Op op, llvm::Value *a, llvm::Value *b, llvm::Value *x) {
  switch (op) {
  case Op::Const:
  case Op::Var:
    break;  // leaves are handled by the caller
  // A call of the C function (NABLA_LIBM in ops.def), or of its vector variant.
#define NABLA_LIBM(name, arity, spelling, builtin, flags, function) case Op::name:
#include "graph/ops.def"
    if (op == Op::Pow) return pow(a, b);  // with the vector rewrites of constant exponents
    return arity(op) == 1 ? call(opInfo(op).libmFunction, a) : call(opInfo(op).libmFunction, a, b);
  case Op::Neg: return b_.CreateFNeg(a);
  case Op::Not: return b_.CreateSelect(isNan(a), a, truth(b_.CreateFCmpOEQ(a, constant(0))));
  case Op::Sqrt: return b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, a);  // correctly rounded
  case Op::Sigmoid: {
    // evalOp takes exp(-a) for a >= 0 and exp(a) otherwise; both are exp(-|a|) bit for bit
    // (including ±0 and NaN), so one exp serves both branches.
    llvm::Value *e = call("exp", b_.CreateFNeg(fabs(a)));
    llvm::Value *onePlus = b_.CreateFAdd(constant(1), e);
    return b_.CreateSelect(b_.CreateFCmpOGE(a, constant(0)), b_.CreateFDiv(constant(1), onePlus),
                           b_.CreateFDiv(e, onePlus));
  }
  case Op::Softplus: {
    // a > 0 ? a + log1p(exp(-a)) : log1p(exp(a)), with exp(-|a|) shared as for sigmoid.
    llvm::Value *l = call("log1p", call("exp", b_.CreateFNeg(fabs(a))));
    return b_.CreateSelect(b_.CreateFCmpOGT(a, constant(0)), b_.CreateFAdd(a, l), l);
  }
  case Op::Relu:
    // a > 0 or NaN: a; otherwise +0.
    return b_.CreateSelect(b_.CreateFCmpUGT(a, constant(0)), a, constant(0));
  case Op::Abs: return fabs(a);
  case Op::Sign:
    return b_.CreateSelect(b_.CreateFCmpOGT(a, constant(0)), constant(1),
                           b_.CreateSelect(b_.CreateFCmpOLT(a, constant(0)), constant(-1), a));
  case Op::Floor: return b_.CreateUnaryIntrinsic(llvm::Intrinsic::floor, a);
  case Op::Add: return b_.CreateFAdd(a, b);
  case Op::Sub: return b_.CreateFSub(a, b);
  case Op::Mul: return b_.CreateFMul(a, b);
  case Op::Div: return b_.CreateFDiv(a, b);
  case Op::Min:
    return b_.CreateSelect(eitherNan(a, b), b_.CreateFAdd(a, b),
                           b_.CreateSelect(b_.CreateFCmpOLE(a, b), a, b));
  case Op::Max:
    return b_.CreateSelect(eitherNan(a, b), b_.CreateFAdd(a, b),
                           b_.CreateSelect(b_.CreateFCmpOGE(a, b), a, b));
  case Op::LogAddExp: {
    llvm::Value *m = b_.CreateSelect(b_.CreateFCmpOGE(a, b), a, b);
    llvm::Value *tail = call("log1p", call("exp", b_.CreateFNeg(fabs(b_.CreateFSub(a, b)))));
    llvm::Value *finite = b_.CreateFAdd(m, tail);
    llvm::Value *inf = constant(std::numeric_limits<double>::infinity());
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
    return truth(b_.CreateAnd(b_.CreateFCmpUNE(a, constant(0)), b_.CreateFCmpUNE(b, constant(0))));
  case Op::Or:
    return truth(b_.CreateOr(b_.CreateFCmpUNE(a, constant(0)), b_.CreateFCmpUNE(b, constant(0))));
  case Op::Where: return b_.CreateSelect(b_.CreateFCmpUNE(a, constant(0)), b, x);  // NaN is true
  // llvm.fma rounds once: the instruction where the target has it, else the C library's fma.
  case Op::Fma: return b_.CreateIntrinsic(llvm::Intrinsic::fma, {type_}, {a, b, x});
  case Op::Fms: return b_.CreateIntrinsic(llvm::Intrinsic::fma, {type_}, {a, b, b_.CreateFNeg(x)});
  case Op::Fnma: return b_.CreateIntrinsic(llvm::Intrinsic::fma, {type_}, {b_.CreateFNeg(a), b, x});
  }
  throw std::logic_error("codegen: no code for op " + std::string(opName(op)));
}

}  // namespace nabla::codegen
