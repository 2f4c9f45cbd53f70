// Inputs to columns by name: listed, defaulted, or a run of columns in file order.
#include "runtime/data/data.h"

#include "support/text.h"

#include <map>

namespace nabla::data {

namespace {

std::string listColumns(const std::vector<std::string> &header) {
  std::string out;
  const std::size_t shown = header.size() < 8 ? header.size() : 8;
  for (std::size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + printable(header[i]);
  if (shown < header.size()) out += ", ... (" + std::to_string(header.size()) + " in all)";
  return out;
}

} // namespace

std::vector<std::size_t> bindColumns(const CsvFile &file, const std::vector<InputColumns> &inputs) {
  std::map<std::string, std::vector<std::size_t>> positions;
  for (std::size_t c = 0; c < file.header.size(); ++c) positions[file.header[c]].push_back(c);

  std::vector<std::size_t> out;
  for (const InputColumns &input : inputs) {
    const std::string prefix =
        (input.where.empty() ? "" : input.where + ": ") + "input '" + input.name + "'";
    auto find = [&](const std::string &name) -> std::size_t {
      auto it = positions.find(name);
      if (it == positions.end()) {
        std::string message =
            prefix + " reads column '" + printable(name) + "', which '" + file.path + "' does not have";
        std::string close = closestName(name, file.header);
        if (!close.empty())
          message += " (did you mean '" + printable(close) + "'?)";
        else
          message += " (its columns: " + listColumns(file.header) + ")";
        throw DataError(message);
      }
      if (it->second.size() > 1)
        throw DataError(prefix + " reads column '" + printable(name) + "', which the header of '" + file.path +
                        "' has more than once (columns " + std::to_string(it->second[0] + 1) +
                        " and " + std::to_string(it->second[1] + 1) + ")");
      return it->second[0];
    };
    std::vector<std::size_t> mine;
    if (input.range) {
      if (input.columns.size() != 2)
        throw DataError(prefix + ": a range of columns needs a first and a last column");
      std::size_t first = find(input.columns[0]), last = find(input.columns[1]);
      if (last < first)
        throw DataError(prefix + ": column '" + printable(input.columns[1]) + "' comes before '" +
                        printable(input.columns[0]) + "' in '" + file.path + "' (columns " +
                        std::to_string(last + 1) + " and " + std::to_string(first + 1) + ")");
      for (std::size_t c = first; c <= last; ++c) mine.push_back(c);
      if (mine.size() != input.size)
        throw DataError(prefix + " has " + std::to_string(input.size) + " elements, but '" +
                        printable(input.columns[0]) + " .. " + printable(input.columns[1]) + "' is " +
                        std::to_string(mine.size()) + " columns of '" + file.path + "'");
    } else {
      if (input.columns.size() != input.size)
        throw DataError(prefix + " has " + std::to_string(input.size) + " elements but " +
                        std::to_string(input.columns.size()) + " columns are named");
      for (const std::string &name : input.columns) mine.push_back(find(name));
    }
    out.insert(out.end(), mine.begin(), mine.end());
  }
  return out;
}

} // namespace nabla::data
