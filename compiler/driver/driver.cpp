// The driver's programs: errors, reading sources under limits, loading, entries, variables and
// derivatives. The interpreter and printer are in driver_print.cpp, the JIT and libraries in
// driver_code.cpp.
#include "driver/driver.h"

#include "driver/program_impl.h"

#include "simplify/simplifier.h"
#include "support/input_file.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <unordered_map>
#include <sys/stat.h>
#include <unistd.h>

namespace nabla::driver {

// --- Errors -------------------------------------------------------------------------------------

std::string_view toString(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::Syntax: return "syntax";
  case ErrorKind::Semantic: return "semantic";
  case ErrorKind::Limit: return "limit";
  case ErrorKind::NotFound: return "not found";
  case ErrorKind::Io: return "I/O";
  case ErrorKind::Interrupted: return "interrupted";
  case ErrorKind::Internal: return "internal";
  }
  return "internal";
}

namespace {

std::string renderIn(const SourceBuffer &buffer, const std::vector<Diagnostic> &diagnostics,
                     bool color) {
  DiagnosticSink sink(buffer);
  for (const Diagnostic &d : diagnostics) sink.add(d);
  return renderDiagnostics(sink, color);
}

std::string firstErrorMessage(const std::vector<Diagnostic> &diagnostics) {
  for (const Diagnostic &d : diagnostics)
    if (d.severity == Severity::Error) return d.message;
  return diagnostics.empty() ? std::string() : diagnostics.front().message;
}

}  // namespace

Error::Error(ErrorKind kind, const std::string &message)
    : std::runtime_error(message), kind_(kind),
      diagnostics_(std::make_shared<const std::vector<Diagnostic>>()),
      message_(std::make_shared<const std::string>(message)) {}

Error::Error(ErrorKind kind, std::shared_ptr<const SourceBuffer> buffer,
             std::vector<Diagnostic> diagnostics)
    : std::runtime_error(buffer ? renderIn(*buffer, diagnostics, false)
                                : firstErrorMessage(diagnostics)),
      kind_(kind), buffer_(std::move(buffer)),
      diagnostics_(std::make_shared<const std::vector<Diagnostic>>(std::move(diagnostics))),
      message_(std::make_shared<const std::string>(firstErrorMessage(*diagnostics_))) {}

std::string Error::render(bool color) const {
  if (!buffer_ || diagnostics_->empty()) return *message_;
  return color ? renderIn(*buffer_, *diagnostics_, true) : std::string(what());
}

// --- Sources ------------------------------------------------------------------------------------

namespace {

/// A name or path in a message: quoted, and safe for a terminal (it may come from outside).
std::string quoted(std::string_view s) { return "'" + escapeForTerminal(s) + "'"; }

/// A located error in an empty buffer named like the input: rendered `NAME: error: ...`.
Error tooLarge(const std::string &name, bool isFile, std::size_t limit, std::string_view raiseHint) {
  Diagnostic d;
  d.message = std::string(isFile ? "the file" : "the input") + " is more than the limit of " +
              std::to_string(limit) + " bytes (raise it with " + std::string(raiseHint) + ")";
  d.limit = true;
  return Error(ErrorKind::Limit, std::make_shared<const SourceBuffer>(name, ""), {d});
}

/// Reads at most limit + 1 bytes of `fd`: enough to know the input is too large without holding
/// all of a huge one. False on a read error (errno set).
bool readBounded(int fd, std::size_t limit, std::string &text) {
  std::vector<char> chunk(1 << 16);
  while (text.size() <= limit) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (got == 0) break;
    text.append(chunk.data(), static_cast<std::size_t>(got));
  }
  return true;
}

}  // namespace

Source readFile(const std::string &path, const Limits &limits, std::string_view raiseHint) {
  // support/input_file.h decides what can be read (regular files only) and reads under the cap.
  try {
    InputFile file(path, "a .nabla file", limits.maxSourceBytes, raiseHint);
    return {std::make_shared<const SourceBuffer>(path, file.readAll()), true};
  } catch (const InputError &e) {
    if (e.kind() == InputError::Kind::TooLarge)
      throw tooLarge(path, true, limits.maxSourceBytes, raiseHint);
    throw Error(ErrorKind::Io, e.what());
  }
}

Source readStandardInput(const Limits &limits, bool isFile) {
  std::string text;
  if (!readBounded(STDIN_FILENO, limits.maxSourceBytes, text))
    throw Error(ErrorKind::Io, std::string("cannot read standard input: ") + std::strerror(errno));
  if (text.size() > limits.maxSourceBytes)
    throw tooLarge("<stdin>", false, limits.maxSourceBytes, "--max-source-bytes");
  return {std::make_shared<const SourceBuffer>("<stdin>", std::move(text)), isFile};
}

Source fromText(std::string name, std::string text, bool isFile, const Limits &limits,
                std::string_view raiseHint) {
  if (text.size() > limits.maxSourceBytes)
    throw tooLarge(name, false, limits.maxSourceBytes, raiseHint);
  return {std::make_shared<const SourceBuffer>(std::move(name), std::move(text)), isFile};
}

bool looksLikePath(std::string_view arg) {
  if (arg.empty()) return false;
  for (char c : arg)
    if (std::isspace(static_cast<unsigned char>(c))) return false;
  if (arg[0] == '/' || arg.starts_with("./") || arg.starts_with("../") || arg.starts_with("~/"))
    return true;
  // Only characters of file names, no operators but '/', '-' and '.'.
  for (char c : arg)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '/' || c == '.' ||
          c == '-'))
      return false;
  // `name.ext`: a dot after a letter and before one is no number (`1.5`, `2.e3`) and no
  // expression (nabla has no member access).
  for (std::size_t i = 1; i + 1 < arg.size(); ++i)
    if (arg[i] == '.' && std::isalpha(static_cast<unsigned char>(arg[i + 1])) &&
        (std::isalpha(static_cast<unsigned char>(arg[i - 1])) || arg[i - 1] == '_'))
      return true;
  // `dir/name` where `dir` is a folder: a path, not a division.
  if (std::size_t slash = arg.find('/'); slash != std::string_view::npos && slash > 0) {
    struct stat st {};
    const std::string dir(arg.substr(0, slash));
    return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  return false;
}

Source readArgument(const std::string &arg, ArgumentKind kind, const Limits &limits) {
  if (arg == "-") return readStandardInput(limits, kind == ArgumentKind::File);
  struct stat st {};
  const bool exists = ::stat(arg.c_str(), &st) == 0;
  if (kind == ArgumentKind::File || exists || looksLikePath(arg)) {
    const bool nablaFile = arg.size() > 6 && arg.ends_with(".nabla");
    if (!exists && kind == ArgumentKind::ExpressionOrFile && !nablaFile)
      throw Error(ErrorKind::Io, "no file " + quoted(arg) +
                                     " (an expression with a '/' or a '.' in a name is read as a "
                                     "file name; put spaces around the operator: 'a / b')");
    return readFile(arg, limits);
  }
  return fromText("<expr>", arg, false, limits);
}

// --- Loading ------------------------------------------------------------------------------------

CompileOptions compileOptionsOf(const Options &options, bool allowBare) {
  CompileOptions c;
  c.parse.allowBareExpression = allowBare;
  c.parse.limits.maxSourceBytes = options.limits.maxSourceBytes;
  c.parse.limits.maxNesting = options.limits.maxNesting;
  c.lower.maxNodes = options.limits.maxNodes;
  c.lower.maxArrayElements = options.limits.maxArray;
  c.lower.simplifyDerivatives = options.simplify;
  c.lower.declarationsOnly = options.deferBodies;
  c.simplify = options.simplify;
  c.simplifyOptions.trace = options.traceRewrites;
  c.simplifyOptions.cancel = options.cancel;
  c.cancel = options.cancel;
  return c;
}

namespace {

/// Limit when any error is a limit's, else `otherwise`.
ErrorKind kindOf(const DiagnosticSink &sink, ErrorKind otherwise) {
  for (const Diagnostic &d : sink.diagnostics())
    if (d.severity == Severity::Error && d.limit) return ErrorKind::Limit;
  return otherwise;
}

std::string keyOf(const ast::Stmt &stmt) {
  switch (stmt.kind) {
  case ast::StmtKind::Minimize:
  case ast::StmtKind::Maximize:
  case ast::StmtKind::Bare: return "";
  case ast::StmtKind::Param:
  case ast::StmtKind::Input:
  case ast::StmtKind::Const:
  case ast::StmtKind::Define:
  case ast::StmtKind::Function:
  case ast::StmtKind::Report: return stmt.name.text;
  }
  return "";
}

}  // namespace

std::vector<StatementInfo> parseStatements(const SourceBuffer &buffer, bool allowExpressions,
                                           const Options &options) {
  DiagnosticSink sink(buffer);
  CompileOptions co = compileOptionsOf(options, allowExpressions);
  std::optional<ast::Program> program = parseProgram(buffer, sink, co.parse);
  if (!program || sink.hasErrors())
    throw Error(kindOf(sink, ErrorKind::Syntax), std::make_shared<const SourceBuffer>(buffer),
                sink.diagnostics());
  std::vector<StatementInfo> out;
  for (const ast::Stmt &stmt : program->stmts) {
    StatementInfo info;
    info.kind = stmt.kind;
    info.range = stmt.range;
    info.name = keyOf(stmt);
    if (stmt.kind == ast::StmtKind::Bare) {
      const ast::Expr &body = (*program)[stmt.body];
      if (body.kind == ast::ExprKind::Call) {
        info.callee = body.name;
        for (ast::ExprId a : body.args) info.callArgs.push_back((*program)[a].range);
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Program::Program(Program &&) noexcept = default;
Program &Program::operator=(Program &&) noexcept = default;
Program::~Program() = default;

Program Program::load(const Source &source, const Options &options) {
  return load(source.buffer, source.isFile ? Form::Statements : Form::Expression, options);
}

Program Program::load(std::shared_ptr<const SourceBuffer> buffer, Form form,
                      const Options &options, std::uint32_t expressionBegin) {
  DiagnosticSink sink(*buffer);
  CompileOptions co = compileOptionsOf(options, form != Form::Statements);
  std::optional<ast::Program> ast = parseProgram(*buffer, sink, co.parse);
  if (ast && form == Form::Session) {
    // Exactly one expression, after the statements.
    std::size_t count = 0;
    for (const ast::Stmt &stmt : ast->stmts) {
      if (stmt.range.begin < expressionBegin) {
        if (stmt.kind == ast::StmtKind::Bare)
          sink.error(stmt.range, "expected a statement, not an expression");
        continue;
      }
      if (++count > 1)
        sink.error(stmt.range, "expected one expression");
      else if (stmt.kind != ast::StmtKind::Bare)
        sink.error(stmt.range, "expected an expression, not a statement");
    }
    if (count == 0) sink.error(SourceRange::point(expressionBegin), "expected an expression");
  }
  if (!ast || sink.hasErrors())
    throw Error(kindOf(sink, ErrorKind::Syntax), std::move(buffer), sink.diagnostics());
  co.lower.bareAmongStatements = form == Form::Session;
  // Only statements defer: a bare expression (text that is one) is lowered whole.
  const bool statementsOnly =
      form == Form::Statements ||
      (form == Form::Expression &&
       std::none_of(ast->stmts.begin(), ast->stmts.end(),
                    [](const ast::Stmt &s) { return s.kind == ast::StmtKind::Bare; }));
  co.lower.declarationsOnly = options.deferBodies && statementsOnly;
  std::optional<LoweredProgram> lowered = lowerProgram(*ast, sink, co.lower);
  // The declarations alone failed: the full lowering reports the errors as it always does.
  std::optional<DiagnosticSink> fullSink;
  DiagnosticSink *active = &sink;
  if (co.lower.declarationsOnly && (!lowered || sink.hasErrors())) {
    co.lower.declarationsOnly = false;
    fullSink.emplace(*buffer);
    active = &*fullSink;
    lowered = lowerProgram(*ast, *active, co.lower);
  }
  if (!lowered || active->hasErrors())
    throw Error(kindOf(*active, ErrorKind::Semantic), std::move(buffer), active->diagnostics());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->compile = co;
  impl->buffer = std::move(buffer);
  impl->warnings = active->diagnostics();
  impl->lowered = std::move(*lowered);
  impl->ast = std::make_shared<const ast::Program>(std::move(*ast));
  impl->deferred = co.lower.declarationsOnly;
  return Program(std::move(impl));
}

bool Program::deferred() const { return impl_->deferred; }

bool Program::hasFunctions() const {
  if (!impl_->ast) return !impl_->lowered.functions.empty();
  return std::any_of(impl_->ast->stmts.begin(), impl_->ast->stmts.end(),
                     [](const ast::Stmt &s) { return s.kind == ast::StmtKind::Function; });
}

void Program::complete() {
  if (!impl_->deferred) return;
  DiagnosticSink sink(*impl_->buffer);
  CompileOptions co = impl_->compile;
  co.lower.declarationsOnly = false;
  std::optional<LoweredProgram> lowered = lowerProgram(*impl_->ast, sink, co.lower);
  if (!lowered || sink.hasErrors())
    throw Error(kindOf(sink, ErrorKind::Semantic), impl_->buffer, sink.diagnostics());
  impl_->compile = co;
  impl_->options.deferBodies = false;
  impl_->warnings = sink.diagnostics();
  impl_->lowered = std::move(*lowered);
  impl_->deferred = false;
}

const Options &Program::options() const { return impl_->options; }
const SourceBuffer &Program::source() const { return *impl_->buffer; }
const std::shared_ptr<const SourceBuffer> &Program::sourceBuffer() const { return impl_->buffer; }
const std::vector<Diagnostic> &Program::warnings() const { return impl_->warnings; }
std::string Program::renderWarnings(bool color) const {
  return impl_->warnings.empty() ? std::string() : renderIn(*impl_->buffer, impl_->warnings, color);
}
const LoweredProgram &Program::lowered() const { return impl_->lowered; }
const Graph &Program::graph() const { return impl_->lowered.graph; }

const std::vector<std::string> &builtinNames() { return sema::builtinNames(); }

const std::vector<std::string> &keywords() {
  static const std::vector<std::string> kKeywords = {"param",    "input",    "const", "minimize",
                                                     "maximize", "report",   "from"};
  return kKeywords;
}

// --- Entries ------------------------------------------------------------------------------------

namespace {

bool isScalar(const Value &v) { return v.shape.isScalar() && v.elems.size() == 1; }

void addGroup(Entry &e, const VarGroup &g) {
  e.groups.push_back(&g);
  e.vars.insert(e.vars.end(), g.nodes.begin(), g.nodes.end());
}

std::string joined(const std::vector<std::string> &items) {
  std::string out;
  for (const std::string &item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

std::string Program::objectiveName() const {
  const LoweredProgram &p = impl_->lowered;
  for (const char *name : {"L", "loss", "objective"}) {
    bool taken = std::any_of(p.functions.begin(), p.functions.end(),
                             [&](const FunctionEntry &fn) { return fn.name == name; });
    if (!taken) return name;
  }
  return "minimize";  // a keyword: no function has that name
}

std::vector<Entry> Program::entries() const {
  const LoweredProgram &p = impl_->lowered;
  std::vector<Entry> out;
  if (p.bare) {
    if (isScalar(p.bare->result)) {
      Entry e;
      e.kind = Entry::Kind::Expression;
      e.name = "f";
      e.value = p.bare->result.elems[0];
      e.range = p.bare->range;
      for (const VarGroup &g : p.bare->args) addGroup(e, g);
      out.push_back(std::move(e));
    }
    return out;
  }
  for (const FunctionEntry &fn : p.functions) {
    if (!isScalar(fn.result)) continue;
    Entry e;
    e.name = fn.name;
    e.value = fn.result.elems[0];
    e.range = fn.range;
    for (const VarGroup &g : fn.args) addGroup(e, g);
    out.push_back(std::move(e));
  }
  if (std::optional<Entry> o = objective()) out.push_back(std::move(*o));
  return out;
}

std::optional<Entry> Program::objective() const {
  const LoweredProgram &p = impl_->lowered;
  if (!p.objective) return std::nullopt;
  Entry e;
  e.kind = Entry::Kind::Objective;
  e.name = objectiveName();
  e.value = p.objective->expr;
  e.range = p.objective->range;
  for (const ParamDecl &param : p.params) addGroup(e, param.vars);
  return e;
}

namespace {

VariableInfo describe(const Graph &graph, const VarGroup &group, std::size_t offset) {
  VariableInfo v;
  v.name = group.name;
  v.shape = group.shape;
  v.offset = offset;
  v.elements.reserve(group.shape.size());
  if (group.symbols.empty()) {
    // Declared without symbols (Options::deferBodies): the same names, made from the shape.
    std::vector<std::uint32_t> index(group.shape.dims.size(), 0);
    std::string name;
    for (std::size_t k = 0; k < group.shape.size(); ++k) {
      name = group.name;
      for (auto i : index) {
        char digits[16];
        name += '[';
        name.append(digits, std::to_chars(digits, digits + sizeof digits, i).ptr);
        name += ']';
      }
      v.elements.push_back(name);
      for (std::size_t d = index.size(); d-- > 0;) {
        if (++index[d] < group.shape.dims[d]) break;
        index[d] = 0;
      }
    }
    return v;
  }
  for (SymbolId s : group.symbols) v.elements.push_back(graph.symbolName(s));
  return v;
}

}  // namespace

std::vector<VariableInfo> Program::params() const {
  std::vector<VariableInfo> out;
  std::size_t offset = 0;
  for (const ParamDecl &p : impl_->lowered.params) {
    out.push_back(describe(impl_->lowered.graph, p.vars, offset));
    offset += out.back().size();
  }
  return out;
}

std::vector<VariableInfo> Program::inputs() const {
  std::vector<VariableInfo> out;
  std::size_t offset = 0;
  for (const InputDecl &in : impl_->lowered.inputs) {
    out.push_back(describe(impl_->lowered.graph, in.vars, offset));
    out.back().columns = in.columns;
    out.back().columnRange = in.columnRange;
    offset += out.back().size();
  }
  return out;
}

std::vector<Message> Program::skippedEntries() const {
  const LoweredProgram &p = impl_->lowered;
  std::vector<Message> out;
  if (p.bare) {
    if (!isScalar(p.bare->result))
      out.push_back({Severity::Note, "the expression has shape " + toString(p.bare->result.shape) +
                                         ": only scalar functions are differentiated and compiled"});
    return out;
  }
  for (const FunctionEntry &fn : p.functions)
    if (!isScalar(fn.result))
      out.push_back({Severity::Note, "skipping " + quoted(fn.name) + ": its value has shape " +
                                         toString(fn.result.shape) + ", not scalar"});
  return out;
}

Entry Program::entry(std::string_view name) const {
  const LoweredProgram &p = impl_->lowered;
  std::vector<Entry> all = entries();
  for (Entry &e : all)
    if (e.name == name && !e.isObjective()) return std::move(e);
  for (Entry &e : all)
    if (e.name == name) return std::move(e);
  const std::string shapeReason = ": only scalar functions are differentiated and compiled";
  for (const FunctionEntry &fn : p.functions)
    if (fn.name == name)
      throw Error(ErrorKind::NotFound, quoted(fn.name) + " has a value of shape " +
                                           toString(fn.result.shape) + shapeReason);
  if (p.bare && name == "f")
    throw Error(ErrorKind::NotFound,
                "the expression has shape " + toString(p.bare->result.shape) + shapeReason);
  std::vector<std::string> names;
  for (const Entry &e : all) names.push_back(e.name);
  std::string message = "no function " + quoted(name) + " in " + quoted(source().name());
  if (names.empty()) {
    message += " (it has no scalar function and no objective)";
  } else if (std::string close = closestName(name, names); !close.empty()) {
    message += " (did you mean " + quoted(close) + "?)";
  } else {
    message += " (there are: " + joined(names) + ")";
  }
  throw Error(ErrorKind::NotFound, message);
}

Entry Program::onlyEntry(std::string_view chooseHint) const {
  const LoweredProgram &p = impl_->lowered;
  std::vector<Entry> all = entries();
  if (all.size() == 1) return std::move(all[0]);
  if (all.empty()) {
    if (p.bare)
      throw Error(ErrorKind::NotFound, "the expression has shape " +
                                           toString(p.bare->result.shape) +
                                           ": only scalar functions are differentiated and compiled");
    throw Error(ErrorKind::NotFound,
                quoted(source().name()) + " defines no scalar function and no objective");
  }
  std::vector<std::string> names;
  for (const Entry &e : all) names.push_back(e.name);
  throw Error(ErrorKind::NotFound, quoted(source().name()) + " defines several functions (" +
                                       joined(names) + "): " + std::string(chooseHint));
}

std::vector<SymbolId> Program::arguments(const Entry &entry) const {
  const LoweredProgram &p = impl_->lowered;
  const Graph &graph = p.graph;
  std::vector<SymbolId> args;
  std::set<SymbolId> seen;
  auto add = [&](SymbolId s) {
    if (seen.insert(s).second) args.push_back(s);
  };
  for (NodeId v : entry.vars) add(graph[v].symbol);
  if (entry.isObjective())
    for (const InputDecl &in : p.inputs)
      for (SymbolId s : in.vars.symbols) add(s);
  if (entry.value.valid())
    for (NodeId id : graph.reachable({entry.value}))
      if (graph[id].op == Op::Var) add(graph[id].symbol);
  return args;
}

bool Program::hasVariable(const Entry &entry, std::string_view name) const {
  const Graph &graph = impl_->lowered.graph;
  for (const VarGroup *g : entry.groups) {
    if (g->name == name) return true;
    for (SymbolId s : g->symbols)
      if (graph.symbolName(s) == name) return true;
  }
  if (entry.value.valid())
    for (NodeId id : graph.reachable({entry.value}))
      if (graph[id].op == Op::Var && graph.symbolName(graph[id].symbol) == name) return true;
  return false;
}

// --- Derivatives --------------------------------------------------------------------------------

namespace {

std::string entryWhat(const Entry &entry) {
  switch (entry.kind) {
  case Entry::Kind::Objective: return "the objective";
  case Entry::Kind::Expression: return "the expression";
  case Entry::Kind::Function: return quoted(entry.name);
  }
  return quoted(entry.name);
}

}  // namespace

Variables Program::resolveVariables(const Entry &entry, const std::vector<std::string> &names,
                                    std::string_view option) {
  Graph &graph = impl_->lowered.graph;
  Variables out;
  std::vector<std::string> known;
  for (const VarGroup *g : entry.groups) {
    known.push_back(g->name);
    for (SymbolId s : g->symbols)
      if (graph.symbolName(s) != g->name) known.push_back(graph.symbolName(s));
  }
  // Variables the value uses without being arguments (an objective's inputs).
  std::vector<NodeId> used;
  if (entry.value.valid())
    for (NodeId id : graph.reachable({entry.value}))
      if (graph[id].op == Op::Var) used.push_back(id);

  std::vector<NodeId> nodes;
  for (const std::string &name : names) {
    bool found = false;
    for (const VarGroup *g : entry.groups) {
      if (g->name == name) {
        nodes.insert(nodes.end(), g->nodes.begin(), g->nodes.end());
        found = true;
        break;
      }
      for (std::size_t k = 0; k < g->symbols.size() && !found; ++k)
        if (graph.symbolName(g->symbols[k]) == name) {
          nodes.push_back(g->nodes[k]);
          found = true;
        }
      if (found) break;
    }
    for (std::size_t k = 0; k < used.size() && !found; ++k)
      if (graph.symbolName(graph[used[k]].symbol) == name) {
        nodes.push_back(used[k]);
        found = true;
      }
    if (found) continue;
    // A variable the entry does not use: its derivatives are 0 (as SymPy's and JAX's are). A
    // fresh symbol of that name (the graph's variables of one name are one symbol per program,
    // so a later lookup of the same name finds this one).
    std::string message = quoted(name) + " in " + std::string(option) + " is not a variable of " +
                          entryWhat(entry) + ": its derivatives are 0";
    if (std::string close = closestName(name, known); !close.empty())
      message += " (did you mean " + quoted(close) + "?)";
    if (std::none_of(out.messages.begin(), out.messages.end(),
                     [&](const Message &m) { return m.text == message; }))
      out.messages.push_back({Severity::Warning, message});
    NodeId fresh;
    for (SymbolId s = 0; s < graph.symbolCount() && !fresh.valid(); ++s)
      if (graph.symbolName(s) == name) fresh = graph.variable(s);
    if (!fresh.valid()) fresh = graph.variable(graph.addSymbol(name));
    nodes.push_back(fresh);
  }
  // The same element named twice (`w,w[0]`) would give a repeated row: kept once.
  std::set<std::uint32_t> seen;
  for (NodeId id : nodes) {
    const std::string &name = graph.symbolName(graph[id].symbol);
    if (seen.insert(id.index).second) {
      out.nodes.push_back(id);
      out.names.push_back(name);
      continue;
    }
    const std::string message = quoted(name) + " is named twice in " + std::string(option) +
                                "; it is used once, where it first appears";
    bool said = std::any_of(out.messages.begin(), out.messages.end(),
                            [&](const Message &m) { return m.text == message; });
    if (!said) out.messages.push_back({Severity::Warning, message});
  }
  return out;
}

Derivatives Program::differentiate(const Entry &entry, const std::vector<NodeId> &vars,
                                   bool hessian) {
  try {
    checkCancelled(impl_->compile.cancel);
    return nabla::differentiate(impl_->lowered.graph, entry.value, vars, hessian, impl_->compile);
  } catch (const Cancelled &) {
    throw interruptedError();
  } catch (const LimitError &e) {
    Diagnostic d;
    d.range = entry.range;
    d.message = entryWhat(entry) + ": " + e.what();
    d.limit = true;
    throw Error(ErrorKind::Limit, impl_->buffer, {d});
  } catch (const std::length_error &e) {
    // A stage's own bound on sizes (the graph's node ids): a limit of the input, not a bug.
    Diagnostic d;
    d.range = entry.range;
    d.message = entryWhat(entry) + " is too large: " + e.what();
    d.limit = true;
    throw Error(ErrorKind::Limit, impl_->buffer, {d});
  }
}

Derivatives Program::differentiate(const Entry &entry, bool hessian) {
  return differentiate(entry, entry.vars, hessian);
}

HessianPattern Program::hessianPattern(NodeId value, const std::vector<NodeId> &vars) const {
  return nabla::hessianPattern(impl_->lowered.graph, value, vars);
}

void Program::addSparseHessian(const Entry &entry, const std::vector<NodeId> &vars,
                               Derivatives &d) {
  try {
    checkCancelled(impl_->compile.cancel);
    nabla::addSparseHessian(impl_->lowered.graph, d, vars, impl_->compile);
  } catch (const Cancelled &) {
    throw interruptedError();
  } catch (const LimitError &e) {
    Diagnostic diag;
    diag.range = entry.range;
    diag.message = entryWhat(entry) + ": " + e.what();
    diag.limit = true;
    throw Error(ErrorKind::Limit, impl_->buffer, {diag});
  } catch (const std::length_error &e) {
    Diagnostic diag;
    diag.range = entry.range;
    diag.message = entryWhat(entry) + ": its sparse Hessian is too large: " + e.what();
    diag.limit = true;
    throw Error(ErrorKind::Limit, impl_->buffer, {diag});
  }
  // Products need the Hessian-vector product in the code.
  if (d.sparseProducts && d.hvp.empty()) addHessianVectorProduct(entry, vars, d);
}

void sparseHessianByProducts(const Derivatives &d, const HessianProduct &hvp,
                             std::span<double> values) {
  if (!d.pattern || !d.sparseProducts)
    throw std::logic_error("sparseHessianByProducts: the derivatives have no sparse products");
  ProductScratch scratch;
  nabla::sparseHessianByProducts(d.sparseProducts->colouring, d.sparseProducts->recovery, hvp,
                                 values, scratch);
}

HessianForm chooseHessianForm(std::size_t n, std::size_t nonzeros) {
  if (n <= kDenseHessianSize) return HessianForm::Dense;
  return nonzeros / n > n / 4 ? HessianForm::Dense : HessianForm::Sparse;
}

std::string_view toString(HessianForm form) {
  switch (form) {
  case HessianForm::Dense: return "dense";
  case HessianForm::Sparse: return "sparse";
  }
  return "?";
}

void Program::addHessianVectorProduct(const Entry &entry, const std::vector<NodeId> &vars,
                                      Derivatives &d) {
  Graph &graph = impl_->lowered.graph;
  // One symbol per name, as fresh variables are: the same direction serves every entry.
  std::unordered_map<std::string, SymbolId> existing;
  for (SymbolId s = 0; s < graph.symbolCount(); ++s) existing.emplace(graph.symbolName(s), s);
  std::vector<NodeId> direction;
  direction.reserve(vars.size());
  for (NodeId v : vars) {
    const std::string name = "dir(" + graph.symbolName(graph[v].symbol) + ")";
    auto it = existing.find(name);
    direction.push_back(graph.variable(it != existing.end() ? it->second : graph.addSymbol(name)));
  }
  try {
    checkCancelled(impl_->compile.cancel);
    nabla::addHessianVectorProduct(graph, d, vars, direction, impl_->compile);
  } catch (const Cancelled &) {
    throw interruptedError();
  } catch (const std::length_error &e) {
    Diagnostic diag;
    diag.range = entry.range;
    diag.message = entryWhat(entry) + ": its Hessian-vector product is too large: " + e.what();
    diag.limit = true;
    throw Error(ErrorKind::Limit, impl_->buffer, {diag});
  }
}

Derivatives Program::value(const Entry &entry) {
  Derivatives d;
  d.value = entry.value;
  if (impl_->compile.simplify) d.value = simplify({entry.value}).front();
  return d;
}

std::vector<NodeId> Program::simplify(const std::vector<NodeId> &roots) {
  if (!impl_->compile.simplify) return roots;
  try {
    checkCancelled(impl_->compile.cancel);
    return nabla::simplify(impl_->lowered.graph, roots, impl_->compile.simplifyOptions);
  } catch (const Cancelled &) {
    throw interruptedError();
  }
}

std::size_t Program::nodeCount(const std::vector<NodeId> &roots) const {
  return impl_->lowered.graph.reachable(roots).size();
}

std::vector<const NamedValue *> Program::outputs(const std::vector<std::string> &names) const {
  const LoweredProgram &p = impl_->lowered;
  std::vector<const NamedValue *> out;
  if (names.empty()) {
    for (const NamedValue &d : p.definitions) out.push_back(&d);
    if (out.empty())
      throw Error(ErrorKind::NotFound,
                  quoted(source().name()) + " has no definitions (`name = expr`)");
    return out;
  }
  std::vector<std::string> known;
  for (const NamedValue &d : p.definitions) known.push_back(d.name);
  for (const NamedValue &r : p.reports) known.push_back(r.name);
  for (const std::string &name : names) {
    const NamedValue *found = nullptr;
    for (const NamedValue &d : p.definitions)
      if (d.name == name) found = &d;
    for (const NamedValue &r : p.reports)
      if (r.name == name && !found) found = &r;
    if (!found) {
      std::string message = quoted(name) + " is not a definition or report of " +
                             quoted(source().name());
      if (std::string close = closestName(name, known); !close.empty())
        message += " (did you mean " + quoted(close) + "?)";
      // The whole list too: a user who asks for `class` of a model that calls it `label` gets no
      // suggestion, but sees what there is.
      if (known.empty()) {
        message += "; it has no definitions or reports";
      } else {
        message += "; its definitions and reports are ";
        for (std::size_t k = 0; k < known.size(); ++k)
          message += (k ? ", " : "") + quoted(known[k]);
      }
      throw Error(ErrorKind::NotFound, message);
    }
    out.push_back(found);
  }
  return out;
}

}  // namespace nabla::driver
