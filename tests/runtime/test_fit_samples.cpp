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
