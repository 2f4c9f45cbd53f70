// The training samples run end to end with the commands their files and README give, and reach
// their training accuracy (the `acc` report of the -o file, over all rows).
#include "fit_test_util.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

using namespace nabla::test;

namespace {

double trainedAccuracy(const std::string &sample, const std::string &data,
                       const std::vector<std::string> &options, const std::string &out) {
  std::vector<std::string> args = {"fit", std::string(NABLA_SOURCE_DIR) + "/samples/" + sample,
                                   "--data", std::string(NABLA_SOURCE_DIR) + "/samples/data/" + data};
  args.insert(args.end(), options.begin(), options.end());
  args.insert(args.end(), {"-o", out});
  ProcessResult r = runNabla(args);
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto parsed = llvm::json::parse(readText(out));
  REQUIRE(bool(parsed));
  const llvm::json::Object *reports = parsed->getAsObject()->getObject("reports");
  REQUIRE(reports);
  std::optional<double> acc = reports->getNumber("acc");
  REQUIRE(acc);
  // The summary on stdout reports the same accuracy.
  CHECK(r.out.find("acc ") != std::string::npos);
  return *acc;
}

}  // namespace

TEST_CASE("samples: logistic regression on breast cancer reaches 97% training accuracy", "[fit][samples]") {
  ScratchDir dir("fit_sample_bc");
  double acc = trainedAccuracy("logreg_breast_cancer.nabla", "breast_cancer.csv",
                               {"--optimizer", "adam", "--lr", "0.01", "--standardize", "--epochs", "20"},
                               dir.file("p.json"));
  CHECK(acc >= 0.97);
}

TEST_CASE("samples: softmax regression on iris reaches 95% training accuracy", "[fit][samples]") {
  ScratchDir dir("fit_sample_iris");
  double acc = trainedAccuracy("softmax_iris.nabla", "iris.csv",
                               {"--optimizer", "adam", "--lr", "0.05", "--standardize", "--epochs", "50"},
                               dir.file("p.json"));
  CHECK(acc >= 0.95);
}

TEST_CASE("samples: a tanh network on digits reaches 97% training accuracy", "[fit][samples]") {
  ScratchDir dir("fit_sample_digits");
  double acc = trainedAccuracy("mlp_digits.nabla", "digits.csv",
                               {"--optimizer", "adam", "--lr", "0.01", "--standardize", "--epochs", "10"},
                               dir.file("p.json"));
  CHECK(acc >= 0.97);
}

TEST_CASE("samples: L-BFGS finds the minimum of the chained Rosenbrock sample", "[fit][samples]") {
  ScratchDir dir("fit_sample_rosenbrock_chain");
  const std::string out = dir.file("p.json");
  ProcessResult r = runNabla({"fit", std::string(NABLA_SOURCE_DIR) + "/samples/rosenbrock_chain.nabla",
                              "--optimizer", "lbfgs", "-o", out});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto parsed = llvm::json::parse(readText(out));
  REQUIRE(bool(parsed));
  const llvm::json::Array *x = parsed->getAsObject()->getObject("params")->getArray("x");
  REQUIRE(x);
  REQUIRE(x->size() == 100);
  for (const llvm::json::Value &v : *x) CHECK(v.getAsNumber().value_or(0) == Approx(1).margin(1e-3));
  CHECK(parsed->getAsObject()->getNumber("loss").value_or(1) < 1e-6);
}

namespace {

/// The `loss` of a params file (the mean over all rows at the end of the run).
double finalLoss(const std::string &path) {
  auto parsed = llvm::json::parse(readText(path));
  REQUIRE(bool(parsed));
  std::optional<double> loss = parsed->getAsObject()->getNumber("loss");
  REQUIRE(loss);
  return *loss;
}

}  // namespace

TEST_CASE("samples: the digits MLP trains the same at the array level and at the scalar level",
          "[fit][samples][array]") {
  // Rows in file order, one epoch: the two levels compute the same steps up to rounding (BLAS
  // sums in its own order), so the losses agree closely; the checkpoint names the level.
  ScratchDir dir("fit_sample_digits_levels");
  const std::string model = std::string(NABLA_SOURCE_DIR) + "/samples/mlp_digits.nabla";
  const std::string data = std::string(NABLA_SOURCE_DIR) + "/samples/data/digits.csv";
  double loss[2];
  const char *jit[2] = {"auto", "baseline"};
  for (int k = 0; k < 2; ++k) {
    const std::string out = dir.file(std::string("p_") + jit[k] + ".json");
    const std::string checkpoint = dir.file(std::string("c_") + jit[k] + ".ckpt");
    ProcessResult r = runNabla({"fit", model, "--data", data, "--optimizer", "adam", "--lr", "0.01",
                                "--standardize", "--epochs", "1", "--in-order", "--jit", jit[k],
                                "--checkpoint", checkpoint, "-o", out});
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    loss[k] = finalLoss(out);
    const std::string ckpt = readText(checkpoint);
    CHECK(ckpt.find(k == 0 ? "array" : "baseline") != std::string::npos);
  }
  INFO("array level " << loss[0] << ", scalar level " << loss[1]);
  CHECK(std::isfinite(loss[0]));
  CHECK(std::abs(loss[0] - loss[1]) <= 1e-8 * std::abs(loss[1]));
}

TEST_CASE("fit: an error in a model the array level would take is reported where it is",
          "[fit][array]") {
  // The bodies are left to the array level at load; a mistake in any of them (used or not) is
  // still a located error of the checker, before the data is read.
  ScratchDir dir("fit_array_errors");
  const std::string data = dir.file("d.csv");
  writeText(data, "x0,x1,y\n1,2,0\n3,4,1\n");
  const std::string header = "param W[40][2]\nparam v[40]\ninput x[2]\ninput y\n";
  struct Case {
    std::string body, message;
  };
  const Case cases[] = {
      {"unused = W @ v\nminimize sum(tanh(W @ x) * v) - y\n", "cannot matrix-multiply [40][2] and [40]"},
      {"minimize sum(tanh(W @ x) * v) - z\n", "unknown name 'z'"},
      {"minimize sum(tanh(W @ x) * v[1:])\n", "cannot multiply [40] and [39]"},
      {"f(a) = a*2\nminimize sum(tanh(W @ x) * v) + f(x)\n", "must be a scalar"},
      // Declarations that read a param: the full checker's message, not the deferred one's.
      {"const k = v[0] * 2\nminimize sum(tanh(W @ x) * v) * k\n", "must be a constant expression"},
  };
  for (const Case &c : cases) {
    const std::string model = dir.file("m.nabla");
    writeText(model, header + c.body);
    ProcessResult r = runNabla({"fit", model, "--data", data, "--epochs", "1"});
    INFO(c.body << r.err);
    CHECK(r.exitCode == 1);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.err.find("m.nabla:") != std::string::npos);
  }
}
