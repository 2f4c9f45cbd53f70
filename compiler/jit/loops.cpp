// Compiling fused loops: one module for all of an executor's kernels.
#include "jit/loops.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

namespace nabla::jit {

CompiledLoops compileLoops(Session &session, const std::vector<codegen::LoopKernel> &kernels) {
  std::vector<std::string> names;
  for (std::size_t k = 0; k < kernels.size(); ++k) names.push_back(session.uniqueName("loop"));
  auto context = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::Module> module;
  try {
    module = codegen::emitLoopKernels(*context, kernels, names);
  } catch (const std::logic_error &e) {
    throw JitError(std::string("fused loops: ") + e.what());
  }
  CompiledLoops out;
  out.module = session.addModule(std::move(module), std::move(context), "fused loops");
  for (const std::string &name : names)
    out.functions.push_back(reinterpret_cast<LoopFn>(session.lookup(name)));
  return out;
}

}  // namespace nabla::jit
