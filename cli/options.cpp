// The option parser: CLI11 reads the words; this file gives it the table, turns its errors into
// nabla's usage errors, and writes the help text from the same table.
#include "cli_common.h"

#include "runtime/data/data.h"

#include <CLI/CLI.hpp>

#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <unistd.h>

namespace nabla::cli {

namespace {

bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

/// The option of the table a word names (`--wrt`, `--wrt=x`, `-o`, `-O2`), if any.
const Option *findOption(const std::vector<Option> &table, std::string_view word) {
  std::string_view name = word.substr(0, word.find('='));
  for (const Option &o : table) {
    if (o.name == name) return &o;
    if (o.shortName && name.size() == 2 && name[0] == '-' && name[1] == o.shortName) return &o;
    // A short option with its value attached: -O2.
    if (o.name.size() == 2 && word.size() > 2 && word.rfind(o.name, 0) == 0 && word[1] != '-')
      return &o;
  }
  return nullptr;
}

/// The option's name as CLI11 declares it: `-o,--output`, `-O`.
std::string declaration(const Option &o) {
  std::string names(o.name);
  if (o.shortName) names = std::string("-") + o.shortName + "," + names;
  return names;
}

}  // namespace

const std::vector<std::string> &Arguments::all(const std::string &name) const {
  static const std::vector<std::string> kNone;
  auto it = values.find(name);
  return it == values.end() ? kNone : it->second;
}

std::optional<int> parseOptions(const Invocation &inv, const std::vector<Option> &table,
                                const std::vector<std::string> &args, Arguments &out,
                                const std::vector<std::string> &elsewhere,
                                const std::string &help) {
  for (const std::string &arg : args) {
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help") {
      llvm::outs() << help;
      llvm::outs().flush();
      return kExitOk;
    }
  }

  // The words for CLI11. `-x^2`, `-2*x`, `-(a + b)`: an argument that starts with a minus but is
  // no option is an expression, and goes after `--`. (A lone word after one dash, `-q`, is more
  // likely a mistyped option.) An optional value given without `=` is an empty one.
  std::vector<std::string> words, expressions;
  std::vector<const Option *> bare;  // optional values given without one
  bool ended = false, valueNext = false;
  for (const std::string &arg : args) {
    if (ended || valueNext) {
      words.push_back(arg);
      valueNext = false;
      continue;
    }
    if (arg == "--") {
      ended = true;
      words.push_back(arg);
      continue;
    }
    const Option *option = arg.size() > 1 && arg[0] == '-' ? findOption(table, arg) : nullptr;
    if (!option && arg.size() > 1 && arg[0] == '-' && arg.rfind("--", 0) != 0) {
      const bool word = std::all_of(arg.begin() + 1, arg.end(), isWordChar);
      if (!word || std::isdigit(static_cast<unsigned char>(arg[1]))) {
        expressions.push_back(arg);
        continue;
      }
    }
    if (option && option->kind == Option::Kind::OptionalValue && arg == option->name) {
      bare.push_back(option);  // CLI11 would take the next word as its value
      continue;
    }
    if (option && option->kind == Option::Kind::Value && arg.find('=') == std::string::npos &&
        (arg == option->name || (option->shortName && arg.size() == 2))) {
      valueNext = true;
    } else if (option && option->name.size() == 2 && arg.rfind(std::string(option->name) + "=", 0) == 0) {
      words.push_back(std::string(option->name) + arg.substr(3));  // -O=2 is -O2
      continue;
    }
    words.push_back(arg);
  }
  if (!expressions.empty()) {
    auto dashes = std::find(words.begin(), words.end(), "--");
    if (dashes == words.end()) dashes = words.insert(words.end(), "--");
    words.insert(dashes + 1, expressions.begin(), expressions.end());
  }

  CLI::App app;
  app.set_help_flag();
  app.allow_extras(false);
  std::vector<std::vector<std::string>> given(table.size());
  for (std::size_t k = 0; k < table.size(); ++k) {
    const Option &o = table[k];
    switch (o.kind) {
    case Option::Kind::Value:
    case Option::Kind::OptionalValue:
      app.add_option(declaration(o), given[k])
          ->expected(1)
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);  // "given twice" is ours to say
      break;
    case Option::Kind::Flag: app.add_flag(declaration(o) + "{true}", given[k]); break;
    }
  }
  app.add_option("arguments", out.positional);

  std::reverse(words.begin(), words.end());  // CLI11 takes them last first
  try {
    app.parse(words);
  } catch (const CLI::ExtrasError &) {
    std::vector<std::string> extras = app.remaining();
    std::string name = extras.empty() ? std::string("?") : extras.front();
    name = name.substr(0, name.find('='));
    if (std::find(elsewhere.begin(), elsewhere.end(), name) != elsewhere.end())
      return usageError(inv, "'" + commandName(inv) + "' has no option '" + name + "'");
    std::vector<std::string> names;
    for (const Option &o : table) names.emplace_back(o.name);
    names.emplace_back("--help");
    std::string message = "unknown option '" + name + "'";
    if (std::string close = closestName(name, names); !close.empty())
      return usageError(inv, message + " (did you mean '" + close + "'?)");
    if (name.rfind("--", 0) != 0 && !(inv.command->options & kOptOwn))
      message += " (an expression that starts with '-' goes after '--': " + commandName(inv) +
                 " -- " + name + ")";
    return usageError(inv, message);
  } catch (const CLI::ArgumentMismatch &e) {
    std::string what = e.what();
    return usageError(inv, "option '" + what.substr(0, what.find(':')) + "' needs a value");
  } catch (const CLI::ParseError &e) {
    return usageError(inv, e.what());
  }

  for (const Option *o : bare) given[static_cast<std::size_t>(o - table.data())].push_back("");
  for (std::size_t k = 0; k < table.size(); ++k) {
    if (given[k].empty()) continue;
    const Option &o = table[k];
    const std::string name(o.name);
    if (given[k].size() > 1 && !o.repeatable)
      return usageError(inv, "option '" + name + "' is given twice");
    if (o.kind == Option::Kind::Flag)
      for (std::string &v : given[k]) {
        std::optional<bool> b = boolOption(inv, name, v);
        if (!b) return kExitUsage;
        v = *b ? "true" : "false";
      }
    out.values[name] = std::move(given[k]);
  }
  return std::nullopt;
}

std::string optionsHelp(const std::vector<Option> &table) {
  std::string out;
  for (const Option &o : table) {
    if (!o.group.empty()) out += "\n" + std::string(o.group) + ":\n";
    std::string left = o.shortName ? std::string("-") + o.shortName + ", " + std::string(o.name)
                                   : std::string(o.name);
    if (o.kind == Option::Kind::Value && !o.valueName.empty())
      left += " " + std::string(o.valueName);
    if (o.kind == Option::Kind::OptionalValue) left += "[=" + std::string(o.valueName) + "]";
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

std::vector<Option> limitOptions(bool rows) {
  using K = Option::Kind;
  // The help's defaults are the driver's (the texts live as long as the process).
  static const driver::Limits defaults;
  static const std::string bytes = "largest input accepted, in bytes (default " +
                                   std::to_string(defaults.maxSourceBytes) + ")";
  static const std::string nesting = "deepest nesting of parentheses and brackets (default " +
                                     std::to_string(defaults.maxNesting) + ")";
  static const std::string nodes = "largest graph built, in nodes, and Hessian (default " +
                                   std::to_string(defaults.maxNodes) + ")";
  static const std::string array =
      "most elements of one array (default " + std::to_string(defaults.maxArray) + ")";
  std::vector<Option> table = {
      {"--max-source-bytes", K::Value, "N", bytes, "limits"},
      {"--max-nesting", K::Value, "N", nesting},
      {"--max-nodes", K::Value, "N", nodes},
      {"--max-array", K::Value, "N", array},
  };
  if (rows) table.push_back({"--max-rows", K::Value, "N", "most data rows read"});
  return table;
}

bool readLimitOptions(Invocation &inv, const Arguments &args, std::size_t *maxRows) {
  bool ok = true;
  auto read = [&](const char *name, auto &&store) {
    if (const std::string *v = args.get(name)) {
      std::optional<std::size_t> n = countOption(inv, name, *v);
      if (n) store(*n);
      ok = ok && n.has_value();
    }
  };
  driver::Limits &limits = inv.options.limits;
  read("--max-source-bytes", [&](std::size_t n) { limits.maxSourceBytes = n; });
  read("--max-nesting", [&](std::size_t n) {
    limits.maxNesting = static_cast<unsigned>(std::min<std::size_t>(n, UINT32_MAX));
  });
  read("--max-nodes", [&](std::size_t n) { limits.maxNodes = n; });
  read("--max-array", [&](std::size_t n) { limits.maxArray = n; });
  if (maxRows) read("--max-rows", [&](std::size_t n) { *maxRows = n; });
  return ok;
}

std::vector<Option> dataReadOptions() {
  using K = Option::Kind;
  return {
      {"--delimiter", K::Value, "D",
       "CSV: , ; or tab (default: the most frequent in the header line)", "reading data"},
      {"--na", K::Value, "NA,?,...",
       "CSV: spellings of a missing value (\"\": an empty cell); one read is an error"},
      {"--drop-na", K::Flag, "",
       "leave out rows with a missing value (--na; NaN in .npy/.npz) and say how many"},
  };
}

bool readDataOptions(Invocation &inv, const Arguments &args, data::ReadOptions &read) {
  if (const std::string *v = args.get("--delimiter")) {
    std::optional<char> d = data::parseDelimiter(*v);
    if (!d) {
      usageError(inv, "unknown --delimiter '" + data::printable(*v) + "' (',', ';', tab or \\t)");
      return false;
    }
    read.delimiter = *d;
  }
  if (const std::string *v = args.get("--na")) read.na = data::parseNaList(*v);
  if (const std::string *v = args.get("--drop-na")) {
    std::optional<bool> b = boolOption(inv, "--drop-na", *v);
    if (!b) return false;
    read.dropNa = *b;
  }
  return true;
}

bool stderrIsTerminal() { return isatty(STDERR_FILENO) != 0; }

std::optional<int> takeModelArgument(Invocation &inv, const Arguments &args) {
  if (args.positional.empty()) return usageError(inv, "missing input: give a .nabla file");
  if (args.positional.size() > 1)
    return usageError(inv, "unexpected argument '" + args.positional[1] + "' (the model is '" +
                               args.positional[0] + "')");
  inv.input = args.positional[0];
  inv.hasInput = true;
  return std::nullopt;
}

}  // namespace nabla::cli
