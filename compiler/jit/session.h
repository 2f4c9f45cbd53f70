// The JIT: one LLVM ORC (LLJIT) session for the host, holding many compiled modules, each
// removable. LLVM stays behind this header (only forward declarations here).
#pragma once

#include "jit/target.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace nabla::jit {

struct SessionOptions {
  OptLevel optLevel = OptLevel::O2;
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

/// Thread-safe: modules may be added, looked up and removed from several threads (one mutex
/// serializes optimization and compilation). Compiled functions run without any lock.
class Session {
public:
  /// Sets up LLJIT for the host (its triple, CPU and features), with the C library's math
  /// functions resolved from this process. Throws JitError.
  explicit Session(SessionOptions options = {});
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Optimizes `module` (whose context is `context`) with the session's pipeline and adds it.
  /// Code is generated on the first lookup of any of its symbols. `what` names the module in
  /// messages ("function 'f'"). Throws JitError (for instance when a symbol is already defined).
  [[nodiscard]] ModuleHandle addModule(std::unique_ptr<llvm::Module> module,
                                       std::unique_ptr<llvm::LLVMContext> context,
                                       std::string_view what);

  /// The address of a function of an added module, compiling that module if needed. Throws
  /// JitError when no loaded module defines `name` or when its module fails to compile.
  void *lookup(std::string_view name);

  /// `base` with a suffix never handed out before by this session (`f.3`): a symbol name that
  /// cannot clash with other modules, with nabla identifiers or with C library functions.
  std::string uniqueName(std::string_view base);

  OptLevel optLevel() const;
  const std::string &targetTriple() const;
  const std::string &cpuName() const;

private:
  friend class ModuleHandle;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace nabla::jit
