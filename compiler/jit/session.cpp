#include "jit/session.h"

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>

#include <atomic>
#include <mutex>

namespace nabla::jit {

struct Session::Impl {
  std::mutex mutex;  // guards jit's compilation, tm and module adds/removals
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unique_ptr<llvm::TargetMachine> tm;  // the host's cost models for the IR pipeline
  OptLevel optLevel = OptLevel::O2;
  std::string triple, cpu;
  std::atomic<std::uint64_t> nextName{0};
};

struct ModuleHandle::State {
  std::shared_ptr<Session::Impl> session;
  llvm::orc::ResourceTrackerSP tracker;
  std::string what;
};

namespace {

std::string message(llvm::Error err) { return llvm::toString(std::move(err)); }

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

/// The new pass manager's default pipeline for `level`, tuned by the host target machine.
void optimize(llvm::Module &module, llvm::TargetMachine &tm, OptLevel level) {
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
  llvm::ModulePassManager mpm = level == OptLevel::O0
                                    ? pb.buildO0DefaultPipeline(llvm::OptimizationLevel::O0)
                                    : pb.buildPerModuleDefaultPipeline(irLevel(level));
  mpm.run(module, mam);
}

}  // namespace

Session::Session(SessionOptions options) : impl_(std::make_shared<Impl>()) {
  static std::once_flag targetsReady;  // LLVM's target registry is process-wide
  std::call_once(targetsReady, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });

  impl_->optLevel = options.optLevel;
  llvm::Expected<llvm::orc::JITTargetMachineBuilder> jtmb =
      llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) throw JitError("cannot set up the JIT for this machine: " + message(jtmb.takeError()));
  jtmb->setCodeGenOptLevel(codegenLevel(options.optLevel));
  impl_->triple = jtmb->getTargetTriple().str();
  impl_->cpu = jtmb->getCPU();

  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> tm = jtmb->createTargetMachine();
  if (!tm)
    throw JitError("cannot create a target machine for " + impl_->triple + ": " +
                   message(tm.takeError()));
  impl_->tm = std::move(*tm);

  // Compiled code calls exp, log1p, pow, ... of the C library this process already uses, so that
  // it gets the very functions the interpreter calls: they come from a JITDylib of the process's
  // symbols, linked after the main one.
  auto processSymbols = [](llvm::orc::LLJIT &jit) -> llvm::Expected<llvm::orc::JITDylibSP> {
    auto generator = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
        jit.getDataLayout().getGlobalPrefix());
    if (!generator) return generator.takeError();
    llvm::orc::JITDylib &dylib = jit.getExecutionSession().createBareJITDylib("<process>");
    dylib.addGenerator(std::move(*generator));
    return llvm::orc::JITDylibSP(&dylib);
  };
  llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> jit =
      llvm::orc::LLJITBuilder()
          .setJITTargetMachineBuilder(std::move(*jtmb))
          .setProcessSymbolsJITDylibSetup(std::move(processSymbols))
          .create();
  if (!jit) throw JitError("cannot create the JIT for " + impl_->triple + ": " + message(jit.takeError()));
  impl_->jit = std::move(*jit);
}

Session::~Session() = default;

ModuleHandle Session::addModule(std::unique_ptr<llvm::Module> module,
                                std::unique_ptr<llvm::LLVMContext> context, std::string_view what) {
  if (!module || !context || &module->getContext() != context.get())
    throw std::logic_error("Session::addModule: a module needs its own context");
  std::lock_guard lock(impl_->mutex);
  llvm::orc::LLJIT &jit = *impl_->jit;
  module->setDataLayout(jit.getDataLayout());
  module->setTargetTriple(jit.getTargetTriple().str());
  optimize(*module, *impl_->tm, impl_->optLevel);

  llvm::orc::ResourceTrackerSP tracker = jit.getMainJITDylib().createResourceTracker();
  llvm::orc::ThreadSafeModule tsm(std::move(module), std::move(context));
  if (llvm::Error err = jit.addIRModule(tracker, std::move(tsm))) {
    std::string why = message(std::move(err));
    llvm::consumeError(tracker->remove());
    throw JitError("cannot add " + std::string(what) + " to the JIT: " + why);
  }
  auto state = std::make_shared<ModuleHandle::State>();
  state->session = impl_;
  state->tracker = std::move(tracker);
  state->what = std::string(what);
  return ModuleHandle(std::move(state));
}

void *Session::lookup(std::string_view name) {
  // Code generation happens here, on the first lookup of a module; LLJIT's compiler is shared.
  std::lock_guard lock(impl_->mutex);
  llvm::Expected<llvm::orc::ExecutorAddr> addr = impl_->jit->lookup(llvm::StringRef(name));
  if (!addr)
    throw JitError("cannot compile or find '" + std::string(name) + "': " + message(addr.takeError()));
  return addr->toPtr<void *>();
}

std::string Session::uniqueName(std::string_view base) {
  return std::string(base) + "." + std::to_string(impl_->nextName++);
}

OptLevel Session::optLevel() const { return impl_->optLevel; }
const std::string &Session::targetTriple() const { return impl_->triple; }
const std::string &Session::cpuName() const { return impl_->cpu; }

ModuleHandle &ModuleHandle::operator=(ModuleHandle &&other) noexcept {
  if (this != &other) {
    try {
      remove();
    } catch (const JitError &) {
      // Moving over a handle must not throw; the code stays until the session ends.
    }
    state_ = std::move(other.state_);
  }
  return *this;
}

ModuleHandle::~ModuleHandle() {
  try {
    remove();
  } catch (const JitError &) {
    // A destructor cannot report; the code stays until the session ends.
  }
}

const std::string &ModuleHandle::description() const {
  static const std::string kNone = "no module";
  return state_ ? state_->what : kNone;
}

void ModuleHandle::remove() {
  if (!state_) return;
  std::shared_ptr<State> state = std::move(state_);
  std::lock_guard lock(state->session->mutex);
  if (llvm::Error err = state->tracker->remove())
    throw JitError("cannot remove " + state->what + " from the JIT: " + message(std::move(err)));
}

}  // namespace nabla::jit
