// Compiling the array level's fused loops (codegen/loop_kernel.h) in a JIT session.
#pragma once

#include "codegen/loop_kernel.h"
#include "jit/session.h"

#include <vector>

namespace nabla::jit {

/// A fused loop: `void f(double *const *slots)`.
using LoopFn = void (*)(double *const *slots);

struct CompiledLoops {
  ModuleHandle module;        // owns the code
  std::vector<LoopFn> functions;  // one per kernel, in order
};

/// The kernels as one module, at the session's level. Throws JitError.
CompiledLoops compileLoops(Session &session, const std::vector<codegen::LoopKernel> &kernels);

}  // namespace nabla::jit
