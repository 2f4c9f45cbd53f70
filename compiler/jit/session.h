// The JIT: one LLVM ORC (LLJIT) session for the host, holding many compiled modules, each
// removable, and a background thread that recompiles functions at a higher optimization level.
// LLVM stays behind this header (only forward declarations here).
#pragma once

#include "jit/target.h"
#include "jit/workers.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace nabla::jit {

struct SessionOptions {
  /// The level of the code that runs in the end.
  OptLevel optLevel = OptLevel::O2;
  /// Compile new functions at O0 first, which is ready many times sooner, and recompile them at
  /// optLevel on the session's background thread, switching over when that is done (see
  /// compiled_function.h). Off: every compilation is at optLevel, in the calling thread.
  bool tiered = true;
  /// The first tier of a tiered session: nabla's own one-pass x86-64 code generator
  /// (codegen/baseline_x86.h), ready in microseconds per node, where the host is x86-64; else (or
  /// when false) LLVM at O0 with its fast instruction selector.
  bool baseline = true;
  /// Whether a tiered session compiles the optimized tier at all. Off, functions keep their
  /// first code: right for a short-lived process that calls them a few times (`nabla eval`).
  bool optimizeInBackground = true;
  /// Threads of batched kernels, the calling thread included (0: one per hardware thread).
  unsigned threads = 0;
  /// Functions with more tape entries than this (all entry points together) are not optimized
  /// in the background and keep their first code: LLVM's time grows to minutes beyond it.
  std::size_t maxOptimizedEntries = 100000;
  /// The compile cache's folder (jit/object_cache.h): LLVM's objects are kept there and loaded
  /// again for a module whose IR, level and host are the same. Empty (the default): no cache.
  std::string cacheDir;
};

class Session;

/// Owns one added module's code (an ORC ResourceTracker). Destroying the handle or calling remove()
/// frees the code: function pointers looked up from it are invalid afterwards, and its symbol
/// names may be defined again. The handle keeps its session's JIT alive. Move-only.
class ModuleHandle {
public:
  ModuleHandle() = default;
  ModuleHandle(ModuleHandle &&) noexcept = default;
  ModuleHandle &operator=(ModuleHandle &&other) noexcept;
  ModuleHandle(const ModuleHandle &) = delete;
  ModuleHandle &operator=(const ModuleHandle &) = delete;
  ~ModuleHandle();

  /// True while the module is in its session.
  bool loaded() const { return state_ != nullptr; }
  /// What the module was added as (for messages).
  const std::string &description() const;
  /// Removes the module's code from the session; no-op when not loaded. Throws JitError.
  void remove();

private:
  friend class Session;
  struct State;
  explicit ModuleHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

/// Thread-safe: modules may be added, looked up and removed from several threads at once. The
/// expensive part, LLVM's optimization and code generation, runs in the calling thread without a
/// lock (each thread borrows its own target machine); only adding the object to the JIT and
/// linking it are serialized. Compiled functions run without any lock.
class Session {
public:
  /// Sets up LLJIT for the host (its triple, CPU and features), with the C library's math
  /// functions (and glibc's vector math library, when present) resolved from this process.
  /// Throws JitError.
  explicit Session(SessionOptions options = {});
  /// Waits for the background compilation in progress, if any, and drops the queued ones.
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Optimizes `module` (whose context is `context`) at `level`, generates its code and adds it.
  /// `what` names the module in messages ("function 'f'"). Throws JitError (for instance when a
  /// symbol is already defined). Once `cancel` is set, LLVM skips what it can (optimizeModule,
  /// emitObject) and this throws Cancelled, adding nothing.
  [[nodiscard]] ModuleHandle addModule(std::unique_ptr<llvm::Module> module,
                                       std::unique_ptr<llvm::LLVMContext> context,
                                       std::string_view what, OptLevel level,
                                       IrPipeline pipeline = IrPipeline::Default,
                                       const std::atomic<bool> *cancel = nullptr);
  /// The same at the session's optLevel.
  [[nodiscard]] ModuleHandle addModule(std::unique_ptr<llvm::Module> module,
                                       std::unique_ptr<llvm::LLVMContext> context,
                                       std::string_view what);

  /// The address of a function of an added module (linking that module if needed). Throws
  /// JitError when no loaded module defines `name`.
  void *lookup(std::string_view name);

  /// Runs `job` on the session's background thread, after the jobs queued before it. A job must
  /// not throw (the thread stops the process on an escaped exception, like std::thread), and it
  /// must not wait for the background thread.
  void runInBackground(std::function<void()> job);
  /// Blocks until every job queued so far has finished (benchmarks and tests).
  void waitForBackground();
  /// True once stopBackground has begun: a running job checks it between its stages and gives up
  /// (with JitError from addModule), so that stopping waits for one stage at most.
  bool backgroundStopping() const;
  /// Drops the queued jobs, waits for the running one and ends the background thread; later jobs
  /// are dropped at once. The destructor does this too; a session that is never destroyed (a
  /// process-wide one) calls it before the process exits, so that no compilation still runs
  /// while static destructors tear LLVM down. Functions whose optimized tier was dropped keep
  /// their first code.
  void stopBackground();

  /// `base` with a suffix never handed out before by this session (`f.3`): a symbol name that
  /// cannot clash with other modules, with nabla identifiers or with C library functions.
  std::string uniqueName(std::string_view base);

  OptLevel optLevel() const;
  const SessionOptions &options() const;
  bool tiered() const;
  /// Whether the first tier is the baseline code generator (tiered, asked for and supported).
  bool baselineFirstTier() const;
  /// Whether a tiered session compiles the optimized tier.
  bool optimizesInBackground() const;
  /// The vector shape of batched kernels, and whether glibc's vector math library has the vector
  /// variant of a math function (`exp`, `pow`, ...) at that width in this process.
  const VectorTarget &vectorTarget() const;
  bool hasVectorMath(std::string_view name) const;
  /// The threads that batched kernels share.
  const std::shared_ptr<Workers> &workers() const;
  const std::string &targetTriple() const;
  const std::string &cpuName() const;
  /// Modules whose object came from the compile cache, and those compiled with the cache on.
  std::size_t cacheHits() const;
  std::size_t cacheMisses() const;
  /// Why the cache folder is not used (empty when the cache is off or in use).
  const std::string &cacheProblem() const;

private:
  friend class ModuleHandle;
  struct Impl;
  struct Background;
  std::shared_ptr<Impl> impl_;
  std::unique_ptr<Background> background_;
};

}  // namespace nabla::jit
