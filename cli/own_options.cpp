#include "own_options.h"


#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <unistd.h>

namespace nabla::cli {

std::optional<int> parseOwnOptions(const Invocation &inv, const std::vector<OwnOption> &table,
                                   OwnArguments &out, bool dashO) {
  const std::vector<std::string> &args = inv.rawArgs;
  bool optionsEnded = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (optionsEnded || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      out.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      optionsEnded = true;
      continue;
    }
    std::string name = arg, value;
    bool hasValue = false;
    if (arg.rfind("--", 0) == 0) {
      if (std::size_t eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        hasValue = true;
      }
    }
    if (name == "-o" && dashO) name = "--output";
    const OwnOption *opt = nullptr;
    for (const OwnOption &o : table)
      if (o.name == name) opt = &o;
    if (!opt) {
      std::vector<std::string> names;
      for (const OwnOption &o : table) names.emplace_back(o.name);
      std::string message = "unknown option '" + name + "'";
      std::string close = closestName(name, names);
      if (!close.empty()) message += " (did you mean '" + close + "'?)";
      return usageError(inv, message);
    }
    switch (opt->kind) {
    case OwnOption::Kind::Value:
      if (!hasValue) {
        if (i + 1 >= args.size()) return usageError(inv, "option '" + name + "' needs a value");
        value = args[++i];
      }
      break;
    case OwnOption::Kind::Flag:
      if (!hasValue) value = "true";
      break;
    case OwnOption::Kind::OptionalValue: break; // only `--name=VALUE` gives it a value
    }
    if (out.values.count(name)) return usageError(inv, "option '" + name + "' is given twice");
    out.values[name] = value;
  }
  return std::nullopt;
}

std::string ownOptionsHelp(const std::vector<OwnOption> &table, bool dashO) {
  std::string out;
  for (const OwnOption &o : table) {
    if (!o.group.empty()) out += "\n" + std::string(o.group) + ":\n";
    std::string left = o.name == "--output" && dashO ? "-o, --output" : std::string(o.name);
    if (o.kind == OwnOption::Kind::Value) left += " " + std::string(o.valueName);
    if (o.kind == OwnOption::Kind::OptionalValue) left += "[=" + std::string(o.valueName) + "]";
    out += "  " + left;
    if (left.size() >= 30)
      out += "\n" + std::string(32, ' ');
    else
      out += std::string(30 - left.size(), ' ');
    out += std::string(o.help) + "\n";
  }
  out += "  -h, --help                    show this help\n";
  return out;
}

std::optional<double> numberOption(const Invocation &inv, const std::string &name,
                                   const std::string &text) {
  errno = 0;
  char *end = nullptr;
  const double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
  const bool hex = text.find_first_of("xX") != std::string::npos;
  if (text.empty() || *end != '\0' || hex || !std::isfinite(v)) {
    usageError(inv, "option '" + name + "' needs a finite decimal number, not '" + text + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<std::size_t> countOption(const Invocation &inv, const std::string &name,
                                       const std::string &text, bool allowZero) {
  errno = 0;
  char *end = nullptr;
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  unsigned long long v = digits ? std::strtoull(text.c_str(), &end, 10) : 0;
  if (!digits || errno != 0 || (v == 0 && !allowZero)) {
    usageError(inv, "option '" + name + "' needs a " + (allowZero ? "whole" : "positive whole") +
                        " number, not '" + text + "'");
    return std::nullopt;
  }
  return static_cast<std::size_t>(v);
}

std::optional<bool> boolOption(const Invocation &inv, const std::string &name,
                               const std::string &text) {
  if (text == "true" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "no") return false;
  usageError(inv, "option '" + name + "' takes true or false, not '" + text + "'");
  return std::nullopt;
}

std::vector<OwnOption> withLimitOptions(std::vector<OwnOption> table) {
  using K = OwnOption::Kind;
  table.push_back({"--max-source-bytes", K::Value, "N", "largest model accepted, in bytes", "limits"});
  table.push_back({"--max-nesting", K::Value, "N", "deepest nesting of parentheses and brackets"});
  table.push_back({"--max-nodes", K::Value, "N", "largest graph built, in nodes (and Hessian)"});
  table.push_back({"--max-array", K::Value, "N", "most elements of one array"});
  table.push_back({"--max-rows", K::Value, "N", "most data rows read"});
  return table;
}

bool readLimitOptions(Invocation &inv, const OwnArguments &args, std::size_t &maxRows) {
  bool ok = true;
  auto read = [&](const char *name, auto &&store) {
    if (const std::string *v = args.get(name)) {
      std::optional<std::size_t> n = countOption(inv, name, *v);
      if (n) store(*n);
      ok = ok && n.has_value();
    }
  };
  read("--max-source-bytes", [&](std::size_t n) { inv.options.limits.maxSourceBytes = n; });
  read("--max-nesting", [&](std::size_t n) {
    inv.options.limits.maxNesting = static_cast<unsigned>(std::min<std::size_t>(n, UINT32_MAX));
  });
  read("--max-nodes", [&](std::size_t n) { inv.options.limits.maxNodes = n; });
  read("--max-array", [&](std::size_t n) { inv.options.limits.maxArray = n; });
  read("--max-rows", [&](std::size_t n) { maxRows = n; });
  return ok;
}

bool stderrIsTerminal() { return isatty(STDERR_FILENO) != 0; }

std::optional<int> takeModelArgument(Invocation &inv, const OwnArguments &args) {
  if (args.positional.empty()) return usageError(inv, "missing input: give a .nabla file");
  if (args.positional.size() > 1)
    return usageError(inv, "unexpected argument '" + args.positional[1] + "' (the model is '" +
                               args.positional[0] + "')");
  inv.input = args.positional[0];
  inv.hasInput = true;
  return std::nullopt;
}

} // namespace nabla::cli
