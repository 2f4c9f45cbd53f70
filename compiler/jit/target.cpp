#include "jit/target.h"

#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CodeGen.h>
#include <llvm/Support/DynamicLibrary.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/SubtargetFeature.h>

namespace nabla::jit {

namespace {

llvm::CodeGenOptLevel codegenLevel(OptLevel level) {
  switch (level) {
  case OptLevel::O0: return llvm::CodeGenOptLevel::None;
  case OptLevel::O1: return llvm::CodeGenOptLevel::Less;
  case OptLevel::O2: return llvm::CodeGenOptLevel::Default;
  case OptLevel::O3: return llvm::CodeGenOptLevel::Aggressive;
  }
  return llvm::CodeGenOptLevel::Default;
}

llvm::OptimizationLevel irLevel(OptLevel level) {
  switch (level) {
  case OptLevel::O0: return llvm::OptimizationLevel::O0;
  case OptLevel::O1: return llvm::OptimizationLevel::O1;
  case OptLevel::O2: return llvm::OptimizationLevel::O2;
  case OptLevel::O3: return llvm::OptimizationLevel::O3;
  }
  return llvm::OptimizationLevel::O2;
}

HostTarget detectHost() {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  HostTarget host;
  host.triple = llvm::sys::getProcessTriple();
  host.cpu = llvm::sys::getHostCPUName().str();
  llvm::SubtargetFeatures features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features.AddFeature(feature.first(), feature.second);
  host.features = features.getString();
  return host;
}

std::string emit(llvm::Module &module, llvm::TargetMachine &tm, llvm::CodeGenFileType type,
                 const std::string &what) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  // The verifier runs when the module is emitted (codegen/emit_llvm.h), not again here.
  if (tm.addPassesToEmitFile(pm, os, nullptr, type, /*DisableVerify=*/true))
    throw JitError("the code generator cannot emit " + what + " for " +
                   tm.getTargetTriple().str());
  pm.run(module);
  return std::string(buffer.begin(), buffer.end());
}

}  // namespace

const HostTarget &hostTarget() {
  // Immutable once computed; the registry it fills is LLVM's own process-wide table.
  static const HostTarget host = detectHost();
  return host;
}

VectorTarget hostVectorTarget() {
  const HostTarget &host = hostTarget();
  auto has = [&](const char *feature) {
    return host.features.find(std::string("+") + feature) != std::string::npos;
  };
  VectorTarget v;
  if (host.triple.rfind("x86_64", 0) == 0) {
    if (has("avx512f")) {
      v = {8, "_ZGVeN8"};
    } else if (has("avx2")) {
      v = {4, "_ZGVdN4"};
    } else {
      v = {2, "_ZGVbN2"};
    }
  }
  return v;
}

std::vector<std::string> hostVectorMath(const VectorTarget &target) {
  std::vector<std::string> out;
  if (target.mathPrefix.empty() ||
      llvm::sys::DynamicLibrary::LoadLibraryPermanently("libmvec.so.1"))
    return out;
  for (const char *name : {"exp", "log", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
                           "cosh", "tanh", "log1p", "expm1"})
    if (llvm::sys::DynamicLibrary::SearchForAddressOfSymbol(target.mathPrefix + "v_" + name))
      out.emplace_back(name);
  for (const char *name : {"pow", "atan2", "hypot"})
    if (llvm::sys::DynamicLibrary::SearchForAddressOfSymbol(target.mathPrefix + "vv_" + name))
      out.emplace_back(name);
  return out;
}

std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(OptLevel level) {
  const HostTarget &host = hostTarget();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(host.triple, error);
  if (!target) throw JitError("no LLVM target for " + host.triple + ": " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      host.triple, host.cpu, host.features, options, llvm::Reloc::PIC_, llvm::CodeModel::Small,
      codegenLevel(level)));
  if (!tm) throw JitError("cannot create a target machine for " + host.triple);
  if (level == OptLevel::O0) tm->setO0WantsFastISel(true);
  return tm;
}

void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm, OptLevel level,
                    IrPipeline pipeline) {
  module.setDataLayout(tm.createDataLayout());
  module.setTargetTriple(tm.getTargetTriple().str());
  // Declared in this order so that they are destroyed in the right order (they refer to each
  // other through proxies).
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm;
  if (level == OptLevel::O0) {
    mpm = pb.buildO0DefaultPipeline(llvm::OptimizationLevel::O0);
  } else if (pipeline == IrPipeline::Lean) {
    if (llvm::Error err = pb.parsePassPipeline(mpm, "always-inline,function(instcombine<no-verify-fixpoint>,early-cse,simplifycfg)"))
      throw JitError("cannot build the lean IR pipeline: " + llvm::toString(std::move(err)));
  } else {
    mpm = pb.buildPerModuleDefaultPipeline(irLevel(level));
  }
  mpm.run(module, mam);
}

std::string emitObject(llvm::Module &module, llvm::TargetMachine &tm, const std::string &what) {
  return emit(module, tm, llvm::CodeGenFileType::ObjectFile, what);
}

std::string emitAssembly(llvm::Module &module, llvm::TargetMachine &tm, const std::string &what) {
  return emit(module, tm, llvm::CodeGenFileType::AssemblyFile, what);
}

}  // namespace nabla::jit
