#include "cli_common.h"

#include "graph/print.h"

#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace nabla::cli {

namespace {

struct OptionInfo {
  std::string_view name;  // with its dashes
  unsigned bit;
  bool takesValue;
  std::string_view valueName;
  std::string_view help;
};

const OptionInfo kOptions[] = {
    {"--wrt", kOptWrt, true, "x,y", "differentiate with respect to these variables, in this order"},
    {"--vars", kOptVars, true, "x,y",
     "the function's variables, in this order (may name variables it does not use)"},
    {"--at", kOptAt, true, "x=1,y=2", "the point: a value for every variable (repeatable)"},
    {"--fn", kOptFunction, true, "NAME", "the function of a file to use (`L` for the objective)"},
    {"--grad", kOptGrad, false, "", "also the gradient"},
    {"--hessian", kOptHessian, false, "", "also the Hessian"},
    {"--interp", kOptInterp, false, "",
     "evaluate with the reference interpreter instead of compiled code"},
    {"--stats", kOptStats, false, "", "print node counts instead of the graph"},
    {"--json", kOptJson, false, "", "print JSON"},
    {"--output", kOptOutput, true, "FILE", "write to FILE (.dot; .svg, .png or .pdf run Graphviz)"},
    {"--output", kOptLibrary, true, "FILE",
     "the file to write (required): the library, or what --emit names"},
    {"--header", kOptCompile, true, "FILE.h", "also write the C header that declares the library"},
    {"--emit", kOptCompile, true, "obj|asm|llvm-ir",
     "write the object, the assembly or the optimized IR instead of a library"},
    {"--no-hessian", kOptCompile, false, "", "leave out the Hessian entry points"},
    {"--asm", kOptAsm, false, "", "print the host's assembly instead of LLVM IR"},
    {"-O", kOptCodegen, true, "LEVEL", "optimization level 0, 1, 2 or 3; also -O0 .. -O3 (default 2)"},
    {"--fast-math", kOptCodegen, false, "",
     "let LLVM reassociate, contract to FMA and assume no NaN or infinity"},
    {"--strict", kOptRepl, false, "", "exit with status 1 if any line failed"},
    {"--no-simplify", kOptSimplify, false, "", "skip simplification"},
    {"--trace", kOptSimplify, true, "rewrites", "print each rewrite of the simplifier to stderr"},
    {"--max-source-bytes", kOptLimits, true, "N", "largest input accepted, in bytes"},
    {"--max-nesting", kOptLimits, true, "N", "deepest nesting of parentheses and brackets"},
    {"--max-nodes", kOptLimits, true, "N", "largest graph built, in nodes"},
    {"--max-array", kOptLimits, true, "N", "most elements of one array"},
};

/// The option called `name`, preferring the variant that the command accepts (-o is described
/// differently for a graph and for a library).
const OptionInfo *findOption(std::string_view name, unsigned commandOptions) {
  if (name == "-o")
    name = "--output";
  const OptionInfo *found = nullptr;
  for (const OptionInfo &o : kOptions)
    if (o.name == name && (!found || (o.bit & commandOptions)))
      found = &o;
  return found;
}

bool validName(std::string_view s) {
  // An identifier, optionally with subscripts: x, w[3], W[1][2].
  std::size_t i = 0;
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_'))
    ++i;
  while (i < s.size()) {
    if (s[i] != '[')
      return false;
    std::size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      ++i;
    if (i == start || i >= s.size() || s[i] != ']')
      return false;
    ++i;
  }
  return true;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
    ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
    --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> splitCommas(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = s.find(',', start);
    out.push_back(trim(
        s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return out;
}

std::optional<std::size_t> parseCount(const std::string &text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
    return std::nullopt;
  errno = 0;
  char *end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v == 0)
    return std::nullopt;
  return static_cast<std::size_t>(v);
}

void printLabel(const Invocation &inv, std::string_view prefix, std::string_view label,
                llvm::raw_ostream::Colors color, const std::string &message) {
  llvm::raw_ostream &os = llvm::errs();
  if (!inv.inRepl)
    os << prefix << ": ";
  if (inv.color)
    os.changeColor(color, true);
  os << label << ":";
  if (inv.color)
    os.resetColor();
  os << " " << message << "\n";
  os.flush();
}

std::string commandPrefix(const Invocation &inv) {
  return inv.command ? "nabla " + std::string(inv.command->name) : "nabla";
}

}  // namespace

int usageError(const Invocation &inv, const std::string &message) {
  printLabel(inv, commandPrefix(inv), "error", llvm::raw_ostream::RED, message);
  llvm::errs() << "run '" << commandPrefix(inv) << " --help' for usage\n";
  llvm::errs().flush();
  return kExitUsage;
}

int inputError(const Invocation &inv, const std::string &message) {
  printLabel(inv, "nabla", "error", llvm::raw_ostream::RED, message);
  return kExitInput;
}

void warn(const Invocation &inv, const std::string &message) {
  printLabel(inv, "nabla", "warning", llvm::raw_ostream::MAGENTA, message);
}

void note(const Invocation &inv, const std::string &message) {
  printLabel(inv, "nabla", "note", llvm::raw_ostream::CYAN, message);
}

void printCommandHelp(const CommandSpec &command) {
  llvm::raw_ostream &os = llvm::outs();
  os << "usage: nabla " << command.usage << "\n\n" << command.summary << "\n\n" << command.details;
  if (command.options & kOptOwn) {  // the details list the options
    os.flush();
    return;
  }
  if (!(command.options & kOptRepl))
    os << "\nThe input is an expression, a .nabla file, or '-' for standard input. An argument that\n"
          "names an existing file (or ends in .nabla) is read as a file.\n";
  os << "\noptions:\n";
  for (const OptionInfo &o : kOptions) {
    if (!(command.options & o.bit))
      continue;
    std::string left = o.name == "--output" ? "-o, --output" : std::string(o.name);
    if (o.takesValue)
      left += (o.name == "--trace" ? "=" : " ") + std::string(o.valueName);
    os << "  " << left;
    for (std::size_t i = left.size(); i < 26; ++i)
      os << ' ';
    os << o.help;
    const CompileOptions defaults;
    if (o.name == "--max-source-bytes")
      os << " (default " << defaults.parse.limits.maxSourceBytes << ")";
    if (o.name == "--max-nesting")
      os << " (default " << defaults.parse.limits.maxNesting << ")";
    if (o.name == "--max-nodes")
      os << " (default " << defaults.lower.maxNodes << ")";
    if (o.name == "--max-array")
      os << " (default " << defaults.lower.maxArrayElements << ")";
    os << "\n";
  }
  os << "  -h, --help                show this help\n";
  os.flush();
}

std::optional<int> parseArguments(const CommandSpec &command, const std::vector<std::string> &args,
                                  Invocation &inv) {
  inv.command = &command;
  const char *noColor = std::getenv("NO_COLOR");
  inv.color = isatty(STDERR_FILENO) && !(noColor && *noColor);
  if (command.options & kOptOwn) {
    for (const std::string &arg : args) {
      if (arg == "--") break;
      if (arg == "-h" || arg == "--help") {
        printCommandHelp(command);
        return kExitOk;
      }
    }
    inv.rawArgs = args;
    return std::nullopt;
  }

  auto positional = [&](const std::string &arg) -> std::optional<int> {
    if (inv.hasInput)
      return usageError(inv, "unexpected argument '" + arg + "' (the input is already '" +
                                 inv.input + "'): give the expression as one argument, in quotes");
    inv.input = arg;
    inv.hasInput = true;
    return std::nullopt;
  };

  bool optionsEnded = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (optionsEnded || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      if (auto done = positional(arg))
        return done;
      continue;
    }
    if (arg == "--") {
      optionsEnded = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      printCommandHelp(command);
      return kExitOk;
    }
    std::string name = arg, value;
    bool hasValue = false;
    if (arg.rfind("--", 0) == 0) {
      if (std::size_t eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        hasValue = true;
      }
    } else if (arg.rfind("-O", 0) == 0 && (command.options & kOptCodegen)) {
      // -O2, -O=2 or -O 2.
      name = "-O";
      if (arg.size() > 2) {
        value = arg.substr(arg[2] == '=' ? 3 : 2);
        hasValue = true;
      }
    } else if (arg != "-o") {
      // `-x^2`, `-2*x`, `-(a + b)`: an expression that starts with a minus. A lone word after one
      // dash (`-q`) is more likely a mistyped option.
      bool word = std::all_of(arg.begin() + 1, arg.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
      });
      if (!word || std::isdigit(static_cast<unsigned char>(arg[1]))) {
        if (auto done = positional(arg))
          return done;
        continue;
      }
      return usageError(inv, "unknown option '" + arg +
                                 "' (an expression that starts with '-' goes after '--': "
                                 "nabla " +
                                 std::string(command.name) + " -- " + arg + ")");
    }
    const OptionInfo *opt = findOption(name, command.options);
    if (!opt)
      return usageError(inv, "unknown option '" + name + "'");
    if (!(command.options & opt->bit))
      return usageError(inv,
                        "'nabla " + std::string(command.name) + "' has no option '" + name + "'");
    if (opt->takesValue && !hasValue) {
      if (i + 1 >= args.size())
        return usageError(inv, "option '" + name + "' needs a value");
      value = args[++i];
    } else if (!opt->takesValue && hasValue) {
      return usageError(inv, "option '" + name + "' takes no value");
    }

    if (opt->name == "--wrt" || opt->name == "--vars") {
      std::vector<std::string> &list = opt->name == "--wrt" ? inv.wrt : inv.vars;
      for (std::string &v : splitCommas(value)) {
        if (!validName(v))
          return usageError(inv,
                            "malformed variable name '" + v + "' in " + std::string(opt->name));
        // --vars may repeat a name (eval keeps it once, with a warning); --wrt may not.
        if (opt->name == "--wrt" && std::find(list.begin(), list.end(), v) != list.end())
          return usageError(inv, "'" + v + "' is listed twice in " + std::string(opt->name));
        list.push_back(v);
      }
    } else if (opt->name == "--at") {
      for (const std::string &item : splitCommas(value)) {
        std::size_t eq = item.find('=');
        if (eq == std::string::npos)
          return usageError(inv, "malformed --at '" + item +
                                     "': expected NAME=VALUE, e.g. --at x=1,y=2");
        std::string var = trim(item.substr(0, eq)), text = trim(item.substr(eq + 1));
        if (!validName(var))
          return usageError(inv, "malformed variable name '" + var + "' in --at");
        errno = 0;
        char *end = nullptr;
        double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
        // Decimal numbers only (strtod also reads hex), plus inf and nan spelled out; a decimal
        // too large for a double is an error, not a silent infinity.
        bool hex = text.find_first_of("xX") != std::string::npos;
        if (text.empty() || *end != '\0' || hex)
          return usageError(inv, "malformed number '" + text + "' for '" + var + "' in --at");
        if (errno == ERANGE && std::isinf(v))
          return usageError(inv, "number '" + text + "' for '" + var + "' in --at is out of range of a double");
        for (const auto &[seen, unused] : inv.at)
          if (seen == var)
            return usageError(inv, "'" + var + "' is given twice in --at");
        inv.at.emplace_back(var, v);
      }
    } else if (opt->name == "--fn") {
      inv.function = value;
    } else if (opt->name == "--output") {
      if (value.empty())
        return usageError(inv, "option '-o' needs a file name");
      inv.output = value;
    } else if (opt->name == "-O") {
      if (value.size() != 1 || value[0] < '0' || value[0] > '3')
        return usageError(inv, "unknown optimization level '" + value + "' (0, 1, 2 or 3: -O0 .. -O3)");
      inv.optLevel = value[0] - '0';
    } else if (opt->name == "--fast-math") {
      inv.fastMath = true;
    } else if (opt->name == "--header") {
      if (value.empty())
        return usageError(inv, "option '--header' needs a file name");
      inv.header = value;
    } else if (opt->name == "--emit") {
      if (value != "obj" && value != "asm" && value != "llvm-ir")
        return usageError(inv, "unknown --emit '" + value + "' (obj, asm or llvm-ir)");
      inv.emit = value;
    } else if (opt->name == "--no-hessian") {
      inv.noHessian = true;
    } else if (opt->name == "--strict") {
      inv.strict = true;
    } else if (opt->name == "--asm") {
      inv.assembly = true;
    } else if (opt->name == "--grad") {
      inv.grad = true;
    } else if (opt->name == "--hessian") {
      inv.hessian = true;
    } else if (opt->name == "--stats") {
      inv.stats = true;
    } else if (opt->name == "--json") {
      inv.json = true;
    } else if (opt->name == "--interp") {
      inv.interp = true;
    } else if (opt->name == "--no-simplify") {
      inv.compile.simplify = false;
    } else if (opt->name == "--trace") {
      if (value != "rewrites")
        return usageError(inv, "unknown trace '" + value + "' (known: --trace=rewrites)");
      inv.compile.simplifyOptions.trace = true;
    } else {  // the limits
      std::optional<std::size_t> n = parseCount(value);
      if (!n)
        return usageError(inv, "option '" + name + "' needs a positive whole number, not '" +
                                   value + "'");
      if (opt->name == "--max-source-bytes")
        inv.compile.parse.limits.maxSourceBytes = *n;
      else if (opt->name == "--max-nesting")
        inv.compile.parse.limits.maxNesting =
            static_cast<unsigned>(std::min<std::size_t>(*n, UINT32_MAX));
      else if (opt->name == "--max-nodes")
        inv.compile.lower.maxNodes = *n;
      else
        inv.compile.lower.maxArrayElements = *n;
    }
  }
  if (!inv.hasInput && !(command.options & kOptRepl)) {
    return usageError(inv, command.name == "check" || command.name == "compile"
                               ? "missing input: give a .nabla file or '-'"
                               : "missing input: give an expression, a file or '-'");
  }
  return std::nullopt;
}

std::optional<LoadedInput> loadInput(const Invocation &inv, bool fileOnly) {
  const std::size_t limit = inv.compile.parse.limits.maxSourceBytes;
  auto tooLarge = [&](const std::string &name) {
    inputError(inv, "'" + name + "' is larger than the input limit of " + std::to_string(limit) +
                        " bytes (raise it with --max-source-bytes)");
    return std::nullopt;
  };
  // Reads at most limit + 1 bytes: enough to know the input is too large without holding it all.
  auto readAll = [&](std::istream &in, std::string &text) {
    std::vector<char> chunk(1 << 16);
    while (in && text.size() <= limit) {
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    }
    return !in.bad();
  };

  LoadedInput out;
  if (inv.input == "-") {
    std::string text;
    std::ios::sync_with_stdio(false);
    if (!readAll(std::cin, text)) {
      inputError(inv, "cannot read standard input");
      return std::nullopt;
    }
    if (text.size() > limit)
      return tooLarge("<stdin>");
    out.buffer = std::make_unique<SourceBuffer>("<stdin>", std::move(text));
    out.isFile = fileOnly;
    return out;
  }

  struct stat st {};
  bool exists = ::stat(inv.input.c_str(), &st) == 0;
  bool isDirectory = exists && S_ISDIR(st.st_mode);
  bool looksLikeFile = inv.input.size() > 6 && inv.input.ends_with(".nabla");
  if ((exists && !isDirectory) || looksLikeFile || fileOnly) {
    if (isDirectory) {
      inputError(inv, "'" + inv.input + "' is a directory, not a .nabla file");
      return std::nullopt;
    }
    std::ifstream file(inv.input, std::ios::binary);
    if (!file) {
      int err = errno;
      inputError(inv, "cannot read '" + inv.input + "': " + std::strerror(err ? err : ENOENT));
      return std::nullopt;
    }
    std::string text;
    if (!readAll(file, text)) {
      inputError(inv, "cannot read '" + inv.input + "'");
      return std::nullopt;
    }
    if (text.size() > limit)
      return tooLarge(inv.input);
    out.buffer = std::make_unique<SourceBuffer>(inv.input, std::move(text));
    out.isFile = true;
    return out;
  }
  if (inv.input.size() > limit)
    return tooLarge("<expr>");
  out.buffer = std::make_unique<SourceBuffer>("<expr>", inv.input);
  return out;
}

std::optional<LoweredProgram> loadAndCompile(const Invocation &inv) {
  std::optional<LoadedInput> input = loadInput(inv, false);
  if (!input) return std::nullopt;
  return compileInput(inv, *input);
}

std::optional<LoweredProgram> compileInput(const Invocation &inv, const LoadedInput &input) {
  CompileOptions options = inv.compile;
  options.parse.allowBareExpression = !input.isFile;
  DiagnosticSink sink(*input.buffer);
  std::optional<LoweredProgram> program = compileSource(*input.buffer, sink, options);
  if (!sink.diagnostics().empty()) {
    llvm::errs() << renderDiagnostics(sink, inv.color);
    llvm::errs().flush();
  }
  if (!program && !sink.hasErrors())
    inputError(inv, "'" + input.buffer->name() + "' could not be compiled");
  return program;
}

std::vector<Entry> allEntries(const Invocation &inv, const LoweredProgram &program,
                              bool noteSkipped) {
  std::vector<Entry> out;
  auto addGroups = [](Entry &e, const VarGroup &g) {
    e.groups.push_back(&g);
    e.vars.insert(e.vars.end(), g.nodes.begin(), g.nodes.end());
  };
  if (program.bare) {
    Entry e;
    e.name = "f";
    if (program.bare->result.shape.isScalar() && program.bare->result.elems.size() == 1) {
      e.value = program.bare->result.elems[0];
      for (const VarGroup &g : program.bare->args)
        addGroups(e, g);
      out.push_back(std::move(e));
    } else if (noteSkipped) {
      note(inv, "the expression has shape " + toString(program.bare->result.shape) +
                    ": only scalar functions are differentiated and evaluated");
    }
    return out;
  }
  for (const FunctionEntry &fn : program.functions) {
    if (!fn.result.shape.isScalar() || fn.result.elems.size() != 1) {
      if (noteSkipped)
        note(inv, "skipping '" + fn.name + "': its value has shape " + toString(fn.result.shape) +
                      ", not scalar");
      continue;
    }
    Entry e;
    e.name = fn.name;
    e.value = fn.result.elems[0];
    for (const VarGroup &g : fn.args)
      addGroups(e, g);
    out.push_back(std::move(e));
  }
  if (program.objective) {
    Entry e;
    // `L` unless a function already has that name.
    for (const char *name : {"L", "loss", "objective"}) {
      bool taken = std::any_of(program.functions.begin(), program.functions.end(),
                               [&](const FunctionEntry &fn) { return fn.name == name; });
      if (!taken) {
        e.name = name;
        break;
      }
    }
    if (e.name.empty())
      e.name = "minimize";
    e.value = program.objective->expr;
    e.objective = true;
    for (const ParamDecl &p : program.params)
      addGroups(e, p.vars);
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<Entry> selectEntry(const Invocation &inv, const LoweredProgram &program,
                                 int &exitCode) {
  std::vector<Entry> entries = allEntries(inv, program, false);
  std::string names;
  for (const Entry &e : entries)
    names += (names.empty() ? "" : ", ") + e.name;
  if (!inv.function.empty()) {
    for (Entry &e : entries)
      if (e.name == inv.function && !e.objective)
        return std::move(e);
    for (Entry &e : entries)
      if (e.name == inv.function)
        return std::move(e);
    for (const FunctionEntry &fn : program.functions) {
      if (fn.name == inv.function) {
        exitCode =
            inputError(inv, "'" + fn.name + "' has a value of shape " + toString(fn.result.shape) +
                                ": only scalar functions are differentiated and evaluated");
        return std::nullopt;
      }
    }
    if (program.bare && (inv.function == "f" || inv.function.empty())) {
      exitCode =
          inputError(inv, "the expression has shape " + toString(program.bare->result.shape) +
                              ": only scalar functions are differentiated and evaluated");
      return std::nullopt;
    }
    exitCode = inputError(inv, "no scalar function '" + inv.function + "' in the input" +
                                   (names.empty() ? std::string() : " (there are: " + names + ")"));
    return std::nullopt;
  }
  if (entries.size() == 1)
    return std::move(entries[0]);
  if (entries.empty()) {
    if (program.bare)
      exitCode =
          inputError(inv, "the expression has shape " + toString(program.bare->result.shape) +
                              ": only scalar functions are differentiated and evaluated");
    else
      exitCode = inputError(inv, "the input defines no scalar function and no objective");
    return std::nullopt;
  }
  exitCode = inputError(inv, "the input defines several functions (" + names +
                                 "): choose one with --fn NAME");
  return std::nullopt;
}

bool knowsVariable(const Graph &graph, const Entry &entry, const std::string &name) {
  for (const VarGroup *g : entry.groups) {
    if (g->name == name)
      return true;
    for (SymbolId s : g->symbols)
      if (graph.symbolName(s) == name)
        return true;
  }
  for (NodeId id : graph.reachable({entry.value}))
    if (graph[id].op == Op::Var && graph.symbolName(graph[id].symbol) == name)
      return true;
  return false;
}

std::optional<std::vector<NodeId>> resolveVars(const Invocation &inv, Graph &graph,
                                               const Entry &entry,
                                               const std::vector<std::string> &names, bool allowNew,
                                               std::string_view option, int &exitCode,
                                               bool dedupe) {
  std::vector<NodeId> out;
  std::vector<std::string> known;
  for (const VarGroup *g : entry.groups) {
    known.push_back(g->name);
    for (SymbolId s : g->symbols)
      if (graph.symbolName(s) != g->name)
        known.push_back(graph.symbolName(s));
  }
  // Variables the function uses without being its arguments (an objective's inputs).
  std::vector<NodeId> used = graph.reachable({entry.value});
  auto findUsed = [&](const std::string &name) -> std::optional<NodeId> {
    for (NodeId id : used)
      if (graph[id].op == Op::Var && graph.symbolName(graph[id].symbol) == name)
        return id;
    return std::nullopt;
  };

  std::vector<std::pair<std::string, NodeId>> created;  // fresh variables (allowNew)
  for (const std::string &name : names) {
    bool found = false;
    for (const VarGroup *g : entry.groups) {
      if (g->name == name) {
        out.insert(out.end(), g->nodes.begin(), g->nodes.end());
        found = true;
        break;
      }
      for (std::size_t k = 0; k < g->symbols.size() && !found; ++k) {
        if (graph.symbolName(g->symbols[k]) == name) {
          out.push_back(g->nodes[k]);
          found = true;
        }
      }
      if (found)
        break;
    }
    if (found)
      continue;
    if (std::optional<NodeId> id = findUsed(name)) {
      out.push_back(*id);
      continue;
    }
    if (allowNew) {
      // One fresh variable per name, however often it is listed.
      auto fresh = std::find_if(created.begin(), created.end(),
                                [&](const auto &c) { return c.first == name; });
      if (fresh == created.end())
        fresh = created.insert(created.end(), {name, graph.variable(graph.addSymbol(name))});
      out.push_back(fresh->second);
      continue;
    }
    std::string message = "'" + name + "' in " + std::string(option) + " is not a variable of " +
                          (entry.objective ? std::string("the objective") : "'" + entry.name + "'");
    if (std::string close = closestName(name, known); !close.empty())
      message += " (did you mean '" + close + "'?)";
    else if (!known.empty()) {
      std::string list;
      for (const std::string &k : known)
        list += (list.empty() ? "" : ", ") + k;
      message += " (its variables: " + list + ")";
    }
    exitCode = inputError(inv, message);
    return std::nullopt;
  }
  // The same element named twice (`--wrt w,w[0]`) would give a repeated row.
  std::set<std::uint32_t> seen;
  std::vector<NodeId> once;
  for (NodeId id : out) {
    if (seen.insert(id.index).second) {
      once.push_back(id);
      continue;
    }
    const std::string message =
        "'" + graph.symbolName(graph[id].symbol) + "' is named twice in " + std::string(option);
    if (!dedupe) {
      exitCode = usageError(inv, message);
      return std::nullopt;
    }
    warn(inv, message + "; it is used once, where it first appears");
  }
  return once;
}

std::string partialName(const std::string &f, const std::string &x) { return "∂" + f + "/∂" + x; }

std::string secondPartialName(const std::string &f, const std::string &x, const std::string &y) {
  if (x == y)
    return "∂²" + f + "/∂" + x + "²";
  return "∂²" + f + "/∂" + x + "∂" + y;
}

std::string formatNumber(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  char buf[64];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::bit_cast<std::uint64_t>(std::strtod(buf, nullptr)) == std::bit_cast<std::uint64_t>(v))
      break;
  }
  return buf;
}

bool writeFile(const Invocation &inv, const std::string &path, const std::string &text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (file)
    file << text;
  if (file)
    file.flush();
  if (!file) {
    int err = errno;
    inputError(inv, "cannot write '" + path + "': " + std::strerror(err ? err : EIO));
    return false;
  }
  return true;
}

void printRoots(const Graph &graph, const std::vector<std::string> &labels,
                const std::vector<NodeId> &roots, llvm::raw_ostream &os) {
  auto addSat = [](std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; };
  auto prefix = [&](std::size_t k) { return labels[k].empty() ? std::string() : labels[k] + " = "; };
  std::vector<std::uint64_t> lengths = printedLengths(graph, roots);
  std::uint64_t inlineBytes = 0;
  for (std::size_t k = 0; k < roots.size(); ++k)
    inlineBytes = addSat(inlineBytes, addSat(lengths[k], prefix(k).size() + 1));

  PrintedSet shared = printShared(graph, roots);
  std::uint64_t sharedBytes = 6;  // "where\n"
  for (std::size_t k = 0; k < roots.size(); ++k)
    sharedBytes += prefix(k).size() + 1 + shared.exprs[k].size();
  for (const auto &[name, text] : shared.temporaries)
    sharedBytes += name.size() + text.size() + 6;

  if (shared.temporaries.empty() || inlineBytes <= sharedBytes) {
    std::vector<std::string> exprs = printExprs(graph, roots);
    for (std::size_t k = 0; k < roots.size(); ++k)
      os << prefix(k) << exprs[k] << "\n";
    return;
  }
  for (std::size_t k = 0; k < roots.size(); ++k)
    os << prefix(k) << shared.exprs[k] << "\n";
  os << "where\n";
  for (const auto &[name, text] : shared.temporaries)
    os << "  " << name << " = " << text << "\n";
}

}  // namespace nabla::cli
