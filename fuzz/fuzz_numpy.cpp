// Fuzz target: NumPy data files (runtime/data/numpy.cpp): the bytes as a .npz archive when they
// start with "PK", else as a .npy array, written to a scratch file and opened as `nabla fit
// --data` opens one; then every column read (at most 64), with a small row limit.
//
// Properties: a malformed file (header, shape, zip directory, deflate stream, CRC) is a
// DataError whose message names the file and shows no raw control character, never a crash or
// an allocation beyond what the file holds (deflated members inflate to their declared size at
// most); a table read has its rows in every column, and only finite numbers.
#include "fuzz_support.h"

#include "runtime/data/data.h"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace nabla::data;

void checkError(const DataError &e, const std::string &path) {
  const std::string m = e.what();
  NABLA_FUZZ_CHECK(m.find(path) != std::string::npos);
  for (char c : m)
    NABLA_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const bool zip = size >= 2 && data[0] == 'P' && data[1] == 'K';
  const std::string path =
      "/tmp/nabla_fuzz_numpy_" + std::to_string(::getpid()) + (zip ? ".npz" : ".npy");
  {
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f)
      return 0;
    if (size)
      std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    CsvFile file = openData(path);
    std::vector<std::size_t> all;
    for (std::size_t c = 0; c < file.header.size() && c < 64; ++c)
      all.push_back(c);
    ReadOptions options;
    options.maxRows = 4096;
    options.dropNa = size % 2 == 0;
    Table t = readColumns(file, all, options);
    NABLA_FUZZ_CHECK(t.rows >= 1 && t.columns.size() == all.size());
    for (const std::vector<double> &c : t.columns) {
      NABLA_FUZZ_CHECK(c.size() == t.rows);
      for (double v : c)
        NABLA_FUZZ_CHECK(std::isfinite(v));
    }
  } catch (const DataError &e) {
    checkError(e, path);
  }
  std::remove(path.c_str());
  return 0;
}
