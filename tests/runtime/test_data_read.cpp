// runtime/data: reading rows in parallel (the same numbers, rows and errors with any number of
// threads and any cut of the file), the delimiter (given or detected), missing values, and
// NumPy files (.npy, .npz: stored and deflated), with their malformed variants.
#include "runtime/data/data.h"
#include "support/input_file.h"
#include "support/number.h"

#include <catch2/catch.hpp>

#include <zlib.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

using namespace nabla::data;
using Catch::Matchers::Contains;

namespace {

std::string tempPath(const std::string &name) {
  return (std::filesystem::temp_directory_path() /
          ("nabla_read_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const DataError &e) {
    return e.what();
  }
  return "";
}

ReadOptions withThreads(unsigned threads, std::size_t chunk) {
  ReadOptions o;
  o.threads = threads;
  o.chunkBytes = chunk;
  return o;
}

bool sameBits(const std::vector<double> &a, const std::vector<double> &b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

/// A random CSV text: numbers in many spellings (the columns read), quoted text with line breaks
/// and delimiters (a column not read), blanks, and every kind of line end.
std::string randomCsv(std::mt19937_64 &rng, std::size_t rows, std::vector<std::string> &cellsOfX,
                      bool quotes) {
  const char *ends[] = {"\n", "\r\n", "\n", "\r"};
  std::string text = "x, note ,y\n";
  std::uniform_int_distribution<int> pick(0, 9);
  for (std::size_t r = 0; r < rows; ++r) {
    std::string x;
    switch (pick(rng)) {
    case 0:
      x = std::to_string(static_cast<long long>(rng() % 2000000) - 1000000);
      break;
    case 1:
      x = "-0";
      break;
    case 2:
      x = "+." + std::to_string(rng() % 1000);
      break;
    case 3:
      x = std::to_string(rng() % 100) + "e" + std::to_string(static_cast<int>(rng() % 600) - 300);
      break;
    case 4:
      x = "0.000000000000000000000000" + std::to_string(rng());
      break; // many digits
    case 5:
      x = "1234567890123456789.25";
      break;
    default: {
      char b[40];
      std::snprintf(b, sizeof b, "%.*f", static_cast<int>(rng() % 8),
                    std::ldexp(static_cast<double>(rng() % 100000), -static_cast<int>(rng() % 12)) *
                        (rng() % 2 ? 1 : -1));
      x = b;
    }
    }
    cellsOfX.push_back(x);
    const bool quoteX = quotes && rng() % 7 == 0;
    text +=
        (rng() % 5 == 0 ? " " : "") + (quoteX ? "\"" + x + "\"" : x) + (rng() % 5 == 0 ? "\t" : "");
    text += ",";
    text += quotes && rng() % 3 == 0 ? "\"a, \"\"b\"\"\r\nc\"" : "plain";
    text += "," + std::to_string(r) + ends[rng() % 4];
  }
  return text;
}

} // namespace

TEST_CASE("read: rows parsed in parallel are the rows parsed by one thread, bit for bit",
          "[data][threads]") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 12; ++round) {
    std::vector<std::string> cells;
    const bool quotes = round % 2 == 1;
    const std::string text = randomCsv(rng, 2000 + rng() % 3000, cells, quotes);
    CsvFile file = csvFromText("d.csv", text);
    Table one;
    const std::string err = errorOf([&] { one = readColumns(file, {0, 2, 0}, withThreads(1, 0)); });
    if (!err.empty()) {
      // Random exponents under- or overflow: the error is the same with any threads.
      for (unsigned t : {2u, 3u, 5u})
        for (std::size_t chunk : {std::size_t{61}, std::size_t{997}, std::size_t{8192}})
          CHECK(errorOf([&] { readColumns(file, {0, 2, 0}, withThreads(t, chunk)); }) == err);
      continue;
    }
    // Each value is readDecimal's (strtod's) of its cell: the rule numbers in files always had.
    REQUIRE(one.rows == cells.size());
    for (std::size_t r = 0; r < cells.size(); ++r) {
      const nabla::Decimal d = nabla::readDecimal(cells[r]);
      REQUIRE(d.status == nabla::DecimalStatus::Ok);
      REQUIRE(std::memcmp(&d.value, &one.columns[0][r], sizeof(double)) == 0);
      REQUIRE(one.columns[1][r] == static_cast<double>(r));
    }
    for (unsigned t : {2u, 3u, 5u})
      for (std::size_t chunk : {std::size_t{61}, std::size_t{997}, std::size_t{8192}}) {
        Table many = readColumns(file, {0, 2, 0}, withThreads(t, chunk));
        CHECK(many.rows == one.rows);
        for (std::size_t k = 0; k < 3; ++k)
          CHECK(sameBits(many.columns[k], one.columns[k]));
      }
  }
}

TEST_CASE("read: the earliest bad row is the error, however the file is cut", "[data][threads]") {
  std::mt19937_64 rng(11);
  const char *bad[] = {"abc", "nan", "1e999", "1e-310", "0x10", "", "1,2", "\"1\"z", "\"open"};
  for (int round = 0; round < 40; ++round) {
    // Good rows, and two bad ones: the first one is the error.
    const std::size_t first = 1 + rng() % 500, second = first + 1 + rng() % 50;
    std::string rowsText;
    for (std::size_t r = 1; r <= 600; ++r) {
      if (r == first || r == second)
        rowsText += std::string(bad[rng() % 9]) + ",t,1\n";
      else
        rowsText += std::to_string(r) + "," + (round % 2 ? "\"q\nq\"" : "t") + ",1\n";
    }
    CsvFile file = csvFromText("d.csv", "x,note,y\n" + rowsText);
    const std::string want = errorOf([&] { readColumns(file, {0}, withThreads(1, 0)); });
    REQUIRE_THAT(want, Contains("row " + std::to_string(first) + " (line "));
    for (unsigned t : {2u, 4u})
      for (std::size_t chunk : {std::size_t{50}, std::size_t{333}, std::size_t{4096}})
        CHECK(errorOf([&] { readColumns(file, {0}, withThreads(t, chunk)); }) == want);
    // --max-rows just before the bad row: the limit is the error, unless the row itself cannot
    // be read (an unclosed quote): the same with any threads.
    ReadOptions limited = withThreads(1, 0);
    limited.maxRows = first - 1;
    const std::string limit = errorOf([&] { readColumns(file, {0}, limited); });
    CHECK(!limit.empty());
    limited.threads = 3;
    limited.chunkBytes = 100;
    CHECK(errorOf([&] { readColumns(file, {0}, limited); }) == limit);
  }
}

TEST_CASE("read: the old expected values, with many threads and small rounds", "[data]") {
  const std::string text =
      "\xEF\xBB\xBFid,\"note\",value\r\n1,\"a,\"\"b\"\"\nc\",0.25\r\n2,x,-3e2\r\n";
  CsvFile file = csvFromText("d.csv", text);
  Table t = readColumns(file, {2, 0}, withThreads(4, 7));
  CHECK(t.columns[0] == std::vector<double>{0.25, -300});
  CHECK(t.columns[1] == std::vector<double>{1, 2});
  CHECK(errorOf([&] {
          readColumns(csvFromText("d.csv", "x,y\n1,2\n3,abc\n"), {1}, withThreads(3, 4));
        }) == "d.csv: row 2 (line 3), column 2 'y': 'abc' is not a number");
  CHECK(errorOf([&] {
          readColumns(csvFromText("d.csv", "x,y\n1,\"2\n"), {0}, withThreads(3, 4));
        }) == "d.csv: row 1 (line 2): the quote opened on line 2 is never closed");
  // A file read in rounds from disk, with a record longer than a round.
  const std::string path = tempPath("rounds.csv");
  std::string big = "a,b\n";
  for (int i = 0; i < 5000; ++i)
    big += std::to_string(i) + "," + std::string(i % 97, ' ') + "1.5\n";
  writeFile(path, big);
  Table disk = readColumns(openCsv(path), {0, 1}, withThreads(2, 64));
  CHECK(disk.rows == 5000);
  CHECK(disk.columns[0][4999] == 4999);
  CHECK(disk.columns[1][4999] == 1.5);
  // Beyond the size read by one thread, with the rounds of a run (and without a final line end).
  std::string large = "a,b\n";
  for (int i = 0; i < 60000; ++i)
    large += std::to_string(i) + "," + std::to_string(i * 0.125) + "\r\n";
  large += "60000,7.25";
  writeFile(path, large);
  Table two = readColumns(openCsv(path), {1, 0}, withThreads(2, 0));
  Table single = readColumns(openCsv(path), {1, 0}, withThreads(1, 0));
  CHECK(two.rows == 60001);
  CHECK(two.columns[0][60000] == 7.25);
  CHECK(two.columns[1][59999] == 59999);
  CHECK(sameBits(two.columns[0], single.columns[0]));
  CHECK(sameBits(two.columns[1], single.columns[1]));
  std::filesystem::remove(path);
}

TEST_CASE("read: the delimiter, given or detected from the header line", "[data]") {
  CHECK(csvFromText("d.csv", "a;b;c\n1;2;3\n").delimiter == ';');
  CHECK(csvFromText("d.csv", "a\tb\tc\n1\t2\t3\n").delimiter == '\t');
  CHECK(csvFromText("d.csv", "a,b;c\n").delimiter == ',');         // a tie: ','
  CHECK(csvFromText("d.csv", "a;b\tc\n").delimiter == ';');        // a tie: ';' before tab
  CHECK(csvFromText("d.csv", "abc\n1\n").delimiter == ',');        // none
  CHECK(csvFromText("d.csv", "\"a,b,c\";d;e\n").delimiter == ';'); // quotes hide theirs
  CsvFile semi = csvFromText("d.csv", "x;y\n1,5;2\n");
  CHECK(semi.header == std::vector<std::string>{"x", "y"});
  CHECK_THAT(errorOf([&] { readColumns(semi, {0}); }), Contains("'1,5' is not a number"));
  // Given, it wins over the header's counts.
  CsvFile given = csvFromText("d.csv", "a;b,c\n1;2,3\n", ',');
  CHECK(given.header == std::vector<std::string>{"a;b", "c"});
  // A tab that delimits is no blank: an empty last cell stays a cell, even at the end.
  CsvFile tsv = csvFromText("d.csv", "a\tb\n1\t2\n3\t\n");
  CHECK(tsv.delimiter == '\t');
  CHECK(errorOf([&] { readColumns(tsv, {1}); }) ==
        "d.csv: row 2 (line 3), column 2 'b': empty cell (a number is needed)");
  CHECK(readColumns(csvFromText("d.csv", "a\tb\n 1 \t2\n"), {0}).columns[0] ==
        std::vector<double>{1});
  CHECK(parseDelimiter(",") == ',');
  CHECK(parseDelimiter(";") == ';');
  CHECK(parseDelimiter("tab") == '\t');
  CHECK(parseDelimiter("\\t") == '\t');
  CHECK(parseDelimiter("\t") == '\t');
  CHECK_FALSE(parseDelimiter("|"));
  CHECK(delimiterName('\t') == "tab");
}

TEST_CASE("read: missing values are an error naming the row and column, or dropped", "[data]") {
  ReadOptions na;
  na.na = parseNaList("NA,?,\"\"");
  CHECK(na.na == std::vector<std::string>{"NA", "?", ""});
  CHECK(parseNaList("NA,") == std::vector<std::string>{"NA", ""});
  CsvFile f = csvFromText("d.csv", "x,y\n1,2\n3,NA\n?,4\n5,6\n");
  CHECK(errorOf([&] {
          readColumns(f, {0, 1}, na);
        }) == "d.csv: row 2 (line 3), column 2 'y': missing value 'NA' (leave such rows out with "
              "--drop-na)");
  CHECK(errorOf([&] { readColumns(f, {0}, na); }) ==
        "d.csv: row 3 (line 4), column 1 'x': missing value '?' (leave such rows out with "
        "--drop-na)");
  na.dropNa = true;
  for (unsigned t : {1u, 3u}) {
    ReadOptions o = na;
    o.threads = t;
    o.chunkBytes = 5;
    Table dropped = readColumns(f, {0, 1}, o);
    CHECK(dropped.rows == 2);
    CHECK(dropped.dropped == 2);
    CHECK(dropped.columns[0] == std::vector<double>{1, 5});
    CHECK(dropped.columns[1] == std::vector<double>{2, 6});
    CHECK(dropped.kept == std::vector<std::size_t>{0, 3});
  }
  // An empty cell, when "" is a spelling of a missing value; a bad number in a dropped row is
  // no error (the row is not used), in a kept row it is.
  CHECK(readColumns(csvFromText("d.csv", "x,y\n1,\n2,3\n"), {1}, na).rows == 1);
  CHECK(readColumns(csvFromText("d.csv", "x,y\nabc,NA\n2,3\n"), {0, 1}, na).rows == 1);
  CHECK_THAT(errorOf([&] {
               readColumns(csvFromText("d.csv", "x,y\nabc,1\n"), {0, 1}, na);
             }),
             Contains("'abc' is not a number"));
  CHECK(errorOf([&] { readColumns(csvFromText("d.csv", "x\nNA\n?\n"), {0}, na); }) ==
        "d.csv: every one of its 2 data rows has a missing value (--drop-na left none)");
}

// --- NumPy files -------------------------------------------------------------------------------

namespace {

/// A .npy file as numpy.save writes it: magic, version, the header dict padded to 64 bytes.
std::string npy(const std::string &descr, const std::string &shape, const std::string &data,
                bool fortran = false, int major = 1) {
  std::string dict = "{'descr': " + descr + ", 'fortran_order': " + (fortran ? "True" : "False") +
                     ", 'shape': " + shape + ", }";
  const std::size_t lengthBytes = major == 1 ? 2 : 4;
  while ((10 + lengthBytes - 2 + dict.size() + 1) % 64 != 0)
    dict += ' ';
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < lengthBytes; ++i)
    out += static_cast<char>(dict.size() >> (8 * i) & 0xFF);
  return out + dict + data;
}

template <class T> std::string bytesOf(std::initializer_list<T> values) {
  std::string out;
  for (T v : values)
    out.append(reinterpret_cast<const char *>(&v), sizeof v);
  return out;
}

void le(std::string &out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out += static_cast<char>(v >> (8 * i) & 0xFF);
}

struct ZipMember {
  std::string name, bytes;
  bool deflate = false;
  std::int64_t declaredSize = -1; // to lie about the inflated size
};

/// A zip archive (no zip64) as numpy.savez writes one.
std::string zip(const std::vector<ZipMember> &members) {
  std::string out, central;
  for (const ZipMember &m : members) {
    std::string data = m.bytes;
    if (m.deflate) {
      z_stream z{};
      REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
      data.assign(deflateBound(&z, m.bytes.size()), '\0');
      z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(m.bytes.data()));
      z.avail_in = static_cast<uInt>(m.bytes.size());
      z.next_out = reinterpret_cast<Bytef *>(data.data());
      z.avail_out = static_cast<uInt>(data.size());
      REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
      data.resize(z.total_out);
      deflateEnd(&z);
    }
    const std::uint32_t crc = static_cast<std::uint32_t>(crc32(
        0, reinterpret_cast<const Bytef *>(m.bytes.data()), static_cast<uInt>(m.bytes.size())));
    const std::uint64_t size =
        m.declaredSize >= 0 ? static_cast<std::uint64_t>(m.declaredSize) : m.bytes.size();
    const std::size_t local = out.size();
    auto common = [&](std::string &h) {
      le(h, 20, 2);
      le(h, 0, 2);
      le(h, m.deflate ? 8 : 0, 2);
      le(h, 0, 4);
      le(h, crc, 4);
      le(h, data.size(), 4);
      le(h, size, 4);
      le(h, m.name.size(), 2);
    };
    out += "PK\x03\x04";
    common(out);
    le(out, 0, 2);
    out += m.name + data;
    central += "PK\x01\x02";
    le(central, 20, 2);
    common(central);
    le(central, 0, 2);
    le(central, 0, 2);
    le(central, 0, 2);
    le(central, 0, 2);
    le(central, 0, 4);
    le(central, local, 4);
    central += m.name;
  }
  const std::size_t cdOffset = out.size();
  out += central;
  out += "PK\x05\x06";
  le(out, 0, 4);
  le(out, members.size(), 2);
  le(out, members.size(), 2);
  le(out, central.size(), 4);
  le(out, cdOffset, 4);
  le(out, 0, 2);
  return out;
}

Table readAll(const std::string &path, const std::string &bytes, ReadOptions options = {}) {
  writeFile(path, bytes);
  CsvFile f = openData(path, options);
  std::vector<std::size_t> all;
  for (std::size_t c = 0; c < f.header.size(); ++c)
    all.push_back(c);
  return readColumns(f, all, options);
}

} // namespace

TEST_CASE("numpy: .npy structured and plain arrays, C and Fortran order, exact conversions",
          "[data]") {
  const std::string path = tempPath("a.npy");
  // Structured: fields a (<f8), k (<i4), f (<f4), as numpy.save writes a record array.
  std::string records;
  for (int r = 0; r < 3; ++r) {
    const double a = 0.1 * r;
    const std::int32_t k = -r;
    const float f = 0.5f * r;
    records.append(reinterpret_cast<const char *>(&a), 8);
    records.append(reinterpret_cast<const char *>(&k), 4);
    records.append(reinterpret_cast<const char *>(&f), 4);
  }
  writeFile(path, npy("[('a', '<f8'), ('k', '<i4'), ('f', '<f4')]", "(3,)", records));
  CsvFile file = openData(path);
  CHECK(file.header == std::vector<std::string>{"a", "k", "f"});
  Table t = readColumns(file, {2, 0, 1});
  CHECK(t.rows == 3);
  CHECK(t.columns[0] == std::vector<double>{0, 0.5, 1});
  CHECK(t.columns[1] == std::vector<double>{0, 0.1, 0.2});
  CHECK(t.columns[2] == std::vector<double>{0, -1, -2});
  InputColumns x;
  x.name = "x";
  x.size = 2;
  x.columns = {"a", "k"};
  x.range = true;
  CHECK(bindColumns(file, {x}) == std::vector<std::size_t>{0, 1});

  // Plain (3, 2): columns c0, c1, in C order and in Fortran order; version 2 of the format.
  Table c = readAll(path, npy("'<f8'", "(3, 2)", bytesOf<double>({1, 2, 3, 4, 5, 6})));
  CHECK(c.columns[0] == std::vector<double>{1, 3, 5});
  CHECK(c.columns[1] == std::vector<double>{2, 4, 6});
  Table f = readAll(path, npy("'<f8'", "(3, 2)", bytesOf<double>({1, 2, 3, 4, 5, 6}), true, 2));
  CHECK(f.columns[0] == std::vector<double>{1, 2, 3});
  CHECK(f.columns[1] == std::vector<double>{4, 5, 6});
  CHECK(openData(path).header == std::vector<std::string>{"c0", "c1"});
  Table one = readAll(path, npy("'|u1'", "(2,)", std::string("\x07\xff", 2)));
  CHECK(one.columns[0] == std::vector<double>{7, 255});
  Table i8 =
      readAll(path, npy("'<i8'", "(2,)", bytesOf<std::int64_t>({-(std::int64_t{1} << 53), 42})));
  CHECK(i8.columns[0] == std::vector<double>{-9007199254740992.0, 42});
  CHECK_THAT(
      errorOf([&] {
        readAll(path, npy("'<i8'", "(1,)", bytesOf<std::int64_t>({(std::int64_t{1} << 53) + 1})));
      }),
      Contains(path + ": row 1, column 1 'c0': the integer is too large to be exact as a double"));
  std::filesystem::remove(path);
}

TEST_CASE("numpy: .npz arrays as columns, stored and deflated", "[data]") {
  const std::string path = tempPath("a.npz");
  const std::string x = npy("'<f8'", "(3, 2)", bytesOf<double>({1, 2, 3, 4, 5, 6}));
  const std::string y = npy("'<f8'", "(3,)", bytesOf<double>({0.5, -0.25, 1e300}));
  for (bool deflate : {false, true}) {
    writeFile(path, zip({{"x.npy", x, deflate}, {"y.npy", y, deflate}}));
    CsvFile file = openData(path);
    CHECK(file.header == std::vector<std::string>{"x0", "x1", "y"});
    InputColumns in;
    in.name = "x";
    in.size = 2;
    in.columns = {"x0", "x1"};
    CHECK(bindColumns(file, {in}) == std::vector<std::size_t>{0, 1});
    Table t = readColumns(file, {2, 1, 0});
    CHECK(t.rows == 3);
    CHECK(t.columns[0] == std::vector<double>{0.5, -0.25, 1e300});
    CHECK(t.columns[1] == std::vector<double>{2, 4, 6});
    CHECK(t.columns[2] == std::vector<double>{1, 3, 5});
    ReadOptions few;
    few.maxRows = 2;
    CHECK(errorOf([&] { readColumns(file, {0}, few); }) ==
          path + ": more than 2 data rows (raise the limit with --max-rows)");
  }
  // The extension decides, in any case.
  const std::string upper = tempPath("B.NPZ");
  writeFile(upper, zip({{"y.npy", y}}));
  CHECK(openData(upper).header == std::vector<std::string>{"y"});
  std::filesystem::remove(upper);
  std::filesystem::remove(path);
}

TEST_CASE("numpy: NaN is a missing value, infinities are errors", "[data]") {
  const std::string path = tempPath("nan.npz");
  const std::string x = npy("'<f8'", "(3,)", bytesOf<double>({1, NAN, 3}));
  const std::string y = npy("'<f8'", "(3,)", bytesOf<double>({4, 5, 6}));
  writeFile(path, zip({{"x.npy", x}, {"y.npy", y}}));
  CHECK(errorOf([&] {
          readAll(path, zip({{"x.npy", x}, {"y.npy", y}}));
        }) ==
        path + ": row 2, column 1 'x': missing value (NaN) (leave such rows out with --drop-na)");
  ReadOptions drop;
  drop.dropNa = true;
  Table t = readAll(path, zip({{"x.npy", x}, {"y.npy", y}}), drop);
  CHECK(t.rows == 2);
  CHECK(t.dropped == 1);
  CHECK(t.columns[0] == std::vector<double>{1, 3});
  CHECK(t.columns[1] == std::vector<double>{4, 6});
  CHECK(t.kept == std::vector<std::size_t>{0, 2});
  const std::string inf = npy("'<f4'", "(2,)", bytesOf<float>({1, -INFINITY}));
  CHECK(errorOf([&] {
          readAll(path, zip({{"v.npy", inf}}));
        }) == path + ": row 2, column 1 'v': '-inf' is not a finite number");
  std::filesystem::remove(path);
}

TEST_CASE("numpy: malformed files are errors naming the file", "[data]") {
  const std::string p = tempPath("bad.npy");
  auto npyError = [&](const std::string &bytes) { return errorOf([&] { readAll(p, bytes); }); };
  const std::string good = bytesOf<double>({1, 2});
  CHECK(npyError("not numpy at all") ==
        p + ": not a NumPy .npy array (its first bytes are not \\x93NUMPY)");
  CHECK(npyError("") == p + ": not a NumPy .npy array (its first bytes are not \\x93NUMPY)");
  CHECK_THAT(npyError(std::string("\x93NUMPY\x01\x00\xff\xff", 10)),
             Contains(p + ": the header is cut short"));
  CHECK_THAT(npyError(std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12)),
             Contains("more than the limit of 1048576"));
  CHECK_THAT(npyError(std::string("\x93NUMPY\x09\x00", 8) + "xx"), Contains("format version 9"));
  CHECK_THAT(npyError(npy("'<f8'", "(3,)", good)), Contains("but the data is cut short"));
  CHECK_THAT(npyError(npy("'<f8'", "(1,)", good)), Contains("but more data follows"));
  CHECK_THAT(npyError(npy("'<f8'", "(4611686018427387904, 8)", good)), Contains("cut short"));
  CHECK_THAT(npyError(npy("'>f8'", "(2,)", good)), Contains("unsupported element type '>f8'"));
  CHECK_THAT(npyError(npy("'<c16'", "(1,)", good)), Contains("unsupported element type '<c16'"));
  CHECK_THAT(npyError(npy("'<f8'", "(1, 1, 2)", good)), Contains("an array of 3 dimensions"));
  CHECK_THAT(npyError(npy("'<f8'", "()", "")), Contains("an array of 0 dimensions"));
  CHECK_THAT(npyError(npy("[('a', '<f8', (2,))]", "(1,)", good)),
             Contains("not a (name, type) pair"));
  CHECK_THAT(npyError(npy("'<f8'", "(0,)", "")), Contains(p + ": the arrays have no rows"));
  CHECK_THAT(npyError(npy("'<f8' 'x'", "(2,)", good)), Contains(p + ": malformed header"));
  CHECK_THAT(npyError(npy("'<f8'", "(2,", good)), Contains(p + ": malformed header"));
  CHECK_THAT(npyError(npy("[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]", "(2,)", good)),
             Contains("nests too deep"));
  CHECK_THAT(npyError(npy("'\x1b[31m'", "(2,)", good)), Contains("'\\x1B[31m'"));
  std::filesystem::remove(p);

  const std::string z = tempPath("bad.npz");
  auto npzError = [&](const std::string &bytes) { return errorOf([&] { readAll(z, bytes); }); };
  const std::string x = npy("'<f8'", "(2,)", good);
  const std::string archive = zip({{"x.npy", x, true}});
  CHECK_THAT(npzError(archive.substr(0, archive.size() - 5)),
             Contains(z + ": not a .npz file (no zip end record"));
  CHECK_THAT(npzError("PK"), Contains("too short for a zip archive"));
  CHECK_THAT(npzError(zip({})), Contains(z + ": the archive holds no arrays"));
  CHECK_THAT(npzError(zip({{"x.txt", x}})), Contains("member 'x.txt' is not a .npy array"));
  CHECK_THAT(npzError(zip({{"x.npy", x}, {"y.npy", npy("'<f8'", "(1,)", bytesOf<double>({1}))}})),
             Contains(z + ": member 'y.npy' has 1 rows, but member 'x.npy' has 2"));
  // A zip bomb: the member inflates to more than it declares; or to less.
  std::string zeros = npy("'<f8'", "(2,)", good) + std::string(1 << 20, '\0');
  CHECK_THAT(npzError(zip({{"x.npy", zeros, true, static_cast<std::int64_t>(x.size())}})),
             Contains("it inflates to more than its declared"));
  CHECK_THAT(npzError(zip({{"x.npy", x, true, static_cast<std::int64_t>(x.size() + 8)}})),
             Contains("its shape says 2 rows of 8 bytes"));
  // A damaged byte in the data: the CRC-32 says so.
  std::string damaged = zip({{"x.npy", x}});
  damaged[30 + 5 + x.size() - 1] ^= 1;
  CHECK_THAT(npzError(damaged), Contains("its CRC-32 does not match"));
  // Cut inside the compressed data (the directory claims more than the file has).
  std::string cut = zip({{"x.npy", x, true}});
  CHECK_THAT(npzError(cut.substr(0, 40) + cut.substr(cut.size() - 22 - 35)), Contains(z + ":"));
  CHECK_THAT(errorOf([&] { openData(tempPath("missing.npz")); }), Contains("cannot read"));
  std::filesystem::remove(z);
}
