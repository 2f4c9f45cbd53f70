#include "cli_common.h"

#include "support/output_file.h"

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

using K = Option::Kind;

/// The options shared by the commands, each with the bit that a command takes it by.
struct SharedOption {
  Option option;
  unsigned bit;
};

const std::vector<SharedOption> &sharedOptions() {
  static const std::vector<SharedOption> kOptions = {
      {{"--wrt", K::Value, "x,y", "differentiate with respect to these variables, in this order",
        {}, true},
       kOptWrt},
      {{"--vars", K::Value, "x,y",
        "the function's variables, in this order (may name variables it does not use)", {}, true},
       kOptVars},
      {{"--at", K::Value, "x=1,y=2", "the point: a value for every variable (repeatable)", {},
        true},
       kOptAt},
      {{"--fn", K::Value, "NAME", "the function of a file to use (`L` for the objective)"},
       kOptFunction},
      {{"--grad", K::Flag, "", "also the gradient"}, kOptGrad},
      {{"--hessian", K::Flag, "", "also the Hessian"}, kOptHessian},
      {{"--matrix", K::Flag, "",
        "the objective's gradient with respect to each param array in matrix notation"},
       kOptMatrix},
      {{"--interp", K::Flag, "", "evaluate with the reference interpreter instead of compiled code"},
       kOptInterp},
      {{"--stats", K::Flag, "", "print node counts instead of the graph"}, kOptStats},
      {{"--json", K::Flag, "", "print JSON"}, kOptJson},
      {{"--output", K::Value, "FILE", "write to FILE (.dot; .svg, .png or .pdf run Graphviz)", {},
        false, 'o', Option::File::Write},
       kOptOutput},
      {{"--output", K::Value, "FILE",
        "the file to write (required): the library, or what --emit names", {}, false, 'o',
        Option::File::Write},
       kOptLibrary},
      {{"--header", K::Value, "FILE.h", "also write the C header that declares the library", {},
        false, 0, Option::File::Write},
       kOptCompile},
      {{"--emit", K::Value, "obj|asm|llvm-ir",
        "write the object, the assembly or the optimized IR instead of a library"},
       kOptCompile},
      {{"--no-hessian", K::Flag, "", "leave out the Hessian entry points"}, kOptCompile},
      {{"--no-hvp", K::Flag, "", "leave out the Hessian-vector product entry points"}, kOptCompile},
      {{"--params", K::Value, "PARAMS.json",
        "bake trained params in (the -o file of `nabla fit`): definitions become functions of "
        "the inputs alone, standardized inside as in training",
        {}, false, 0, Option::File::Read},
       kOptCompile},
      {{"--level", K::Value, "auto|scalar|array",
        "which level computes the objective: the array level (BLAS) for large models by default"},
       kOptCompile},
      {{"--asm", K::Flag, "", "print the host's assembly instead of LLVM IR"}, kOptAsm},
      {{"-O", K::Value, "LEVEL", "optimization level 0, 1, 2 or 3; also -O0 .. -O3 (default 2)"},
       kOptCodegen},
      {{"--fast-math", K::Flag, "",
        "let LLVM reassociate, contract to FMA and assume no NaN or infinity"},
       kOptCodegen},
      {{"--strict", K::Flag, "", "exit with status 1 if any line failed"}, kOptRepl},
      {{"--no-simplify", K::Flag, "", "skip simplification"}, kOptSimplify},
      {{"--trace", K::Value, "rewrites", "print each rewrite of the simplifier to stderr"},
       kOptSimplify},
  };
  return kOptions;
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
  // Messages quote files, cells, keys and names from outside: never raw control characters.
  os << " " << escapeForTerminal(message, true) << "\n";
  os.flush();
}

}  // namespace

std::string commandName(const Invocation &inv) {
  return inv.command ? "nabla " + std::string(inv.command->name) : "nabla";
}

int usageError(const Invocation &inv, const std::string &message) {
  printLabel(inv, commandName(inv), "error", llvm::raw_ostream::RED, message);
  llvm::errs() << "run '" << commandName(inv) << " --help' for usage\n";
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

std::vector<Option> commandOptions(const CommandSpec &command) {
  std::vector<Option> table;
  for (const SharedOption &o : sharedOptions())
    if (command.options & o.bit) table.push_back(o.option);
  if (command.own)
    for (const Option &o : command.own()) table.push_back(o);
  if (command.options & kOptLimits)
    for (const Option &o : limitOptions(false)) table.push_back(o);
  return table;
}

std::string commandHelp(const CommandSpec &command) {
  std::string out = "usage: nabla " + std::string(command.usage) + "\n\n" +
                    std::string(command.summary) + "\n\n" + std::string(command.details);
  if (!(command.options & (kOptRepl | kOptOwn)))
    out += "\nThe input is an expression, a .nabla file, or '-' for standard input. An argument that\n"
           "names an existing file, or looks like a path (`dir/name`, `name.nabla`), is read as a\n"
           "file.\n";
  out += "\noptions:\n" + optionsHelp(commandOptions(command));
  if (command.epilogue) out += command.epilogue();
  return out;
}

std::optional<int> parseArguments(const CommandSpec &command, const std::vector<std::string> &args,
                                  Invocation &inv) {
  inv.command = &command;
  const char *noColor = std::getenv("NO_COLOR");
  inv.color = isatty(STDERR_FILENO) && !(noColor && *noColor);
  const std::vector<Option> table = commandOptions(command);
  // Options of the other commands, for "'nabla eval' has no option '--wrt'".
  auto takes = [&](const std::string &name) {
    return std::any_of(table.begin(), table.end(), [&](const Option &t) {
      return t.name == name || (t.shortName && name == std::string("-") + t.shortName);
    });
  };
  std::vector<std::string> elsewhere;
  for (const CommandSpec &c : commands())
    for (const Option &o : commandOptions(c)) {
      std::vector<std::string> names{std::string(o.name)};
      if (o.shortName) names.push_back(std::string("-") + o.shortName);
      for (const std::string &name : names)
        if (!takes(name)) elsewhere.push_back(name);
    }
  if (std::optional<int> done =
          parseOptions(inv, table, args, inv.args, elsewhere, commandHelp(command)))
    return done;
  const Arguments &a = inv.args;
  if (command.options & kOptOwn)
    return std::nullopt;  // fit and predict read their arguments themselves

  if (!a.positional.empty()) {
    inv.input = a.positional[0];
    inv.hasInput = true;
  }
  if (a.positional.size() > 1)
    return usageError(inv, "unexpected argument '" + a.positional[1] + "' (the input is already '" +
                               inv.input + "'): give the expression as one argument, in quotes");
  auto flag = [&](const char *name) {
    const std::string *v = a.get(name);
    return v && *v == "true";
  };
  for (const char *option : {"--wrt", "--vars"}) {
    std::vector<std::string> &list = std::string(option) == "--wrt" ? inv.wrt : inv.vars;
    for (const std::string &value : a.all(option))
      for (std::string &v : splitCommas(value)) {
        if (!validName(v))
          return usageError(inv, "malformed variable name '" + v + "' in " + option);
        // --vars may repeat a name (it is used once, with a warning); --wrt may not.
        if (list.end() != std::find(list.begin(), list.end(), v) && std::string(option) == "--wrt")
          return usageError(inv, "'" + v + "' is listed twice in " + option);
        list.push_back(v);
      }
  }
  for (const std::string &value : a.all("--at"))
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
        return usageError(inv, "number '" + text + "' for '" + var +
                                   "' in --at is out of range of a double");
      for (const auto &[seen, unused] : inv.at)
        if (seen == var)
          return usageError(inv, "'" + var + "' is given twice in --at");
      inv.at.emplace_back(var, v);
    }
  if (const std::string *v = a.get("--fn"))
    inv.function = *v;
  if (const std::string *v = a.get("--output")) {
    if (v->empty())
      return usageError(inv, "option '-o' needs a file name");
    inv.output = *v;
  }
  if (const std::string *v = a.get("-O")) {
    if (v->size() != 1 || (*v)[0] < '0' || (*v)[0] > '3')
      return usageError(inv, "unknown optimization level '" + *v + "' (0, 1, 2 or 3: -O0 .. -O3)");
    inv.optLevel = (*v)[0] - '0';
  }
  if (const std::string *v = a.get("--header")) {
    if (v->empty())
      return usageError(inv, "option '--header' needs a file name");
    inv.header = *v;
  }
  if (const std::string *v = a.get("--emit")) {
    if (*v != "obj" && *v != "asm" && *v != "llvm-ir")
      return usageError(inv, "unknown --emit '" + *v + "' (obj, asm or llvm-ir)");
    inv.emit = *v;
  }
  if (const std::string *v = a.get("--level")) {
    if (*v != "auto" && *v != "scalar" && *v != "array")
      return usageError(inv, "unknown --level '" + *v + "' (auto, scalar or array)");
    inv.level = *v;
  }
  if (const std::string *v = a.get("--trace")) {
    if (*v != "rewrites")
      return usageError(inv, "unknown trace '" + *v + "' (known: --trace=rewrites)");
    inv.options.traceRewrites = true;
  }
  inv.fastMath = flag("--fast-math");
  inv.noHessian = flag("--no-hessian");
  inv.noHvp = flag("--no-hvp");
  inv.strict = flag("--strict");
  inv.assembly = flag("--asm");
  inv.grad = flag("--grad");
  inv.hessian = flag("--hessian");
  inv.matrix = flag("--matrix");
  inv.stats = flag("--stats");
  inv.json = flag("--json");
  inv.interp = flag("--interp");
  inv.options.simplify = !flag("--no-simplify");
  if (!readLimitOptions(inv, a, nullptr))
    return kExitUsage;
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

std::optional<LoadedEntry> loadEntry(const Invocation &inv, int &exitCode) {
  std::optional<driver::Program> program =
      loadProgram(inv, driver::ArgumentKind::ExpressionOrFile, exitCode);
  if (!program)
    return std::nullopt;
  std::optional<driver::Entry> entry = selectEntry(inv, *program, exitCode);
  if (!entry)
    return std::nullopt;
  return LoadedEntry{std::move(*program), std::move(*entry)};
}

bool writeFile(const Invocation &inv, const std::string &path, const std::string &text) {
  try {
    writeFileAtomically(path, text);
    return true;
  } catch (const FileError &e) {
    inputError(inv, e.what());
    return false;
  }
}

std::string interruptCheckpointPath(const std::string &model) {
  std::string stem = model;
  if (std::size_t slash = stem.rfind('/'); slash != std::string::npos)
    stem = stem.substr(slash + 1);
  if (stem.size() > 6 && stem.ends_with(".nabla")) stem.resize(stem.size() - 6);
  return stem + ".checkpoint";
}

std::optional<int> checkCommandFiles(const Invocation &inv) {
  using Kind = FileUse::Kind;
  std::vector<FileUse> uses;
  // The model or expression: a file when it names one ('-' is standard input).
  std::string input = inv.input;
  if (input.empty() && !inv.args.positional.empty()) input = inv.args.positional[0];
  struct stat st {};
  if (!input.empty() && input != "-" && ::stat(input.c_str(), &st) == 0)
    uses.push_back({Kind::Read, input, inv.command->own ? "the model" : "the input", ""});
  for (const Option &o : commandOptions(*inv.command)) {
    if (o.file == Option::File::None) continue;
    const std::string role = o.shortName ? std::string("-") + o.shortName : std::string(o.name);
    auto it = inv.args.values.find(std::string(o.name));
    if (it == inv.args.values.end()) continue;
    for (const std::string &path : it->second)
      uses.push_back({o.file == Option::File::Read ? Kind::Read : Kind::Write, path, role,
                      std::string(o.mayBe)});
  }
  // `nabla fit` without --checkpoint writes one on Ctrl-C, beside where it runs.
  if (inv.command->name == "fit" && !inv.args.has("--checkpoint") && !input.empty())
    uses.push_back({Kind::WriteOnInterrupt, interruptCheckpointPath(input),
                    "the checkpoint written on Ctrl-C", "--resume"});
  // Standard output redirected to a file: not one of the inputs.
  if (::fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
    uses.push_back({Kind::Open, "/dev/stdout", "standard output", ""});
  try {
    checkFileUses(uses);
  } catch (const FileError &e) {
    return e.conflict() ? usageError(inv, e.what()) : inputError(inv, e.what());
  }
  return std::nullopt;
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
