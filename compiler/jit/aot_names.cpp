// The symbols an ahead-of-time library exports, and the names it may not take: a library is
// linked into C and C++ programs next to the C library, so an exported name must be a valid,
// unreserved identifier in both languages and must not replace a function (or any name) of the
// C library: an untrusted model must not take the place of `exit` or `system` in its host.
#include "jit/aot.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>

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

/// Functions of the C library that the library calls: the libm functions of the emitted code,
/// those LLVM may introduce (sincos, exp2, exp10, ldexp; sqrt, floor, fabs without the matching
/// instructions), and malloc, free and the memory functions of large frames and copies.
constexpr std::string_view kNeededByLibrary[] = {
    "exp",   "log",   "sin",    "cos",    "tan",   "asin",  "acos",   "atan",    "sinh",
    "cosh",  "tanh",  "log1p",  "expm1",  "pow",   "atan2", "hypot",  "sqrt",    "floor",
    "fabs",  "sincos", "exp2",  "exp10",  "ldexp", "malloc", "free",  "memcpy",  "memmove",
    "memset"};

/// The rest of C99's <math.h> for double: an exported `erf` would silently replace libm's in
/// every program that loads the library, so these are refused as well.
constexpr std::string_view kMathLibrary[] = {
    "acosh", "asinh", "atanh",  "cbrt",      "ceil",   "copysign", "erf",     "erfc",
    "fdim",  "fma",    "fmax",      "fmin",   "fmod",     "frexp",   "ilogb",
    "lgamma", "llrint", "llround", "log10",  "log2",   "logb",     "lrint",   "lround",
    "modf",  "nan",   "nearbyint", "nextafter", "nexttoward", "remainder", "remquo", "rint",
    "round", "scalbln", "scalbn", "tgamma",  "trunc",  "gamma",    "j0",      "j1",
    "jn",    "y0",    "y1",     "yn",        "significand"};

/// Whether the C library (or its math library) of this process defines `symbol`: a library that
/// exported it would take its place in every host that loads the library, so that a host's call
/// of `exit` or `system` would run the model's arithmetic instead. Both are loaded already
/// (nabla links them), so RTLD_NOLOAD only looks them up.
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

template <std::size_t N>
bool listed(const std::string_view (&list)[N], std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

/// Why `symbol` cannot name an exported C function (empty when it can).
std::string whyNotExportable(const std::string &symbol) {
  const std::string q = "'" + symbol + "'";
  if (listed(kKeywords, symbol)) return q + " is a C or C++ keyword";
  if (!symbol.empty() && symbol[0] == '_')
    return q + " begins with '_', which C reserves for its implementation at file scope";
  if (symbol.rfind("NABLA_", 0) == 0)
    return q + " begins with 'NABLA_', which the header's macros use";
  if (listed(kHeaderNames, symbol))
    return q + " is a name the C header or its host program already uses";
  if (listed(kNeededByLibrary, symbol))
    return q + " is a function of the C library that the compiled code calls";
  if (listed(kMathLibrary, symbol))
    return q + " is a function of the C math library, which the library would replace in its host";
  if (definedByCLibrary(symbol))
    return q + " is a name of the C library, which the library would replace in its host";
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
  }
  if (module.objective) {
    const SourceRange r = module.objective->range;
    out.push_back({"nabla_objective", "the objective", "", r});
    out.push_back({"nabla_objective_batch", "the batched objective", "", r});
    out.push_back({"nabla_objective_batch_sums", "the batched objective's sums", "", r});
    if (!module.objective->d.hessian.empty())
      out.push_back({"nabla_objective_hess", "the objective's Hessian", "", r});
  }
  out.push_back({"nabla_module_info", "the module description", "", {}});
  return out;
}

}  // namespace

bool isSafeParameterName(const std::string &name) {
  if (name.empty() || listed(kKeywords, name) || listed(kHeaderNames, name)) return false;
  if (name.rfind("NABLA_", 0) == 0) return false;
  // C reserves `__x` and `_X` everywhere (a plain `_x` only at file scope).
  return !(name[0] == '_' && name.size() > 1 &&
           (name[1] == '_' || std::isupper(static_cast<unsigned char>(name[1]))));
}

std::vector<std::string> exportedSymbols(const AotModule &module) {
  std::vector<std::string> out;
  for (const Exported &e : exported(module)) out.push_back(e.symbol);
  return out;
}

std::vector<AotNameProblem> checkExportedNames(const AotModule &module) {
  std::vector<AotNameProblem> problems;
  std::map<std::string, const Exported *> first;
  const std::vector<Exported> all = exported(module);
  for (const Exported &e : all) {
    // A function's name decides whether its symbols are valid C names (NAME_grad and NAME_hess
    // are whenever NAME is); the library's own names are fixed and valid.
    if (!e.function.empty() && e.symbol == e.function) {
      if (std::string why = whyNotExportable(e.symbol); !why.empty()) {
        problems.push_back(
            {e.function, e.range, "cannot export '" + e.function + "': " + why, {}, {}});
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
