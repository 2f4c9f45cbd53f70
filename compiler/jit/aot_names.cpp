// The symbols an ahead-of-time library exports, and the names it may not take: a library is
// linked into C and C++ programs next to their C runtime, so an exported name must be a valid,
// unreserved identifier in both languages and must not be a name the host could resolve to
// something else: an untrusted model must not take the place of `exit`, `system` or `atexit` in
// its host, nor a host's call of the model reach the C library's function of that name.
#include "jit/aot.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string_view>

#include <llvm/Object/Archive.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>

// After LLVM's headers: the macros of its <elf.h> (EI_MAG0, STB_LOCAL, ...) would break
// llvm/BinaryFormat/ELF.h.
#include <link.h>

namespace nabla::jit {

namespace {

/// C11 and C++20 keywords (the header is read by both), and the alternative operator spellings.
constexpr std::string_view kKeywords[] = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
    "const", "consteval", "constexpr", "constinit", "const_cast", "continue", "co_await",
    "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
    "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
    "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
    "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "requires", "restrict", "return", "short", "signed", "sizeof", "static",
    "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
    "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
    "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq"};

/// Names the header itself uses from <stddef.h>, and `main`, which a host defines.
constexpr std::string_view kHeaderNames[] = {"size_t", "ptrdiff_t", "NULL", "offsetof",
                                             "max_align_t", "main"};

/// Names that a host program defines itself, from its start-up files (crt1.o) or its linker
/// (`man 3 end`): the host's own definition comes first in the search order, so its calls of a
/// library function of that name would reach its own symbol.
constexpr std::string_view kHostProgramNames[] = {"data_start", "etext", "edata", "end"};

/// Functions of the C library that the library calls: the libm functions of the emitted code,
/// those LLVM may introduce (sincos, exp2, exp10, ldexp; sqrt, floor, fabs without the matching
/// instructions), and malloc, free and the memory functions of large frames and copies.
constexpr std::string_view kNeededByLibrary[] = {
    "exp",   "log",   "sin",    "cos",    "tan",   "asin",  "acos",   "atan",    "sinh",
    "cosh",  "tanh",  "log1p",  "expm1",  "pow",   "atan2", "hypot",  "sqrt",    "floor",
    "fabs",  "sincos", "exp2",  "exp10",  "ldexp", "malloc", "free",  "memcpy",  "memmove",
    "memset"};

/// The rest of C99's <math.h> for double (with kNeededByLibrary, each also with the suffixes `f`
/// and `l`), and glibc's classic extras: an exported `erf` would silently replace libm's in
/// every program that loads the library.
constexpr std::string_view kMathLibrary[] = {
    "acosh", "asinh", "atanh",  "cbrt",      "ceil",   "copysign", "erf",     "erfc",
    "fdim",  "fma",    "fmax",      "fmin",   "fmod",     "frexp",   "ilogb",
    "lgamma", "llrint", "llround", "log10",  "log2",   "logb",     "lrint",   "lround",
    "modf",  "nan",   "nearbyint", "nextafter", "nexttoward", "remainder", "remquo", "rint",
    "round", "scalbln", "scalbn", "tgamma",  "trunc",  "gamma",    "j0",      "j1",
    "jn",    "y0",    "y1",     "yn",        "significand", "drem", "finite", "isinf", "isnan",
    "pow10", "lgamma_r", "matherr", "scalb"};

/// The floor of the C library, for a machine whose libraries cannot be read: C11's library
/// functions and objects (besides <math.h>), the POSIX functions that run programs, signal,
/// open files and map or load code, and everything that glibc's static libc_nonshared.a has
/// defined in any version (atexit, at_quick_exit, pthread_atfork; the stat and mknod families
/// before glibc 2.33), which no shared library shows.
constexpr std::string_view kCLibraryFloor[] = {
    // libc_nonshared.a
    "atexit", "at_quick_exit", "pthread_atfork", "stat", "fstat", "lstat", "fstatat", "mknod",
    "mknodat", "stat64", "fstat64", "lstat64", "fstatat64",
    // <stdlib.h>
    "atof", "atoi", "atol", "atoll", "strtod", "strtof", "strtold", "strtol", "strtoll", "strtoul",
    "strtoull", "rand", "srand", "aligned_alloc", "calloc", "realloc", "abort", "exit",
    "quick_exit", "getenv", "system", "bsearch", "qsort", "abs", "labs", "llabs", "div", "ldiv",
    "lldiv", "mblen", "mbtowc", "wctomb", "mbstowcs", "wcstombs", "setenv", "unsetenv", "putenv",
    "mkstemp", "mkdtemp", "realpath", "posix_memalign",
    // <stdio.h>
    "remove", "rename", "tmpfile", "tmpnam", "fclose", "fflush", "fopen", "freopen", "fdopen",
    "setbuf", "setvbuf", "fprintf", "fscanf", "printf", "scanf", "snprintf", "sprintf", "sscanf",
    "vfprintf", "vfscanf", "vprintf", "vscanf", "vsnprintf", "vsprintf", "vsscanf", "fgetc",
    "fgets", "fputc", "fputs", "getc", "getchar", "gets", "putc", "putchar", "puts", "ungetc",
    "fread", "fwrite", "fgetpos", "fseek", "fsetpos", "ftell", "rewind", "clearerr", "feof",
    "ferror", "perror", "stdin", "stdout", "stderr", "popen", "pclose", "fileno", "getline",
    // <string.h>, <ctype.h>
    "strcpy", "strncpy", "strcat", "strncat", "memcmp", "strcmp", "strcoll", "strncmp", "strxfrm",
    "memchr", "strchr", "strcspn", "strpbrk", "strrchr", "strspn", "strstr", "strtok", "strerror",
    "strlen", "strdup", "strndup", "isalnum", "isalpha", "isblank", "iscntrl", "isdigit",
    "isgraph", "islower", "isprint", "ispunct", "isspace", "isupper", "isxdigit", "tolower",
    "toupper",
    // <signal.h>, <setjmp.h>, <locale.h>, <time.h>, <fenv.h>, <inttypes.h>, <errno.h>
    "signal", "raise", "setjmp", "longjmp", "sigsetjmp", "siglongjmp", "setlocale", "localeconv",
    "clock", "difftime", "mktime", "time", "timespec_get", "asctime", "ctime", "gmtime",
    "localtime", "strftime", "feclearexcept", "fegetexceptflag", "feraiseexcept",
    "fesetexceptflag", "fetestexcept", "fegetround", "fesetround", "fegetenv", "feholdexcept",
    "fesetenv", "feupdateenv", "imaxabs", "imaxdiv", "strtoimax", "strtoumax", "errno",
    // <threads.h>
    "call_once", "cnd_broadcast", "cnd_destroy", "cnd_init", "cnd_signal", "cnd_timedwait",
    "cnd_wait", "mtx_destroy", "mtx_init", "mtx_lock", "mtx_timedlock", "mtx_trylock",
    "mtx_unlock", "thrd_create", "thrd_current", "thrd_detach", "thrd_equal", "thrd_exit",
    "thrd_join", "thrd_sleep", "thrd_yield", "tss_create", "tss_delete", "tss_get", "tss_set",
    // POSIX: processes, signals, files, memory, code, threads
    "fork", "vfork", "execl", "execle", "execlp", "execv", "execve", "execvp", "execvpe",
    "fexecve", "posix_spawn", "posix_spawnp", "wait", "waitpid", "kill", "sigaction",
    "sigprocmask", "getpid", "getppid", "getuid", "geteuid", "setuid", "setgid", "setsid",
    "environ", "open", "openat", "creat", "close", "read", "write", "pread", "pwrite", "lseek",
    "unlink", "unlinkat", "rmdir", "mkdir", "chdir", "chmod", "chown", "dup", "dup2", "pipe",
    "fcntl", "ioctl", "access", "truncate", "ftruncate", "link", "symlink", "readlink", "sync",
    "fsync", "mmap", "munmap", "mprotect", "syscall", "sleep", "usleep", "nanosleep", "alarm",
    "socket", "connect", "bind", "listen", "accept", "send", "recv", "sendto", "recvfrom",
    "select", "poll", "dlopen", "dlsym", "dlclose", "dlerror", "dladdr", "dl_iterate_phdr",
    "pthread_create", "pthread_join", "pthread_exit", "pthread_self", "pthread_kill",
    "pthread_once", "pthread_mutex_lock", "pthread_mutex_unlock"};

/// libgcc.a's names outside the reserved ones (its decimal float helpers); every program that
/// GCC links gets libgcc.a.
constexpr std::string_view kLibgccFloor[] = {"isinfd32", "isinfd64", "isinfd128"};

/// The shared libraries of a C or C++ program's runtime, by the start of their file names, and
/// how messages call each.
struct RuntimeLibrary {
  std::string_view prefix;
  const char *owner;
};
constexpr RuntimeLibrary kRuntimeLibraries[] = {
    {"libc.so", "the C library"},        {"libpthread.so", "the C library"},
    {"libdl.so", "the C library"},       {"librt.so", "the C library"},
    {"libutil.so", "the C library"},     {"ld-musl", "the C library"},
    {"libm.so", "the C math library"},   {"libmvec.so", "the C math library"},
    {"ld-linux", "the dynamic loader"},  {"ld64.so", "the dynamic loader"},
    {"libgcc_s.so", "libgcc"},           {"libstdc++.so", "libstdc++"},
    {"libc++.so", "libc++"},             {"libc++abi.so", "libc++abi"},
    {"libunwind.so", "libunwind"}};

constexpr const char *kCLibrary = "the C library";
constexpr const char *kMath = "the C math library";

/// Whether the C library (or its math library) of this process defines `symbol`: both are
/// loaded already (nabla links them), so RTLD_NOLOAD only looks them up. dlsym sees the default
/// version of each symbol only.
bool definedByCLibrary(const std::string &symbol) {
  for (const char *library : {"libc.so.6", "libm.so.6"}) {
    void *handle = dlopen(library, RTLD_LAZY | RTLD_NOLOAD);
    if (!handle) continue;
    const bool found = dlsym(handle, symbol.c_str()) != nullptr;
    dlclose(handle);
    if (found) return true;
  }
  return false;
}

/// The loaded shared objects of this process that belong to the runtime: path and owner.
std::vector<std::pair<std::string, const char *>> loadedRuntimeLibraries() {
  std::vector<std::pair<std::string, const char *>> found;
  dl_iterate_phdr(
      [](dl_phdr_info *info, std::size_t, void *data) {
        auto &out = *static_cast<std::vector<std::pair<std::string, const char *>> *>(data);
        const std::string_view path = info->dlpi_name ? info->dlpi_name : "";
        const std::string_view file = path.substr(path.find_last_of('/') + 1);
        for (const RuntimeLibrary &library : kRuntimeLibraries)
          if (!path.empty() && file.substr(0, library.prefix.size()) == library.prefix) {
            out.emplace_back(std::string(path), library.owner);
            break;
          }
        return 0;
      },
      &found);
  return found;
}

/// Calls `add` with the name of every defined symbol of the ELF file's dynamic symbol table,
/// all versions (a host linked against an older release may ask for a version that is no
/// longer the default, and an unversioned definition answers it); false when it cannot be read.
template <class Add>
bool readDynamicSymbols(const std::string &path, Add add) {
  auto binary = llvm::object::ObjectFile::createObjectFile(path);
  if (!binary) {
    llvm::consumeError(binary.takeError());
    return false;
  }
  const auto *elf = llvm::dyn_cast<llvm::object::ELFObjectFileBase>(binary->getBinary());
  if (!elf) return false;
  for (const llvm::object::ELFSymbolRef &symbol : elf->getDynamicSymbolIterators()) {
    llvm::Expected<std::uint32_t> flags = symbol.getFlags();
    llvm::Expected<llvm::StringRef> name = symbol.getName();
    using llvm::object::SymbolRef;
    const bool exported =
        flags && (*flags & SymbolRef::SF_Global) && !(*flags & SymbolRef::SF_Undefined);
    if (!flags) llvm::consumeError(flags.takeError());
    if (!name) {
      llvm::consumeError(name.takeError());
      continue;
    }
    if (exported) add(*name);
  }
  return true;
}

/// Calls `add` with every name of the static archive's symbol table (what it defines).
template <class Add>
void readArchiveSymbols(const std::string &path, Add add) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer) return;
  auto archive = llvm::object::Archive::create((*buffer)->getMemBufferRef());
  if (!archive) {
    llvm::consumeError(archive.takeError());
    return;
  }
  for (const llvm::object::Archive::Symbol &symbol : (*archive)->symbols()) add(symbol.getName());
}

/// Where glibc's libc_nonshared.a may be, next to the loaded libc.so.6: its own directory, and
/// the same one under /usr (/lib64/libc.so.6 and /usr/lib64/libc_nonshared.a).
std::vector<std::string> nonsharedCandidates(const std::string &libcPath) {
  std::vector<std::string> out;
  const std::string dir(llvm::sys::path::parent_path(libcPath));
  for (const std::string &d : {dir, dir.rfind("/lib", 0) == 0 ? "/usr" + dir : std::string()}) {
    if (d.empty()) continue;
    llvm::SmallString<256> p(d);
    llvm::sys::path::append(p, "libc_nonshared.a");
    out.emplace_back(p.str());
  }
  return out;
}

template <std::size_t N>
bool listed(const std::string_view (&list)[N], std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

/// Why `symbol` cannot name an exported C function (empty when it can).
std::string whyNotExportable(const std::string &symbol, const RuntimeNames &runtime) {
  const std::string q = "'" + symbol + "'";
  if (listed(kKeywords, symbol)) return q + " is a C or C++ keyword";
  if (!symbol.empty() && symbol[0] == '_')
    return q + " begins with '_', which C reserves for its implementation at file scope";
  if (symbol.find("__") != std::string::npos)
    return q + " contains '__', which C++ reserves for its implementation";
  if (symbol.rfind("NABLA_", 0) == 0)
    return q + " begins with 'NABLA_', which the header's macros use";
  if (listed(kHeaderNames, symbol))
    return q + " is a name the C header or its host program already uses";
  if (listed(kHostProgramNames, symbol))
    return q + " is a name that every host program defines itself, which its calls would reach";
  if (listed(kNeededByLibrary, symbol))
    return q + " is a function of the C library that the compiled code calls";
  if (const char *owner = runtime.owner(symbol))
    return q + " is a name of " + owner + ", which the library would replace in its host";
  return {};
}

/// One exported symbol and what it is, for messages.
struct Exported {
  std::string symbol;
  std::string what;          // "the value of 'f'", "the gradient of 'f'", "the module description"
  std::string function;      // the function it belongs to; empty for the library's own symbols
  SourceRange range;
};

std::vector<Exported> exported(const AotModule &module) {
  std::vector<Exported> out;
  for (const AotFunction &f : module.functions) {
    const std::string q = "'" + f.name + "'";
    out.push_back({f.name, "the value of " + q, f.name, f.range});
    out.push_back({f.name + "_grad", "the gradient of " + q, f.name, f.range});
    if (!f.d.hessian.empty())
      out.push_back({f.name + "_hess", "the Hessian of " + q, f.name, f.range});
    if (!f.d.hvp.empty())
      out.push_back({f.name + "_hvp", "the Hessian-vector product of " + q, f.name, f.range});
    out.push_back({f.name + "_batch", "the values of " + q + " over many points", f.name, f.range});
    out.push_back({f.name + "_grad_batch", "the gradients of " + q + " over many points", f.name, f.range});
    if (!f.d.hessian.empty())
      out.push_back({f.name + "_hess_batch", "the Hessians of " + q + " over many points", f.name, f.range});
  }
  if (module.objective) {
    const SourceRange r = module.objective->range;
    out.push_back({"nabla_objective", "the objective", "", r});
    out.push_back({"nabla_objective_batch", "the batched objective", "", r});
    out.push_back({"nabla_objective_batch_sums", "the batched objective's sums", "", r});
    if (!module.objective->d.hessian.empty())
      out.push_back({"nabla_objective_hess", "the objective's Hessian", "", r});
    if (module.objective->hasHvp())
      out.push_back({"nabla_objective_hvp", "the objective's Hessian-vector product", "", r});
  }
  out.push_back({"nabla_module_info", "the module description", "", {}});
  return out;
}

}  // namespace

RuntimeNames RuntimeNames::builtIn() {
  RuntimeNames names;
  for (std::string_view name : kCLibraryFloor) names.add(name, kCLibrary);
  auto addMath = [&](std::string_view name) {
    for (const char *suffix : {"", "f", "l"}) names.add(std::string(name) + suffix, kMath);
  };
  std::for_each(std::begin(kNeededByLibrary), std::end(kNeededByLibrary), addMath);
  std::for_each(std::begin(kMathLibrary), std::end(kMathLibrary), addMath);
  for (std::string_view name : kLibgccFloor) names.add(name, "libgcc");
  return names;
}

RuntimeNames RuntimeNames::ofThisMachine() {
  RuntimeNames names = builtIn();
  names.askLoader_ = true;
  for (const auto &[path, owner] : loadedRuntimeLibraries()) {
    const char *by = owner;
    readDynamicSymbols(path, [&](llvm::StringRef name) { names.add(name, by); });
    if (llvm::sys::path::filename(path).starts_with("libc.so."))
      for (const std::string &archive : nonsharedCandidates(path))
        if (llvm::sys::fs::exists(archive))
          readArchiveSymbols(archive, [&](llvm::StringRef name) { names.add(name, kCLibrary); });
  }
  return names;
}

void RuntimeNames::add(std::string_view symbol, const char *owner) {
  // Reserved names are refused by their spelling; keeping them out keeps this small.
  if (symbol.empty() || symbol[0] == '_') return;
  owners_.emplace(std::string(symbol), owner);
}

const char *RuntimeNames::owner(std::string_view symbol) const {
  if (auto it = owners_.find(std::string(symbol)); it != owners_.end()) return it->second;
  if (askLoader_ && definedByCLibrary(std::string(symbol))) return kCLibrary;
  return nullptr;
}

bool isSafeParameterName(const std::string &name) {
  if (name.empty() || listed(kKeywords, name) || listed(kHeaderNames, name)) return false;
  if (name.rfind("NABLA_", 0) == 0) return false;
  // C reserves `__x` and `_X` everywhere (a plain `_x` only at file scope), C++ any `__`.
  if (name.find("__") != std::string::npos) return false;
  return !(name[0] == '_' && name.size() > 1 && std::isupper(static_cast<unsigned char>(name[1])));
}

std::vector<std::string> exportedSymbols(const AotModule &module) {
  std::vector<std::string> out;
  for (const Exported &e : exported(module)) out.push_back(e.symbol);
  return out;
}

std::vector<AotNameProblem> checkExportedNames(const AotModule &module,
                                               const RuntimeNames &runtime) {
  std::vector<AotNameProblem> problems;
  std::map<std::string, const Exported *> first;
  std::set<std::string> refused;  // functions with a problem reported already
  const std::vector<Exported> all = exported(module);
  for (const Exported &e : all) {
    // Each symbol of a function (NAME, NAME_grad, NAME_hess, NAME_batch, ...) must be exportable
    // (`g_` gives `g__grad`); one problem per function, at its name. The library's own names are
    // fixed.
    if (!e.function.empty()) {
      if (refused.count(e.function)) continue;
      if (std::string why = whyNotExportable(e.symbol, runtime); !why.empty()) {
        const std::string which = e.symbol == e.function ? "" : "its symbol ";
        problems.push_back(
            {e.function, e.range, "cannot export '" + e.function + "': " + which + why, {}, {}});
        refused.insert(e.function);
        continue;
      }
    }
    auto [it, inserted] = first.emplace(e.symbol, &e);
    if (inserted) continue;
    const Exported &other = *it->second;
    // Report at the function that takes the name, which is the later one unless the earlier
    // symbol is the library's own.
    const Exported &culprit = e.function.empty() ? other : e;
    const Exported &kept = &culprit == &e ? other : e;
    AotNameProblem problem{culprit.function, culprit.range,
                           "'" + e.symbol + "' would be exported twice: as " + kept.what +
                               " and as " + culprit.what,
                           {}, {}};
    if (!kept.function.empty()) {
      problem.otherRange = kept.range;
      problem.otherNote = "'" + kept.function + "' is defined here";
    }
    problems.push_back(std::move(problem));
  }
  // In source order, as the other diagnostics are (the library's own names come last above).
  std::stable_sort(problems.begin(), problems.end(),
                   [](const AotNameProblem &a, const AotNameProblem &b) {
                     return a.range.begin < b.range.begin;
                   });
  return problems;
}

}  // namespace nabla::jit
