// The one option parser of every subcommand: option tables (name, kind, value, help, group), read
// with CLI11 by GNU conventions (`--name VALUE`, `--name=VALUE`, `-o FILE`, `-O2`, flags with an
// optional `=true|false`, `--` before arguments that start with a dash), "did you mean" for a
// mistyped option, and help text made from the same table.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::data {
struct ReadOptions;
}

namespace nabla::cli {

struct Invocation;

struct Option {
  /// What a value of the option names, for the checks every command makes before it runs
  /// (checkCommandFiles): a file it reads, or a file it writes.
  enum class File : unsigned char { None, Read, Write };
  enum class Kind {
    Value,          // --name VALUE or --name=VALUE
    Flag,           // --name, or --name=true|false
    OptionalValue,  // --name, or --name=VALUE (never the next argument)
  };
  std::string_view name;  // with its dashes: `--wrt`, `-O`
  Kind kind = Kind::Value;
  std::string_view valueName;
  std::string_view help;
  std::string_view group = {};  // a heading printed before it, when not empty
  bool repeatable = false;      // given more than once, its values add up (else an error)
  char shortName = 0;           // `o` for -o, besides the name
  File file = File::None;
  /// For an output: the option of an input it may name, because that input is read whole before
  /// the output is first written and replacing it is the point (`--checkpoint` and `--resume`).
  std::string_view mayBe = {};
};

/// What was given: each option's values in order ("true"/"false" for a flag, "" for an optional
/// value given without one), and the positional arguments in order.
struct Arguments {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> positional;
  bool has(const std::string &name) const { return values.count(name) > 0; }
  /// The last value of the option, or null when it was not given.
  const std::string *get(const std::string &name) const {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? nullptr : &it->second.back();
  }
  const std::vector<std::string> &all(const std::string &name) const;
};

/// Parses `args` (after the command name) against `table`. An unknown option (with a suggestion,
/// or naming the command that has it), a missing value, a value given to a flag that is not a
/// truth value, or an option given twice that is not repeatable is a usage error: then it is
/// printed and the exit status returned. `-h` and `--help` print `help` and return 0.
/// `elsewhere` lists the options of the other commands, for "'nabla X' has no option '--y'".
std::optional<int> parseOptions(const Invocation &inv, const std::vector<Option> &table,
                                const std::vector<std::string> &args, Arguments &out,
                                const std::vector<std::string> &elsewhere,
                                const std::string &help);

/// The options part of a command's help text, in table order, with the groups' headings.
std::string optionsHelp(const std::vector<Option> &table);

/// Readers of option values: each prints a usage error naming the option and returns nothing on
/// bad input.
std::optional<double> numberOption(const Invocation &inv, const std::string &name,
                                   const std::string &text);
std::optional<std::size_t> countOption(const Invocation &inv, const std::string &name,
                                       const std::string &text, bool allowZero = false);
std::optional<bool> boolOption(const Invocation &inv, const std::string &name,
                               const std::string &text);

/// The limits of untrusted input, under the heading "limits": the model's (--max-source-bytes,
/// --max-nesting, --max-nodes, --max-array) and, with `rows`, the data's (--max-rows). Their
/// defaults are the driver's.
std::vector<Option> limitOptions(bool rows);
/// Reads the limits given into inv.options.limits and `maxRows` (when not null); false after a
/// usage error (printed).
bool readLimitOptions(Invocation &inv, const Arguments &args, std::size_t *maxRows);

/// How `fit` and `predict` read data files, under the heading "reading data": --delimiter,
/// --na, --drop-na (data::ReadOptions).
std::vector<Option> dataReadOptions();
/// Reads them into `read` (its maxRows is readLimitOptions'); false after a usage error (printed).
bool readDataOptions(Invocation &inv, const Arguments &args, data::ReadOptions &read);

/// The one positional argument, the model: sets inv.input. Otherwise a usage error is printed and
/// its exit code returned.
std::optional<int> takeModelArgument(Invocation &inv, const Arguments &args);

/// Whether stderr is a terminal, for progress bars.
bool stderrIsTerminal();

}  // namespace nabla::cli
