// Untrusted bytes never reach the terminal raw: escape sequences, C1 controls and bidirectional
// overrides from CSV cells and headers, params-file keys (fit --init, predict --params),
// checkpoint fields, file names and names given to the C API are escaped by the one function that
// every message goes through (support/text.h).
#include "fit_test_util.h"

#include <nabla/nabla.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>

using namespace nabla::test;
using Catch::Matchers::Contains;

namespace {

const std::string kEsc = "\x1b[2J";                // clears a terminal
const std::string kCsi = "\xc2\x9b" "31m";         // C1 control sequence introducer, as UTF-8
const std::string kRtl = "\xe2\x80\xae" "lmth.exe";  // a right-to-left override

/// Whether `text` holds a byte or character a terminal must not get raw (line feeds and tabs
/// aside).
bool hasRaw(const std::string &text) {
  for (unsigned char c : text)
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
  return text.find("\xc2\x9b") != std::string::npos ||
         text.find("\xe2\x80\xae") != std::string::npos;
}

ProcessResult run(const std::vector<std::string> &args) {
  ProcessResult r = runNabla(args);
  REQUIRE(!r.timedOut);
  REQUIRE(r.signal == 0);
  return r;
}

}  // namespace

TEST_CASE("CSV cells and column names are escaped in messages", "[hostile][fit]") {
  ScratchDir dir("hostile_csv");
  const std::string model = dir.file("m.nabla");
  writeText(model, "param w\ninput x\ninput y\nminimize (w*x - y)^2\n");
  for (const std::string &bad : {kEsc, kCsi, kRtl}) {
    INFO(bad);
    const std::string data = dir.file("d.csv");
    writeText(data, "x,y\n1,2\n" + bad + ",3\n");
    ProcessResult cell = run({"fit", model, "--data", data, "--steps", "1"});
    CHECK(cell.exitCode == 1);
    CHECK_THAT(cell.err, Contains("is not a number"));
    CHECK(!hasRaw(cell.err));
    CHECK(!hasRaw(cell.out));

    writeText(data, "x," + bad + "\n1,2\n");
    ProcessResult header = run({"fit", model, "--data", data, "--steps", "1"});
    CHECK(header.exitCode == 1);
    CHECK_THAT(header.err, Contains("reads column 'y'"));
    CHECK(!hasRaw(header.err));
  }
}

TEST_CASE("params-file keys are escaped, through fit --init and predict --params", "[hostile][fit]") {
  ScratchDir dir("hostile_params");
  const std::string model = dir.file("m.nabla");
  writeText(model, "param w\ninput x\np = w*x\nminimize (p - 1)^2\n");
  const std::string data = dir.file("d.csv");
  writeText(data, "x\n1\n2\n");
  const std::string params = dir.file("p.json");
  for (const std::string &key : {std::string("\\u001b[2J"), std::string("\\u202e"),
                                 std::string("\\u009b31m"), std::string("a\\nb")}) {
    INFO(key);
    writeText(params, "{\"" + key + "\": 1, \"w\": 2}");
    ProcessResult init = run({"fit", model, "--data", data, "--steps", "1", "--init", params});
    CHECK(init.exitCode == 1);
    CHECK(!hasRaw(init.err));
    ProcessResult predict = run({"predict", model, "--params", params, "--data", data});
    CHECK(predict.exitCode == 1);
    CHECK(!hasRaw(predict.err));
  }
}

TEST_CASE("checkpoint fields and file names are escaped", "[hostile][fit]") {
  ScratchDir dir("hostile_checkpoint");
  const std::string model = dir.file("m.nabla");
  writeText(model, "param w\nminimize (w - 3)^2\n");
  const std::string checkpoint = dir.file("run.checkpoint");
  REQUIRE(run({"fit", model, "--steps", "2", "--checkpoint", checkpoint}).exitCode == 0);
  // The same checkpoint, claiming to come from a model whose path holds an escape sequence, with
  // its checksum recomputed: resuming another model names that path.
  std::string text = readText(checkpoint);
  std::string body = text.substr(text.find('\n') + 1);
  const std::size_t at = body.find("\"model\":");
  REQUIRE(at != std::string::npos);
  const std::size_t open = body.find('"', at + 8), close = body.find('"', open + 1);
  body = body.substr(0, open + 1) + "\\u001b[2J\\u202eevil" + body.substr(close);
  // The format version as written, then the new length and checksum.
  const int version = std::atoi(text.c_str() + text.find(' ') + 1);
  writeText(checkpoint, checkpointFile(body, version));
  const std::string other = dir.file("other.nabla");
  writeText(other, "param w\nminimize (w - 4)^2\n");
  ProcessResult resumed = run({"fit", other, "--steps", "4", "--resume", checkpoint});
  CHECK(resumed.exitCode == 1);
  CHECK_THAT(resumed.err, Contains("another model"));
  CHECK(!hasRaw(resumed.err));

  // A file name with control characters, in every kind of message about it.
  const std::string odd = dir.file("bad" + kEsc + kRtl + ".nabla");
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"check", odd}, {"diff", odd}, {"fit", odd},
        {"fit", model, "--init", odd}, {"fit", model, "--resume", odd},
        {"predict", model, "--params", odd, "--data", odd}}) {
    INFO(args[0]);
    ProcessResult r = run(args);
    CHECK(r.exitCode == 1);
    CHECK(!hasRaw(r.err));
  }
  writeText(odd, "param w\nminimize sinh2(w)\n");  // diagnostics name the file too
  ProcessResult located = run({"check", odd});
  CHECK(located.exitCode == 1);
  CHECK_THAT(located.err, Contains("unknown function 'sinh2'"));
  CHECK(!hasRaw(located.err));
}

TEST_CASE("names given to the C API are escaped in its messages", "[hostile][api]") {
  nabla_module *m = nullptr;
  REQUIRE(nabla_compile("f(x) = x^2", nullptr, &m) == NABLA_OK);
  for (const std::string &name : {kEsc, kCsi, kRtl, std::string("\xff\xfe")}) {
    nabla_function *f = nullptr;
    CHECK(nabla_module_function(m, name.c_str(), &f) == NABLA_ERROR_NOT_FOUND);
    CHECK(!hasRaw(nabla_last_error()));
    const std::string message = nabla_last_error();
    CHECK((message.find("\\x") != std::string::npos || message.find("\\u") != std::string::npos));
  }
  nabla_module_free(m);
  CHECK(nabla_compile_file(("no" + kEsc + ".nabla").c_str(), nullptr, &m) == NABLA_ERROR_IO);
  CHECK(!hasRaw(nabla_last_error()));
}
