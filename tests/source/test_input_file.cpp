// support/input_file.h and the number rule of support/number.h: what can be read (regular files
// only, under a cap), the JSON check that runs before any parser, and which decimals are refused.
#include "support/input_file.h"
#include "support/number.h"

#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace nabla;
using Catch::Matchers::Contains;

namespace {

struct Scratch {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("nabla_input_file_" + std::to_string(::getpid()));
  Scratch() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string write(const std::string &name, const std::string &text) const {
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
};

InputError errorOf(const std::string &path, std::uint64_t cap = UINT64_MAX,
                   std::string_view hint = {}) {
  try {
    InputFile(path, "a test file", cap, hint).readAll();
  } catch (const InputError &e) {
    return e;
  }
  FAIL("no error for " << path);
  return InputError(InputError::Kind::Io, "");
}

}  // namespace

TEST_CASE("input files: regular files are read whole, at any offset", "[support]") {
  Scratch s;
  std::string text;
  for (int i = 0; i < 100000; ++i) text += std::to_string(i) + ",";  // several chunks
  const std::string path = s.write("big.txt", text);
  InputFile f(path, "a test file");
  CHECK(f.size() == text.size());
  CHECK(f.readAll() == text);
  char buf[10];
  REQUIRE(f.readAt(text.size() - 4, buf, sizeof buf) == 4);
  CHECK(std::string(buf, 4) == text.substr(text.size() - 4));
  CHECK(f.readAt(kInputChunkBytes + 7, buf, 5) == 5);
  CHECK(std::string(buf, 5) == text.substr(kInputChunkBytes + 7, 5));
  CHECK(f.readAt(text.size() + 10, buf, 5) == 0);
  CHECK(InputFile(s.write("empty", ""), "a test file").readAll().empty());
}

TEST_CASE("input files: directories, devices, FIFOs and missing files are refused", "[support]") {
  Scratch s;
  InputError dir = errorOf(s.dir.string());
  CHECK(dir.kind() == InputError::Kind::Io);
  CHECK_THAT(dir.what(), Contains("is a directory, not a test file"));
  for (const char *device : {"/dev/zero", "/dev/null", "/dev/urandom"}) {
    InputError e = errorOf(device);
    CHECK(e.kind() == InputError::Kind::Io);
    CHECK(std::string(e.what()) == "cannot read '" + std::string(device) +
                                       "': it is a character device, not a regular file");
  }
  // A FIFO with no writer: refused at once, not waited on.
  const std::string fifo = (s.dir / "fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  InputError e = errorOf(fifo);
  CHECK(e.kind() == InputError::Kind::Io);
  CHECK_THAT(e.what(), Contains("it is a FIFO (a pipe), not a regular file"));
  InputError missing = errorOf((s.dir / "none").string());
  CHECK(missing.kind() == InputError::Kind::Io);
  CHECK_THAT(missing.what(), Contains("No such file or directory"));
  // A name with control characters is quoted safely.
  CHECK_THAT(errorOf((s.dir / "a\x1b[2Jb").string()).what(), Contains("a\\x1B[2Jb"));
}

TEST_CASE("input files: the size is checked against the cap before reading", "[support]") {
  Scratch s;
  const std::string path = s.write("f.txt", std::string(100, 'a'));
  CHECK(InputFile(path, "a test file", 100).readAll().size() == 100);
  InputError e = errorOf(path, 99, "--max-things");
  CHECK(e.kind() == InputError::Kind::TooLarge);
  CHECK(std::string(e.what()) == "cannot read '" + path +
                                     "': it is 100 bytes, more than the limit of 99 bytes (raise "
                                     "it with --max-things)");
  // A sparse file far over the cap is refused without reading it.
  const std::string sparse = (s.dir / "sparse").string();
  std::ofstream(sparse).close();
  std::filesystem::resize_file(sparse, std::uint64_t{1} << 40);
  InputError big = errorOf(sparse, kMaxJsonBytes);
  CHECK(big.kind() == InputError::Kind::TooLarge);
  CHECK_THAT(big.what(), Contains("it is 1099511627776 bytes, more than the limit of 268435456"));
}

TEST_CASE("JSON check: nesting is bounded, inside strings brackets do not count", "[support]") {
  auto nested = [](unsigned depth, const char *open, const char *close) {
    std::string s;
    for (unsigned i = 0; i < depth; ++i) s += open;
    s += "1";
    for (unsigned i = 0; i < depth; ++i) s += close;
    return s;
  };
  CHECK_FALSE(checkJson(nested(kMaxJsonDepth, "[", "]")));
  CHECK_FALSE(checkJson(nested(kMaxJsonDepth, "{\"a\":", "}")));
  for (unsigned depth : {kMaxJsonDepth + 1, 1000u, 100000u}) {
    std::optional<JsonProblem> p = checkJson(nested(depth, "[", "]"));
    REQUIRE(p);
    CHECK(p->line == 1);
    CHECK(p->column == kMaxJsonDepth + 1);  // the first bracket too many
    CHECK(p->message == "arrays and objects nest more than 64 levels deep");
    // Unclosed, and objects mixed with arrays.
    CHECK(checkJson(std::string(depth, '[')));
    CHECK(checkJson(nested(depth, "{\"k\":[", "]}")));
  }
  // Brackets in strings, escaped quotes and backslashes do not nest.
  const std::string brackets(1000, '[');
  CHECK_FALSE(checkJson("{\"" + brackets + "\": \"" + brackets + "\"}"));
  CHECK_FALSE(checkJson("[\"\\\"" + brackets + "\", \"\\\\\"]"));
  CHECK(checkJson("[\"\\\\\"" + brackets + "]"));  // the string ends after the backslash
  // Lines and columns count from the given first line.
  std::optional<JsonProblem> p = checkJson("{\n  \"a\": \"x\ny\",\n   " + brackets, 4, 2);
  REQUIRE(p);
  CHECK(p->line == 5);
  CHECK(p->column == 3 + 4);  // the object is the first level, the fourth bracket the fifth
  CHECK(checkJson(nested(5, "[", "]"), 4));
  CHECK_FALSE(checkJson(nested(4, "[", "]"), 4));
}

TEST_CASE("JSON check: numbers that overflow or underflow are refused where they are",
          "[support]") {
  for (const char *bad : {"1e-400", "-1e-400", "1e-310", "4.9e-324", "2.2250738585072011e-308",
                          "1e999", "-1.5e309", "123456789e-400"}) {
    INFO(bad);
    std::optional<JsonProblem> p = checkJson(std::string("{\"w\": [1,\n  ") + bad + "]}");
    REQUIRE(p);
    CHECK(p->line == 2);
    CHECK(p->column == 3);
    CHECK_THAT(p->message, Contains(std::string("the number ") + bad + " is"));
  }
  for (const char *good : {"0", "-0", "0e-400", "0.000e999", "2.2250738585072014e-308",
                           "1.7976931348623157e308", "-3.5", "12345678901234567890"})
    CHECK_FALSE(checkJson(std::string("[") + good + "]"));
  CHECK_FALSE(checkJson("[\"1e-400\"]"));  // a string, not a number
}

TEST_CASE("numbers in files: one rule for CSV cells and JSON numbers", "[support]") {
  struct Case {
    const char *text;
    DecimalStatus status;
  };
  using S = DecimalStatus;
  for (const Case &c : std::initializer_list<Case>{
           {"1.5", S::Ok}, {"-2e-3", S::Ok}, {"+.5", S::Ok}, {"0", S::Ok}, {"-0", S::Ok},
           {"0e-999", S::Ok}, {"0.0000", S::Ok}, {"2.2250738585072014e-308", S::Ok},
           {"-2.2250738585072014e-308", S::Ok}, {"1.7976931348623157e308", S::Ok},
           {"1e-400", S::Underflow}, {"-1e-400", S::Underflow}, {"1e-310", S::Underflow},
           {"4.9406564584124654e-324", S::Underflow}, {"0.00000001e-300", S::Underflow},
           {"1e999", S::Overflow}, {"-1e999", S::Overflow}, {"1.8e308", S::Overflow},
           {"nan", S::NotFinite}, {"-inf", S::NotFinite}, {"Infinity", S::NotFinite},
           {"0x10", S::Malformed}, {"1e", S::Malformed}, {"", S::Malformed}, {" 1", S::Malformed},
           {"1 ", S::Malformed}, {"abc", S::Malformed}, {"1,5", S::Malformed}}) {
    INFO(c.text);
    CHECK(readDecimal(c.text).status == c.status);
  }
  // Accepted values are the nearest doubles, computed here independently.
  CHECK(readDecimal("2.2250738585072014e-308").value == DBL_MIN);
  CHECK(readDecimal("1.7976931348623157e308").value == DBL_MAX);
  CHECK(readDecimal("0.1").value == 1.0 / 10.0);
  CHECK(std::signbit(readDecimal("-0").value));
  CHECK(describe(S::Ok).empty());
  CHECK(describe(S::Underflow).rfind("is too small for a double", 0) == 0);
  CHECK(describe(S::Overflow) == "is out of the range of a double");
}
