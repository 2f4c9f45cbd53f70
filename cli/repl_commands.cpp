// The REPL's commands: `:diff`, `:grad`, `:hessian`, `:eval`, `:at`, `:graph`, `:ir`, `:asm`,
// `:time`, `:load`, `:save`, `:reset`, `:list`, `:help`, `:quit`, and the value of an expression.
#include "repl.h"

#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

namespace nabla::cli::repl {

const std::vector<Session::Command> &Session::commands() {
  static const std::vector<Command> kCommands = {
      {"diff", "EXPR [wrt x, y]", "the partial derivatives, simplified",
       "Prints one line per partial derivative, `∂/∂x = EXPR` for an expression, `∂f/∂x = EXPR` for\n"
       "a function f named alone (`L` is the objective, with respect to its params). The\n"
       "variables are the expression's free names, then the params it reads; `wrt` chooses\n"
       "them and their order (an array's name stands for all of its elements). Subexpressions\n"
       "the results share are printed once, after `where`, when that is shorter.\n",
       &Session::cmdDiff},
      {"grad", "F | F(1, 2) | EXPR", "the gradient: symbolic, or at a point",
       "`:grad f` prints the gradient of the function f (or of the objective L) symbolically,\n"
       "`:grad f(1, 2)` its value at that point, computed by compiled code. For an expression,\n"
       "the values when every variable has one (:at), else the simplified derivatives.\n",
       &Session::cmdGrad},
      {"hessian", "F | F(1, 2) | EXPR", "the Hessian (upper triangle): symbolic, or at a point",
       "Like :grad, with the second derivatives `∂²f/∂x∂y`, upper triangle, row by row.\n",
       &Session::cmdHessian},
      {"eval", "EXPR", "the value of an expression (every variable needs a value)",
       "Evaluates with compiled code (nabla's baseline tier, ready at once). `f(1, 2)` calls the\n"
       "function f of the session; free names take their values from :at, params their initial\n"
       "values. Typing the expression alone does the same, but prints the simplified expression\n"
       "when a variable has no value.\n",
       &Session::cmdEval},
      {"at", "[x=1, y=2, ...]", "give variables values (alone: list them)",
       "Sets the values of free names, params (which otherwise have their initial value) and\n"
       "inputs: each value is a constant expression that may use the values before it\n"
       "(`:at x=1, y=2*x`); an array sets the elements (`:at w=[1, 2]` sets w[0] and w[1]).\n"
       "Without arguments, lists the values. :unset removes them.\n",
       &Session::cmdAt},
      {"unset", "[x, y, ...]", "remove values set by :at (alone: all of them)",
       "Removes the values of the names (an array's name removes its elements' values too).\n",
       &Session::cmdUnset},
      {"graph", "F|EXPR [FILE]", "the DAG of value and gradient (Graphviz DOT)",
       "Prints the DAG of the value and the gradient together, so that shared nodes show, as\n"
       "Graphviz DOT; with FILE (.dot, .gv; .svg, .png and .pdf run Graphviz's `dot`) writes it\n"
       "there instead.\n",
       &Session::cmdGraph},
      {"ir", "[grad] F|EXPR", "the optimized LLVM IR of the value (or value+gradient) code",
       "Prints the value entry point `double f(const double *args)` as LLVM optimizes it at O2\n"
       "for this machine; `:ir grad f` the value-and-gradient entry point `double f_grad(const\n"
       "double *args, double *grad)`. An expression is called `f`.\n",
       &Session::cmdIr},
      {"asm", "[grad] F|EXPR", "the host's assembly of the value (or value+gradient) code",
       "Like :ir, with the assembly LLVM generates at O2.\n", &Session::cmdAsm},
      {"time", "F(1, 2) | EXPR", "nanoseconds per call of value and value+gradient",
       "Compiles the function (or the expression, whose variables all need values) twice: with\n"
       "nabla's baseline code generator, as evaluations do, and with LLVM at O2. Prints the\n"
       "value, then the time each compilation took and the time per call of the value and of\n"
       "the value and gradient, for each.\n",
       &Session::cmdTime},
      {"load", "FILE", "add a .nabla file's statements to the session",
       "Each statement replaces the one of the same name; a file :save wrote also restores the\n"
       "values (:at) it lists in its last comment.\n",
       &Session::cmdLoad},
      {"save", "FILE", "write the session as a .nabla file",
       "Writes the statements as they were typed, in the order their names were first\n"
       "defined, and the values set by :at as a comment `# :at x=1, y=2`, which :load reads.\n",
       &Session::cmdSave},
      {"reset", "", "forget every statement and value", "", &Session::cmdReset},
      {"list", "", "print the session's statements (and values)",
       "Prints what :save would write.\n", &Session::cmdList},
      {"help", "[COMMAND]", "this list, or a command's details", "", &Session::cmdHelp},
      {"quit", "", "end the session (also Ctrl-D)", "", &Session::cmdQuit},
  };
  return kCommands;
}

namespace {

std::string formatArray(const Shape &shape, const std::vector<std::string> &items) {
  // Nested brackets, row-major: [[1, 2], [3, 4]].
  std::vector<std::string> level = items;
  for (std::size_t d = shape.dims.size(); d-- > 0;) {
    std::vector<std::string> next;
    const std::size_t n = shape.dims[d];
    for (std::size_t i = 0; i + n <= level.size(); i += n) {
      std::string s = "[";
      for (std::size_t k = 0; k < n; ++k)
        s += (k ? ", " : "") + level[i + k];
      next.push_back(s + "]");
    }
    level = std::move(next);
  }
  return level.empty() ? "[]" : level[0];
}

/// Times one call through `call` in ns: batches of calls long enough for the clock, the best of
/// a few batches. `check` runs between batches (it throws to stop).
template <class Call, class Check> double nsPerCall(Call &&call, Check &&check) {
  using Clock = std::chrono::steady_clock;
  auto run = [&](std::size_t n) {
    check();
    auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i)
      call();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  std::size_t n = 1;
  for (double s = run(n); s < 0.01 && n < (std::size_t{1} << 32); s = run(n))
    n *= s < 0.001 ? 10 : 2;
  double best = run(n);
  for (int k = 0; k < 4; ++k)
    best = std::min(best, run(n));
  return best / static_cast<double>(n) * 1e9;
}

std::string formatDuration(double seconds) {
  char buf[32];
  if (seconds < 1e-3)
    std::snprintf(buf, sizeof buf, "%.0f µs", seconds * 1e6);
  else if (seconds < 1)
    std::snprintf(buf, sizeof buf, "%.1f ms", seconds * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.2f s", seconds);
  return buf;
}

std::string formatNs(double ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ns < 100 ? "%.1f ns" : "%.0f ns", ns);
  return buf;
}

/// The name compiled code and graphs give a target: the function's, or `f` for an expression.
std::string codeName(const Target &t) { return t.label.empty() ? "f" : t.label; }

std::vector<std::string> varNames(const Graph &graph, const std::vector<NodeId> &vars) {
  std::vector<std::string> names;
  for (NodeId v : vars)
    names.push_back(graph.symbolName(graph[v].symbol));
  return names;
}

/// Splits `text` at the last word `word` outside brackets: what comes before and after it.
std::optional<std::size_t> findWord(std::string_view text, std::string_view word) {
  std::optional<std::size_t> found;
  int depth = 0;
  auto nameChar = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '(' || c == '[')
      ++depth;
    else if ((c == ')' || c == ']') && depth > 0)
      --depth;
    else if (depth == 0 && text.substr(i, word.size()) == word &&
             (i == 0 || !nameChar(text[i - 1])) &&
             (i + word.size() == text.size() || !nameChar(text[i + word.size()])))
      found = i;
  }
  return found;
}

}  // namespace

bool Session::runCommand(const Origin &whole) {
  // A comment may follow the command, as it may follow a statement.
  const Origin line = whole.sub(0, whole.text().find('#'));
  std::string_view text = line.text();
  std::size_t nameEnd = 1;
  while (nameEnd < text.size() && !std::isspace(static_cast<unsigned char>(text[nameEnd])))
    ++nameEnd;
  std::string name(text.substr(1, nameEnd - 1));
  Origin args = line.sub(nameEnd, text.size());
  if (name == "q" || name == "exit")
    name = "quit";
  if (name == "h" || name == "?")
    name = "help";
  // The command, or the only one the name abbreviates.
  std::vector<std::string> names;
  const Command *command = nullptr;
  std::vector<const Command *> prefixed;
  for (const Command &c : commands()) {
    names.emplace_back(c.name);
    if (c.name == name)
      command = &c;
    else if (!name.empty() && c.name.substr(0, name.size()) == name)
      prefixed.push_back(&c);
  }
  if (!command && prefixed.size() == 1)
    command = prefixed[0];
  if (command) {
    // A command whose synopsis starts with a word (not an optional `[...]`) needs it.
    if (args.empty() && !command->synopsis.empty() && command->synopsis[0] != '[') {
      printError("':" + std::string(command->name) + "' needs an argument: :" +
                 std::string(command->name) + " " + std::string(command->synopsis));
      return false;
    }
    return (this->*command->run)(args);
  }
  if (prefixed.size() > 1) {
    std::string list;
    for (const Command *c : prefixed)
      list += (list.empty() ? ":" : ", :") + std::string(c->name);
    printError("ambiguous command ':" + name + "' (" + list + ")");
    return false;
  }
  std::string message = "unknown command ':" + name + "'";
  if (std::string close = closestName(name, names); !close.empty())
    message += " (did you mean ':" + close + "'?)";
  printError(message + "; :help lists the commands");
  return false;
}

bool Session::printExpression(const Origin &text, bool requireValues) {
  std::optional<Target> t = resolve(text, true, false);
  if (!t)
    return false;
  // A call whose function reads a variable without a value (a param drawn at random): the
  // expression, with the call inlined, is what can be shown.
  if (t->kind == Target::Kind::Call && !t->missing.empty() && !requireValues) {
    t = resolve(text, false, false);
    if (!t)
      return false;
  }
  driver::Program &program = *t->program;
  const Graph &graph = program.graph();
  llvm::raw_ostream &os = llvm::outs();
  if (!t->missing.empty() && requireValues) {
    const std::string &name = graph.symbolName(t->missing.front());
    printError("no value for '" + name + "'" + didYouMean(name) + " (set it with :at " + name +
               "=...)");
    return false;
  }
  std::vector<NodeId> roots = program.simplify(t->result.elems);
  checkInterrupt();
  if (!t->missing.empty()) {
    // Not every variable has a value: the expression, simplified.
    if (t->result.shape.isScalar()) {
      os << driver::printRoots(program, {""}, roots);
    } else {
      os << formatArray(t->result.shape, driver::printExprs(program, roots, "the elements")) << "\n";
    }
    return true;
  }
  if (t->result.shape.isScalar()) {
    Derivatives d;
    d.value = roots[0];
    os << formatNumber(
              evaluateCompiled(evalJit(), program, codeName(*t), t->args, d, t->values)[0])
       << "\n";
    return true;
  }
  std::vector<std::string> items;
  for (double v : driver::evaluate(program, roots, t->values))
    items.push_back(formatNumber(v));
  os << formatArray(t->result.shape, items) << "\n";
  return true;
}

bool Session::cmdEval(const Origin &args) { return printExpression(args, true); }

bool Session::cmdDiff(const Origin &args) {
  Origin expr = args;
  std::vector<std::string> wrt;
  if (std::optional<std::size_t> at = findWord(args.text(), "wrt")) {
    expr = args.sub(0, *at);
    std::string_view list = args.sub(*at + 3, args.text().size()).text();
    std::size_t start = 0;
    for (std::size_t i = 0; i <= list.size(); ++i) {
      if (i < list.size() && list[i] != ',')
        continue;
      Origin one = args.sub(*at + 3, args.text().size()).sub(start, i);
      std::string name(one.text());
      if (name.empty()) {
        printError("expected a variable name in 'wrt " + std::string(list) + "'");
        return false;
      }
      if (std::find(wrt.begin(), wrt.end(), name) != wrt.end()) {
        printError("'" + name + "' is listed twice after wrt");
        return false;
      }
      wrt.push_back(name);
      start = i + 1;
    }
  }
  std::optional<Target> t = resolve(expr, false, true);
  if (!t)
    return false;
  if (!t->entry.value.valid()) {
    printError("'" + std::string(expr.text()) + "' has shape " + toString(t->result.shape) +
               ": only scalars are differentiated");
    return false;
  }
  driver::Program &program = *t->program;
  std::vector<NodeId> vars = t->entry.vars;
  if (!wrt.empty()) {
    driver::Variables chosen = program.resolveVariables(t->entry, wrt, "wrt");
    printMessages(inv_, chosen.messages);
    vars = std::move(chosen.nodes);
  }
  if (vars.empty()) {
    printError("'" + std::string(expr.text()) + "' has no variables to differentiate with respect to");
    return false;
  }
  Derivatives d = program.differentiate(t->entry, vars, false);
  checkInterrupt();
  std::vector<std::string> labels;
  for (const std::string &name : varNames(program.graph(), vars))
    labels.push_back(partialName(t->label, name));
  llvm::outs() << driver::printRoots(program, labels, d.grad);
  return true;
}

bool Session::cmdGrad(const Origin &args) { return derivatives(args, false); }
bool Session::cmdHessian(const Origin &args) { return derivatives(args, true); }

bool Session::derivatives(const Origin &args, bool hessian) {
  std::optional<Target> t = resolve(args, true, true);
  if (!t)
    return false;
  if (!t->entry.value.valid()) {
    printError("'" + std::string(args.text()) + "' has shape " + toString(t->result.shape) +
               ": only scalars are differentiated");
    return false;
  }
  driver::Program &program = *t->program;
  const Graph &graph = program.graph();
  const std::vector<NodeId> &vars = t->entry.vars;
  if (vars.empty()) {
    printError("'" + std::string(args.text()) + "' has no variables to differentiate with respect to");
    return false;
  }
  Derivatives d = program.differentiate(t->entry, vars, hessian);
  checkInterrupt();
  const std::vector<std::string> names = varNames(graph, vars);
  const std::size_t n = vars.size();
  std::vector<std::string> labels;
  std::vector<NodeId> roots;
  for (std::size_t i = 0; i < n; ++i) {
    if (!hessian) {
      labels.push_back(partialName(t->label, names[i]));
      roots.push_back(d.grad[i]);
      continue;
    }
    for (std::size_t j = i; j < n; ++j) {
      labels.push_back(secondPartialName(t->label, names[i], names[j]));
      roots.push_back(d.hessian[i][j]);
    }
  }
  llvm::raw_ostream &os = llvm::outs();
  if (t->kind == Target::Kind::Call && !t->missing.empty()) {
    const std::string &name = graph.symbolName(t->missing.front());
    printError("no value for '" + name + "', which '" + t->label + "' reads (set it with :at " +
               name + "=...)");
    return false;
  }
  if (t->kind == Target::Kind::Named || !t->missing.empty()) {
    os << driver::printRoots(program, labels, roots);
    return true;
  }
  std::vector<double> results = evaluateCompiled(evalJit(), program, codeName(*t), t->args, d, t->values);
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!hessian) {
      os << labels[k++] << " = " << formatNumber(results[1 + i]) << "\n";
      continue;
    }
    for (std::size_t j = i; j < n; ++j)
      os << labels[k++] << " = " << formatNumber(results[1 + n + i * n + j]) << "\n";
  }
  return true;
}

bool Session::cmdAt(const Origin &args) {
  if (!args.empty())
    return setPoint(args);
  for (const auto &[name, v] : point_)
    llvm::outs() << name << " = " << formatNumber(v) << "\n";
  return true;
}

bool Session::cmdUnset(const Origin &args) {
  if (args.empty()) {
    point_.clear();
    return true;
  }
  std::vector<std::pair<std::string, double>> point = point_;
  std::string_view list = args.text();
  std::size_t start = 0;
  for (std::size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size() && list[i] != ',')
      continue;
    std::string name(args.sub(start, i).text());
    start = i + 1;
    auto gone = std::remove_if(point.begin(), point.end(), [&](const auto &p) {
      return p.first == name || p.first.rfind(name + "[", 0) == 0;
    });
    if (gone == point.end()) {
      printError("'" + name + "' has no value" + didYouMean(name));
      return false;
    }
    point.erase(gone, point.end());
  }
  point_ = std::move(point);
  return true;
}

bool Session::cmdGraph(const Origin &args) {
  Origin expr = args;
  std::string file;
  std::string_view text = args.text();
  std::size_t space = text.find_last_of(" \t");
  if (space != std::string_view::npos) {
    std::string last(text.substr(space + 1));
    for (const char *ext : {".dot", ".gv", ".svg", ".png", ".pdf"})
      if (last.size() > std::strlen(ext) && last.ends_with(ext)) {
        file = last;
        expr = args.sub(0, space);
      }
  }
  std::optional<Target> t = resolve(expr, false, true);
  if (!t)
    return false;
  if (!t->entry.value.valid()) {
    printError("'" + std::string(expr.text()) + "' has shape " + toString(t->result.shape) +
               ": only scalars are drawn");
    return false;
  }
  driver::Program &program = *t->program;
  Derivatives d = program.differentiate(t->entry, t->entry.vars, false);
  checkInterrupt();
  std::vector<NodeId> roots{d.value};
  roots.insert(roots.end(), d.grad.begin(), d.grad.end());
  std::vector<std::string> names{codeName(*t)};
  for (const std::string &v : varNames(program.graph(), t->entry.vars))
    names.push_back(partialName(codeName(*t), v));
  std::string dot = driver::printDot(program, roots, names);
  if (file.empty()) {
    llvm::outs() << dot;
    return true;
  }
  return writeDot(inv_, dot, file) == kExitOk;
}

bool Session::cmdIr(const Origin &args) { return code(args, false); }
bool Session::cmdAsm(const Origin &args) { return code(args, true); }

bool Session::code(const Origin &args, bool assembly) {
  Origin expr = args;
  bool grad = false;
  if (args.text().rfind("grad", 0) == 0 && args.text().size() > 4 &&
      std::isspace(static_cast<unsigned char>(args.text()[4]))) {
    grad = true;
    expr = args.sub(4, args.text().size());
  }
  std::optional<Target> t = resolve(expr, true, true);
  if (!t)
    return false;
  if (!t->entry.value.valid()) {
    printError("'" + std::string(expr.text()) + "' has shape " + toString(t->result.shape) +
               ": only scalar functions are compiled");
    return false;
  }
  driver::Entry entry = t->entry;
  entry.name = codeName(*t);
  std::string text = driver::entryPointCode(*t->program, entry, grad, assembly, 2, false);
  checkInterrupt();
  llvm::outs() << text;
  if (!text.empty() && text.back() != '\n')
    llvm::outs() << "\n";
  return true;
}

bool Session::cmdTime(const Origin &args) {
  std::optional<Target> t = resolve(args, true, false);
  if (!t)
    return false;
  driver::Program &program = *t->program;
  const Graph &graph = program.graph();
  if (!t->entry.value.valid()) {
    printError("'" + std::string(args.text()) + "' has shape " + toString(t->result.shape) +
               ": only scalar functions are timed");
    return false;
  }
  if (!t->missing.empty()) {
    const std::string &name = graph.symbolName(t->missing.front());
    printError("no value for '" + name + "'" + didYouMean(name) + " (set it with :at " + name +
               "=..., or time a call: " +
               ":time f(1, 2))");
    return false;
  }
  const Derivatives d = t->entry.vars.empty() ? program.value(t->entry)
                                              : program.differentiate(t->entry, false);
  checkInterrupt();
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  const std::string name = codeName(*t);
  driver::Jit &firstJit = evalJit();
  driver::Jit &optJit = optimizingJit();
  auto t0 = Clock::now();
  driver::Code first = firstJit.compile(program, name, t->args, d);
  auto t1 = Clock::now();
  checkInterrupt();
  driver::Code optimized = optJit.compile(program, name, t->args, d);
  auto t2 = Clock::now();
  checkInterrupt();

  std::vector<double> at;
  for (SymbolId s : t->args)
    at.push_back(t->values[s]);
  std::vector<double> grad(std::max<std::size_t>(first.gradSize(), 1));
  volatile double sink = 0;
  struct Row {
    double value, valueAndGrad;
  };
  auto measure = [&](const driver::Code &f) {
    auto value = f.valueFn();
    auto valueAndGrad = f.valueAndGradFn();
    Row r{};
    auto check = [this] { checkInterrupt(); };
    r.value = nsPerCall([&] { sink = sink + value(at.data()); }, check);
    r.valueAndGrad = d.grad.empty() ? 0
                                    : nsPerCall([&] {
                                        sink = sink + valueAndGrad(at.data(), grad.data());
                                      }, check);
    return r;
  };
  Row a = measure(first), b = measure(optimized);

  llvm::raw_ostream &os = llvm::outs();
  const std::string firstName = firstJit.baselineFirstTier() ? "baseline" : "LLVM O0";
  auto row = [&](const std::string &what, const std::string &x, const std::string &y) {
    std::string line = what;
    line.resize(std::max<std::size_t>(line.size(), 16), ' ');
    std::string left = x;
    // Pad by display width: "µ" is two bytes.
    std::size_t width = left.size() - (left.find("µ") != std::string::npos ? 1 : 0);
    left.append(width < 14 ? 14 - width : 1, ' ');
    os << line << left << y << "\n";
  };
  std::vector<NodeId> withGrad{d.value};
  withGrad.insert(withGrad.end(), d.grad.begin(), d.grad.end());
  os << args.text() << " = " << formatNumber(first(at)) << "  ("
     << program.nodeCount({d.value}) << " nodes, " << program.nodeCount(withGrad)
     << " with the gradient)\n";
  row("", firstName, "LLVM O2");
  row("compile", formatDuration(seconds(t0, t1)), formatDuration(seconds(t1, t2)));
  row("value", formatNs(a.value), formatNs(b.value));
  if (!d.grad.empty())
    row("value+gradient", formatNs(a.valueAndGrad), formatNs(b.valueAndGrad));
  return true;
}

bool Session::cmdLoad(const Origin &args) {
  std::string path(args.text());
  if (path.size() >= 2 && (path[0] == '"' || path[0] == '\'') && path.back() == path[0])
    path = path.substr(1, path.size() - 2);
  if (path.empty()) {
    printError("expected a file name: :load FILE");
    return false;
  }
  return load(path);
}

bool Session::cmdSave(const Origin &args) {
  std::string path(args.text());
  if (path.size() >= 2 && (path[0] == '"' || path[0] == '\'') && path.back() == path[0])
    path = path.substr(1, path.size() - 2);
  if (path.empty()) {
    printError("expected a file name: :save FILE");
    return false;
  }
  return writeFile(inv_, path, sessionText());
}

bool Session::cmdReset(const Origin &) {
  statements_.clear();
  keyIndex_.clear();
  point_.clear();
  return true;
}

bool Session::cmdList(const Origin &) {
  llvm::outs() << sessionText();
  return true;
}

bool Session::cmdHelp(const Origin &args) {
  llvm::raw_ostream &os = llvm::outs();
  std::string name(args.text());
  if (!name.empty() && name[0] == ':')
    name = name.substr(1);
  if (name == "q" || name == "exit")
    name = "quit";
  if (!name.empty()) {
    std::vector<std::string> names;
    for (const Command &c : commands()) {
      names.emplace_back(c.name);
      if (c.name != name)
        continue;
      os << ":" << c.name << (c.synopsis.empty() ? "" : " ") << c.synopsis << "\n  " << c.summary
         << "\n";
      if (!c.details.empty())
        os << "\n" << c.details;
      return true;
    }
    std::string message = "no command ':" + name + "'";
    if (std::string close = closestName(name, names); !close.empty())
      message += " (did you mean ':" + close + "'?)";
    printError(message);
    return false;
  }
  os << "Statements (f(x, y) = ..., p = ..., param, input, const, minimize, report) add to the\n"
        "session; defining a name again replaces it. An expression prints its value when every\n"
        "variable has one (:at sets them), else its simplified form. `f(1, 2)` calls f.\n\n";
  // Two columns: the widest command and synopsis sets where every summary starts, two spaces
  // after it, so that no synopsis runs into its summary. (Synopses are ASCII: bytes are columns.)
  auto leftOf = [](const Command &c) {
    return ":" + std::string(c.name) + (c.synopsis.empty() ? "" : " ") + std::string(c.synopsis);
  };
  std::size_t width = 0;
  for (const Command &c : commands())
    width = std::max(width, leftOf(c).size());
  for (const Command &c : commands()) {
    std::string left = leftOf(c);
    left.resize(width + 2, ' ');
    os << "  " << left << c.summary << "\n";
  }
  os << "\n:help COMMAND shows more. Tab completes names and commands; Ctrl-D ends the session.\n";
  return true;
}

bool Session::cmdQuit(const Origin &) {
  quit_ = true;
  return true;
}

}  // namespace nabla::cli::repl
