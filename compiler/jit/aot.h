// Ahead-of-time compilation: a program's scalar functions and its objective as one LLVM module
// with a plain C ABI, emitted as an object, assembly or IR, or linked into a shared library by
// the system's C compiler driver; the C header that declares it; and the JSON description that
// the library returns from nabla_module_info(). docs/aot.md describes the ABI for users.
//
// For a function f(x, y) of the program:
//   double f(double x, double y);
//   double f_grad(double x, double y, double *grad);   // returns the value; grad[2]
//   void   f_hess(double x, double y, double *hess);   // 2 x 2, row-major
// For the objective, over P params and I inputs (declaration order, arrays flattened row-major):
//   double nabla_objective(const double *params, const double *inputs, double *grad);
//   double nabla_objective_batch(const double *params, size_t n, const double *const *columns,
//                                double *grad);
//   void   nabla_objective_hess(const double *params, const double *inputs, double *hess);
// And always: const char *nabla_module_info(void);
//
// The library needs only the C library and libm at run time. LLVM stays behind this header.
#pragma once

#include "codegen/emit_llvm.h"
#include "codegen/loop_kernel.h"
#include "graph/graph.h"
#include "jit/target.h"
#include "pipeline.h"  // Derivatives (the struct only: nothing of nabla_core is called here)
#include "sema/lowered.h"
#include "source/source.h"

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nabla::jit {

/// A scalar function of the program, exported as NAME, NAME_grad and (with a Hessian) NAME_hess.
struct AotFunction {
  std::string name;
  std::vector<VarGroup> args;  // in order; each flattened row-major
  /// Over the args' nodes in order (grad has one entry per scalar argument); hessian empty or
  /// n x n (empty: no NAME_hess).
  Derivatives d;
  SourceRange range;       // its name where it is defined, for diagnostics
  std::string definition;  // its source text, quoted in the header's comment (may be empty)
};

/// An objective evaluated at the array level (array::librarySource): C source that defines the
/// objective's entry points over BLAS and the array kernels, compiled into the library beside
/// the object, and the loops it calls, which the object defines (hidden: not exported).
struct AotArrayObjective {
  std::string c;
  std::vector<std::pair<std::string, std::string>> includes;  // files `c` includes, by name
  std::vector<std::string> libraries;                         // linker words (`-l:libopenblas.so.0`)
  std::vector<codegen::LoopKernel> kernels;
  std::vector<std::string> kernelNames;
  std::size_t unrolled = 0;  // the operations the scalar level would unroll it to
  bool hvp = false;          // `c` defines nabla_objective_hvp
  /// The Hessian's structural nonzeros over the params, for the description; null where the
  /// pattern's sweep met more pairs than its budget (a nearly dense Hessian, as an MLP's).
  std::shared_ptr<const HessianPattern> pattern;
};

/// The objective: nabla_objective, nabla_objective_batch and (with a Hessian)
/// nabla_objective_hess. Its value is the expression as written, also for `maximize`.
struct AotObjective {
  bool maximize = false;
  std::vector<ParamDecl> params;  // declaration order: what is differentiated
  std::vector<InputDecl> inputs;  // declaration order: one row of data
  Derivatives d;                  // over the params' nodes in order; hessian empty or P x P
  SourceRange range;
  std::string definition;
  /// Set: the objective runs at the array level (`d` is empty, there is no Hessian).
  std::optional<AotArrayObjective> array;

  /// Whether the library has nabla_objective_hvp (at either level).
  bool hasHvp() const { return !d.hvp.empty() || (array && array->hvp); }
};

/// Params baked into the functions as constants (`nabla compile --params`): where they came from,
/// their values, and the inputs that the functions standardize inside. Read by the header's
/// comment and the module info; the functions' graphs already hold the constants.
struct AotBaked {
  std::string source;            // the params file's name
  std::vector<VarGroup> params;  // declaration order
  std::vector<double> values;    // every element of `params`, in order
  struct Standardized {
    std::string input;
    std::vector<double> mean, scale;  // x -> (x - mean) / scale, per element
  };
  std::vector<Standardized> standardize;
};

/// Everything one library holds. Every function and the objective read only their own
/// arguments (params and inputs for the objective).
struct AotModule {
  const Graph *graph = nullptr;
  std::string name;    // the library's base name (`seed` for libseed.so): header guard, macros
  std::string source;  // the input's name, for comments and the module info
  std::vector<AotFunction> functions;
  std::optional<AotObjective> objective;
  std::optional<AotBaked> baked;
};

struct AotOptions {
  OptLevel optLevel = OptLevel::O2;
  /// Parts as the JIT's optimized tier cuts them: none up to 4096 tape entries, then 1024.
  codegen::EmitOptions emit = [] {
    codegen::EmitOptions e;
    e.maxPartSize = 1024;
    e.splitAbove = 4096;
    return e;
  }();
  /// Set: LLVM's work stops (optimizeModule, emitObject) and the call throws Cancelled.
  const std::atomic<bool> *cancel = nullptr;
};

/// A symbol the library would export that cannot be exported: a clash with another exported
/// symbol, a name that a host could resolve to something else than the library (of its C
/// runtime, RuntimeNames, or of its own start-up code), a C or C++ keyword, or a name reserved by
/// C or C++. `range` is the definition of the function concerned.
struct AotNameProblem {
  std::string function;
  SourceRange range;
  std::string message;  // names the symbol and says why
  /// For a clash between two functions: the other one's definition, and a note about it.
  SourceRange otherRange;
  std::string otherNote;
};

/// The names that a host of a library gets from its C runtime, and which part of it defines each
/// ("the C library", "libgcc", ...). A library that exported one of them would take its place in
/// every host that loads it, or the host's calls would reach the runtime's definition instead of
/// the library's. Names that start with '_' are left out: they are reserved anyway.
class RuntimeNames {
public:
  /// The built-in floor, for a machine whose libraries cannot be read: the C library's functions
  /// of C11 and the POSIX functions that run programs, open files and load code; the names of the
  /// static parts that every host links (glibc's libc_nonshared.a in all its versions: `atexit`,
  /// `at_quick_exit`, `pthread_atfork`, `stat`, `mknod`, ...; libgcc.a's); and C99's <math.h>
  /// with its float and long double forms.
  static RuntimeNames builtIn();
  /// The floor and the symbol tables of this machine's runtime, as this process has loaded it:
  /// every version of every defined dynamic symbol of the C library, libm, the dynamic loader,
  /// libgcc_s and libstdc++ (its C names); and libc_nonshared.a beside the C library, where it is
  /// installed. A library that cannot be read leaves the names the loader finds by dlsym.
  static RuntimeNames ofThisMachine();

  /// The part of the runtime that defines `symbol`, or nullptr.
  const char *owner(std::string_view symbol) const;
  std::size_t size() const { return owners_.size(); }

private:
  void add(std::string_view symbol, const char *owner);

  std::unordered_map<std::string, const char *> owners_;
  bool askLoader_ = false;  // also dlsym in the loaded C library and libm
};

/// Every exported symbol of `module`, in order (what the header declares).
std::vector<std::string> exportedSymbols(const AotModule &module);

/// The names of `module` that cannot be exported, one problem per clash, in source order; empty
/// when all can. A function whose value, gradient or Hessian symbol cannot be exported is one
/// problem, located at its name.
std::vector<AotNameProblem> checkExportedNames(
    const AotModule &module, const RuntimeNames &runtime = RuntimeNames::ofThisMachine());

/// Whether `name` can name a parameter in the header's prototypes (not a C or C++ keyword, not
/// reserved by C or C++, not a name of <stddef.h>); the header leaves other parameter names out.
bool isSafeParameterName(const std::string &name);

/// A failure to make a library: the C compiler driver is missing or fails (the message holds
/// its output).
class AotError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

enum class AotEmitKind : std::uint8_t { Object, Assembly, LlvmIr };

/// The module of `module` (its names must pass checkExportedNames), optimized for the host at
/// `options.optLevel`, as an ELF (or the host's) relocatable object, assembly text or textual
/// IR. Same input, same bytes. Throws codegen::CodegenError for inconsistent input and JitError
/// for LLVM failures.
std::string emitAot(const AotModule &module, const AotOptions &options, AotEmitKind kind);

/// How to run the C compiler driver that links the library.
struct LinkOptions {
  /// The driver and its leading arguments (`cc`; the words of $CC). The first is looked up on
  /// PATH unless it holds a '/'.
  std::vector<std::string> driver{"cc"};
  /// Says where the driver came from in messages (`$CC`), or empty for the default.
  std::string driverOrigin;
};

/// Links `object` (from emitAot) into a shared library with soname `soname`, needing only libc
/// and libm (and, for an objective at the array level, the BLAS: `module`'s C source is
/// compiled and linked in), and returns the library's bytes. Works in a private temporary directory that it
/// removes. The soname reaches the linker as one word whatever it holds (commas, a leading '-'
/// or '@'); a soname with a control character is refused. Throws AotError for that, and with
/// the driver's output when linking fails.
std::string linkSharedLibrary(const std::string &object, const std::string &soname,
                              const LinkOptions &options = {}, const AotModule *module = nullptr);

/// The JSON that nabla_module_info() returns (schema in docs/aot.md).
std::string moduleInfoJson(const AotModule &module, const AotOptions &options);

/// The C header declaring the library's entry points, with `headerName` (`seed.h`) in its
/// comment; its include guard and size macros come from `module.name`.
std::string cHeader(const AotModule &module, const std::string &headerName,
                    const std::string &libraryName, const AotOptions &options);

/// One array-ABI entry point of codegen/emit_llvm.h for `d` over `args`, as the JIT compiles it
/// (`double NAME(const double *args)`, or with `withGrad` `double NAME_grad(const double *args,
/// double *grad)`), optimized for the host: its textual IR, or with `assembly` its assembly.
/// Throws codegen::CodegenError for inconsistent input and JitError for LLVM failures.
std::string entryPointCode(const Graph &graph, const std::string &name,
                           std::span<const SymbolId> args, const Derivatives &d, bool withGrad,
                           bool assembly, const AotOptions &options);

}  // namespace nabla::jit
