// One DAG operation as LLVM instructions, on doubles or on vectors of doubles: the arithmetic of
// evalOp (compiler/graph/graph.cpp) case by case. Internal to codegen/ (it includes LLVM).
#pragma once

#include "graph/graph.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <string>
#include <string_view>

namespace nabla::codegen {

/// How calls of the C library's math functions are made on vectors.
struct VectorMath {
  /// glibc's libmvec name prefix for this width, without the `v_`/`vv_` part: `_ZGVdN4` (AVX2,
  /// 4 lanes), `_ZGVeN8` (AVX-512, 8 lanes), `_ZGVbN2` (SSE4, 2 lanes). Empty: no vector library;
  /// every lane calls the scalar function.
  std::string prefix;
  /// Whether libmvec has a vector variant of `name` (exp, log1p, pow, ...). Only consulted when
  /// `prefix` is set.
  std::function<bool(std::string_view)> has;
};

class OpEmitter {
public:
  /// `type` is double or a vector of doubles. `forFastIsel` avoids intrinsics that LLVM's fast
  /// instruction selector (O0) hands to the much slower SelectionDAG, with the same values.
  OpEmitter(llvm::Module &module, llvm::IRBuilder<> &b, llvm::Type *type, bool forFastIsel,
            VectorMath vectorMath = {});

  /// evalOp(op, a, b, x) on emitted operands (nullptr for the unused ones). Leaves are the
  /// caller's business.
  llvm::Value *op(Op op, llvm::Value *a, llvm::Value *b, llvm::Value *x);

  llvm::Value *constant(double v);
  llvm::Type *type() const { return type_; }

private:
  llvm::Value *call(std::string_view name, llvm::Value *a);
  llvm::Value *call(std::string_view name, llvm::Value *a, llvm::Value *b);
  llvm::Value *callScalar(std::string_view name, llvm::ArrayRef<llvm::Value *> args);
  llvm::FunctionCallee libm(llvm::StringRef name, llvm::Type *type, int params);
  llvm::Value *pow(llvm::Value *a, llvm::Value *b);
  llvm::Value *power(llvm::Value *a, int k);  // a^3 or a^4 as graph/libm.h's power()
  llvm::Value *fabs(llvm::Value *a);
  llvm::Value *truth(llvm::Value *cond) { return b_.CreateSelect(cond, constant(1), constant(0)); }
  llvm::Value *isNan(llvm::Value *a) { return b_.CreateFCmpUNO(a, a); }
  llvm::Value *eitherNan(llvm::Value *a, llvm::Value *b) { return b_.CreateFCmpUNO(a, b); }

  llvm::Module &module_;
  llvm::IRBuilder<> &b_;
  llvm::Type *type_;
  llvm::Type *f64_;
  unsigned lanes_;  // 0 for a scalar
  bool forFastIsel_;
  VectorMath vectorMath_;
};

/// The C library functions the emitted code may call: an entry point may not take their names.
bool isReservedName(std::string_view name);

}  // namespace nabla::codegen
