#include "jit/target.h"

#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/OptBisect.h>
#include <llvm/IR/PassInstrumentation.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Pass.h>
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

/// The code generator's gate (it runs on the legacy pass manager, which has no instrumentation
/// callbacks): once `cancel` is set, the optional passes still to run on the function under way
/// are skipped (DropRemainingOnCancel drops the functions after it). Its instruction selection
/// and register allocation run to their end: a part of a split function (codegen::EmitOptions),
/// at most about a thousand tape entries.
class CancelGate final : public llvm::OptPassGate {
public:
  explicit CancelGate(const std::atomic<bool> *cancel) : cancel_(cancel) {}
  bool shouldRunPass(llvm::StringRef, llvm::StringRef) override { return !isCancelled(cancel_); }
  bool isEnabled() const override { return cancel_ != nullptr; }

private:
  const std::atomic<bool> *cancel_;
};

/// The last pass of the code generator's function pipeline (which takes one function at a time
/// through every pass, instruction selection to the assembly printer): once `cancel` is set, the
/// functions it has not reached lose their bodies, and as declarations they are skipped. The
/// object is then incomplete, and emit() throws it away.
class DropRemainingOnCancel final : public llvm::FunctionPass {
public:
  static char ID;
  explicit DropRemainingOnCancel(const std::atomic<bool> *cancel)
      : llvm::FunctionPass(ID), cancel_(cancel) {}
  bool runOnFunction(llvm::Function &function) override {
    if (!isCancelled(cancel_)) return false;
    bool after = false;
    for (llvm::Function &f : *function.getParent()) {
      if (after && !f.isDeclaration()) f.deleteBody();
      after = after || &f == &function;
    }
    return false;  // this function is unchanged; the others have no analyses yet
  }
  void getAnalysisUsage(llvm::AnalysisUsage &usage) const override { usage.setPreservesAll(); }
  llvm::StringRef getPassName() const override { return "nabla: drop the rest once cancelled"; }

private:
  const std::atomic<bool> *cancel_;
};
char DropRemainingOnCancel::ID = 0;

std::string emit(llvm::Module &module, llvm::TargetMachine &tm, llvm::CodeGenFileType type,
                 const std::string &what, const std::atomic<bool> *cancel) {
  checkCancelled(cancel);
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  // The verifier runs when the module is emitted (codegen/emit_llvm.h), not again here.
  if (tm.addPassesToEmitFile(pm, os, nullptr, type, /*DisableVerify=*/true))
    throw JitError("the code generator cannot emit " + what + " for " +
                   tm.getTargetTriple().str());
  if (cancel) pm.add(new DropRemainingOnCancel(cancel));  // the pass manager owns it
  CancelGate gate(cancel);
  static llvm::OptPassGate runAll;  // stateless: what a context has by default
  if (cancel) module.getContext().setOptPassGate(gate);
  pm.run(module);
  if (cancel) module.getContext().setOptPassGate(runAll);
  checkCancelled(cancel);
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
                    IrPipeline pipeline, const std::atomic<bool> *cancel) {
  checkCancelled(cancel);
  module.setDataLayout(tm.createDataLayout());
  module.setTargetTriple(tm.getTargetTriple().str());
  // Once `cancel` is set, the optional passes still to run are skipped (the required ones, such
  // as always-inline at O0, still run), and the caller drops the module (Cancelled, below).
  // Declared first: the analysis managers' instrumentation refers to it.
  llvm::PassInstrumentationCallbacks callbacks;
  if (cancel)
    callbacks.registerShouldRunOptionalPassCallback(
        [cancel](llvm::StringRef, llvm::Any) { return !isCancelled(cancel); });
  // Declared in this order so that they are destroyed in the right order (they refer to each
  // other through proxies).
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm, llvm::PipelineTuningOptions(), std::nullopt, &callbacks);
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
  checkCancelled(cancel);
}

std::string emitObject(llvm::Module &module, llvm::TargetMachine &tm, const std::string &what,
                       const std::atomic<bool> *cancel) {
  return emit(module, tm, llvm::CodeGenFileType::ObjectFile, what, cancel);
}

std::string emitAssembly(llvm::Module &module, llvm::TargetMachine &tm, const std::string &what,
                         const std::atomic<bool> *cancel) {
  return emit(module, tm, llvm::CodeGenFileType::AssemblyFile, what, cancel);
}

}  // namespace nabla::jit
