// Every input of tests/reference/bad_inputs.{txt,json} must end in a located error with exit
// status 1 from the nabla binary, both as an expression (`nabla eval -`, read byte for byte from
// standard input) and as a line of a program file (`nabla check FILE`): never a crash or a hang.
#include "support/process.h"
#include "support/reference.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <cstdio>
#include <fstream>
#include <cctype>
#include <string>
#include <unistd.h>
#include <vector>

using nabla::test::ProcessResult;
using nabla::test::readTestFile;
using nabla::test::runNabla;

namespace {

struct BadInput {
  std::string name;
  std::string text;
};

std::vector<BadInput> textInputs() {
  std::vector<BadInput> out;
  std::string all = readTestFile("reference/bad_inputs.txt");
  std::size_t start = 0, line = 1;
  while (start < all.size()) {
    std::size_t end = all.find('\n', start);
    if (end == std::string::npos) end = all.size();
    out.push_back({"bad_inputs.txt:" + std::to_string(line++), all.substr(start, end - start)});
    start = end + 1;
  }
  return out;
}

std::string fromHex(const std::string &hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string generate(const llvm::json::Array &parts) {
  std::string out;
  for (const llvm::json::Value &p : parts) {
    const llvm::json::Array &pair = *p.getAsArray();
    std::string piece = pair[0].getAsString()->str();
    std::int64_t count = *pair[1].getAsInteger();
    for (std::int64_t i = 0; i < count; ++i) out += piece;
  }
  return out;
}

llvm::json::Object jsonInputs() {
  auto parsed = llvm::json::parse(readTestFile("reference/bad_inputs.json"));
  REQUIRE(static_cast<bool>(parsed));
  return std::move(*parsed->getAsObject());
}

std::vector<BadInput> rejectedInputs() {
  std::vector<BadInput> out = textInputs();
  llvm::json::Object o = jsonInputs();
  int k = 0;
  for (const llvm::json::Value &v : *o.getArray("escaped"))
    out.push_back({"escaped[" + std::to_string(k++) + "]", v.getAsString()->str()});
  for (const llvm::json::Value &v : *o.getArray("bytes_hex")) {
    const llvm::json::Object &b = *v.getAsObject();
    out.push_back({b.getString("name")->str(), fromHex(b.getString("hex")->str())});
  }
  for (const llvm::json::Value &v : *o.getArray("generated_reject")) {
    const llvm::json::Object &g = *v.getAsObject();
    out.push_back({g.getString("name")->str(), generate(*g.getArray("parts"))});
  }
  return out;
}

std::string tempFile(const std::string &contents) {
  char path[] = "/tmp/nabla-bad-XXXXXX.nabla";
  int fd = mkstemps(path, 6);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
  close(fd);
  return path;
}

// `name:line:col: error: ` at the start of the output. (No std::regex: it recurses per character
// and overflows the stack on the long diagnostics that 10^5-character inputs produce.)
bool locatedError(const std::string &err, const std::string &file, int line) {
  if (err.compare(0, file.size() + 1, file + ":") != 0) return false;
  std::size_t pos = file.size() + 1;
  auto number = [&](int &out) {
    std::size_t start = pos;
    while (pos < err.size() && std::isdigit(static_cast<unsigned char>(err[pos]))) ++pos;
    if (pos == start || pos - start > 9) return false;
    out = std::stoi(err.substr(start, pos - start));
    return true;
  };
  int l = 0, c = 0;
  if (!number(l) || err.compare(pos, 1, ":") != 0) return false;
  ++pos;
  if (!number(c) || l < 1 || c < 1) return false;
  return err.compare(pos, 9, ": error: ") == 0 && (line == 0 || l == line);
}

}  // namespace

TEST_CASE("every bad input is rejected as an expression with a located error", "[acceptance][bad]") {
  for (const BadInput &bad : rejectedInputs()) {
    INFO(bad.name << ": " << bad.text.substr(0, 80));
    ProcessResult r = runNabla({"eval", "-"}, bad.text);
    CHECK_FALSE(r.timedOut);
    CHECK(r.signal == 0);
    CHECK(r.exitCode == 1);
    CHECK(locatedError(r.err, "<stdin>", 0));
  }
}

TEST_CASE("every bad input is rejected as a line of a program", "[acceptance][bad]") {
  for (const BadInput &bad : rejectedInputs()) {
    INFO(bad.name << ": " << bad.text.substr(0, 80));
    // A blank line is harmless inside a program, so blank inputs stand alone: an empty program.
    bool blank = bad.text.find_first_not_of(" \t\r\n") == std::string::npos;
    std::string path = tempFile(blank ? bad.text : "param a = 1\n" + bad.text + "\nminimize a^2\n");
    ProcessResult r = runNabla({"check", path});
    CHECK_FALSE(r.timedOut);
    CHECK(r.signal == 0);
    CHECK(r.exitCode == 1);
    // The first error is on the bad line (line 2), or later when the bad text itself spans lines.
    CHECK(locatedError(r.err, path, 0));
    if (!blank) CHECK(r.err.find(path + ":1:") == std::string::npos);
    std::remove(path.c_str());
  }
}

TEST_CASE("stress inputs end in a value or a clean error", "[acceptance][bad]") {
  llvm::json::Object o = jsonInputs();
  for (const llvm::json::Value &v : *o.getArray("generated_no_crash")) {
    const llvm::json::Object &g = *v.getAsObject();
    std::string name = g.getString("name")->str();
    INFO(name);
    // x = 1.0000001 makes every valid case checkable: sums, products and towers of x stay finite.
    ProcessResult r = runNabla({"eval", "-", "--at", "x=1.0000001", "--json"},
                               generate(*g.getArray("parts")));
    CHECK_FALSE(r.timedOut);
    CHECK(r.signal == 0);
    REQUIRE((r.exitCode == 0 || r.exitCode == 1));
    if (r.exitCode == 1) {
      // A limit, or (for the million-letter identifier) a variable without a value.
      CHECK(r.err.find("error: ") != std::string::npos);
      continue;
    }
    auto parsed = llvm::json::parse(r.out);
    REQUIRE(static_cast<bool>(parsed));
    std::optional<double> value = parsed->getAsObject()->getNumber("value");
    REQUIRE(value.has_value());
    const double x = 1.0000001;
    if (name == "long_sum_100k") CHECK(*value == Approx(100000 * x).epsilon(1e-12));
    if (name == "long_product_100k") CHECK(*value == Approx(std::pow(x, 100000)).epsilon(1e-9));
    if (name == "unary_minus_100k") CHECK(*value == x);
    if (name == "balanced_parens_100k") CHECK(*value == x);
  }
}
