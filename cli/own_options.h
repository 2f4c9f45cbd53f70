// Option tables for the commands with many options of their own (`fit`, `predict`): parsing
// (`--name VALUE`, `--name=VALUE`, flags with an optional `=true|false`) and their help text.
#pragma once

#include "cli_common.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::cli {

struct OwnOption {
  enum class Kind { Value, Flag, OptionalValue };
  std::string_view name; // with its dashes
  Kind kind = Kind::Value;
  std::string_view valueName;
  std::string_view help;
  std::string_view group = {}; // a heading printed before it, when not empty
};

/// What was given: option name -> value ("true" for a flag), positional arguments in order.
struct OwnArguments {
  std::map<std::string, std::string> values;
  std::vector<std::string> positional;
  bool has(const std::string &name) const { return values.count(name) > 0; }
  const std::string *get(const std::string &name) const {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }
};

/// Parses `inv.rawArgs` against the table; with `dashO`, `-o` stands for `--output`. An option
/// given twice, an unknown option (with a suggestion) or a missing value is a usage error: then the
/// error is printed and the exit code returned.
std::optional<int> parseOwnOptions(const Invocation &inv, const std::vector<OwnOption> &table,
                                   OwnArguments &out, bool dashO);

/// The one positional argument, the model: sets inv.input. Otherwise a usage error is printed and
/// its exit code returned.
std::optional<int> takeModelArgument(Invocation &inv, const OwnArguments &args);

/// The options part of the help text.
std::string ownOptionsHelp(const std::vector<OwnOption> &table, bool dashO);

/// Readers of option values: each prints a usage error naming the option and returns nothing on
/// bad input.
std::optional<double> numberOption(const Invocation &inv, const std::string &name,
                                   const std::string &text);
std::optional<std::size_t> countOption(const Invocation &inv, const std::string &name,
                                       const std::string &text, bool allowZero = false);
std::optional<bool> boolOption(const Invocation &inv, const std::string &name,
                               const std::string &text);

/// `table` followed by the limits of untrusted input, under the heading "limits": the model's
/// (--max-source-bytes, --max-nesting, --max-nodes, --max-array, as for the other commands) and
/// the data's (--max-rows).
std::vector<OwnOption> withLimitOptions(std::vector<OwnOption> table);
/// Reads the limits given into inv.compile and `maxRows`; false after a usage error (printed).
bool readLimitOptions(Invocation &inv, const OwnArguments &args, std::size_t &maxRows);

/// Whether stderr is a terminal, for progress bars.
bool stderrIsTerminal();

} // namespace nabla::cli
