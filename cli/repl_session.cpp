// The REPL's session: its statements, compiling them (with an expression after them), showing
// diagnostics under the line they were typed on, :load, and what a command's argument names.
#include "repl.h"

#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

namespace nabla::cli::repl {

namespace {

bool isSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool isIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  return std::all_of(s.begin(), s.end(), isNameChar);
}

/// The key under which a statement replaces an earlier one: its name, `minimize` for the
/// objective (a keyword: no name can clash with it).
std::string keyOf(const driver::StatementInfo &info) {
  if (info.kind == ast::StmtKind::Minimize || info.kind == ast::StmtKind::Maximize)
    return "minimize";
  return info.name;
}

/// One diagnostic, or one note of another statement's diagnostic, as it is shown: in the buffer
/// its text was read from.
struct Fragment {
  const SourceBuffer *buffer;
  Diagnostic diagnostic;
};

std::string renderFragments(const std::vector<Fragment> &fragments, bool color) {
  std::string out;
  ExcerptBudget budget;  // one cap on the source shown, as for one file (a :load)
  for (const Fragment &f : fragments) {
    DiagnosticSink sink(*f.buffer);
    sink.add(f.diagnostic);
    out += renderDiagnostics(sink, color, budget);
  }
  return out;
}

/// A copy of the buffer's text with everything outside [begin, end) blanked out (line breaks
/// kept): parsed in its place, a piece of a buffer keeps its offsets, lines and columns.
SourceBuffer maskedBuffer(const SourceBuffer &buffer, std::uint32_t begin, std::uint32_t end) {
  std::string text = buffer.text();
  for (std::size_t i = 0; i < text.size(); ++i)
    if ((i < begin || i >= end) && text[i] != '\n')
      text[i] = ' ';
  return SourceBuffer(buffer.name(), std::move(text), buffer.firstLine());
}

}  // namespace

Origin Origin::sub(std::size_t from, std::size_t to) const {
  std::string_view t = text();
  to = std::min(to, t.size());
  from = std::min(from, to);
  while (from < to && isSpace(t[from]))
    ++from;
  while (to > from && isSpace(t[to - 1]))
    --to;
  Origin o = *this;
  o.begin = begin + static_cast<std::uint32_t>(from);
  o.end = begin + static_cast<std::uint32_t>(to);
  return o;
}

std::shared_ptr<const SourceBuffer> inputBuffer(const std::string &name, unsigned line,
                                                const std::string &text) {
  return std::make_shared<const SourceBuffer>(name, text, line);
}

int openBrackets(std::string_view text, int depth) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n')
        ++i;
      continue;
    }
    if (c == '(' || c == '[')
      ++depth;
    else if ((c == ')' || c == ']') && depth > 0)
      --depth;
  }
  return depth;
}

std::optional<std::size_t> invalidBeforeEnd(const std::string &text,
                                            const driver::Options &options) {
  std::size_t lead = text.find_first_not_of(" \t\r\n");
  if (lead == std::string::npos || text[lead] == ':')
    return std::nullopt;
  // The end of what was typed: past its last character outside comments and spaces.
  std::size_t end = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '#') {
      while (i < text.size() && text[i] != '\n')
        ++i;
    } else if (!isSpace(text[i])) {
      end = i + 1;
    }
  }
  try {
    driver::parseStatements(SourceBuffer("<stdin>", text), true, options);
  } catch (const driver::Error &e) {
    for (const Diagnostic &d : e.diagnostics()) {
      if (d.severity != Severity::Error)
        continue;
      if (!d.range.valid())
        return std::size_t{0};
      if (d.range.begin >= end)
        return std::nullopt;  // at the end: the rest may come
      return std::size_t{d.range.begin};
    }
    return std::size_t{0};  // one sentence (a limit): no later line changes it
  }
  return std::nullopt;
}

Session::Session(Invocation &inv) : inv_(inv) {}
Session::~Session() = default;

void Session::printError(const std::string &message) const { inputError(inv_, message); }
void Session::printNote(const std::string &message) const { note(inv_, message); }

void Session::printLimitNote() const {
  // The limits are options of the command line: they take a new session, which :save and
  // `nabla repl FILE` carry this one into.
  printNote("limits are options of nabla repl: after ':save FILE', 'nabla repl FILE' with the "
            "limit raised goes on with this session");
}

driver::Jit &Session::evalJit() const {
  // Evaluations need code at once and run it a few times: the first tier only.
  if (!evalJit_)
    evalJit_ = std::make_unique<driver::Jit>(driver::JitOptions{driver::JitOptions::Tier::FirstOnly});
  return *evalJit_;
}

driver::Jit &Session::optimizingJit() const {
  // LLVM at O2 in the calling thread: :time waits for it anyway.
  if (!optimizingJit_)
    optimizingJit_ =
        std::make_unique<driver::Jit>(driver::JitOptions{driver::JitOptions::Tier::Optimized});
  return *optimizingJit_;
}

bool Session::handle(const std::shared_ptr<const SourceBuffer> &input) {
  Origin whole;
  whole.buffer = input;
  whole.end = static_cast<std::uint32_t>(input->text().size());
  Origin text = whole.trimmed();
  // Blank lines and comments do nothing.
  bool blank = true;
  for (std::string_view rest = text.text(); !rest.empty() && blank;) {
    std::size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    std::size_t first = line.find_first_not_of(" \t\r");
    blank = first == std::string_view::npos || line[first] == '#';
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
  }
  if (blank)
    return true;
  if (batching_ && text.text()[0] != ':' && deferStatements(text))
    return true;
  finish();  // what was kept comes first
  return handleNow(text);
}

bool Session::handleNow(const Origin &text) {
  try {
    bool ok = text.text()[0] == ':' ? runCommand(text) : handleText(text);
    llvm::outs().flush();
    return ok;
  } catch (const driver::Error &e) {
    // A job's error (a limit, a name not found): one sentence, under the line that asked.
    llvm::outs().flush();
    if (e.kind() == driver::ErrorKind::Interrupted) {
      // Ctrl-C inside a job of the driver (a derivative, LLVM): as between the steps.
      if (interrupt_)
        *interrupt_ = false;
      printError("interrupted");
    } else if (e.kind() == driver::ErrorKind::Internal) {
      printError(e.message() + " (this is a bug in nabla; please report it with the input)");
    } else {
      printError(e.message());
      if (e.kind() == driver::ErrorKind::Limit)
        printLimitNote();
    }
  } catch (const Interrupted &) {
    llvm::outs().flush();
    *interrupt_ = false;
    printError("interrupted");
  } catch (const std::length_error &e) {
    // A stage's own bound on sizes (the graph's node ids): a limit of the input, not a bug.
    llvm::outs().flush();
    printError(std::string("the input is too large: ") + e.what());
    printLimitNote();
  } catch (const std::bad_alloc &) {
    llvm::outs().flush();
    printError("out of memory (the input is too large; lower --max-nodes to stop sooner)");
  } catch (const std::exception &e) {
    llvm::outs().flush();
    printError(std::string("internal error: ") + e.what() +
               " (this is a bug in nabla; please report it with the input)");
  }
  return false;
}

namespace {

/// The names `text` mentions (a superset of those it uses: argument names count too).
void collectNames(std::string_view text, std::set<std::string> &names) {
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n')
        ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < text.size() && (isNameChar(text[i]) || text[i] == '.'))
        ++i;  // a number, its exponent included
    } else if (isNameChar(c)) {
      std::size_t start = i;
      while (i < text.size() && isNameChar(text[i]))
        ++i;
      names.emplace(text.substr(start, i - start));
    } else {
      ++i;
    }
  }
}

}  // namespace

bool Session::deferStatements(const Origin &text) {
  SourceBuffer masked = maskedBuffer(*text.buffer, text.begin, text.end);
  std::vector<driver::StatementInfo> infos;
  try {
    infos = driver::parseStatements(masked, true, inv_.options);
  } catch (const driver::Error &) {
    return false;  // handled now, which reports the errors
  }
  std::set<std::string> keys;
  for (const driver::StatementInfo &info : infos) {
    if (info.kind == ast::StmtKind::Bare)
      return false;
    const std::string key = keyOf(info);
    // A name declared before (it would replace a statement), twice here, or used by a kept
    // statement before its declaration: one by one could say something else.
    if (!keys.insert(key).second || findStatement(key) || deferredKeys_.count(key) ||
        deferredUses_.count(key))
      return false;
  }
  deferredKeys_.insert(keys.begin(), keys.end());
  collectNames(text.text(), deferredUses_);
  deferred_.push_back(text);
  return true;
}

bool Session::finish() {
  if (deferred_.empty())
    return true;
  std::vector<Origin> inputs = std::move(deferred_);
  deferred_.clear();
  deferredUses_.clear();
  deferredKeys_.clear();
  std::vector<Statement> all;
  for (const Origin &input : inputs)
    if (std::optional<std::vector<Statement>> parsed = parseStatements(input, false))
      all.insert(all.end(), parsed->begin(), parsed->end());
  try {
    if (addStatements(all, true))
      return true;
  } catch (const Interrupted &) {
    *interrupt_ = false;
    printError("interrupted");
    deferredFailed_ = true;
    return false;
  } catch (const driver::Error &e) {
    if (e.kind() != driver::ErrorKind::Interrupted)
      throw;
    *interrupt_ = false;
    printError("interrupted");
    deferredFailed_ = true;
    return false;
  }
  // One by one, as without batching: the same messages, in the same order.
  bool ok = true;
  for (const Origin &input : inputs)
    ok = handleNow(input) && ok;
  deferredFailed_ = deferredFailed_ || !ok;
  return ok;
}

bool Session::handleText(const Origin &text) {
  std::optional<std::vector<Statement>> parsed = parseStatements(text, true);
  if (!parsed)
    return false;
  // Statements are added a run at a time (a run may refer forward within itself); expressions
  // are shown where they stand.
  std::vector<Statement> run;
  for (const Statement &s : *parsed) {
    if (s.kind != ast::StmtKind::Bare) {
      run.push_back(s);
      continue;
    }
    if (!run.empty() && !addStatements(run))
      return false;
    run.clear();
    if (!printExpression(s.origin, false))
      return false;
  }
  return run.empty() || addStatements(run);
}

std::optional<std::vector<Statement>> Session::parseStatements(const Origin &origin,
                                                               bool allowExpressions) const {
  SourceBuffer masked = maskedBuffer(*origin.buffer, origin.begin, origin.end);
  std::vector<driver::StatementInfo> infos;
  try {
    infos = driver::parseStatements(masked, allowExpressions, inv_.options);
  } catch (const driver::Error &e) {
    std::vector<Fragment> fragments;
    for (const Diagnostic &d : e.diagnostics())
      fragments.push_back({origin.buffer.get(), d});
    llvm::errs() << renderFragments(fragments, inv_.color);
    llvm::errs().flush();
    return std::nullopt;
  }
  std::vector<Statement> out;
  for (const driver::StatementInfo &info : infos) {
    Statement s;
    s.origin = origin;
    s.origin.begin = info.range.begin;
    s.origin.end = info.range.end;
    s.kind = info.kind;
    s.key = keyOf(info);
    out.push_back(std::move(s));
  }
  return out;
}

bool Session::addStatements(const std::vector<Statement> &added, bool quiet) {
  std::vector<Statement> candidate = statements_;
  std::vector<bool> fresh(candidate.size(), false);
  std::unordered_map<std::string, std::size_t> index = keyIndex_;
  for (const Statement &s : added) {
    auto [at, isNew] = index.try_emplace(s.key, candidate.size());
    if (!isNew) {
      candidate[at->second] = s;  // in place: :save keeps the order the names were first defined in
      fresh[at->second] = true;
    } else {
      candidate.push_back(s);
      fresh.push_back(true);
    }
  }
  bool brokeOthers = false;
  if (!compile(candidate, fresh, nullptr, &brokeOthers, quiet)) {
    if (brokeOthers && !quiet)
      printNote("the session is unchanged: statements already in it would not compile with this");
    return false;
  }
  statements_ = std::move(candidate);
  keyIndex_ = std::move(index);
  return true;
}

std::unique_ptr<driver::Program> Session::compile(const std::vector<Statement> &statements,
                                                  const std::vector<bool> &fresh,
                                                  const Origin *expression,
                                                  bool *brokeOthers, bool quiet) const {
  // One line (or more) per statement, then the expression.
  struct Span {
    std::uint32_t begin, end;
    const Origin *origin;
    bool fresh;
  };
  std::string text;
  std::vector<Span> spans;
  auto add = [&](const Origin &o, bool isFresh) {
    Span s{static_cast<std::uint32_t>(text.size()), 0, &o, isFresh};
    text += o.text();
    s.end = static_cast<std::uint32_t>(text.size());
    text += '\n';
    spans.push_back(s);
  };
  for (std::size_t i = 0; i < statements.size(); ++i)
    add(statements[i].origin, i < fresh.size() && fresh[i]);
  if (expression)
    add(*expression, true);

  checkInterrupt();
  auto buffer = std::make_shared<const SourceBuffer>("<session>", text);
  std::unique_ptr<driver::Program> out;
  std::vector<Diagnostic> diagnostics;
  try {
    out = std::make_unique<driver::Program>(driver::Program::load(
        buffer, expression ? driver::Program::Form::Session : driver::Program::Form::Statements,
        inv_.options, expression ? spans.back().begin : 0));
    diagnostics = out->warnings();
  } catch (const driver::Error &e) {
    if (!e.buffer()) {
      printError(e.message());
      return nullptr;
    }
    diagnostics = e.diagnostics();
  }
  checkInterrupt();
  if (spans.empty())
    return out;
  if (quiet && !out)
    return nullptr;  // the caller handles the statements another way, which reports

  // Each diagnostic is shown in the text it was typed in; a note about another statement goes
  // with that statement's text.
  auto spanOf = [&](SourceRange r) -> const Span & {
    for (const Span &s : spans)
      if (r.valid() && r.begin <= s.end)
        return s;
    return spans.back();
  };
  auto translate = [](const Span &s, SourceRange r) {
    if (!r.valid())
      return r;
    auto map = [&](std::uint32_t o) {
      std::uint32_t rel = std::min(o < s.begin ? 0 : o - s.begin, s.end - s.begin);
      return s.origin->begin + rel;
    };
    return SourceRange::of(map(r.begin), map(std::max(r.end, r.begin)));
  };
  std::vector<Fragment> fragments;
  bool anyError = false;
  for (const Diagnostic &d : diagnostics) {
    anyError = anyError || d.severity == Severity::Error;
    const Span &span = spanOf(d.range);
    if (d.severity == Severity::Error && !span.fresh && brokeOthers)
      *brokeOthers = true;
    if (d.severity != Severity::Error && !span.fresh)
      continue;  // a warning the session had before: shown when its statement was typed
    Fragment f{span.origin->buffer.get(), d};
    f.diagnostic.range = translate(span, d.range);
    f.diagnostic.notes.clear();
    std::vector<Fragment> elsewhere;
    for (const DiagnosticNote &n : d.notes) {
      const Span &noteSpan = n.range.valid() ? spanOf(n.range) : span;
      if (&noteSpan == &span) {
        f.diagnostic.notes.push_back({translate(span, n.range), n.message});
        continue;
      }
      Diagnostic other;
      other.severity = Severity::Note;
      other.range = translate(noteSpan, n.range);
      other.message = n.message;
      elsewhere.push_back({noteSpan.origin->buffer.get(), std::move(other)});
    }
    fragments.push_back(std::move(f));
    fragments.insert(fragments.end(), elsewhere.begin(), elsewhere.end());
  }
  if (!fragments.empty()) {
    llvm::outs().flush();
    llvm::errs() << renderFragments(fragments, inv_.color);
    llvm::errs().flush();
  }
  if (!out && !anyError)
    printError("the session could not be compiled");
  return out;
}

std::unique_ptr<driver::Program> Session::compileSession() const {
  return compile(statements_, {}, nullptr, nullptr);
}

std::unique_ptr<driver::Program> Session::compileExpression(const Origin &expression) const {
  return compile(statements_, {}, &expression, nullptr);
}

const Statement *Session::findStatement(std::string_view key) const {
  auto found = keyIndex_.find(std::string(key));
  return found == keyIndex_.end() ? nullptr : &statements_[found->second];
}

bool Session::hasValue(std::string_view name) const {
  return std::any_of(point_.begin(), point_.end(), [&](const auto &p) {
    return p.first == name || (p.first.size() > name.size() && p.first.starts_with(name) &&
                               p.first[name.size()] == '[');
  });
}

std::string Session::didYouMean(const std::string &name) const {
  // Names of one or two letters are the variables of formulas (x, y, w, b): one of them is no
  // sign of a typo for another.
  if (name.size() < 3)
    return {};
  std::vector<std::string> names;
  for (const Statement &s : statements_)
    if (s.kind != ast::StmtKind::Minimize && s.kind != ast::StmtKind::Maximize)
      names.push_back(s.key);
  // The objective's name: `L` unless a statement has it (Program::objectiveName).
  if (findStatement("minimize") && !findStatement("L"))
    names.emplace_back("L");
  for (const auto &[element, v] : point_)
    names.push_back(element.substr(0, element.find('[')));
  std::string close = closestName(name, names);
  return close.empty() || close == name ? std::string() : " (did you mean '" + close + "'?)";
}

std::optional<Target> Session::resolve(const Origin &text, bool calls, bool names) const {
  const Origin t = text.trimmed();
  if (t.empty()) {
    printError("expected an expression");
    return std::nullopt;
  }
  const std::string s(t.text());
  Target target;

  auto finish = [&](Target &tg) {
    std::vector<bool> known;
    fillValues(*tg.program, tg.values, known);
    for (SymbolId a : tg.args)
      if (!known[a])
        tg.missing.push_back(a);
  };
  // A function (or the objective) of the session as the target.
  auto entryTarget = [&](Target::Kind kind, const driver::Entry &e,
                         std::unique_ptr<driver::Program> program) {
    target.kind = kind;
    target.entry = e;
    target.label = e.name;
    target.result = Value{Shape{}, {e.value}};
    target.args = program->arguments(e);
    target.program = std::move(program);
    finish(target);
  };

  // `f` alone: the function (or `L`, the objective).
  if (names && isIdentifier(s)) {
    // (An empty session has no functions, and no program to compile: an empty text is none.)
    std::unique_ptr<driver::Program> program;
    if (!statements_.empty() && !(program = compileSession()))
      return std::nullopt;
    for (driver::Entry &e : program ? program->entries() : std::vector<driver::Entry>()) {
      if (e.name != s)
        continue;
      entryTarget(Target::Kind::Named, e, std::move(program));
      return target;
    }
    // A name alone that the session does not define and :at gives no value: a typo far more
    // often than a variable to differentiate by itself (`:grad los` would print ∂/∂los = 1).
    // (A built-in's name or a keyword is left to the compiler, which says what it is.)
    auto among = [&](const std::vector<std::string> &list) {
      return std::find(list.begin(), list.end(), s) != list.end();
    };
    if (!findStatement(s) && !hasValue(s) && !among(driver::builtinNames()) &&
        !among(driver::keywords())) {
      std::string hint = didYouMean(s);
      printError("unknown name '" + s + "'" +
                 (hint.empty() ? ": the session does not define it, and it has no value (:at " + s +
                                     "=... gives it one)"
                               : hint));
      return std::nullopt;
    }
  }

  // `f(1, 2)`: the function at a point, whose coordinates are constant expressions.
  if (calls) {
    SourceBuffer alone("", s);
    std::vector<driver::StatementInfo> parsed;
    try {
      parsed = driver::parseStatements(alone, true, inv_.options);
    } catch (const driver::Error &) {
      // Not a call: the expression below reports what is wrong with it.
    }
    const Statement *fn = nullptr;
    if (parsed.size() == 1 && parsed[0].kind == ast::StmtKind::Bare && parsed[0].callee)
      fn = findStatement(*parsed[0].callee);
    if (fn && fn->kind == ast::StmtKind::Function) {
      const driver::StatementInfo &call = parsed[0];
      std::unique_ptr<driver::Program> program = compileSession();
      if (!program)
        return std::nullopt;
      for (driver::Entry &e : program->entries()) {
        if (e.name != *call.callee || e.isObjective() || e.vars.size() != call.callArgs.size())
          continue;
        std::vector<double> coordinates;
        for (SourceRange arg : call.callArgs) {
          Origin argText = t.sub(arg.begin, arg.end);
          std::vector<double> numbers;
          std::optional<Value> v = evaluateConstant(argText, numbers);
          if (!v)
            return std::nullopt;
          if (!v->shape.isScalar()) {
            printError("the argument '" + std::string(argText.text()) + "' of '" + e.name +
                       "' has shape " + toString(v->shape) + ", not scalar");
            return std::nullopt;
          }
          coordinates.push_back(numbers[0]);
        }
        entryTarget(Target::Kind::Call, e, std::move(program));
        // The call's coordinates are the values of the function's arguments.
        for (std::size_t k = 0; k < e.vars.size(); ++k) {
          SymbolId sym = target.program->graph()[e.vars[k]].symbol;
          target.values[sym] = coordinates[k];
          target.missing.erase(std::remove(target.missing.begin(), target.missing.end(), sym),
                               target.missing.end());
        }
        return target;
      }
    }
  }

  // An expression: its free variables, then the params it reads, are its variables.
  std::unique_ptr<driver::Program> program = compileExpression(t);
  if (!program)
    return std::nullopt;
  const FunctionEntry &bare = *program->lowered().bare;
  const Graph &graph = program->graph();
  target.kind = Target::Kind::Expression;
  target.result = bare.result;
  target.entry.kind = driver::Entry::Kind::Expression;
  target.entry.name = s;
  target.entry.range = bare.range;
  for (const VarGroup &g : bare.args) {
    target.entry.groups.push_back(&g);
    target.entry.vars.insert(target.entry.vars.end(), g.nodes.begin(), g.nodes.end());
  }
  std::vector<NodeId> used = graph.reachable(bare.result.elems);
  std::set<SymbolId> read;
  for (NodeId id : used)
    if (graph[id].op == Op::Var)
      read.insert(graph[id].symbol);
  for (const ParamDecl &p : program->lowered().params) {
    bool reads = std::any_of(p.vars.symbols.begin(), p.vars.symbols.end(),
                             [&](SymbolId sym) { return read.count(sym) > 0; });
    if (!reads)
      continue;
    target.entry.groups.push_back(&p.vars);
    target.entry.vars.insert(target.entry.vars.end(), p.vars.nodes.begin(), p.vars.nodes.end());
  }
  if (bare.result.shape.isScalar())
    target.entry.value = bare.result.elems[0];
  std::set<SymbolId> seen;
  for (NodeId v : target.entry.vars)
    if (seen.insert(graph[v].symbol).second)
      target.args.push_back(graph[v].symbol);
  for (NodeId id : used)
    if (graph[id].op == Op::Var && seen.insert(graph[id].symbol).second)
      target.args.push_back(graph[id].symbol);
  target.program = std::move(program);
  finish(target);
  return target;
}

std::string Session::sessionText() const {
  std::string out;
  for (const Statement &s : statements_)
    out += std::string(s.origin.text()) + "\n";
  if (!point_.empty())
    out += "# :at " + pointText(point_) + "\n";
  return out;
}

bool Session::load(const std::string &path) {
  driver::Source source;
  try {
    source = driver::readFile(path, inv_.options.limits);
  } catch (const driver::Error &e) {
    if (e.buffer())
      llvm::errs() << e.render(inv_.color);
    else
      printError(e.message());
    return false;
  }
  const std::shared_ptr<const SourceBuffer> &buffer = source.buffer;
  Origin whole;
  whole.buffer = buffer;
  whole.end = static_cast<std::uint32_t>(std::min<std::size_t>(buffer->text().size(), UINT32_MAX));
  std::optional<std::vector<Statement>> parsed = parseStatements(whole, false);
  if (!parsed)
    return false;
  std::vector<std::pair<std::string, double>> before = point_;
  if (!parsed->empty() && !addStatements(*parsed))
    return false;
  // The point :save writes, as a comment: `# :at x=1, y=2`.
  const std::string &t = buffer->text();
  for (std::size_t lineStart = 0; lineStart < t.size();) {
    std::size_t eol = t.find('\n', lineStart);
    if (eol == std::string::npos)
      eol = t.size();
    const std::string_view line(t.data() + lineStart, eol - lineStart);
    if (line.rfind("# :at ", 0) == 0 && !setPoint(whole.sub(lineStart + 6, eol))) {
      point_ = before;
      return false;
    }
    lineStart = eol + 1;
  }
  return true;
}

}  // namespace nabla::cli::repl
