#include "cli_common.h"

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
    const driver::Limits defaults;
    if (o.name == "--max-source-bytes")
      os << " (default " << defaults.maxSourceBytes << ")";
    if (o.name == "--max-nesting")
      os << " (default " << defaults.maxNesting << ")";
    if (o.name == "--max-nodes")
      os << " (default " << defaults.maxNodes << ")";
    if (o.name == "--max-array")
      os << " (default " << defaults.maxArray << ")";
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
      inv.options.simplify = false;
    } else if (opt->name == "--trace") {
      if (value != "rewrites")
        return usageError(inv, "unknown trace '" + value + "' (known: --trace=rewrites)");
      inv.options.traceRewrites = true;
    } else {  // the limits
      std::optional<std::size_t> n = parseCount(value);
      if (!n)
        return usageError(inv, "option '" + name + "' needs a positive whole number, not '" +
                                   value + "'");
      if (opt->name == "--max-source-bytes")
        inv.options.limits.maxSourceBytes = *n;
      else if (opt->name == "--max-nesting")
        inv.options.limits.maxNesting =
            static_cast<unsigned>(std::min<std::size_t>(*n, UINT32_MAX));
      else if (opt->name == "--max-nodes")
        inv.options.limits.maxNodes = *n;
      else
        inv.options.limits.maxArray = *n;
    }
  }
  if (!inv.hasInput && !(command.options & kOptRepl)) {
    return usageError(inv, command.name == "check" || command.name == "compile"
                               ? "missing input: give a .nabla file or '-'"
                               : "missing input: give an expression, a file or '-'");
  }
  return std::nullopt;
}

int reportError(const Invocation &inv, const driver::Error &e, const std::string &hint) {
  llvm::outs().flush();
  if (e.buffer() && !e.diagnostics().empty()) {
    llvm::errs() << e.render(inv.color);
    llvm::errs().flush();
  } else {
    printLabel(inv, "nabla", "error", llvm::raw_ostream::RED, e.message());
  }
  if (e.kind() == driver::ErrorKind::Internal) {
    llvm::errs() << "this is a bug in nabla; please report it with the input that caused it\n";
    llvm::errs().flush();
    return kExitInternal;
  }
  if (!hint.empty() && e.kind() == driver::ErrorKind::Limit) note(inv, hint);
  return kExitInput;
}

void printMessages(const Invocation &inv, const std::vector<driver::Message> &messages) {
  for (const driver::Message &m : messages) {
    if (m.severity == Severity::Warning)
      warn(inv, m.text);
    else if (m.severity == Severity::Note)
      note(inv, m.text);
    else
      inputError(inv, m.text);
  }
}

std::optional<driver::Program> loadProgram(const Invocation &inv, driver::ArgumentKind kind,
                                           int &exitCode) {
  try {
    driver::Program program =
        driver::Program::load(driver::readArgument(inv.input, kind, inv.options.limits), inv.options);
    if (std::string warnings = program.renderWarnings(inv.color); !warnings.empty()) {
      llvm::errs() << warnings;
      llvm::errs().flush();
    }
    return program;
  } catch (const driver::Error &e) {
    exitCode = reportError(inv, e);
    return std::nullopt;
  }
}

std::optional<driver::Entry> selectEntry(const Invocation &inv, const driver::Program &program,
                                         int &exitCode) {
  try {
    if (!inv.function.empty()) return program.entry(inv.function);
    return program.onlyEntry("choose one with --fn NAME");
  } catch (const driver::Error &e) {
    exitCode = reportError(inv, e);
    return std::nullopt;
  }
}

std::string partialName(const std::string &f, const std::string &x) { return "∂" + f + "/∂" + x; }

std::string secondPartialName(const std::string &f, const std::string &x, const std::string &y) {
  if (x == y)
    return "∂²" + f + "/∂" + x + "²";
  return "∂²" + f + "/∂" + x + "∂" + y;
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

std::vector<double> evaluateCompiled(driver::Jit &jit, const driver::Program &program,
                                     const std::string &name, const std::vector<SymbolId> &args,
                                     const Derivatives &d, const std::vector<double> &symbolValues) {
  driver::Code f = jit.compile(program, name, args, d);
  std::vector<double> at;
  for (SymbolId s : args)
    at.push_back(symbolValues[s]);
  std::vector<double> out;
  if (d.grad.empty()) {
    out.push_back(f(at));
  } else {
    auto [value, grad] = f.valueAndGrad(at);
    out.push_back(value);
    out.insert(out.end(), grad.begin(), grad.end());
  }
  if (!d.hessian.empty()) {
    std::vector<double> hess = f.hessian(at);
    out.insert(out.end(), hess.begin(), hess.end());
  }
  return out;
}

}  // namespace nabla::cli
