// Fuzz target: CSV loading (runtime/data): the header, every column as numbers, single columns,
// and inputs bound to columns by name and by a run of columns, with a small row limit.
//
// Properties: bad data is a DataError whose message names the file and shows no raw control
// character; a table read has at least one row, one value per row and chosen column, and only
// finite numbers, zero or normal (a number that underflows is refused); rows parsed by several
// threads in small rounds are the rows (or the error) of one thread, bit for bit; missing
// values (`--na`, `--drop-na`) keep the same properties.
#include "fuzz_support.h"

#include "runtime/data/data.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace nabla::data;

constexpr const char *kPath = "fuzz.csv";
constexpr std::size_t kMaxRows = 256;

void checkError(const DataError &e) {
  const std::string m = e.what();
  NABLA_FUZZ_CHECK(!m.empty());
  NABLA_FUZZ_CHECK(m.find(kPath) != std::string::npos);
  for (char c : m) NABLA_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

/// The table, or the error's message, read with `options`.
std::string outcome(const CsvFile &file, const std::vector<std::size_t> &chosen,
                    const ReadOptions &options) {
  try {
    Table t = readColumns(file, chosen, options);
    std::string out = std::to_string(t.rows) + "/" + std::to_string(t.dropped) + ":";
    for (const std::vector<double> &c : t.columns)
      out.append(reinterpret_cast<const char *>(c.data()), c.size() * sizeof(double));
    return out;
  } catch (const DataError &e) {
    return std::string("error: ") + e.what();
  }
}

void readAndCheck(const CsvFile &file, const std::vector<std::size_t> &chosen) {
  ReadOptions one;
  one.maxRows = kMaxRows;
  one.threads = 1;
  ReadOptions many = one;
  many.threads = 3;
  many.chunkBytes = 7;
  NABLA_FUZZ_CHECK(outcome(file, chosen, one) == outcome(file, chosen, many));
  ReadOptions na = many;
  na.na = {"NA", ""};
  na.dropNa = file.header.size() % 2 == 0;
  try {
    Table t = readColumns(file, chosen, na);
    NABLA_FUZZ_CHECK(t.rows >= 1 && t.columns.size() == chosen.size());
  } catch (const DataError &e) {
    checkError(e);
  }
  try {
    Table t = readColumns(file, chosen, kMaxRows);
    NABLA_FUZZ_CHECK(t.rows >= 1 && t.rows <= kMaxRows);
    NABLA_FUZZ_CHECK(t.columns.size() == chosen.size());
    for (const std::vector<double> &c : t.columns) {
      NABLA_FUZZ_CHECK(c.size() == t.rows);
      for (double v : c)  // zero or a normal double: nothing that underflowed
        NABLA_FUZZ_CHECK(std::isfinite(v) && (v == 0 || std::fabs(v) >= DBL_MIN));
    }
  } catch (const DataError &e) {
    checkError(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string text = size ? std::string(reinterpret_cast<const char *>(data), size) : "";
  CsvFile file;
  try {
    file = csvFromText(kPath, std::move(text));
  } catch (const DataError &e) {
    checkError(e);
    return 0;
  }
  const std::size_t width = file.header.size();
  NABLA_FUZZ_CHECK(width >= 1);
  NABLA_FUZZ_CHECK(file.bodyOffset <= file.end);
  std::vector<std::size_t> all;
  for (std::size_t c = 0; c < width && c < 64; ++c) all.push_back(c);
  readAndCheck(file, all);
  for (std::size_t c = 0; c < width && c < 4; ++c) readAndCheck(file, {c});
  readAndCheck(file, {});

  // Binding: the first column by name, and the run from the first column to the last.
  InputColumns one;
  one.name = "x";
  one.columns = {file.header[0]};
  InputColumns run;
  run.name = "v";
  run.size = width;
  run.columns = {file.header[0], file.header[width - 1]};
  run.range = true;
  for (const InputColumns &input : {one, run}) {
    try {
      std::vector<std::size_t> bound = bindColumns(file, {input});
      NABLA_FUZZ_CHECK(bound.size() == input.size);
      for (std::size_t c : bound) NABLA_FUZZ_CHECK(c < width);
      readAndCheck(file, bound);
    } catch (const DataError &e) {
      checkError(e);
    }
  }
  return 0;
}
