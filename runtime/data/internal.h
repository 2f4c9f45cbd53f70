// What the files of runtime/data share and nothing else sees: the bytes of a CSV file, how
// messages name rows and cells, and the readers behind readColumns.
#pragma once

#include "runtime/data/data.h"

#include <cstdint>
#include <string>

namespace nabla::data {

/// The bytes of a CSV file, read at offsets.
class CsvSource {
public:
  virtual ~CsvSource() = default;
  virtual std::uint64_t size() const = 0;
  /// Up to `n` bytes from `offset` (fewer only at the end).
  virtual std::size_t readAt(std::uint64_t offset, char *out, std::size_t n) const = 0;
};

namespace detail {

/// "1st", "2nd", "3rd", "4th", ... for column positions in messages.
std::string ordinal(std::size_t n);
/// "the header", "row 3 (line 4)".
std::string describeRow(std::size_t row, std::size_t line);
/// "PATH: more than N data rows (raise the limit with --max-rows)".
DataError tooManyRows(const std::string &path, std::size_t maxRows);

/// The rows of a CSV file (csv_rows.cpp) and of a NumPy file's arrays (numpy.cpp), as
/// readColumns describes them; `chosen` are valid header indices.
Table readCsvRows(const CsvFile &file, const std::vector<std::size_t> &chosen,
                  const ReadOptions &options);
Table readNumpyColumns(const CsvFile &file, const std::vector<std::size_t> &chosen,
                       const ReadOptions &options);

} // namespace detail
} // namespace nabla::data
