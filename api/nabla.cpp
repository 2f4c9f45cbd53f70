// The C++ embedding API (include/nabla/nabla.hpp): the stages of compiler/pipeline.h and the JIT
// of compiler/jit behind handles that share one immutable compiled program.
#include "nabla/nabla.hpp"

#include "graph/print.h"
#include "jit/compiled_function.h"
#include "pipeline.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <sys/stat.h>
#include <tuple>

namespace nabla {

namespace api {

/// What every handle of one compile() shares: the lowered program, whose graph also holds the
/// derivative nodes (for the derivatives' text). Immutable once compile() returns.
struct Program {
  std::string name;
  LoweredProgram lowered;
};

}  // namespace api

struct detail::Access {
  template <class Handle, class Impl> static Handle make(std::shared_ptr<Impl> impl) {
    Handle h;
    h.impl_ = std::move(impl);
    return h;
  }
};

struct Function::Impl {
  std::string name;
  std::vector<std::string> argNames;
  std::shared_ptr<const api::Program> program;
  Derivatives d;
  jit::CompiledFunction code;
  bool hessian = false;  // asked for (a function of no arguments has an empty one, and no code)
};

struct Objective::Impl {
  std::string name;
  bool maximize = false;
  std::vector<Variable> params, inputs;
  std::size_t paramCount = 0, inputCount = 0;
  std::shared_ptr<const api::Program> program;
  Derivatives d;
  jit::CompiledFunction code;  // arguments: params, then inputs; gradient over the params
  bool hessian = false;
};

struct Module::Impl {
  std::string name;
  std::vector<std::pair<std::string, Function>> functions;  // declaration order
  std::vector<std::pair<std::string, std::string>> arrays;  // functions not compiled: name, shape
  std::optional<Objective> objective;
  std::vector<Error::Diagnostic> warnings;
};

namespace {

// The self-contained text of the derivatives may not exceed this, as for `nabla diff --json`.
constexpr std::uint64_t kMaxTextBytes = std::uint64_t{1} << 27;

/// The process's JIT session, created on first use (a function-local static: thread-safe) and
/// never destroyed, so that code stays valid for hosts that call it from their own static
/// destructors or from threads still running at exit. Each function asks for its own
/// optimization level (jit::FunctionOptions::optLevel).
jit::Session &processSession() {
  static jit::Session *session = [] {
    auto *s = new jit::Session();
    // LLVM's lazily made static state exists after this, so the exit handler below, registered
    // later, runs before that state is destroyed (exit handlers run in reverse order).
    jit::warmUp(*s);
    return s;
  }();
  // Destroyed at exit: stops the background compilation so that none still runs while the
  // process tears LLVM down. The session itself stays, with every function's code.
  static struct StopAtExit {
    ~StopAtExit() { session->stopBackground(); }
  } stopAtExit;
  return *session;
}

jit::OptLevel optLevelOf(int level) {
  switch (level) {
  case 0: return jit::OptLevel::O0;
  case 1: return jit::OptLevel::O1;
  case 3: return jit::OptLevel::O3;
  default: return jit::OptLevel::O2;
  }
}

Error::Severity severityOf(Severity s) {
  switch (s) {
  case Severity::Error: return Error::Severity::Error;
  case Severity::Warning: return Error::Severity::Warning;
  case Severity::Note: return Error::Severity::Note;
  }
  return Error::Severity::Error;
}

/// The sink's diagnostics as data, notes after their message, located as the renderer places them.
std::vector<Error::Diagnostic> structured(const DiagnosticSink &sink) {
  const SourceBuffer &buffer = sink.buffer();
  std::vector<Error::Diagnostic> out;
  auto add = [&](Severity severity, SourceRange range, const std::string &message) {
    Error::Diagnostic d;
    d.severity = severityOf(severity);
    d.file = buffer.name();
    if (range.valid()) std::tie(d.line, d.column) = buffer.lineColumn(range.begin);
    d.message = message;
    out.push_back(std::move(d));
  };
  for (const Diagnostic &d : sink.diagnostics()) {
    add(d.severity, d.range, d.message);
    for (const DiagnosticNote &n : d.notes)
      add(Severity::Note, n.range.valid() || !d.range.valid() ? n.range : d.range, n.message);
  }
  return out;
}

void checkCount(const std::string &fn, const char *what, std::size_t got, std::size_t want) {
  if (got != want)
    throw Error(Error::Kind::Argument, "'" + fn + "' takes " + std::to_string(want) + " " + what +
                                           ", got " + std::to_string(got));
}

template <class Impl>
const Impl &need(const std::shared_ptr<const Impl> &impl, const char *what) {
  if (!impl) throw Error(Error::Kind::Internal, std::string("call of an empty nabla::") + what);
  return *impl;
}

std::vector<std::string> printChecked(const Graph &graph, const std::vector<NodeId> &roots,
                                      const std::string &fn) {
  std::uint64_t total = 0;
  for (std::uint64_t len : printedLengths(graph, roots))
    total = len > UINT64_MAX - total ? UINT64_MAX : total + len;
  if (total > kMaxTextBytes)
    throw Error(Error::Kind::Unavailable,
                "the derivatives of '" + fn + "' are too large to print as self-contained "
                "expressions (" + (total == UINT64_MAX ? std::string("more than 2^64")
                                                       : std::to_string(total)) + " bytes)");
  return printExprs(graph, roots);
}

std::vector<std::size_t> dimsOf(const Shape &shape) {
  return std::vector<std::size_t>(shape.dims.begin(), shape.dims.end());
}

Variable describe(const Graph &graph, const VarGroup &group, std::size_t offset) {
  Variable v;
  v.name = group.name;
  v.shape = dimsOf(group.shape);
  v.offset = offset;
  v.size = group.symbols.size();
  for (SymbolId s : group.symbols) v.elements.push_back(graph.symbolName(s));
  return v;
}

CompileOptions compilerOptions(const Options &options, bool allowBare) {
  if (options.opt_level < 0 || options.opt_level > 3)
    throw Error(Error::Kind::Argument, "optimization level " + std::to_string(options.opt_level) +
                                           " is not one of 0, 1, 2, 3");
  CompileOptions co;
  co.parse.allowBareExpression = allowBare;
  if (options.max_source_bytes) co.parse.limits.maxSourceBytes = options.max_source_bytes;
  if (options.max_nesting) co.parse.limits.maxNesting = options.max_nesting;
  if (options.max_nodes) co.lower.maxNodes = options.max_nodes;
  if (options.max_array) co.lower.maxArrayElements = options.max_array;
  co.simplify = options.simplify;
  co.lower.simplifyDerivatives = options.simplify;
  return co;
}

/// Turns the JIT's exceptions into nabla::Error, saying what was being compiled.
template <class F>
jit::CompiledFunction compileOrThrow(const std::string &what, F &&compile) {
  try {
    return compile();
  } catch (const codegen::CodegenError &e) {
    throw Error(Error::Kind::Internal, "cannot compile " + what + ": " + e.what());
  } catch (const jit::JitError &e) {
    throw Error(Error::Kind::Internal, "cannot compile " + what + ": " + e.what());
  }
}

Module compileBuffer(const SourceBuffer &buffer, bool allowBare, const Options &options);

}  // namespace

// --- Error -------------------------------------------------------------------------------------

Error::Error(Kind kind, const std::string &what, std::vector<Diagnostic> diagnostics)
    : std::runtime_error(what), kind_(kind),
      diagnostics_(std::make_shared<const std::vector<Diagnostic>>(std::move(diagnostics))) {}

const std::vector<Error::Diagnostic> &Error::diagnostics() const noexcept { return *diagnostics_; }

// --- Function ----------------------------------------------------------------------------------

const std::string &Function::name() const { return need(impl_, "Function").name; }
std::size_t Function::arity() const { return need(impl_, "Function").argNames.size(); }
const std::vector<std::string> &Function::arg_names() const {
  return need(impl_, "Function").argNames;
}
bool Function::has_hessian() const { return need(impl_, "Function").hessian; }

double Function::value(std::span<const double> args) const {
  const Impl &f = need(impl_, "Function");
  checkCount(f.name, "arguments", args.size(), f.argNames.size());
  return f.code.valueFn()(args.data());
}

std::pair<double, std::vector<double>> Function::value_and_grad(std::span<const double> args) const {
  std::vector<double> grad(arity());
  double v = value_and_grad(args, grad);
  return {v, std::move(grad)};
}

double Function::value_and_grad(std::span<const double> args, std::span<double> grad) const {
  const Impl &f = need(impl_, "Function");
  checkCount(f.name, "arguments", args.size(), f.argNames.size());
  checkCount(f.name, "gradient entries", grad.size(), f.argNames.size());
  return f.code.valueAndGradFn()(args.data(), grad.data());
}

std::vector<double> Function::hessian(std::span<const double> args) const {
  std::vector<double> hess(arity() * arity());
  hessian(args, hess);
  return hess;
}

void Function::hessian(std::span<const double> args, std::span<double> hess) const {
  const Impl &f = need(impl_, "Function");
  if (!f.hessian)
    throw Error(Error::Kind::Unavailable,
                "'" + f.name + "' was compiled without its Hessian (Options::hessian is off)");
  const std::size_t n = f.argNames.size();
  checkCount(f.name, "arguments", args.size(), n);
  checkCount(f.name, "Hessian entries", hess.size(), n * n);
  if (n > 0) f.code.hessianFn()(args.data(), hess.data());
}

std::string Function::text() const {
  const Impl &f = need(impl_, "Function");
  return printChecked(f.program->lowered.graph, {f.d.value}, f.name).front();
}

std::vector<std::string> Function::gradient_text() const {
  const Impl &f = need(impl_, "Function");
  return printChecked(f.program->lowered.graph, f.d.grad, f.name);
}

std::vector<std::vector<std::string>> Function::hessian_text() const {
  const Impl &f = need(impl_, "Function");
  if (!f.hessian)
    throw Error(Error::Kind::Unavailable,
                "'" + f.name + "' was compiled without its Hessian (Options::hessian is off)");
  std::vector<NodeId> roots;
  for (const auto &row : f.d.hessian) roots.insert(roots.end(), row.begin(), row.end());
  std::vector<std::string> flat = printChecked(f.program->lowered.graph, roots, f.name);
  const std::size_t n = f.argNames.size();
  std::vector<std::vector<std::string>> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i].assign(flat.begin() + static_cast<std::ptrdiff_t>(i * n),
                  flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * n));
  return out;
}

// --- Objective ---------------------------------------------------------------------------------

const std::string &Objective::name() const { return need(impl_, "Objective").name; }
bool Objective::maximize() const { return need(impl_, "Objective").maximize; }
const std::vector<Variable> &Objective::params() const { return need(impl_, "Objective").params; }
const std::vector<Variable> &Objective::inputs() const { return need(impl_, "Objective").inputs; }
std::size_t Objective::param_count() const { return need(impl_, "Objective").paramCount; }
std::size_t Objective::input_count() const { return need(impl_, "Objective").inputCount; }
bool Objective::has_hessian() const { return need(impl_, "Objective").hessian; }

namespace {
/// The one-row argument vector: params, then inputs, each checked against the objective.
std::vector<double> rowArguments(const Objective::Impl &o, std::span<const double> params,
                                 std::span<const double> inputs) {
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "inputs", inputs.size(), o.inputCount);
  std::vector<double> args(params.begin(), params.end());
  args.insert(args.end(), inputs.begin(), inputs.end());
  return args;
}
}  // namespace

double Objective::value(std::span<const double> params, std::span<const double> inputs) const {
  const Impl &o = need(impl_, "Objective");
  return o.code.valueFn()(rowArguments(o, params, inputs).data());
}

std::pair<double, std::vector<double>> Objective::value_and_grad(
    std::span<const double> params, std::span<const double> inputs) const {
  std::vector<double> grad(param_count());
  double v = value_and_grad(params, inputs, grad);
  return {v, std::move(grad)};
}

double Objective::value_and_grad(std::span<const double> params, std::span<const double> inputs,
                                 std::span<double> grad) const {
  const Impl &o = need(impl_, "Objective");
  std::vector<double> args = rowArguments(o, params, inputs);
  checkCount(o.name, "gradient entries", grad.size(), o.paramCount);
  return o.code.valueAndGradFn()(args.data(), grad.data());
}

std::vector<double> Objective::hessian(std::span<const double> params,
                                       std::span<const double> inputs) const {
  const Impl &o = need(impl_, "Objective");
  if (!o.hessian)
    throw Error(Error::Kind::Unavailable,
                "'" + o.name + "' was compiled without its Hessian (Options::hessian is off)");
  std::vector<double> args = rowArguments(o, params, inputs);
  std::vector<double> hess(o.paramCount * o.paramCount);
  if (!hess.empty()) o.code.hessianFn()(args.data(), hess.data());
  return hess;
}

double Objective::batch(std::span<const double> params, std::size_t n,
                        std::span<const double *const> columns, std::span<double> grad) const {
  const Impl &o = need(impl_, "Objective");
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "input columns", columns.size(), o.inputCount);
  checkCount(o.name, "gradient entries", grad.size(), o.paramCount);
  if (n == 0) throw Error(Error::Kind::Argument, "a batch of '" + o.name + "' needs at least one row");
  for (std::size_t k = 0; k < columns.size(); ++k)
    if (!columns[k])
      throw Error(Error::Kind::Argument, "input column " + std::to_string(k) + " of a batch of '" +
                                             o.name + "' is a null pointer");
  // The batched kernel (vectorized across rows, over the session's threads), or row by row until
  // the optimized tier with the kernel is in.
  return o.code.batchMean(params, n, columns, grad);
}

// --- Module ------------------------------------------------------------------------------------

namespace {
const Module::Impl &emptyModule() {
  static const Module::Impl empty;  // immutable: what a default-constructed Module shows
  return empty;
}
}  // namespace

const std::string &Module::name() const { return (impl_ ? *impl_ : emptyModule()).name; }

std::vector<std::string> Module::functions() const {
  std::vector<std::string> names;
  if (impl_)
    for (const auto &[name, fn] : impl_->functions) names.push_back(name);
  return names;
}

bool Module::has_function(std::string_view name) const {
  if (!impl_) return false;
  return std::any_of(impl_->functions.begin(), impl_->functions.end(),
                     [&](const auto &entry) { return entry.first == name; });
}

Function Module::function(std::string_view name) const {
  const Impl &m = impl_ ? *impl_ : emptyModule();
  for (const auto &[fnName, fn] : m.functions)
    if (fnName == name) return fn;
  const std::string quoted = "'" + std::string(name) + "'";
  for (const auto &[fnName, shape] : m.arrays)
    if (fnName == name)
      throw Error(Error::Kind::NotFound, quoted + " has a value of shape " + shape +
                                             ": only scalar functions are compiled");
  std::string message = "no function " + quoted + " in " + (m.name.empty() ? "the module" : "'" + m.name + "'");
  std::vector<std::string> names = functions();
  if (names.empty()) {
    message += " (it has no scalar functions)";
  } else {
    std::string close = closestName(name, names);
    if (!close.empty()) {
      message += " (did you mean '" + close + "'?)";
    } else {
      std::string list;
      for (const std::string &n : names) list += (list.empty() ? "" : ", ") + n;
      message += " (there are: " + list + ")";
    }
  }
  throw Error(Error::Kind::NotFound, message);
}

bool Module::has_objective() const { return impl_ && impl_->objective.has_value(); }

Objective Module::objective() const {
  if (!has_objective())
    throw Error(Error::Kind::NotFound,
                "'" + name() + "' has no objective (a `minimize` or `maximize` statement)");
  return *impl_->objective;
}

const std::vector<Error::Diagnostic> &Module::warnings() const {
  return (impl_ ? *impl_ : emptyModule()).warnings;
}

// --- compile -----------------------------------------------------------------------------------

namespace {

Module compileBuffer(const SourceBuffer &buffer, bool allowBare, const Options &options) {
  const CompileOptions co = compilerOptions(options, allowBare);
  jit::FunctionOptions codeOptions;
  codeOptions.fastMath = options.fast_math;
  codeOptions.optLevel = optLevelOf(options.opt_level);
  jit::Session *sessionPtr = nullptr;
  try {
    sessionPtr = &processSession();
  } catch (const jit::JitError &e) {
    throw Error(Error::Kind::Internal, std::string("cannot start the JIT: ") + e.what());
  }
  jit::Session &session = *sessionPtr;

  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> lowered = compileSource(buffer, sink, co);
  if (!lowered || sink.hasErrors()) {
    std::string rendered = renderDiagnostics(sink);
    if (rendered.empty()) rendered = "'" + buffer.name() + "' could not be compiled\n";
    throw Error(Error::Kind::Compile, rendered, structured(sink));
  }

  auto program = std::make_shared<api::Program>();
  program->name = buffer.name();
  program->lowered = std::move(*lowered);
  LoweredProgram &p = program->lowered;
  Graph &graph = p.graph;

  auto module = std::make_shared<Module::Impl>();
  module->name = buffer.name();
  for (const Error::Diagnostic &d : structured(sink)) module->warnings.push_back(d);

  // A limit that differentiation reaches (the Hessian of many variables) is an error of the text.
  auto limitError = [&](const std::string &what, const LimitError &e) {
    Error::Diagnostic d;
    d.file = buffer.name();
    d.message = what + ": " + e.what() + "; Options::hessian off leaves the Hessians out";
    return Error(Error::Kind::Compile, buffer.name() + ": error: " + d.message + "\n", {d});
  };

  // Functions first (the bare expression is the one function `f`), each over its arguments.
  std::vector<std::pair<const FunctionEntry *, std::string>> entries;
  if (p.bare) entries.emplace_back(&*p.bare, "f");
  for (const FunctionEntry &fn : p.functions) entries.emplace_back(&fn, fn.name);
  std::vector<std::shared_ptr<Function::Impl>> functions;
  std::vector<std::vector<SymbolId>> functionArgs;
  for (const auto &[entry, name] : entries) {
    if (!entry->result.shape.isScalar() || entry->result.elems.size() != 1) {
      module->arrays.emplace_back(name, toString(entry->result.shape));
      continue;
    }
    auto f = std::make_shared<Function::Impl>();
    f->name = name;
    std::vector<NodeId> vars;
    std::vector<SymbolId> args;
    for (const VarGroup &g : entry->args) {
      vars.insert(vars.end(), g.nodes.begin(), g.nodes.end());
      args.insert(args.end(), g.symbols.begin(), g.symbols.end());
    }
    for (SymbolId s : args) f->argNames.push_back(graph.symbolName(s));
    try {
      f->d = differentiate(graph, entry->result.elems[0], vars, options.hessian, co);
    } catch (const LimitError &e) {
      throw limitError("function '" + name + "'", e);
    }
    f->hessian = options.hessian;
    functions.push_back(f);
    functionArgs.push_back(std::move(args));
  }

  // The objective: differentiated over the params only; the inputs are extra arguments.
  std::shared_ptr<Objective::Impl> objective;
  std::vector<SymbolId> objectiveArgs;
  if (p.objective) {
    objective = std::make_shared<Objective::Impl>();
    for (const char *candidate : {"L", "loss", "objective", "minimize"}) {
      bool taken = std::any_of(p.functions.begin(), p.functions.end(),
                               [&](const FunctionEntry &fn) { return fn.name == candidate; });
      if (!taken) {
        objective->name = candidate;
        break;
      }
    }
    objective->maximize = p.objective->maximize;
    std::vector<NodeId> vars;
    for (const ParamDecl &param : p.params) {
      objective->params.push_back(describe(graph, param.vars, objective->paramCount));
      objective->paramCount += param.vars.symbols.size();
      vars.insert(vars.end(), param.vars.nodes.begin(), param.vars.nodes.end());
      objectiveArgs.insert(objectiveArgs.end(), param.vars.symbols.begin(), param.vars.symbols.end());
    }
    for (const InputDecl &input : p.inputs) {
      Variable v = describe(graph, input.vars, objective->inputCount);
      v.columns = input.columns;
      v.column_range = input.columnRange;
      objective->inputs.push_back(std::move(v));
      objective->inputCount += input.vars.symbols.size();
      objectiveArgs.insert(objectiveArgs.end(), input.vars.symbols.begin(), input.vars.symbols.end());
    }
    try {
      objective->d = differentiate(graph, p.objective->expr, vars, options.hessian, co);
    } catch (const LimitError &e) {
      throw limitError("the objective", e);
    }
    objective->hessian = options.hessian;
  }

  // Every derivative is built: the graph is final, and the code is generated from it.
  for (std::size_t i = 0; i < functions.size(); ++i) {
    Function::Impl &f = *functions[i];
    f.code = compileOrThrow("function '" + f.name + "' of '" + buffer.name() + "'", [&] {
      return jit::compileFunction(session, graph, f.name, functionArgs[i], f.d, codeOptions);
    });
    f.program = program;
    module->functions.emplace_back(
        f.name, detail::Access::make<Function>(std::shared_ptr<const Function::Impl>(functions[i])));
  }
  if (objective) {
    jit::FunctionOptions objectiveOptions = codeOptions;
    objectiveOptions.batched = true;
    objective->code = compileOrThrow("the objective of '" + buffer.name() + "'", [&] {
      return jit::compileFunction(session, graph, objective->name, objectiveArgs, objective->d,
                                  objectiveOptions);
    });
    objective->program = program;
    module->objective =
        detail::Access::make<Objective>(std::shared_ptr<const Objective::Impl>(objective));
  }
  return detail::Access::make<Module>(std::shared_ptr<const Module::Impl>(module));
}

}  // namespace

Module compile(std::string_view text, const Options &options) {
  SourceBuffer buffer(options.source_name, std::string(text));
  return compileBuffer(buffer, true, options);
}

Module compile_file(const std::string &path, const Options &options) {
  auto ioError = [&](const std::string &why) {
    Error::Diagnostic d;
    d.file = path;
    d.message = "cannot read '" + path + "': " + why;
    return Error(Error::Kind::Io, d.message, {d});
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw ioError("it is a directory, not a .nabla file");
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    int err = errno;
    throw ioError(std::strerror(err ? err : ENOENT));
  }
  // Reads at most a chunk past the limit: enough to know the file is too large without holding
  // all of a huge one.
  const CompileOptions co = compilerOptions(options, false);
  const std::size_t limit = co.parse.limits.maxSourceBytes;
  std::string text;
  std::vector<char> chunk(1 << 16);
  while (file && text.size() <= limit) {
    file.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(file.gcount()));
  }
  if (file.bad()) throw ioError("read error");
  if (text.size() > limit) {
    Error::Diagnostic d;
    d.file = path;
    d.message = "the file is more than the limit of " + std::to_string(limit) +
                " bytes (raise it with Options::max_source_bytes)";
    throw Error(Error::Kind::Compile, path + ": error: " + d.message + "\n", {d});
  }
  SourceBuffer buffer(path, std::move(text));
  return compileBuffer(buffer, false, options);
}

const char *version() noexcept { return NABLA_VERSION; }

}  // namespace nabla
