// The host as an LLVM target: target machines, the IR optimization pipeline, and object or
// assembly emission. Shared by the JIT session and ahead-of-time compilation; LLVM stays behind
// this header (forward declarations only).
#pragma once

#include "graph/cancel.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace llvm {
class Module;
class TargetMachine;
}  // namespace llvm

namespace nabla::jit {

/// LLVM's optimization levels: the new pass manager's default pipeline for the IR and the code
/// generator's level for instruction selection and scheduling. O0 selects instructions with
/// FastISel, which is many times faster than the SelectionDAG of the other levels.
enum class OptLevel : std::uint8_t { O0, O1, O2, O3 };

/// A failure inside LLVM (no host target, a module that does not compile, a missing symbol),
/// with a message that says what was being compiled or looked up.
class JitError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The machine this process runs on, as LLVM names it.
struct HostTarget {
  std::string triple;    // x86_64-pc-linux-gnu
  std::string cpu;       // znver3, skylake-avx512, ...
  std::string features;  // +avx2,+fma,... (every feature the CPU reports)
};

/// Registers LLVM's native target (once per process) and describes the host. Throws JitError.
const HostTarget &hostTarget();

/// How batched kernels are vectorized on the host: rows per vector (the widest double vector the
/// CPU has: 8 with AVX-512, 4 with AVX2, 2 with SSE2 or NEON) and the name prefix of glibc's
/// vector math functions of that width (`_ZGVeN8`, `_ZGVdN4`, `_ZGVbN2`; empty where there are
/// none, and the kernels call the scalar functions lane by lane).
struct VectorTarget {
  unsigned lanes = 2;
  std::string mathPrefix;
};
VectorTarget hostVectorTarget();

/// The math functions (scalar names: `exp`, `pow`, ...) that glibc's vector math library has at
/// `target`'s width in this process, after loading it (libmvec.so.1); empty without it.
std::vector<std::string> hostVectorMath(const VectorTarget &target);

/// A target machine for the host at `level`: position-independent code, small code model (what
/// both the JIT linker and shared libraries take). A target machine is not thread-safe: use one
/// per thread at a time. Throws JitError.
std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(OptLevel level);

/// The IR passes before code generation. Default: the new pass manager's default pipeline for the
/// level. Lean: instcombine, early CSE and CFG simplification only, for very large straight-line
/// functions, where the default pipeline costs as much as code generation and gains little
/// (inlining, loops and vectorization have nothing to work on there).
enum class IrPipeline : std::uint8_t { Default, Lean };

/// Sets the module's data layout and triple from `tm`, then runs the IR pipeline for `level`
/// (O0 runs only what correctness needs, whatever `pipeline` says). Once `cancel` is set, the
/// optional passes still to run are skipped and it throws Cancelled (the module is then fit only
/// to be dropped).
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm, OptLevel level,
                    IrPipeline pipeline = IrPipeline::Default,
                    const std::atomic<bool> *cancel = nullptr);

/// Runs the code generator: an ELF (or the host's) relocatable object, or assembly text.
/// `what` names the module in messages. Throws JitError. Once `cancel` is set, the function under
/// way skips its optional passes, the functions still to come are dropped, and it throws
/// Cancelled; the instruction selection and register allocation of one function cannot be
/// stopped (LLVM has no hook inside them), so the wait is that of one function (a part of a split
/// one: codegen::EmitOptions).
std::string emitObject(llvm::Module &module, llvm::TargetMachine &tm, const std::string &what,
                       const std::atomic<bool> *cancel = nullptr);
std::string emitAssembly(llvm::Module &module, llvm::TargetMachine &tm, const std::string &what,
                         const std::atomic<bool> *cancel = nullptr);

}  // namespace nabla::jit
