// runtime/data: CSV parsing and its errors, column binding, standardization, the seeded
// generator and shuffles, and batches.
#include "runtime/data/data.h"
#include "support/input_file.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>
#include <numeric>
#include <set>

using namespace nabla::data;
using nabla::kInputChunkBytes;
using nabla::kMaxCsvColumns;
using nabla::kMaxCsvRecordBytes;
using Catch::Matchers::Contains;

namespace {

Table read(const std::string &text, const std::vector<std::size_t> &columns) {
  return readColumns(csvFromText("d.csv", text), columns);
}

std::string errorOf(const std::string &text, const std::vector<std::size_t> &columns) {
  try {
    read(text, columns);
  } catch (const DataError &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("CSV: header, numbers read with strtod, only the chosen columns", "[data]") {
  CsvFile f = csvFromText("d.csv", "a,b,label\n1.5,-2e-3,cat\n0.1,7,dog\n");
  CHECK(f.header == std::vector<std::string>{"a", "b", "label"});
  Table t = readColumns(f, {1, 0});
  REQUIRE(t.rows == 2);
  CHECK(t.columns[0] == std::vector<double>{std::strtod("-2e-3", nullptr), 7});
  CHECK(t.columns[1] == std::vector<double>{1.5, std::strtod("0.1", nullptr)});
}

TEST_CASE("CSV: CRLF and CR line ends, a byte-order mark, blanks, quotes, trailing blank lines",
          "[data]") {
  const std::vector<double> want{1, 2};
  CHECK(read("x,y\r\n1,5\r\n2,6\r\n", {0}).columns[0] == want);
  CHECK(read("x,y\r1,5\r2,6", {0}).columns[0] == want);
  CsvFile bom = csvFromText("d.csv", "\xEF\xBB\xBFx,y\n1,5\n2,6\n");
  CHECK(bom.header[0] == "x");
  CHECK(readColumns(bom, {0}).columns[0] == want);
  CHECK(read("x , y\n 1 ,\t5\n2,6\n\n\n  \n", {0}).columns[0] == want);
  CsvFile quoted =
      csvFromText("d.csv", "\"x\",\"a, \"\"quoted\"\"\nline\"\n\"1\",\"text,\n more\"\n2,z\n");
  CHECK(quoted.header[1] == "a, \"quoted\"\nline");
  Table t = readColumns(quoted, {0});
  CHECK(t.columns[0] == want);
}

TEST_CASE("CSV: every bad cell names the file, the row, the line and the column", "[data]") {
  CHECK_THAT(errorOf("x,y\n1,2\n3,\n", {0, 1}),
             Contains("d.csv: row 2 (line 3), column 2 'y': empty cell"));
  CHECK_THAT(errorOf("x,y\n1,2\n3,abc\n", {1}),
             Contains("d.csv: row 2 (line 3), column 2 'y': 'abc' is not a number"));
  CHECK_THAT(errorOf("x,y\n1,2\nnan,4\n", {0}),
             Contains("row 2 (line 3), column 1 'x': 'nan' is not a finite number"));
  CHECK_THAT(errorOf("x,y\n1,2\n-inf,4\n", {0}), Contains("'-inf' is not a finite number"));
  CHECK_THAT(errorOf("x,y\n1,2\n1e999,4\n", {0}),
             Contains("'1e999' is out of the range of a double"));
  CHECK_THAT(errorOf("x,y\n0x10,2\n", {0}), Contains("'0x10' is not a number"));
  CHECK_THAT(errorOf("x,y\n1,2,3\n", {0}),
             Contains("d.csv: row 1 (line 2) has 3 cells, but the header has 2"));
  CHECK_THAT(errorOf("x,y\n1,2\n4\n", {0}),
             Contains("row 2 (line 3) has 1 cell, but the header has 2"));
  CHECK_THAT(errorOf("x,y\n1,2\n\n3,4\n", {0}), Contains("row 2 (line 3) has 1 cell"));
  CHECK_THAT(errorOf("x,y\n1,\"2\n", {0}),
             Contains("row 1 (line 2): the quote opened on line 2 is never closed"));
  CHECK_THAT(errorOf("x,y\n1,\"2\"z\n", {0}),
             Contains("the 2nd cell has text after its closing quote"));
  // A bad cell in a column nobody reads is no error.
  CHECK(read("x,y\n1,abc\n2,\n", {0}).rows == 2);
}

TEST_CASE("CSV: an empty file and a header without rows are errors", "[data]") {
  auto fileError = [](const std::string &text) {
    try {
      readColumns(csvFromText("d.csv", text), {});
    } catch (const DataError &e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(fileError(""), Contains("d.csv: the file is empty"));
  CHECK_THAT(fileError("\xEF\xBB\xBF\n\n"), Contains("the file is empty"));
  CHECK_THAT(fileError("x,y\n"), Contains("d.csv: the file has a header but no data rows"));
  CHECK_THAT(fileError("x,y"), Contains("has a header but no data rows"));
  try {
    openCsv("no/such/file.csv");
    FAIL("no error");
  } catch (const DataError &e) {
    CHECK_THAT(e.what(), Contains("cannot read 'no/such/file.csv'"));
  }
}

TEST_CASE("CSV: messages show cells and names without control characters, and cut long ones",
          "[data]") {
  CHECK(errorOf("a,b\n1,\x1b[31mred\n", {1}) ==
        "d.csv: row 1 (line 2), column 2 'b': '\\x1B[31mred' is not a number");
  CHECK(errorOf("a\x07,b\n1,x\n", {0, 1}) ==
        "d.csv: row 1 (line 2), column 2 'b': 'x' is not a number");
  CHECK(errorOf("a\x07,b\nz,1\n", {0}) ==
        "d.csv: row 1 (line 2), column 1 'a\\x07': 'z' is not a number");
  CHECK(errorOf("a\n" + std::string(100, 'q') + "\n", {0}) ==
        "d.csv: row 1 (line 2), column 1 'a': '" + std::string(60, 'q') + "...' is not a number");
  CHECK(printable("ok") == "ok");
  CHECK(printable(std::string("\0\x7f", 2)) == "\\x00\\x7F");
}

TEST_CASE("CSV: more rows than the limit are an error naming --max-rows", "[data]") {
  CsvFile f = csvFromText("d.csv", "x\n1\n2\n3\n\n");
  CHECK(readColumns(f, {0}, 3).rows == 3);  // trailing blank lines are not rows
  try {
    readColumns(f, {0}, 2);
    FAIL("no error");
  } catch (const DataError &e) {
    CHECK(std::string(e.what()) == "d.csv: more than 2 data rows (raise the limit with --max-rows)");
  }
  CHECK(kDefaultMaxRows == std::size_t{1} << 24);
}

TEST_CASE("binding inputs to columns: names, defaults, runs of columns, and the errors", "[data]") {
  CsvFile f = csvFromText("d.csv", "id,x0,x1,x2,target,x1b\n");
  auto spec = [](std::string name, std::size_t size, std::vector<std::string> columns, bool range) {
    InputColumns c;
    c.name = std::move(name);
    c.size = size;
    c.columns = std::move(columns);
    c.range = range;
    c.where = "m.nabla";
    return c;
  };
  CHECK(bindColumns(f, {spec("x", 3, {"x0", "x1", "x2"}, false),
                        spec("y", 1, {"target"}, false)}) == std::vector<std::size_t>{1, 2, 3, 4});
  CHECK(bindColumns(f, {spec("x", 4, {"x0", "target"}, true)}) ==
        std::vector<std::size_t>{1, 2, 3, 4});
  auto error = [&](const InputColumns &c) {
    try {
      bindColumns(f, {c});
    } catch (const DataError &e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(error(spec("y", 1, {"targte"}, false)),
             Contains("m.nabla: input 'y' reads column 'targte', which 'd.csv' does not have (did "
                      "you mean 'target'?)"));
  CHECK(error(spec("x", 3, {"x0", "x2"}, true)).empty());
  CHECK_THAT(error(spec("x", 2, {"x0", "x2"}, true)),
             Contains("input 'x' has 2 elements, but 'x0 .. x2' is 3 columns of 'd.csv'"));
  CHECK_THAT(error(spec("x", 3, {"x2", "x0"}, true)), Contains("column 'x0' comes before 'x2'"));
  CsvFile twice = csvFromText("d.csv", "a,b,a\n");
  try {
    bindColumns(twice, {spec("a", 1, {"a"}, false)});
    FAIL("no error");
  } catch (const DataError &e) {
    CHECK_THAT(e.what(), Contains("has more than once (columns 1 and 3)"));
  }
}

TEST_CASE("standardization: the mean and the population standard deviation", "[data]") {
  std::vector<double> column{2, 4, 4, 4, 5, 5, 7, 9}; // mean 5, population sd 2
  Scaling s = computeScaling(column);
  CHECK(s.mean == 5);
  CHECK(s.scale == 2);
  applyScaling(s, column);
  CHECK(column == std::vector<double>{-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2});
  std::vector<double> constant{3, 3, 3};
  Scaling c = computeScaling(constant);
  CHECK(c.mean == 3);
  CHECK(c.scale == 1); // a constant column is centred, not divided by 0
}

TEST_CASE("the generator is splitmix64, the shuffle Fisher-Yates over it", "[data]") {
  // splitmix64's published first outputs for seed 0, and values of an independent Python port.
  Rng r(0);
  CHECK(r.next() == 0xe220a8397b1dcdafull);
  CHECK(r.next() == 0x6e789e6aa1b965f4ull);
  CHECK(r.next() == 0x06c45d188009454full);
  Rng r42(42);
  CHECK(r42.next() == 0xbdd732262feb6e95ull);
  CHECK(r42.next() == 0x28efe333b266f103ull);
  CHECK(shuffledRows(10, 0, 0) == std::vector<std::size_t>{0, 1, 4, 6, 3, 9, 8, 7, 2, 5});
  CHECK(shuffledRows(10, 0, 1) == std::vector<std::size_t>{5, 3, 8, 2, 4, 1, 7, 9, 6, 0});
  CHECK(shuffledRows(10, 7, 0) == std::vector<std::size_t>{7, 6, 9, 2, 8, 4, 0, 3, 5, 1});
  Rng n(1);
  CHECK(std::fabs(n.normal() - -0.034267321791851144) <= 1e-15);
  // below() stays in range and every row appears once in a shuffle.
  Rng b(3);
  for (int i = 0; i < 1000; ++i) CHECK(b.below(7) < 7);
  std::vector<std::size_t> big = shuffledRows(1000, 5, 3);
  CHECK(std::set<std::size_t>(big.begin(), big.end()).size() == 1000);
  // Large orders draw their positions in blocks: the same shuffle as the textbook loop, one
  // draw and one swap at a time, at block edges and beyond.
  for (std::size_t rows : {2, 31, 32, 33, 34, 64, 65, 1000, 100003}) {
    std::vector<std::size_t> plain(rows);
    for (std::size_t i = 0; i < rows; ++i) plain[i] = i;
    Rng rng(epochSeed(9, 2));
    for (std::size_t i = rows; i > 1; --i) std::swap(plain[i - 1], plain[rng.below(i)]);
    INFO(rows << " rows");
    CHECK(shuffledRows(rows, 9, 2) == plain);
  }
}

TEST_CASE("batches: full ones and a partial last one, in file order or shuffled", "[data]") {
  std::vector<std::vector<double>> data(2);
  for (int r = 0; r < 10; ++r) {
    data[0].push_back(r);
    data[1].push_back(100 + r);
  }
  BatchPlan plan;
  plan.rows = 10;
  plan.size = 4;
  plan.shuffle = false;
  CHECK(plan.perEpoch() == 3);
  BatchColumns batch(data);
  batch.select(plan, 0, 2);
  REQUIRE(batch.rows() == 2);
  CHECK_FALSE(batch.picked());  // file order: a view into the columns
  CHECK(batch.pointers()[0][0] == 8);
  CHECK(batch.pointers()[1][1] == 109);
  plan.shuffle = true;
  plan.seed = 0;
  std::vector<std::size_t> order = shuffledRows(10, 0, 1);
  std::vector<double> seen;
  for (std::size_t b = 0; b < 3; ++b) {
    batch.select(plan, 1, b);
    // The rows where they lie, in the row-major copy, and as columns.
    std::optional<PickedRows> picked = batch.picked();
    REQUIRE(picked);
    REQUIRE(picked->stride == 2);
    for (std::size_t r = 0; r < batch.rows(); ++r) {
      const double *row = picked->table + picked->index[r] * picked->stride;
      seen.push_back(row[0]);
      CHECK(row[1] == 100 + row[0]);
      CHECK(batch.pointers()[0][r] == row[0]);
      CHECK(batch.pointers()[1][r] == row[1]);
    }
  }
  REQUIRE(seen.size() == 10);
  for (std::size_t k = 0; k < 10; ++k) CHECK(seen[k] == static_cast<double>(order[k]));
}

TEST_CASE("CSV: a non-zero number that underflows is an error naming the row and column",
          "[data]") {
  for (const char *cell : {"1e-400", "-1e-400", "1e-310", "4.9e-324", "2.2250738585072011e-308",
                           "0.0000000001e-300"}) {
    INFO(cell);
    CHECK(errorOf(std::string("x,y\n1,2\n3,") + cell + "\n", {0, 1}) ==
          std::string("d.csv: row 2 (line 3), column 2 'y': '") + cell +
              "' is too small for a double (a non-zero number below 2.2250738585072014e-308 in "
              "magnitude would read as 0 or lose precision)");
  }
  // Zero in any spelling, and the smallest normal double, are numbers.
  Table t = read("x\n0e-400\n-0.000e-999\n2.2250738585072014e-308\n", {0});
  CHECK(t.columns[0] == std::vector<double>{0, 0, 2.2250738585072014e-308});
  CHECK(std::signbit(t.columns[0][1]));
  // In a column nobody reads it is no error.
  CHECK(read("x,y\n1,1e-400\n", {0}).rows == 1);
}

namespace {

std::string tempPath(const std::string &name) {
  return (std::filesystem::temp_directory_path() /
          ("nabla_csv_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::string dataErrorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const DataError &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("CSV: a file is read in chunks with the same result as its text", "[data]") {
  // Rows across many chunk boundaries, quoted cells with line breaks among them, CRLF ends, and
  // trailing blank lines longer than a chunk.
  std::string text = "\xEF\xBB\xBFid,\"note\",value\r\n";
  std::vector<double> want;
  for (int i = 0; i < 30000; ++i) {
    text += std::to_string(i) + ",";
    text += i % 7 == 0 ? "\"a, \"\"quoted\"\"\nnote\"" : "plain text";
    text += "," + std::to_string(i * 0.25) + "\r\n";
    want.push_back(i * 0.25);
  }
  text += std::string(3 * kInputChunkBytes, '\n') + "  \t\n";
  const std::string path = tempPath("chunks.csv");
  { std::ofstream(path, std::ios::binary) << text; }
  CsvFile file = openCsv(path);
  CHECK(file.header == std::vector<std::string>{"id", "note", "value"});
  Table t = readColumns(file, {2, 0});
  CHECK(t.rows == want.size());
  CHECK(t.columns[0] == want);
  // Read twice from the one open file, and the same as from memory.
  CHECK(readColumns(file, {2}).columns[0] == want);
  CHECK(readColumns(csvFromText("d.csv", text), {2}).columns[0] == want);
  // An error's line counts the quoted line breaks before it.
  std::string bad = text.substr(0, text.size() - 3 * kInputChunkBytes - 4) + "x,y,oops\n";
  { std::ofstream(path, std::ios::binary) << bad; }
  const std::size_t line = 2 + 30000 + (30000 + 6) / 7;
  CHECK(dataErrorOf([&] { readColumns(openCsv(path), {2}); }) ==
        path + ": row 30001 (line " + std::to_string(line) + "), column 3 'value': 'oops' is not a number");
  std::filesystem::remove(path);
}

TEST_CASE("CSV: records beyond the caps, devices, FIFOs and directories are errors", "[data]") {
  // One row past the cap per record: refused, however the bytes are split in cells and quotes.
  const std::string longCell(kMaxCsvRecordBytes + 1, '7');
  CHECK_THAT(dataErrorOf([&] { read("x\n" + longCell + "\n", {0}); }),
             Contains("d.csv: row 1 (line 2) is more than the limit of 16777216 bytes for one row"));
  CHECK_THAT(dataErrorOf([&] { read("x,y\n1,\"" + longCell + "\"\n", {0}); }),
             Contains("row 1 (line 2) is more than the limit"));
  CHECK_THAT(dataErrorOf([&] { csvFromText("d.csv", longCell + "\n1\n"); }),
             Contains("d.csv: the header is more than the limit"));
  std::string wide;
  for (std::size_t i = 0; i <= kMaxCsvColumns; ++i) wide += ",";
  CHECK_THAT(dataErrorOf([&] { csvFromText("d.csv", wide + "\n"); }),
             Contains("the header has more than the limit of 1048576 cells"));
  // A sparse file of zero bytes: the first record is over the cap, found after reading it only.
  const std::string sparse = tempPath("sparse.csv");
  { std::ofstream(sparse).close(); }
  std::filesystem::resize_file(sparse, std::uint64_t{1} << 33);
  CHECK_THAT(dataErrorOf([&] { openCsv(sparse); }), Contains("the header is more than the limit"));
  std::filesystem::remove(sparse);

  CHECK(dataErrorOf([] { openCsv("/dev/zero"); }) ==
        "cannot read '/dev/zero': it is a character device, not a regular file");
  const std::string fifo = tempPath("fifo.csv");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THAT(dataErrorOf([&] { openCsv(fifo); }), Contains("it is a FIFO (a pipe), not a regular file"));
  std::filesystem::remove(fifo);
  const std::string dir = std::filesystem::temp_directory_path().string();
  CHECK_THAT(dataErrorOf([&] { openCsv(dir); }), Contains("is a directory, not a CSV file"));
}
