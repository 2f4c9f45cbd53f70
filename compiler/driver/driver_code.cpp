// The driver's code: the JIT (in-process code), an entry point's IR or assembly, and libraries
// compiled ahead of time.
#include "driver/driver.h"

#include "driver/program_impl.h"

#include "jit/aot.h"
#include "jit/object_cache.h"
#include "jit/session.h"

#include <array>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

namespace nabla::driver {

namespace {

jit::OptLevel optLevelOf(int level) {
  switch (level) {
  case 0: return jit::OptLevel::O0;
  case 1: return jit::OptLevel::O1;
  case 2: return jit::OptLevel::O2;
  case 3: return jit::OptLevel::O3;
  default: break;
  }
  throw Error(ErrorKind::Internal,
              "optimization level " + std::to_string(level) + " is not one of 0, 1, 2, 3");
}

/// A name or path in a message: quoted, and safe for a terminal (it may come from outside).
std::string quoted(std::string_view s) { return "'" + escapeForTerminal(s) + "'"; }

/// Runs `make`, turning the code generator's and LLVM's exceptions into Error(Internal) that say
/// what was being compiled; a size beyond a code generator's (or a container's) into Error(Limit),
/// and a stop asked for by Options::cancel into Error(Interrupted).
template <class Make> auto internalOnFailure(const std::string &what, Make &&make) {
  try {
    return make();
  } catch (const Cancelled &) {
    throw interruptedError();
  } catch (const codegen::CodegenLimitError &e) {
    throw Error(ErrorKind::Limit, what + " is too large to compile: " + e.what());
  } catch (const std::length_error &e) {
    throw Error(ErrorKind::Limit, what + " is too large to compile: " + e.what());
  } catch (const codegen::CodegenError &e) {
    throw Error(ErrorKind::Internal, "cannot compile " + what + ": " + e.what());
  } catch (const jit::JitError &e) {
    throw Error(ErrorKind::Internal, "cannot compile " + what + ": " + e.what());
  }
}

}  // namespace

// --- The JIT ------------------------------------------------------------------------------------

struct Jit::Impl {
  JitOptions options;
  std::unique_ptr<jit::Session> session;
};

Jit::Jit(const JitOptions &options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  jit::SessionOptions s;
  s.optLevel = optLevelOf(options.optLevel);
  s.threads = options.threads;
  s.cacheDir = options.cacheDir ? *options.cacheDir : jit::ObjectCache::folderFromEnvironment();
  switch (options.tier) {
  case JitOptions::Tier::FirstOnly: s.optimizeInBackground = false; break;
  case JitOptions::Tier::Optimized: s.tiered = false; break;
  case JitOptions::Tier::Tiered: break;
  }
  try {
    impl_->session = std::make_unique<jit::Session>(s);
  } catch (const jit::JitError &e) {
    throw Error(ErrorKind::Internal, std::string("cannot start the JIT: ") + e.what());
  }
}

Jit::~Jit() = default;

const JitOptions &Jit::options() const { return impl_->options; }

namespace {

jit::FunctionOptions functionOptions(const JitOptions &jit, const CodeOptions &options) {
  jit::FunctionOptions fo;
  fo.fastMath = jit.fastMath;
  fo.batched = options.batched;
  fo.mapped = options.mapped;
  if (options.optLevel) fo.optLevel = optLevelOf(*options.optLevel);
  return fo;
}

}  // namespace

Code Jit::compile(const Program &program, std::string_view name, std::span<const SymbolId> args,
                  const Derivatives &d, const CodeOptions &options) {
  jit::FunctionOptions fo = functionOptions(impl_->options, options);
  fo.cancel = program.options().cancel;
  return internalOnFailure(quoted(name) + " of " + quoted(program.source().name()), [&] {
    return jit::compileFunction(*impl_->session, program.graph(), name, args, d, fo);
  });
}

Outputs Jit::compileOutputs(const Program &program, std::string_view name,
                            std::span<const SymbolId> args, std::size_t paramCount,
                            std::span<const NodeId> roots, const CodeOptions &options) {
  jit::FunctionOptions fo = functionOptions(impl_->options, options);
  fo.cancel = program.options().cancel;
  return internalOnFailure(quoted(name) + " of " + quoted(program.source().name()), [&] {
    return jit::compileOutputs(*impl_->session, program.graph(), name, args, paramCount, roots, fo);
  });
}

bool Jit::baselineFirstTier() const { return impl_->session->baselineFirstTier(); }
std::size_t Jit::cacheHits() const { return impl_->session->cacheHits(); }
std::size_t Jit::cacheMisses() const { return impl_->session->cacheMisses(); }
const std::string &Jit::cacheProblem() const { return impl_->session->cacheProblem(); }

void Jit::stopBackground() { impl_->session->stopBackground(); }

void Jit::warmUp() {
  internalOnFailure(std::string("the warm-up function"), [&] {
    jit::warmUp(*impl_->session);
    return 0;
  });
}

std::string entryPointCode(Program &program, const Entry &entry, bool grad, bool assembly,
                           int optLevel, bool fastMath) {
  std::vector<SymbolId> args = program.arguments(entry);
  Derivatives d = grad ? program.differentiate(entry, false) : program.value(entry);
  jit::AotOptions options;
  options.optLevel = optLevelOf(optLevel);
  options.emit.fastMath = fastMath;
  options.cancel = program.options().cancel;
  return internalOnFailure(quoted(entry.name), [&] {
    return jit::entryPointCode(program.graph(), entry.name, args, d, grad, assembly, options);
  });
}

// --- Libraries ----------------------------------------------------------------------------------

struct Library::Impl {
  std::string bytes;
  std::vector<Message> messages;
  jit::AotModule module;
  jit::AotOptions options;
  std::string fileName;
};

Library::Library(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Library::Library(Library &&) noexcept = default;
Library &Library::operator=(Library &&) noexcept = default;
Library::~Library() = default;
const std::string &Library::bytes() const { return impl_->bytes; }
const std::vector<Message> &Library::messages() const { return impl_->messages; }
std::string Library::header(const std::string &headerName) const {
  return jit::cHeader(impl_->module, headerName, impl_->fileName, impl_->options);
}

namespace {

std::string baseName(const std::string &path) {
  std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// `seed` for libseed.so, libseed.so.1, seed.o, seed.s or seed.ll.
std::string moduleName(const std::string &fileName) {
  std::string name = baseName(fileName);
  if (std::size_t so = name.find(".so"); so != std::string::npos && so > 0)
    name = name.substr(0, so);
  else if (std::size_t dot = name.rfind('.'); dot != std::string::npos && dot > 0)
    name = name.substr(0, dot);
  if (name.size() > 3 && name.rfind("lib", 0) == 0) name = name.substr(3);
  return name.empty() ? "module" : name;
}

/// The words of $CC (`ccache gcc` is two), or `cc` when it is unset or blank.
jit::LinkOptions linkOptions(const LibraryOptions &options) {
  jit::LinkOptions link;
  if (!options.linker.empty()) {
    link.driver = options.linker;
    link.driverOrigin = options.linkerOrigin;
    return link;
  }
  const char *cc = std::getenv("CC");
  std::vector<std::string> words;
  std::string word;
  for (const char *p = cc ? cc : ""; *p; ++p) {
    if (std::isspace(static_cast<unsigned char>(*p))) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += *p;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  if (!words.empty()) {
    link.driver = std::move(words);
    link.driverOrigin = "$CC";
  }
  return link;
}

std::string sourceText(const SourceBuffer &buffer, SourceRange range) {
  if (!range.valid() || range.end > buffer.text().size()) return {};
  return buffer.text().substr(range.begin, range.end - range.begin);
}

/// The first variable `value` reads that is not in `allowed`, if any.
std::optional<std::string> foreignVariable(const Graph &graph, NodeId value,
                                           const std::set<SymbolId> &allowed) {
  for (NodeId id : graph.reachable({value}))
    if (graph[id].op == Op::Var && !allowed.count(graph[id].symbol))
      return graph.symbolName(graph[id].symbol);
  return std::nullopt;
}

/// Baked params (LibraryOptions::baked): rebuilds a value with every param a constant and every
/// standardized input x as (x - mean) / scale. The graph interns the new nodes beside the old ones
/// (and folds what is constant): the program's own definitions are unchanged.
class ParamBaker {
public:
  ParamBaker(Program &program, const LibraryOptions::BakedParams &baked)
      : graph_(program.impl().lowered.graph) {
    const LoweredProgram &lowered = program.lowered();
    const std::string file = quoted(baked.source);
    if (lowered.params.empty())
      throw Error(ErrorKind::Semantic,
                  quoted(program.source().name()) + " has no params to bake in from " + file +
                      ": give --params only for a model with `param` declarations");
    std::size_t count = 0;
    for (const ParamDecl &p : lowered.params) count += p.vars.symbols.size();
    if (baked.values.size() != count)
      throw Error(ErrorKind::Semantic,
                  file + " gives " + std::to_string(baked.values.size()) + " param values, but " +
                      quoted(program.source().name()) + " has " + std::to_string(count));
    std::size_t k = 0;
    for (const ParamDecl &p : lowered.params)
      for (SymbolId s : p.vars.symbols) replace_[s] = graph_.constant(baked.values[k++]);
    for (const LibraryOptions::BakedParams::Standardized &st : baked.standardize) {
      const InputDecl *input = nullptr;
      for (const InputDecl &in : lowered.inputs)
        if (in.vars.name == st.input) input = &in;
      if (!input)
        throw Error(ErrorKind::Semantic, file + " standardizes " + quoted(st.input) +
                                             ", which is not an input of " +
                                             quoted(program.source().name()));
      const std::size_t n = input->vars.symbols.size();
      if (st.mean.size() != n || st.scale.size() != n)
        throw Error(ErrorKind::Semantic,
                    file + ": the standardization of input " + quoted(st.input) + " has " +
                        std::to_string(st.mean.size()) + " means and " +
                        std::to_string(st.scale.size()) + " stds, but the input has " +
                        std::to_string(n) + " elements");
      // The same two roundings as data::applyScaling: (v - mean) / scale.
      for (std::size_t e = 0; e < n; ++e)
        replace_[input->vars.symbols[e]] = graph_.make(
            Op::Div, graph_.make(Op::Sub, input->vars.nodes[e], graph_.constant(st.mean[e])),
            graph_.constant(st.scale[e]));
    }
  }

  NodeId apply(NodeId root) {
    for (NodeId id : graph_.reachable({root})) {
      if (done_.count(id.index)) continue;
      const Node n = graph_[id];  // a copy: make() may grow the node table
      NodeId out = id;
      if (n.op == Op::Var) {
        if (auto it = replace_.find(n.symbol); it != replace_.end()) out = it->second;
      } else if (n.op != Op::Const) {
        std::array<NodeId, 3> args{};
        bool changed = false;
        for (std::size_t a = 0; a < args.size(); ++a) {
          if (!n.args[a].valid()) continue;
          args[a] = done_.at(n.args[a].index);
          changed |= args[a] != n.args[a];
        }
        if (changed) out = graph_.make(n.op, args[0], args[1], args[2]);
      }
      done_[id.index] = out;
    }
    return done_.at(root.index);
  }

private:
  Graph &graph_;
  std::map<SymbolId, NodeId> replace_;
  std::unordered_map<std::uint32_t, NodeId> done_;  // old node -> its baked form
};

/// The baked params as the header and the module info show them.
jit::AotBaked bakedInfo(const LoweredProgram &lowered, const LibraryOptions::BakedParams &baked) {
  jit::AotBaked info;
  info.source = baked.source;
  for (const ParamDecl &p : lowered.params) info.params.push_back(p.vars);
  info.values = baked.values;
  for (const auto &s : baked.standardize) info.standardize.push_back({s.input, s.mean, s.scale});
  return info;
}

}  // namespace

Library compileLibrary(Program &program, const LibraryOptions &options) {
  // A large objective runs at the array level, as in `nabla fit`: the library calls BLAS and is
  // made in about the time the text takes, where the scalar level unrolls every element. Not
  // where its Hessian is wanted and fits (the array level has none), and not for --emit, which
  // writes LLVM's object alone (the array level's entry points are C).
  std::optional<jit::AotArrayObjective> arrayObjective;
  const bool library = options.emit == LibraryOptions::Emit::SharedLibrary;
  if (options.baked) {
    // The objective is left out (its params are fixed), so the level that computes it does not
    // matter; the definitions and functions are scalar code.
    if (options.level == LibraryOptions::Level::Array)
      throw Error(ErrorKind::Semantic,
                  "--level array chooses the level of the objective, and a library with baked "
                  "params has none: leave out --level or --params");
  } else if (options.level == LibraryOptions::Level::Array) {
    std::string why = !library ? "--emit writes LLVM's object alone, and the array level's entry "
                                 "points are C: write the library"
                      : !program.lowered().objective ? "the program has no objective"
                                                     : "";
    if (why.empty()) arrayObjective = arrayLibraryObjective(program, options.hvp, &why);
    if (!arrayObjective) {
      Diagnostic d;
      d.message = "the objective cannot run at the array level: " + why;
      if (program.lowered().objective) d.range = program.lowered().objective->range;
      throw Error(ErrorKind::Semantic, program.sourceBuffer(), {d});
    }
  } else if (options.level == LibraryOptions::Level::Auto && library &&
             program.lowered().objective) {
    std::size_t P = 0;
    for (const ParamDecl &p : program.lowered().params) P += p.vars.shape.size();
    if (!options.hessian || P * P > program.options().limits.maxNodes) {
      arrayObjective = arrayLibraryObjective(program, options.hvp, nullptr);
      if (arrayObjective && arrayObjective->unrolled < kArrayLevelSize) arrayObjective.reset();
    }
  }
  // A program loaded with its bodies deferred (`nabla compile`) is lowered to scalars now, unless
  // the array level took its objective and it has no functions.
  if (program.deferred() && (!arrayObjective || program.hasFunctions() || options.baked))
    program.complete();
  std::optional<ParamBaker> baker;
  if (options.baked) baker.emplace(program, *options.baked);

  const LoweredProgram &lowered = program.lowered();
  const Graph &graph = program.graph();
  const SourceBuffer &buffer = program.source();
  auto impl = std::make_unique<Library::Impl>();
  impl->fileName = baseName(options.fileName);
  jit::AotModule &module = impl->module;
  module.graph = &graph;
  module.name = moduleName(options.fileName);
  module.source = buffer.name();
  if (options.baked) module.baked = bakedInfo(lowered, *options.baked);

  for (const FunctionEntry &fn : lowered.functions) {
    if (!fn.result.shape.isScalar() || fn.result.elems.size() != 1) {
      impl->messages.push_back(
          {Severity::Note, "skipping " + quoted(fn.name) + ": its value has shape " +
                               toString(fn.result.shape) +
                               ", and a library exports scalar functions only"});
      continue;
    }
    // With baked params a function that reads a param (`predict(x) = sigmoid(w*x + b)`) becomes
    // a function of its arguments alone.
    const NodeId value = baker ? baker->apply(fn.result.elems[0]) : fn.result.elems[0];
    std::set<SymbolId> allowed;
    for (const VarGroup &g : fn.args) allowed.insert(g.symbols.begin(), g.symbols.end());
    if (std::optional<std::string> other = foreignVariable(graph, value, allowed)) {
      impl->messages.push_back(
          {Severity::Note, "skipping " + quoted(fn.name) + ": it reads " + quoted(*other) +
                               ", which is not one of its arguments, so it cannot be called on "
                               "its own"});
      continue;
    }
    jit::AotFunction f;
    f.name = fn.name;
    f.args = fn.args;
    Entry entry = program.entry(fn.name);
    entry.value = value;
    f.d = program.differentiate(entry, options.hessian);
    if (options.hvp) program.addHessianVectorProduct(entry, entry.vars, f.d);
    f.d.pattern = std::make_shared<HessianPattern>(program.hessianPattern(f.d.value, entry.vars));
    f.definition = sourceText(buffer, fn.range);
    // Diagnostics about the exported name point at the name (the definition starts with it).
    f.range = f.definition.rfind(fn.name, 0) == 0
                  ? SourceRange::of(fn.range.begin,
                                    fn.range.begin + static_cast<std::uint32_t>(fn.name.size()))
                  : fn.range;
    module.functions.push_back(std::move(f));
  }
  // With baked params, each scalar definition is a function of the inputs it reads, whole
  // arrays in declaration order (what `nabla predict` computes per row).
  if (baker)
    for (const NamedValue &def : lowered.definitions) {
      if (!def.value.shape.isScalar() || def.value.elems.size() != 1) {
        impl->messages.push_back(
            {Severity::Note, "skipping " + quoted(def.name) + ": its value has shape " +
                                 toString(def.value.shape) +
                                 ", and a library exports scalar functions only"});
        continue;
      }
      Entry entry;
      entry.kind = Entry::Kind::Function;
      entry.name = def.name;
      entry.value = baker->apply(def.value.elems[0]);
      entry.range = def.range;
      std::set<SymbolId> used;
      for (NodeId id : graph.reachable({entry.value}))
        if (graph[id].op == Op::Var) used.insert(graph[id].symbol);
      jit::AotFunction f;
      f.name = def.name;
      for (const InputDecl &in : lowered.inputs) {
        bool reads = false;
        for (SymbolId s : in.vars.symbols) reads |= used.count(s) > 0;
        if (!reads) continue;
        entry.groups.push_back(&in.vars);
        entry.vars.insert(entry.vars.end(), in.vars.nodes.begin(), in.vars.nodes.end());
        f.args.push_back(in.vars);
      }
      f.d = program.differentiate(entry, options.hessian);
      if (options.hvp) program.addHessianVectorProduct(entry, entry.vars, f.d);
      f.d.pattern = std::make_shared<HessianPattern>(program.hessianPattern(f.d.value, entry.vars));
      f.definition = sourceText(buffer, def.range);
      f.range = f.definition.rfind(def.name, 0) == 0
                    ? SourceRange::of(def.range.begin,
                                      def.range.begin + static_cast<std::uint32_t>(def.name.size()))
                    : def.range;
      module.functions.push_back(std::move(f));
    }
  if (baker && program.objective()) {
    impl->messages.push_back(
        {Severity::Note, "the objective is left out: its params are baked in from " +
                             quoted(options.baked->source) +
                             " (compile without --params for the training entry points)"});
  } else if (std::optional<Entry> objective = program.objective()) {
    jit::AotObjective o;
    o.maximize = lowered.objective->maximize;
    o.params = lowered.params;
    o.inputs = lowered.inputs;
    o.range = lowered.objective->range;
    if (arrayObjective) {
      o.array = std::move(*arrayObjective);
      if (options.hessian)
        impl->messages.push_back(
            {Severity::Note, "the objective runs at the array level (it unrolls to " +
                                 std::to_string(o.array->unrolled) +
                                 (o.array->unrolled == 1 ? " operation" : " operations") +
                                 "): the library has no nabla_objective_hess" +
                                 std::string(options.hvp && !o.array->hvp
                                                 ? " or nabla_objective_hvp"
                                                 : "") +
                                 ", and links BLAS"});
    } else {
      o.d = program.differentiate(*objective, options.hessian);
      if (options.hvp) program.addHessianVectorProduct(*objective, objective->vars, o.d);
      o.d.pattern =
          std::make_shared<HessianPattern>(program.hessianPattern(o.d.value, objective->vars));
    }
    o.definition = sourceText(buffer, o.range);
    module.objective = std::move(o);
  }
  if (module.functions.empty() && !module.objective) {
    Diagnostic d;
    d.message = quoted(buffer.name()) +
                (baker ? " has no scalar definition or function to export with baked params: the "
                         "library would be empty"
                       : " has no scalar function and no objective: the library would be empty");
    for (const Message &m : impl->messages) d.notes.push_back({SourceRange{}, m.text});
    throw Error(ErrorKind::Semantic, program.sourceBuffer(), {d});
  }

  // Names that cannot be C symbols, reported where their functions are defined.
  if (std::vector<jit::AotNameProblem> problems = jit::checkExportedNames(module);
      !problems.empty()) {
    std::vector<Diagnostic> diagnostics;
    for (const jit::AotNameProblem &p : problems) {
      Diagnostic d;
      d.range = p.range;
      d.message = p.message;
      if (!p.otherNote.empty()) d.notes.push_back({p.otherRange, p.otherNote});
      diagnostics.push_back(std::move(d));
    }
    throw Error(ErrorKind::Semantic, program.sourceBuffer(), std::move(diagnostics));
  }

  impl->options.optLevel = optLevelOf(options.optLevel);
  impl->options.emit.fastMath = options.fastMath;
  impl->options.cancel = program.options().cancel;
  const std::string what = quoted(buffer.name());
  try {
    jit::AotEmitKind kind = jit::AotEmitKind::Object;
    if (options.emit == LibraryOptions::Emit::Assembly) kind = jit::AotEmitKind::Assembly;
    if (options.emit == LibraryOptions::Emit::LlvmIr) kind = jit::AotEmitKind::LlvmIr;
    impl->bytes = internalOnFailure(what, [&] { return jit::emitAot(module, impl->options, kind); });
    if (options.emit == LibraryOptions::Emit::SharedLibrary)
      impl->bytes =
          jit::linkSharedLibrary(impl->bytes, impl->fileName, linkOptions(options), &module);
  } catch (const jit::AotError &e) {
    throw Error(ErrorKind::Io, e.what());
  }
  return Library(std::move(impl));
}

}  // namespace nabla::driver
