// The files `nabla fit` and `nabla predict` read, given as an attacker or a careless user would:
// deeply nested JSON (params files, a checkpoint with its checksum recomputed), devices, FIFOs and
// directories in place of a file, numbers that underflow. Each is a clean error (status 1) that
// names the file, never a crash or a read without end.
#include "fit_test_util.h"

#include "runtime/data/data.h"

#include <catch2/catch.hpp>

#include <cinttypes>
#include <cstdio>
#include <sys/stat.h>

using namespace nabla::test;
using Catch::Matchers::Contains;

namespace {


/// Deep enough that the recursive JSON parser overflowed the stack before the check.
constexpr std::size_t kDeep = 100000;

}  // namespace

TEST_CASE("fit and predict: deeply nested params files are refused before parsing",
          "[fit][cli][files]") {
  ScratchDir dir("files_deep");
  const std::string model = dir.file("m.nabla"), data = dir.file("d.csv");
  writeText(model, "param w\ninput x\np = w*x\nminimize (p - 1)^2\n");
  writeText(data, "x\n1\n2\n");
  const std::string deep = std::string(kDeep, '[') + std::string(kDeep, ']');
  for (const std::string &text :
       {deep,                                                       // arrays
        "{\"w\": " + deep + "}",                                   // under a key
        "{\"params\": {\"w\": " + std::string(kDeep, '[') + "}}",  // unclosed
        [] {
          std::string s;
          for (std::size_t i = 0; i < kDeep; ++i) s += "{\"a\":";
          return s;
        }(),
        "{\"w\": 1,\n \"standardize\": " + std::string(65, '{') + "}"}) {
    INFO(text.substr(0, 40));
    writeText(dir.file("p.json"), text);
    ProcessResult fit =
        runNabla({"fit", model, "--data", data, "--steps", "1", "--init", dir.file("p.json")});
    CHECK(fit.signal == 0);
    CHECK(fit.exitCode == 1);
    CHECK_THAT(fit.err, Contains(dir.file("p.json") + ":"));
    CHECK_THAT(fit.err, Contains(": arrays and objects nest more than 64 levels deep"));
    ProcessResult predict =
        runNabla({"predict", model, "--params", dir.file("p.json"), "--data", data});
    CHECK(predict.signal == 0);
    CHECK(predict.exitCode == 1);
    CHECK_THAT(predict.err, Contains("nest more than 64 levels deep"));
  }
  // Nesting as deep as a params file has is read, and so is a key full of brackets.
  writeText(dir.file("ok.json"), "{\"params\": {\"w\": 0.5, \"[[[[\": [[1]]}}");
  ProcessResult ok =
      runNabla({"predict", model, "--params", dir.file("ok.json"), "--data", data});
  CHECK_THAT(ok.err, Contains("'[[[[' is not a param of the model"));
  writeText(dir.file("ok.json"), "{\"params\": {\"w\": 0.5}}");
  CHECK(runNabla({"predict", model, "--params", dir.file("ok.json"), "--data", data}).exitCode == 0);
}

TEST_CASE("fit: a checkpoint whose body nests deeply is refused before parsing",
          "[fit][cli][files]") {
  ScratchDir dir("files_checkpoint");
  const std::string model = dir.file("m.nabla");
  writeText(model, "param w\nminimize (w - 3)^2\n");
  const std::string ck = dir.file("ck");
  REQUIRE(runNabla({"fit", model, "--steps", "2", "--checkpoint", ck}).exitCode == 0);
  const std::string good = readText(ck);
  const std::string body = good.substr(good.find('\n') + 1);
  for (const std::string &deepBody :
       {std::string(kDeep, '[') + std::string(kDeep, ']'),
        "{\"losses\": " + std::string(kDeep, '[') + "}",
        body.substr(0, body.rfind('}')) + ", \"extra\": " + std::string(200, '{') +
            std::string(200, '}') + "}"}) {
    writeText(ck, checkpointFile(deepBody));
    ProcessResult r = runNabla({"fit", model, "--steps", "4", "--resume", ck});
    CHECK(r.signal == 0);
    CHECK(r.exitCode == 1);
    CHECK_THAT(r.err, Contains(ck + ":"));
    CHECK_THAT(r.err, Contains("nest more than 64 levels deep"));
  }
  // The checkpoint as written still resumes.
  writeText(ck, good);
  CHECK(runNabla({"fit", model, "--steps", "4", "--resume", ck}).exitCode == 0);
}

TEST_CASE("fit and predict: devices, FIFOs and directories in place of a file",
          "[fit][cli][files]") {
  ScratchDir dir("files_devices");
  const std::string model = dir.file("m.nabla"), data = dir.file("d.csv");
  writeText(model, "param w\ninput x\np = w*x\nminimize (p - 1)^2\n");
  writeText(data, "x\n1\n2\n");
  writeText(dir.file("p.json"), "{\"w\": 1}");
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string folder = dir.file("folder");
  std::filesystem::create_directory(folder);
  for (const std::string &bad : {std::string("/dev/zero"), std::string("/dev/urandom"), fifo, folder}) {
    INFO(bad);
    const std::string why = bad == folder ? "is a directory" : "not a regular file";
    const std::vector<std::vector<std::string>> runs = {
        {"fit", model, "--data", bad, "--steps", "1"},
        {"fit", model, "--data", data, "--steps", "1", "--init", bad},
        {"fit", model, "--data", data, "--steps", "1", "--resume", bad},
        {"predict", model, "--params", bad, "--data", data},
        {"predict", model, "--params", dir.file("p.json"), "--data", bad},
        {"check", bad}};
    for (const std::vector<std::string> &args : runs) {
      std::string line;
      for (const std::string &a : args) line += a + " ";
      INFO(line);
      ProcessResult r = runNabla(args);
      CHECK_FALSE(r.timedOut);
      CHECK(r.exitCode == 1);
      CHECK_THAT(r.err, Contains("'" + bad + "'"));
      CHECK_THAT(r.err, Contains(why));
    }
  }
}

TEST_CASE("fit and predict: numbers that underflow are errors in data and params alike",
          "[fit][cli][files]") {
  ScratchDir dir("files_underflow");
  const std::string model = dir.file("m.nabla"), data = dir.file("d.csv");
  writeText(model, "param w\ninput x\ninput y\np = w*x\nminimize (p - y)^2\n");
  writeText(data, "x,y\n1,2\n2,4\n");
  for (const char *tiny : {"1e-400", "-1e-400", "1e-310", "5e-324"}) {
    INFO(tiny);
    writeText(dir.file("bad.csv"), std::string("x,y\n1,2\n2,") + tiny + "\n");
    ProcessResult fit = runNabla({"fit", model, "--data", dir.file("bad.csv"), "--steps", "1"});
    CHECK(fit.exitCode == 1);
    CHECK_THAT(fit.err, Contains(dir.file("bad.csv") + ": row 2 (line 3), column 2 'y': '" + tiny +
                                 "' is too small for a double"));
    writeText(dir.file("p.json"), std::string("{\n  \"w\": ") + tiny + "\n}\n");
    ProcessResult init =
        runNabla({"fit", model, "--data", data, "--steps", "1", "--init", dir.file("p.json")});
    CHECK(init.exitCode == 1);
    CHECK_THAT(init.err, Contains(dir.file("p.json") + ":2:8: the number " + tiny +
                                  " is too small for a double"));
    ProcessResult predict =
        runNabla({"predict", model, "--params", dir.file("p.json"), "--data", data});
    CHECK(predict.exitCode == 1);
    CHECK_THAT(predict.err, Contains(":2:8: the number"));
  }
  // Overflow in a params file is refused the same way; zero is a number.
  writeText(dir.file("p.json"), "{\"w\": 1e999}");
  CHECK_THAT(runNabla({"predict", model, "--params", dir.file("p.json"), "--data", data}).err,
             Contains(":1:7: the number 1e999 is out of the range of a double"));
  writeText(dir.file("p.json"), "{\"w\": 0e-400}");
  CHECK(runNabla({"predict", model, "--params", dir.file("p.json"), "--data", data}).exitCode == 0);
}
