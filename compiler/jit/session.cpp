#include "jit/session.h"

#include "codegen/baseline_x86.h"
#include "jit/near_memory.h"
#include "jit/object_cache.h"

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/EPCEHFrameRegistrar.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/MapperJITLinkMemoryManager.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/DynamicLibrary.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <array>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace nabla::jit {

struct Session::Impl {
  std::mutex jitMutex;  // guards adding, linking and removing code
  std::unique_ptr<llvm::orc::LLJIT> jit;
  SessionOptions options;
  std::string triple, cpu, features;
  VectorTarget vectorTarget;
  // The compile cache (SessionOptions::cacheDir), when it is on and usable.
  std::optional<ObjectCache> cache;
  std::string cacheProblem;
  std::atomic<std::size_t> cacheHits{0}, cacheMisses{0};
  std::vector<std::string> vectorMath;  // scalar names with a vector variant in this process
  std::shared_ptr<Workers> workers;
  std::atomic<std::uint64_t> nextName{0};
  // Under jitMutex: modules added and not removed, and removed since the symbol names of removed
  // modules were last dropped (ModuleHandle::remove).
  std::size_t liveModules = 0, removedSinceSweep = 0;

  // Target machines are not thread-safe; each compilation borrows one of its level.
  std::mutex poolMutex;
  std::array<std::vector<std::unique_ptr<llvm::TargetMachine>>, 4> pool;

  std::unique_ptr<llvm::TargetMachine> borrow(OptLevel level) {
    {
      std::lock_guard lock(poolMutex);
      auto &free = pool[static_cast<std::size_t>(level)];
      if (!free.empty()) {
        std::unique_ptr<llvm::TargetMachine> tm = std::move(free.back());
        free.pop_back();
        return tm;
      }
    }
    return createHostTargetMachine(level);
  }
  void giveBack(OptLevel level, std::unique_ptr<llvm::TargetMachine> tm) {
    std::lock_guard lock(poolMutex);
    pool[static_cast<std::size_t>(level)].push_back(std::move(tm));
  }
};

namespace {
thread_local bool onBackgroundThread = false;  // set for the session threads' whole life
}  // namespace

struct Session::Background {
  std::mutex mutex;
  std::condition_variable wake, idle;
  std::deque<std::function<void()>> queue;
  bool running = false;  // a job is executing
  bool stopping = false;
  std::atomic<bool> stopRequested{false};  // stopping, readable without the mutex
  std::thread thread;     // started by the first job

  void loop() {
    onBackgroundThread = true;
    std::unique_lock lock(mutex);
    while (true) {
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) break;
      std::function<void()> job = std::move(queue.front());
      queue.pop_front();
      running = true;
      lock.unlock();
      job();
      lock.lock();
      running = false;
      if (queue.empty()) idle.notify_all();
    }
    running = false;
    idle.notify_all();
  }
};

struct ModuleHandle::State {
  std::shared_ptr<Session::Impl> session;
  llvm::orc::ResourceTrackerSP tracker;
  std::string what;
};

namespace {

std::string message(llvm::Error err) { return llvm::toString(std::move(err)); }

}  // namespace

Session::Session(SessionOptions options)
    : impl_(std::make_shared<Impl>()), background_(std::make_unique<Background>()) {
  impl_->options = options;
  const HostTarget &host = hostTarget();
  impl_->triple = host.triple;
  impl_->cpu = host.cpu;
  impl_->features = host.features;
  if (!options.cacheDir.empty()) {
    ObjectCache cache(options.cacheDir);
    if (cache.usable())
      impl_->cache.emplace(std::move(cache));
    else
      impl_->cacheProblem = cache.why();
  }

  impl_->workers = std::make_shared<Workers>(options.threads);

  // Batched kernels call glibc's vector math functions (_ZGVdN4v_exp, ...); they resolve from
  // this process once the library is loaded. Without it (or for a function an older glibc lacks)
  // those kernels call the scalar functions lane by lane.
  impl_->vectorTarget = hostVectorTarget();
  impl_->vectorMath = hostVectorMath(impl_->vectorTarget);

  llvm::Expected<llvm::orc::JITTargetMachineBuilder> jtmb =
      llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) throw JitError("cannot set up the JIT for this machine: " + message(jtmb.takeError()));
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
  // JITLink, as LLJIT chooses it on x86-64 ELF, with its code mapped near the program's
  // (jit/near_memory.h); so LLJIT's settings for it are made here: the small code model,
  // position-independent code, and registered unwind tables.
  jtmb->setCodeModel(llvm::CodeModel::Small);
  jtmb->setRelocationModel(llvm::Reloc::PIC_);
  auto linkingLayer = [](llvm::orc::ExecutionSession &session,
                         const llvm::Triple &) -> llvm::Expected<std::unique_ptr<llvm::orc::ObjectLayer>> {
    constexpr std::size_t kReservation = std::size_t{64} << 20;  // address space, mapped lazily
    auto memory = std::make_unique<llvm::orc::MapperJITLinkMemoryManager>(kReservation,
                                                                           makeNearMemoryMapper());
    auto layer = std::make_unique<llvm::orc::ObjectLinkingLayer>(session, std::move(memory));
    auto registrar = llvm::orc::EPCEHFrameRegistrar::Create(session);
    if (!registrar) return registrar.takeError();
    layer->addPlugin(std::make_unique<llvm::orc::EHFrameRegistrationPlugin>(session, std::move(*registrar)));
    return std::unique_ptr<llvm::orc::ObjectLayer>(std::move(layer));
  };
  llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> jit =
      llvm::orc::LLJITBuilder()
          .setJITTargetMachineBuilder(std::move(*jtmb))
          .setObjectLinkingLayerCreator(std::move(linkingLayer))
          .setProcessSymbolsJITDylibSetup(std::move(processSymbols))
          .create();
  if (!jit) throw JitError("cannot create the JIT for " + impl_->triple + ": " + message(jit.takeError()));
  impl_->jit = std::move(*jit);
}

Session::~Session() { stopBackground(); }

void Session::stopBackground() {
  std::deque<std::function<void()>> dropped;
  background_->stopRequested = true;
  {
    std::lock_guard lock(background_->mutex);
    background_->stopping = true;
    dropped.swap(background_->queue);
  }
  background_->wake.notify_all();
  if (background_->thread.joinable() && background_->thread.get_id() != std::this_thread::get_id())
    background_->thread.join();
  // `dropped` goes here, outside the lock: the jobs settle their functions as not optimized.
}

ModuleHandle Session::addModule(std::unique_ptr<llvm::Module> module,
                                std::unique_ptr<llvm::LLVMContext> context, std::string_view what) {
  return addModule(std::move(module), std::move(context), what, impl_->options.optLevel);
}

ModuleHandle Session::addModule(std::unique_ptr<llvm::Module> module,
                                std::unique_ptr<llvm::LLVMContext> context, std::string_view what,
                                OptLevel level, IrPipeline pipeline,
                                const std::atomic<bool> *cancel) {
  // Owned by locals from here on, declared so that the module always goes before its context:
  // the parameters' own order of destruction is the compiler's choice (clang destroys `context`
  // first), and a module that outlives its context crashes in its destructor. That happened when
  // an exception left this function, as when the session stops during a background compile.
  std::unique_ptr<llvm::LLVMContext> ownedContext = std::move(context);
  std::unique_ptr<llvm::Module> ownedModule = std::move(module);
  if (!ownedModule || !ownedContext || &ownedModule->getContext() != ownedContext.get())
    throw std::logic_error("Session::addModule: a module needs its own context");
  const std::string description(what);

  // The compile cache: the module's IR before optimization, with everything else that decides
  // its object (nabla's version, the host, the level, the pipeline), is the key.
  std::string object, key;
  if (impl_->cache) {
    std::string ir;
    llvm::raw_string_ostream os(ir);
    ownedModule->print(os, nullptr);
    os.flush();
    key = ObjectCache::key({NABLA_VERSION, impl_->triple, impl_->cpu, impl_->features,
                            std::to_string(static_cast<int>(level)),
                            std::to_string(static_cast<int>(pipeline)), ir});
    if (std::optional<std::string> hit = impl_->cache->load(key)) {
      object = std::move(*hit);
      ++impl_->cacheHits;
    } else {
      ++impl_->cacheMisses;
    }
  }
  // Optimization and code generation: no lock but the target machine's.
  if (object.empty()) {
    std::unique_ptr<llvm::TargetMachine> tm = impl_->borrow(level);
    try {
      optimizeModule(*ownedModule, *tm, level, pipeline, cancel);
      if (onBackgroundThread && background_->stopRequested)
        throw JitError("the session stopped while " + description + " was being compiled");
      object = emitObject(*ownedModule, *tm, description, cancel);
    } catch (...) {
      impl_->giveBack(level, std::move(tm));
      throw;
    }
    impl_->giveBack(level, std::move(tm));
    if (impl_->cache) impl_->cache->store(key, object);
  }
  ownedModule.reset();
  ownedContext.reset();

  std::lock_guard lock(impl_->jitMutex);
  llvm::orc::LLJIT &jit = *impl_->jit;
  llvm::orc::ResourceTrackerSP tracker = jit.getMainJITDylib().createResourceTracker();
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, description);
  if (llvm::Error err = jit.addObjectFile(tracker, std::move(buffer))) {
    std::string why = message(std::move(err));
    llvm::consumeError(tracker->remove());
    throw JitError("cannot add " + description + " to the JIT: " + why);
  }
  ++impl_->liveModules;
  auto state = std::make_shared<ModuleHandle::State>();
  state->session = impl_;
  state->tracker = std::move(tracker);
  state->what = description;
  return ModuleHandle(std::move(state));
}

std::size_t Session::cacheHits() const { return impl_->cacheHits; }
std::size_t Session::cacheMisses() const { return impl_->cacheMisses; }
const std::string &Session::cacheProblem() const { return impl_->cacheProblem; }

void *Session::lookup(std::string_view name) {
  // Linking happens here, on the first lookup of a module's symbols.
  std::lock_guard lock(impl_->jitMutex);
  llvm::Expected<llvm::orc::ExecutorAddr> addr = impl_->jit->lookup(llvm::StringRef(name));
  if (!addr)
    throw JitError("cannot link or find '" + std::string(name) + "': " + message(addr.takeError()));
  return addr->toPtr<void *>();
}

void Session::runInBackground(std::function<void()> job) {
  {
    std::lock_guard lock(background_->mutex);
    if (background_->stopping) return;
    background_->queue.push_back(std::move(job));
    if (!background_->thread.joinable())
      background_->thread = std::thread([b = background_.get()] { b->loop(); });
  }
  background_->wake.notify_one();
}

bool Session::backgroundStopping() const { return background_->stopRequested; }

void Session::waitForBackground() {
  std::unique_lock lock(background_->mutex);
  background_->idle.wait(lock, [&] {
    return background_->stopping || (background_->queue.empty() && !background_->running);
  });
}

std::string Session::uniqueName(std::string_view base) {
  return std::string(base) + "." + std::to_string(impl_->nextName++);
}

OptLevel Session::optLevel() const { return impl_->options.optLevel; }
const SessionOptions &Session::options() const { return impl_->options; }
bool Session::tiered() const {
  return impl_->options.tiered && impl_->options.optLevel != OptLevel::O0;
}
bool Session::optimizesInBackground() const {
  return tiered() && impl_->options.optimizeInBackground;
}
bool Session::baselineFirstTier() const {
  return tiered() && impl_->options.baseline && codegen::baselineSupported();
}
const VectorTarget &Session::vectorTarget() const { return impl_->vectorTarget; }
bool Session::hasVectorMath(std::string_view name) const {
  for (const std::string &f : impl_->vectorMath)
    if (f == name) return true;
  return false;
}
const std::shared_ptr<Workers> &Session::workers() const { return impl_->workers; }
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
  std::lock_guard lock(state->session->jitMutex);
  if (llvm::Error err = state->tracker->remove())
    throw JitError("cannot remove " + state->what + " from the JIT: " + message(std::move(err)));
  // Every module's symbols have names of their own (Session::uniqueName), which ORC interns and
  // keeps until asked: without this, each compilation whose code is gone leaves its names. The
  // sweep walks every interned name, so it runs once as many modules were removed as are live
  // (at least 64): its cost per module stays constant and what is kept stays bounded.
  state->tracker.reset();
  Session::Impl &session = *state->session;
  --session.liveModules;
  if (++session.removedSinceSweep >= std::max<std::size_t>(64, session.liveModules)) {
    session.jit->getExecutionSession().getSymbolStringPool()->clearDeadEntries();
    session.removedSinceSweep = 0;
  }
}

}  // namespace nabla::jit
