// `nabla fit` stops a run that makes no progress (exit 0, with the reason) and a run that
// diverges (exit 1, after writing its outputs), from optim::StopRule; --patience.
#include "fit_test_util.h"

#include <catch2/catch.hpp>

using namespace nabla::test;
using Catch::Matchers::Contains;

namespace {
const std::string kRosenbrock = std::string(NABLA_SOURCE_DIR) + "/samples/rosenbrock.nabla";
}

TEST_CASE("fit: Newton and L-BFGS stop when rounding stops them short of --tol", "[fit][cli][stop]") {
  ScratchDir dir("fit_stall");
  // (x^2 - 2)^2: its gradient 4x(x^2 - 2) is 0 at no double (sqrt(2) is irrational), so no
  // optimizer reaches --tol 1e-300 (on Rosenbrock's function they reach a gradient of 0).
  writeText(dir.file("root2.nabla"), "param x = 3\nminimize (x^2 - 2)^2\n");
  for (const char *optimizer : {"newton", "lbfgs", "lbfgs-mt", "newton-cg"}) {
    INFO(optimizer);
    ProcessResult r = runNabla({"fit", dir.file("root2.nabla"), "--optimizer", optimizer,
                                "--steps", "1000", "--tol", "1e-300", "--log",
                                dir.file("log.csv"), "-o", dir.file("p.json")});
    INFO(r.err);
    CHECK(r.exitCode == 0);
    CHECK_THAT(r.out, Contains("(stopped: no progress)"));
    CHECK_THAT(r.err, Contains("no progress in the last 10 steps: no step changed a parameter"));
    CHECK_THAT(readText(dir.file("p.json")), Contains("\"stop\": \"no_progress\""));
    const std::size_t steps = readCsvTable(readText(dir.file("log.csv"))).rows.size();
    CHECK(steps < 100);
    CHECK_THAT(r.err, Contains("stopped at step " + std::to_string(steps) + ":"));
  }
}

TEST_CASE("fit: a step too small to move a parameter stops every optimizer", "[fit][cli][stop]") {
  ScratchDir dir("fit_stall_lr");
  for (const char *optimizer : {"sgd", "adam", "adagrad", "rmsprop", "adadelta", "nadam", "adamw",
                                "lbfgs", "newton"}) {
    INFO(optimizer);
    ProcessResult r = runNabla({"fit", kRosenbrock, "--optimizer", optimizer, "--lr", "1e-300",
                                "--steps", "500", "--patience", "4"});
    INFO(r.err);
    CHECK(r.exitCode == 0);
    CHECK_THAT(r.out, Contains(std::string(optimizer) + ": 4 steps (stopped: no progress)"));
  }
}

TEST_CASE("fit: --patience 0 runs every step; a bad --patience is a usage error",
          "[fit][cli][stop]") {
  ScratchDir dir("fit_patience");
  ProcessResult r = runNabla({"fit", kRosenbrock, "--optimizer", "sgd", "--lr", "1e-300",
                              "--steps", "50", "--patience", "0"});
  INFO(r.err);
  CHECK(r.exitCode == 0);
  CHECK_THAT(r.out, Contains("sgd: 50 steps (finished)"));
  for (const char *bad : {"-1", "x", "1.5"}) {
    ProcessResult u = runNabla({"fit", kRosenbrock, "--patience", bad});
    INFO(bad << ": " << u.err);
    CHECK(u.exitCode == 2);
    CHECK_THAT(u.err, Contains("--patience"));
  }
}

TEST_CASE("fit: a diverging run exits 1 with the reason and still writes its outputs",
          "[fit][cli][stop]") {
  ScratchDir dir("fit_diverge");
  // L-BFGS without a line search at lr 1.2 from (-1.5, 2): the loss passes 1e10 times its start
  // (12.5) at step 13.
  ProcessResult r = runNabla({"fit", kRosenbrock, "--optimizer", "lbfgs", "--line-search", "none",
                              "--lr", "1.2", "--steps", "100", "--log", dir.file("log.csv"), "-o",
                              dir.file("p.json")});
  INFO(r.err);
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.out, Contains("(diverged)"));
  CHECK_THAT(r.err, Contains("error: the run diverged at step "));
  CHECK_THAT(r.err, Contains("the loss grew from 12.5 to "));
  CHECK_THAT(r.err, Contains("more than 10000000000 times its start"));
  CHECK_THAT(r.err, Contains("--line-search strong_wolfe"));
  CHECK_THAT(readText(dir.file("p.json")), Contains("\"stop\": \"diverged\""));
  CsvTable log = readCsvTable(readText(dir.file("log.csv")));
  REQUIRE(log.rows.size() >= 2);
  CHECK(log.number(log.rows.size() - 1, "loss") > 1e10 * 12.5);
  for (std::size_t k = 0; k + 1 < log.rows.size(); ++k) CHECK(log.number(k, "loss") <= 12.5 + 1.25e11);

  // SGD with a large rate on a model with inputs: the same stop.
  writeText(dir.file("m.nabla"), "param w = 0\ninput x\ninput y\nminimize (w*x - y)^2\n");
  writeText(dir.file("d.csv"), "x,y\n1,2\n2,4\n3,6\n4,8\n");
  ProcessResult s = runNabla({"fit", dir.file("m.nabla"), "--data", dir.file("d.csv"),
                              "--optimizer", "sgd", "--lr", "1", "--epochs", "100"});
  INFO(s.err);
  CHECK(s.exitCode == 1);
  CHECK_THAT(s.err, Contains("the run diverged at step "));
  CHECK_THAT(s.err, Contains("try a smaller --lr"));
}
