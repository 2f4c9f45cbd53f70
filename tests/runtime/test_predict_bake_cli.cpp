// A trained model as people ship it: `nabla predict -o pred.csv` (a CSV file written whole, never
// onto an input), unknown --output names, `argmax`/`argmin` in reports and predictions, and
// `nabla compile --params`: the params baked into a library whose definitions a C host calls on
// raw inputs, with the same numbers as `nabla predict`.
#include "fit_test_util.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

using namespace nabla::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::string kSamples = std::string(NABLA_SOURCE_DIR) + "/samples";

/// Softmax regression on iris with its predicted class: a vector definition (z), scalar ones
/// (cls, top) and reports that use argmax.
const char *kIrisModel = "param W[3][4]\n"
                         "param c[3]\n"
                         "input x[4] from (sepal_length .. petal_width)\n"
                         "input species\n"
                         "z = W @ x + c\n"
                         "cls = argmax(z)\n"
                         "low = argmin(z)\n"
                         "top = max(z)\n"
                         "minimize logsumexp(z) - dot(onehot(species, 3), z)\n"
                         "report acc = mean(argmax(z) == species)\n"
                         "report acc2 = where(max(z) == dot(onehot(species, 3), z), 1, 0)\n";

/// A double printed by C's %a, read back exactly.
double fromHex(const std::string &s) { return std::strtod(s.c_str(), nullptr); }

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    out.push_back(line);
  return out;
}

/// The number after `name ` in fit's summary line (`loss 0.07, acc 0.98`).
double summaryValue(const std::string &text, const std::string &name) {
  const std::size_t at = text.find(" " + name + " ");
  if (at == std::string::npos)
    return std::nan("");
  return std::strtod(text.c_str() + at + name.size() + 2, nullptr);
}

/// Builds `source` as dir/host against dir/libNAME.so and its header with the system's C compiler
/// ($CC, else cc), as a user's C program would be.
ProcessResult buildHost(const ScratchDir &dir, const std::string &name, const std::string &source) {
  writeText(dir.file("host.c"), source);
  const char *cc = std::getenv("CC");
  const std::string at = "'" + dir.file("") + "'";
  return runProcess("/bin/sh",
                    {"-c", std::string(cc && *cc ? cc : "cc") + " -std=c99 -I" + at + " " + at +
                               "/host.c -o " + at + "/host -L" + at + " -l" + name +
                               " -Wl,-rpath," + at},
                    {}, 120);
}

} // namespace

TEST_CASE("argmax and argmin agree with std::max_element, in the interpreter and the JIT",
          "[fit][argmax]") {
  const std::string vector = "([v0, v1, v2, v3, v4])";
  std::mt19937_64 rng(19);
  // Small integers give ties often; the first of equal elements wins, as in std::max_element.
  std::uniform_int_distribution<int> digit(-3, 3);
  for (int trial = 0; trial < 12; ++trial) {
    std::vector<double> v(5);
    for (double &e : v)
      e = trial % 3 == 0 ? digit(rng) : digit(rng) * 0.37 + 1e-3 * trial;
    std::string at;
    for (std::size_t i = 0; i < v.size(); ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%sv%zu=%.17g", i ? "," : "", i, v[i]);
      at += buf;
    }
    const double wantMax = static_cast<double>(std::max_element(v.begin(), v.end()) - v.begin());
    const double wantMin = static_cast<double>(std::min_element(v.begin(), v.end()) - v.begin());
    INFO(at);
    for (const bool interp : {false, true}) {
      for (const std::string fn : {"argmax", "argmin"}) {
        std::vector<std::string> args = {"eval", fn + vector, "--at", at, "--grad"};
        if (interp)
          args.push_back("--interp");
        ProcessResult r = runNabla(args);
        INFO(r.err);
        REQUIRE(r.exitCode == 0);
        const double want = fn == "argmax" ? wantMax : wantMin;
        CHECK_THAT(r.out, StartsWith("f = " + std::to_string(int(want)) + "\n"));
        // Not differentiated: every partial is 0, never an error.
        CHECK_THAT(r.out, Contains("∂f/∂v0 = 0\n") && Contains("∂f/∂v4 = 0\n"));
        CHECK_THAT(r.out, !Contains("nan"));
      }
    }
  }
  // One element: index 0 for both; a NaN anywhere makes the index NaN (docs/language.md).
  ProcessResult one = runNabla({"eval", "argmax([v0]) + argmin([v0])", "--at", "v0=-7"});
  CHECK(one.out == "f = 0\n");
  for (const bool interp : {false, true}) {
    std::vector<std::string> args = {"eval", "argmax" + vector, "--at",
                                     "v0=1,v1=nan,v2=3,v3=0,v4=2"};
    if (interp)
      args.push_back("--interp");
    CHECK(runNabla(args).out == "f = nan\n");
  }
}

TEST_CASE("argmax in a fit report and in predictions", "[fit][argmax][predict]") {
  ScratchDir dir("argmax_fit");
  writeText(dir.file("m.nabla"), kIrisModel);
  const std::string iris = kSamples + "/data/iris.csv";
  ProcessResult fit =
      runNabla({"fit", dir.file("m.nabla"), "--data", iris, "--optimizer", "adam", "--lr", "0.05",
                "--standardize", "--epochs", "30", "--seed", "1", "-o", dir.file("p.json")});
  INFO(fit.err);
  REQUIRE(fit.exitCode == 0);
  // The two spellings of accuracy agree (no two logits tie in this run), and training worked.
  const double acc = summaryValue(fit.out + fit.err, "acc"),
               acc2 = summaryValue(fit.out + fit.err, "acc2");
  CHECK(acc == acc2);
  CHECK(acc > 0.85);

  ProcessResult r = runNabla({"predict", dir.file("m.nabla"), "--params", dir.file("p.json"),
                              "--data", iris, "--output", "z,cls,low"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CsvTable t = readCsvTable(r.out);
  REQUIRE(t.header == std::vector<std::string>{"z[0]", "z[1]", "z[2]", "cls", "low"});
  REQUIRE(t.rows.size() == 150);
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const std::vector<double> z = {t.number(i, "z[0]"), t.number(i, "z[1]"), t.number(i, "z[2]")};
    CHECK(t.number(i, "cls") == double(std::max_element(z.begin(), z.end()) - z.begin()));
    CHECK(t.number(i, "low") == double(std::min_element(z.begin(), z.end()) - z.begin()));
  }

  // LLVM's code (a library with the params baked in) gives the same classes as predict's
  // baseline code, and the same largest logit bit for bit.
  ProcessResult compiled = runNabla({"compile", dir.file("m.nabla"), "--params", dir.file("p.json"),
                                     "-o", dir.file("libiris.so"), "--header", dir.file("iris.h")});
  INFO(compiled.err);
  REQUIRE(compiled.exitCode == 0);
  CHECK_THAT(compiled.err, Contains("skipping 'z'"));
  ProcessResult built =
      buildHost(dir, "iris",
                "#include \"iris.h\"\n#include <stdio.h>\n#include <stdlib.h>\n"
                "int main(void) {\n  char line[4096];\n  double x[4];\n"
                "  if (!fgets(line, sizeof line, stdin)) return 1;\n"
                "  while (fgets(line, sizeof line, stdin)) {\n    char *s = line;\n"
                "    for (int i = 0; i < 4; ++i) { x[i] = strtod(s, &s); if (*s == ',') ++s; }\n"
                "    printf(\"%g %g %a\\n\", cls(x), low(x), top(x));\n  }\n  return 0;\n}\n");
  INFO(built.out << built.err);
  REQUIRE(built.exitCode == 0);
  ProcessResult host = runProcess(dir.file("host"), {}, readText(iris));
  REQUIRE(host.exitCode == 0);
  ProcessResult top = runNabla({"predict", dir.file("m.nabla"), "--params", dir.file("p.json"),
                                "--data", iris, "--output", "top"});
  REQUIRE(top.exitCode == 0);
  const std::vector<std::string> got = lines(host.out), tops = lines(top.out);
  REQUIRE(got.size() == 150);
  REQUIRE(tops.size() == 151);
  std::size_t same = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    double c = -1, l = -1;
    char hex[64] = {0};
    REQUIRE(std::sscanf(got[i].c_str(), "%lf %lf %63s", &c, &l, hex) == 3);
    same += c == t.number(i, "cls") && l == t.number(i, "low") &&
            fromHex(hex) == std::strtod(tops[i + 1].c_str(), nullptr);
  }
  CHECK(same == got.size());
}

TEST_CASE("predict -o writes the CSV whole, and never onto an input", "[fit][predict][files]") {
  ScratchDir dir("predict_output");
  writeText(dir.file("m.nabla"), kIrisModel);
  const std::string iris = kSamples + "/data/iris.csv";
  writeText(dir.file("d.csv"), readText(iris));
  REQUIRE(runNabla({"fit", dir.file("m.nabla"), "--data", iris, "--epochs", "2", "-o",
                    dir.file("p.json")})
              .exitCode == 0);
  const std::vector<std::string> common = {
      "predict", dir.file("m.nabla"), "--params", dir.file("p.json"), "--data", dir.file("d.csv")};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = common;
    args.insert(args.end(), more.begin(), more.end());
    return runNabla(args);
  };
  ProcessResult printed = with({"--output", "cls,top"});
  REQUIRE(printed.exitCode == 0);
  ProcessResult written = with({"--output", "cls,top", "-o", dir.file("pred.csv")});
  INFO(written.err);
  REQUIRE(written.exitCode == 0);
  CHECK(written.out.empty());
  // The same text as standard output: the header of the names, then the same numbers.
  CHECK(readText(dir.file("pred.csv")) == printed.out);
  CHECK(lines(printed.out).front() == "cls,top");
  CHECK(lines(printed.out).size() == 151);
  // Written again: replaced whole.
  REQUIRE(with({"--output", "top", "-o", dir.file("pred.csv")}).exitCode == 0);
  CHECK(lines(readText(dir.file("pred.csv"))).front() == "top");

  // Onto an input, by any spelling (a link, `..`): refused before anything is read or written.
  std::filesystem::create_symlink(dir.file("d.csv"), dir.file("link.csv"));
  const std::string data = readText(dir.file("d.csv")), params = readText(dir.file("p.json")),
                    model = readText(dir.file("m.nabla"));
  for (const std::string &target :
       {dir.file("link.csv"),
        dir.file("../" + std::filesystem::path(dir.file("")).parent_path().filename().string() +
                 "/d.csv"),
        dir.file("p.json"), dir.file("m.nabla")}) {
    ProcessResult refused = with({"-o", target});
    INFO(target << ": " << refused.err);
    CHECK(refused.exitCode == 2);
    CHECK_THAT(refused.err, Contains("-o"));
  }
  CHECK(readText(dir.file("d.csv")) == data);
  CHECK(readText(dir.file("p.json")) == params);
  CHECK(readText(dir.file("m.nabla")) == model);

  // An unknown --output name lists what there is, with the closest first.
  ProcessResult unknown = with({"--output", "clss"});
  CHECK(unknown.exitCode == 1);
  CHECK_THAT(unknown.err, Contains("'clss' is not a definition or report"));
  CHECK_THAT(unknown.err, Contains("did you mean 'cls'?"));
  CHECK_THAT(unknown.err,
             Contains("its definitions and reports are 'z', 'cls', 'low', 'top', 'acc', 'acc2'"));
  // A file name given to --output, as `nabla fit -o` would take it: a hint to use -o.
  ProcessResult path = with({"--output", "pred.csv"});
  CHECK(path.exitCode == 2);
  CHECK_THAT(path.err, Contains("give -o pred.csv"));
  CHECK(with({"-o", ""}).exitCode == 2);
  ProcessResult help = runNabla({"predict", "--help"});
  CHECK_THAT(help.out, Contains("-o FILE.csv"));
}

TEST_CASE("compile --params: a C host predicts what nabla predict prints, bit for bit",
          "[fit][predict][aot]") {
  ScratchDir dir("compile_params");
  const std::string model = kSamples + "/logistic.nabla";
  const std::string data = kSamples + "/data/breast_cancer.csv";
  ProcessResult fit = runNabla({"fit", model, "--data", data, "--standardize", "--epochs", "5",
                                "--seed", "3", "-o", dir.file("params.json")});
  INFO(fit.err);
  REQUIRE(fit.exitCode == 0);
  ProcessResult compiled = runNabla({"compile", model, "--params", dir.file("params.json"), "-o",
                                     dir.file("liblr.so"), "--header", dir.file("lr.h")});
  INFO(compiled.err);
  REQUIRE(compiled.exitCode == 0);
  CHECK_THAT(compiled.err, Contains("the objective is left out"));
  const std::string header = readText(dir.file("lr.h"));
  // p = sigmoid(dot(w, x) + b): a function of the 30 raw inputs alone.
  CHECK_THAT(header, Contains("double p(const double *x);"));
  CHECK_THAT(header, Contains("Params baked in from"));
  CHECK_THAT(header, Contains("Standardized inside, as in training: x."));
  CHECK_THAT(header, !Contains("nabla_objective"));

  // The host reads rows of the 30 feature columns and prints p and the module info.
  writeText(dir.file("host.c"),
            "#include \"lr.h\"\n#include <stdio.h>\n#include <stdlib.h>\n"
            "int main(int argc, char **argv) {\n"
            "  if (argc > 1) { puts(nabla_module_info()); return 0; }\n"
            "  char line[1 << 16];\n  double x[30];\n"
            "  if (!fgets(line, sizeof line, stdin)) return 1; /* the header */\n"
            "  while (fgets(line, sizeof line, stdin)) {\n"
            "    char *s = line;\n"
            "    for (int i = 0; i < 30; ++i) { x[i] = strtod(s, &s); if (*s == ',') ++s; }\n"
            "    printf(\"%a\\n\", p(x));\n  }\n  return 0;\n}\n");
  ProcessResult built = buildHost(dir, "lr", readText(dir.file("host.c")));
  INFO(built.out << built.err);
  REQUIRE(built.exitCode == 0);
  ProcessResult host = runProcess(dir.file("host"), {}, readText(data));
  REQUIRE(host.exitCode == 0);
  ProcessResult predicted = runNabla(
      {"predict", model, "--params", dir.file("params.json"), "--data", data, "--output", "p"});
  REQUIRE(predicted.exitCode == 0);
  const std::vector<std::string> got = lines(host.out), want = lines(predicted.out);
  REQUIRE(want.size() == 570);
  REQUIRE(got.size() == 569);
  // predict prints the shortest decimal that reads back as the same double, so equal doubles
  // are the whole claim: the library applies the same standardization ((v - mean) / std, two
  // roundings) and the same arithmetic (fused multiply-adds where the interpreter has them).
  std::size_t same = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    same += fromHex(got[i]) == std::strtod(want[i + 1].c_str(), nullptr);
  CHECK(same == got.size());

  // The module description names the params file and the statistics.
  ProcessResult info = runProcess(dir.file("host"), {"info"});
  CHECK_THAT(info.out, Contains("\"baked_params\""));
  CHECK_THAT(info.out, Contains("\"standardize\":[{\"input\":\"x\",\"mean\":["));
  CHECK_THAT(info.out, Contains("\"name\":\"p\""));
}

TEST_CASE("compile --params: functions that read params, and the errors", "[fit][aot]") {
  ScratchDir dir("compile_params_errors");
  writeText(dir.file("m.nabla"), "param w[2]\nparam b = 0\ninput x[2]\ninput y\n"
                                 "s = dot(w, x) + b\nv = w * x\n"
                                 "score(u, t) = w[0]*u + w[1]*t + b\n"
                                 "minimize (s - y)^2\n");
  writeText(dir.file("p.json"), "{\"w\": [2, -3], \"b\": 0.5}\n");
  ProcessResult ok = runNabla({"compile", dir.file("m.nabla"), "--params", dir.file("p.json"), "-o",
                               dir.file("libm.so"), "--header", dir.file("m.h")});
  INFO(ok.err);
  REQUIRE(ok.exitCode == 0);
  const std::string header = readText(dir.file("m.h"));
  CHECK_THAT(header, Contains("double score(double u, double t);"));
  CHECK_THAT(header, Contains("double s(const double *x);"));
  CHECK_THAT(ok.err, Contains("skipping 'v': its value has shape [2]"));
  // Without --params the function reads params, and is skipped as before.
  ProcessResult plain = runNabla({"compile", dir.file("m.nabla"), "-o", dir.file("libm.so")});
  CHECK(plain.exitCode == 0);
  CHECK_THAT(plain.err, Contains("skipping 'score'"));

  auto compile = [&](const std::string &params, const std::string &modelText) {
    writeText(dir.file("q.json"), params);
    writeText(dir.file("q.nabla"), modelText);
    return runNabla({"compile", dir.file("q.nabla"), "--params", dir.file("q.json"), "-o",
                     dir.file("libq.so")});
  };
  const std::string m = readText(dir.file("m.nabla"));
  ProcessResult missing = compile("{\"w\": [2, -3]}", m);
  CHECK(missing.exitCode == 1);
  CHECK_THAT(missing.err, Contains("no value for param 'b'"));
  ProcessResult shape = compile("{\"w\": [2, -3, 4], \"b\": 1}", m);
  CHECK(shape.exitCode == 1);
  CHECK_THAT(shape.err, Contains("'w'"));
  ProcessResult stranger = compile("{\"w\": [2, -3], \"b\": 1, \"k\": 2}", m);
  CHECK(stranger.exitCode == 1);
  CHECK_THAT(stranger.err, Contains("'k'"));
  ProcessResult noParams = compile("{}", "input x\nf(a) = a^2\np = x + 1\n");
  CHECK(noParams.exitCode == 1);
  CHECK_THAT(noParams.err, Contains("has no params to bake in"));
  ProcessResult badStats =
      compile("{\"params\": {\"w\": [1, 1], \"b\": 0}, \"standardize\": {\"x\": {\"mean\": [0], "
              "\"std\": [1]}}}",
              m);
  CHECK(badStats.exitCode == 1);
  CHECK_THAT(badStats.err, Contains("standardization of input 'x'"));
  ProcessResult level = runNabla({"compile", dir.file("m.nabla"), "--params", dir.file("p.json"),
                                  "-o", dir.file("libm.so"), "--level", "array"});
  CHECK(level.exitCode == 1);
  CHECK_THAT(level.err, Contains("--level array"));
  // The params file is an input: the library never replaces it.
  ProcessResult onto = runNabla(
      {"compile", dir.file("m.nabla"), "--params", dir.file("p.json"), "-o", dir.file("p.json")});
  CHECK(onto.exitCode == 2);
  CHECK(readText(dir.file("p.json")) == "{\"w\": [2, -3], \"b\": 0.5}\n");
  CHECK_THAT(runNabla({"compile", "--help"}).out, Contains("--params PARAMS.json"));
}
