// `nabla fit` end to end: usage and data errors, the NaN stop, --tol, reports, --init, shuffles,
// checkpoints (refused when damaged, kept when a write fails), resuming bit for bit (after a
// shorter run and after SIGINT), and `nabla predict` with standardization.
#include "fit_test_util.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

using namespace nabla::test;
using Catch::Matchers::Contains;

extern char **environ;

namespace {

const std::string kLinreg = std::string(NABLA_TEST_DATA) + "/reference/optimizers/linreg.csv";

const char *kLinModel = "param w[3] ~ normal(0, 0.1)\n"
                        "param b = 0\n"
                        "input x[3] from (x1 .. x3)\n"
                        "input y\n"
                        "p = dot(w, x) + b\n"
                        "minimize (p - y)^2\n"
                        "report abs_err = abs(p - y)\n";

std::size_t countLines(const std::string &path) {
  std::ifstream in(path);
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

} // namespace

TEST_CASE("fit: usage errors exit 2 and name the problem", "[fit][cli]") {
  ScratchDir dir("fit_usage");
  writeText(dir.file("m.nabla"), kLinModel);
  const std::string m = dir.file("m.nabla");
  auto usage = [](const std::vector<std::string> &args, const std::string &message) {
    ProcessResult r = runNabla(args);
    INFO(r.err);
    CHECK(r.exitCode == 2);
    CHECK_THAT(r.err, Contains(message));
  };
  usage({"fit"}, "missing input");
  usage({"fit", m, "--data", kLinreg, "--optimiser", "sgd"},
        "unknown option '--optimiser' (did you mean '--optimizer'?)");
  usage({"fit", m, "--data", kLinreg, "--optimizer", "adamx"},
        "unknown optimizer 'adamx' (did you mean 'adam'?)");
  usage({"fit", m, "--data", kLinreg, "--epochs", "2", "--steps", "3"},
        "give --epochs or --steps, not both");
  usage({"fit", m, "--data", kLinreg, "--lr", "fast"},
        "option '--lr' needs a finite decimal number, not 'fast'");
  usage({"fit", m, "--data", kLinreg, "--batch", "0"},
        "option '--batch' needs a positive whole number");
  usage({"fit", m, "--data", kLinreg, "--betas", "0.9"}, "option '--betas' needs two numbers");
  usage({"fit", m, "--data", kLinreg, "--log-params"}, "--log-params needs --log FILE");
  usage({"fit", m, "--data", kLinreg, "--lr", "0.1", "--lr", "0.2"},
        "option '--lr' is given twice");
  usage({"fit", m}, "has inputs: give their data with --data FILE.csv");
  usage({"fit", m, "--data", kLinreg, "--standardize=z"}, "--standardize: 'z' is not an input");
  usage({"fit", m, "--data", kLinreg, "--steps"}, "option '--steps' needs a value");
  usage({"fit", m, "--data", kLinreg, "--optimizer", "adam", "--momentum", "0.9"}, "adam has no option momentum");
  usage({"fit", m, "--data", kLinreg, "--schedule", "bogus"}, "unknown schedule 'bogus'");
  usage({"fit", m, "--data", kLinreg, "--jit", "fast"}, "unknown --jit 'fast'");
  ProcessResult help = runNabla({"fit", "--help"});
  CHECK(help.exitCode == 0);
  CHECK_THAT(help.out, Contains("--line-search NAME"));
  CHECK_THAT(help.out, Contains("--history-size N"));
  CHECK(runNabla({"predict", "--help"}).exitCode == 0);
}

TEST_CASE("fit: bad data is an error naming the file, the row and the column", "[fit][cli]") {
  ScratchDir dir("fit_bad_data");
  writeText(dir.file("m.nabla"), "param w = 0\ninput x\ninput y\nminimize (w*x - y)^2\n");
  auto fails = [&](const std::string &csv, const std::string &message) {
    writeText(dir.file("d.csv"), csv);
    ProcessResult r =
        runNabla({"fit", dir.file("m.nabla"), "--data", dir.file("d.csv"), "--optimizer", "sgd"});
    INFO(r.err);
    CHECK(r.exitCode == 1);
    CHECK_THAT(r.err, Contains(message));
  };
  const std::string d = dir.file("d.csv");
  fails("x,y\n1,2\n3,\n", d + ": row 2 (line 3), column 2 'y': empty cell");
  fails("x,y\n1,2\nthree,4\n", d + ": row 2 (line 3), column 1 'x': 'three' is not a number");
  fails("x,y\n1,2\n3,nan\n", "column 2 'y': 'nan' is not a finite number");
  fails("x,y\n1,inf\n", "row 1 (line 2), column 2 'y': 'inf' is not a finite number");
  fails("x,y\n1,2\n3,4,5\n", "row 2 (line 3) has 3 cells, but the header has 2");
  fails("", d + ": the file is empty");
  fails("x,y\n", d + ": the file has a header but no data rows");
  fails("x,z\n1,2\n", "input 'y' reads column 'y', which '" + d + "' does not have");
  // The limits of fit and predict: rows of data and the model's own.
  writeText(dir.file("d.csv"), "x,y\n1,2\n3,4\n5,6\n");
  ProcessResult rows = runNabla({"fit", dir.file("m.nabla"), "--data", dir.file("d.csv"),
                                 "--optimizer", "sgd", "--max-rows", "2"});
  CHECK(rows.exitCode == 1);
  CHECK_THAT(rows.err, Contains(d + ": more than 2 data rows (raise the limit with --max-rows)"));
  CHECK(runNabla({"fit", dir.file("m.nabla"), "--data", dir.file("d.csv"), "--optimizer", "sgd",
                  "--max-rows", "3", "--epochs", "1"})
            .exitCode == 0);
  ProcessResult nodes = runNabla({"fit", dir.file("m.nabla"), "--data", dir.file("d.csv"),
                                  "--max-nodes", "3"});
  CHECK(nodes.exitCode == 1);
  CHECK_THAT(nodes.err, Contains("(raise the limit with --max-nodes)"));
  CHECK(runNabla({"fit", dir.file("m.nabla"), "--max-rows", "0"}).exitCode == 2);
  writeText(dir.file("p.json"), "{\"w\": 1}");
  writeText(dir.file("pm.nabla"), "param w = 0\ninput x\np = w*x\nminimize p^2\n");
  ProcessResult predicted = runNabla({"predict", dir.file("pm.nabla"), "--params", dir.file("p.json"),
                                      "--data", dir.file("d.csv"), "--max-rows", "1"});
  CHECK(predicted.exitCode == 1);
  CHECK_THAT(predicted.err, Contains("more than 1 data rows"));
  ProcessResult missing = runNabla({"fit", dir.file("m.nabla"), "--data", dir.file("none.csv")});
  CHECK(missing.exitCode == 1);
  CHECK_THAT(missing.err, Contains("cannot read '" + dir.file("none.csv") + "'"));
}

TEST_CASE("fit: a byte-order mark and CRLF line ends read the same data", "[fit][cli]") {
  ScratchDir dir("fit_crlf");
  writeText(dir.file("m.nabla"), kLinModel);
  const std::string plain = readText(kLinreg);
  std::string crlf;
  for (char c : plain) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  writeText(dir.file("crlf.csv"), "\xEF\xBB\xBF" + crlf);
  std::vector<std::string> common = {
      "fit",  dir.file("m.nabla"), "--optimizer", "sgd",         "--lr",
      "0.01", "--epochs",          "3",           "--log-params"};
  REQUIRE(runNabla(concat(common, {"--data", kLinreg, "--log", dir.file("a.csv")})).exitCode == 0);
  REQUIRE(runNabla(concat(common, {"--data", dir.file("crlf.csv"), "--log", dir.file("b.csv")}))
              .exitCode == 0);
  CHECK(readText(dir.file("a.csv")) == readText(dir.file("b.csv")));
}

TEST_CASE("fit: a NaN stops the run and names the step, the row and the node", "[fit][cli]") {
  ScratchDir dir("fit_nan");
  writeText(dir.file("m.nabla"), "param w = 1\ninput x\nminimize log(w*x)\n");
  writeText(dir.file("d.csv"), "x\n1\n2\n-1\n3\n");
  // Batches of 2 in file order: row 3 is in the second batch, so the second step meets it.
  ProcessResult r =
      runNabla({"fit", dir.file("m.nabla"), "--data", dir.file("d.csv"), "--optimizer", "sgd",
                "--in-order", "--batch", "2", "--log", dir.file("log.csv")});
  INFO(r.err);
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.err, Contains("step 2 (epoch 1): the loss is nan; the first non-finite value is "
                             "log(w*x) = nan (in the loss)"));
  CHECK_THAT(r.err, Contains("at row 3 of '" + dir.file("d.csv") + "'"));
  CHECK(countLines(dir.file("log.csv")) == 2); // the header and step 1

  // Finite loss, non-finite gradient: sqrt at 0.
  writeText(dir.file("g.nabla"), "param w = 1\ninput x\nminimize sqrt(w*x)\n");
  writeText(dir.file("g.csv"), "x\n0\n");
  ProcessResult g =
      runNabla({"fit", dir.file("g.nabla"), "--data", dir.file("g.csv"), "--optimizer", "sgd"});
  INFO(g.err);
  CHECK(g.exitCode == 1);
  CHECK_THAT(g.err, Contains("step 1 (epoch 1): the derivative with respect to 'w' is"));
  CHECK_THAT(g.err, Contains("(in the gradient)"));

  // Without inputs: a param that overflows.
  writeText(dir.file("o.nabla"), "param x = 1\nminimize exp(x^2)\n");
  ProcessResult o =
      runNabla({"fit", dir.file("o.nabla"), "--optimizer", "sgd", "--lr", "10", "--steps", "50"});
  INFO(o.err);
  CHECK(o.exitCode == 1);
  CHECK_THAT(o.err, Contains("step "));
  CHECK_THAT(o.err, Contains("not finite") || Contains("first non-finite value is"));
}

TEST_CASE("fit: --tol stops at the first step whose gradient norm is within it", "[fit][cli]") {
  ScratchDir dir("fit_tol");
  // x^2 from 3 with SGD at lr 0.1: x_k = 3 * 0.8^k, so step k starts from gradient 6 * 0.8^(k-1).
  writeText(dir.file("q.nabla"), "param x = 3\nminimize x^2\n");
  ProcessResult r = runNabla({"fit", dir.file("q.nabla"), "--optimizer", "sgd", "--lr", "0.1",
                              "--tol", "1e-3", "--steps", "1000", "--log", dir.file("log.csv")});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  std::size_t expected = 1;
  while (6 * std::pow(0.8, static_cast<double>(expected - 1)) > 1e-3) ++expected;
  CsvTable log = readCsvTable(readText(dir.file("log.csv")));
  REQUIRE(log.rows.size() == expected);
  CHECK(log.number(expected - 1, "grad_norm") <= 1e-3);
  CHECK(log.number(expected - 2, "grad_norm") > 1e-3);
  CHECK_THAT(r.out, Contains(std::to_string(expected) + " steps"));
  CHECK_THAT(r.out, Contains("gradient norm within --tol"));
}

TEST_CASE("fit: --tol tightens the optimizers' own tests unless they are given", "[fit][cli]") {
  ScratchDir dir("fit_tol_own");
  const std::string rosenbrock = std::string(NABLA_SOURCE_DIR) + "/samples/rosenbrock.nabla";
  // lbfgs-mt ends its iterations at max |g| <= 1e-5 (L-BFGS-B's pgtol) or on its test on f; under
  // --tol 1e-9 it gets tolerance_grad 1e-9/sqrt(2) and no test on f, and reaches the tolerance.
  ProcessResult r = runNabla({"fit", rosenbrock, "--optimizer", "lbfgs-mt", "--tol", "1e-9",
                              "--steps", "200", "--log", dir.file("log.csv")});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK_THAT(r.out, Contains("gradient norm within --tol"));
  CsvTable log = readCsvTable(readText(dir.file("log.csv")));
  CHECK(log.number(log.rows.size() - 1, "grad_norm") <= 1e-9);
  // Given, its own tolerance stays: the optimizer stops short and the run ends on no progress.
  ProcessResult own = runNabla({"fit", rosenbrock, "--optimizer", "lbfgs-mt", "--tol", "1e-9",
                                "--tolerance-grad", "1e-5", "--steps", "200", "--log",
                                dir.file("own.csv")});
  INFO(own.err);
  REQUIRE(own.exitCode == 0);
  CHECK_THAT(own.out, Contains("(stopped: no progress)"));
  CsvTable ownLog = readCsvTable(readText(dir.file("own.csv")));
  CHECK(ownLog.number(ownLog.rows.size() - 1, "grad_norm") > 1e-9);
}

TEST_CASE("fit: reports in the log and the output, --init, the plot", "[fit][cli]") {
  ScratchDir dir("fit_reports");
  writeText(dir.file("m.nabla"), kLinModel);
  writeText(dir.file("init.json"), "{\"w\": [1, -2, 0.5], \"b\": 0.25}");
  ProcessResult r = runNabla({"fit",
                              dir.file("m.nabla"),
                              "--data",
                              kLinreg,
                              "--optimizer",
                              "sgd",
                              "--lr",
                              "0.01",
                              "--in-order",
                              "--batch",
                              "64",
                              "--steps",
                              "1",
                              "--init",
                              dir.file("init.json"),
                              "--log",
                              dir.file("log.csv"),
                              "-o",
                              dir.file("out.json"),
                              "--plot",
                              dir.file("loss.svg")});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  // The first step's loss and report over all 64 rows at the initial params, computed here.
  CsvTable data = readCsvTable(readText(kLinreg));
  double loss = 0, err = 0;
  for (std::size_t i = 0; i < data.rows.size(); ++i) {
    double p =
        1 * data.number(i, "x1") - 2 * data.number(i, "x2") + 0.5 * data.number(i, "x3") + 0.25;
    double e = p - data.number(i, "y");
    loss += e * e;
    err += std::fabs(e);
  }
  loss /= 64;
  err /= 64;
  CsvTable log = readCsvTable(readText(dir.file("log.csv")));
  REQUIRE(log.rows.size() == 1);
  CHECK(log.header ==
        std::vector<std::string>{"step", "epoch", "loss", "grad_norm", "lr", "abs_err"});
  CHECK(log.number(0, "loss") == Approx(loss).epsilon(1e-12));
  CHECK(log.number(0, "abs_err") == Approx(err).epsilon(1e-12));
  const std::string out = readText(dir.file("out.json"));
  CHECK_THAT(out, Contains("\"reports\": {\"abs_err\": "));
  CHECK_THAT(out, Contains("\"stop\": \"finished\""));
  CHECK_THAT(r.out, Contains("abs_err"));
  const std::string svg = readText(dir.file("loss.svg"));
  CHECK_THAT(svg, Contains("<svg"));
  CHECK_THAT(svg, Contains("</svg>"));

  writeText(dir.file("bad.json"), "{\"w\": [1, 2], \"b\": 0}");
  ProcessResult bad =
      runNabla({"fit", dir.file("m.nabla"), "--data", kLinreg, "--init", dir.file("bad.json")});
  CHECK(bad.exitCode == 1);
  CHECK_THAT(bad.err, Contains("param 'w' must be an array of shape [3]"));
  writeText(dir.file("bad.json"), "{\"v\": 1}");
  bad = runNabla({"fit", dir.file("m.nabla"), "--data", kLinreg, "--init", dir.file("bad.json")});
  CHECK_THAT(bad.err, Contains("'v' is not a param of the model"));
}

TEST_CASE("fit: the seed decides the shuffles and the initial draws", "[fit][cli]") {
  ScratchDir dir("fit_seed");
  writeText(dir.file("m.nabla"), kLinModel);
  auto log = [&](const std::string &seed, const std::string &name) {
    REQUIRE(runNabla({"fit", dir.file("m.nabla"), "--data", kLinreg, "--optimizer", "sgd", "--lr",
                      "0.01", "--batch", "8", "--epochs", "2", "--seed", seed, "--log",
                      dir.file(name), "--log-params"})
                .exitCode == 0);
    return readText(dir.file(name));
  };
  CHECK(log("5", "a.csv") == log("5", "b.csv"));
  CHECK(log("5", "a.csv") != log("6", "c.csv"));
}

TEST_CASE("fit: a resumed run is the uninterrupted run, bit for bit", "[fit][cli]") {
  ScratchDir dir("fit_resume");
  writeText(dir.file("m.nabla"), kLinModel);
  const std::vector<std::string> common = {"fit",          dir.file("m.nabla"),
                                           "--data",       kLinreg,
                                           "--optimizer",  "sgd",
                                           "--lr",         "0.01",
                                           "--momentum",   "0.9",
                                           "--batch",      "10",
                                           "--average",    "--log-params",
                                           "--standardize"};
  REQUIRE(runNabla(concat(common,
                          {"--steps", "100", "--log", dir.file("a.csv"), "-o", dir.file("a.json")}))
              .exitCode == 0);
  // Stop after 37 steps (inside an epoch of 7 batches), then continue to 100.
  ProcessResult first =
      runNabla(concat(common, {"--steps", "37", "--log", dir.file("b.csv"), "-o",
                               dir.file("b.json"), "--checkpoint", dir.file("ck")}));
  REQUIRE(first.exitCode == 0);
  ProcessResult second = runNabla(
      concat(common, {"--steps", "100", "--log", dir.file("b.csv"), "-o", dir.file("b.json"),
                      "--checkpoint", dir.file("ck"), "--resume", dir.file("ck")}));
  INFO(second.err);
  REQUIRE(second.exitCode == 0);
  CHECK(readText(dir.file("a.csv")) == readText(dir.file("b.csv")));
  CHECK(readText(dir.file("a.json")) == readText(dir.file("b.json")));
  CHECK(countLines(dir.file("a.csv")) == 101);

  // Rows logged after the checkpoint (a run that went on and was killed) are dropped on resume:
  // a checkpoint at step 30, and a log of the same run that went on to step 37.
  REQUIRE(runNabla(concat(common, {"--steps", "37", "--log", dir.file("c.csv")})).exitCode == 0);
  REQUIRE(runNabla(concat(common, {"--steps", "30", "--log", dir.file("d.csv"), "--checkpoint",
                                   dir.file("ck3"), "--checkpoint-every", "10"}))
              .exitCode == 0);
  writeText(dir.file("d.csv"), readText(dir.file("c.csv")));
  REQUIRE(runNabla(concat(common, {"--steps", "100", "--log", dir.file("d.csv"), "-o",
                                   dir.file("d.json"), "--resume", dir.file("ck3")}))
              .exitCode == 0);
  CHECK(readText(dir.file("a.csv")) == readText(dir.file("d.csv")));
  CHECK(readText(dir.file("a.json")) == readText(dir.file("d.json")));

  // Other settings than the checkpoint's are refused, naming them.
  ProcessResult other =
      runNabla({"fit", dir.file("m.nabla"), "--data", kLinreg, "--optimizer", "sgd", "--lr", "0.02",
                "--momentum", "0.9", "--batch", "10", "--average", "--standardize", "--steps",
                "100", "--resume", dir.file("ck")});
  CHECK(other.exitCode == 1);
  CHECK_THAT(other.err, Contains("--lr: 0.01 in the checkpoint, 0.02 now"));
  ProcessResult beyond = runNabla(
      concat(common, {"--steps", "20", "--log", dir.file("e.csv"), "--resume", dir.file("ck")}));
  CHECK(beyond.exitCode == 1);
  CHECK_THAT(beyond.err, Contains("it is at step 100, beyond the 20 steps of this run"));
  // Another data file is refused.
  writeText(dir.file("other.csv"), readText(kLinreg) + "0,0,0,0\n");
  ProcessResult data =
      runNabla({"fit", dir.file("m.nabla"), "--data", dir.file("other.csv"), "--optimizer", "sgd",
                "--lr", "0.01", "--momentum", "0.9", "--batch", "10", "--average", "--standardize",
                "--steps", "100", "--resume", dir.file("ck")});
  CHECK(data.exitCode == 1);
  CHECK_THAT(data.err, Contains("it was made on other data"));
}

TEST_CASE("fit: a damaged checkpoint is refused, a failed write keeps the previous one",
          "[fit][cli]") {
  ScratchDir dir("fit_checkpoint");
  writeText(dir.file("m.nabla"), kLinModel);
  const std::vector<std::string> common = {
      "fit",  dir.file("m.nabla"), "--data", kLinreg, "--optimizer", "sgd", "--lr",
      "0.01", "--batch",           "16"};
  REQUIRE(runNabla(concat(common, {"--steps", "8", "--checkpoint", dir.file("ck")})).exitCode == 0);
  const std::string good = readText(dir.file("ck"));
  REQUIRE(good.rfind("nabla-checkpoint 3 ", 0) == 0);

  writeText(dir.file("truncated"), good.substr(0, good.size() / 2));
  ProcessResult t = runNabla(concat(common, {"--steps", "16", "--resume", dir.file("truncated")}));
  CHECK(t.exitCode == 1);
  CHECK_THAT(t.err, Contains(dir.file("truncated") + ": the checkpoint is truncated"));

  std::string flipped = good;
  flipped[flipped.size() - 40] = flipped[flipped.size() - 40] == '1' ? '2' : '1';
  writeText(dir.file("flipped"), flipped);
  ProcessResult f = runNabla(concat(common, {"--steps", "16", "--resume", dir.file("flipped")}));
  CHECK(f.exitCode == 1);
  CHECK_THAT(f.err, Contains(dir.file("flipped") + ": the checkpoint is corrupted"));

  writeText(dir.file("junk"), "{\"not\": \"a checkpoint\"}\n");
  ProcessResult j = runNabla(concat(common, {"--steps", "16", "--resume", dir.file("junk")}));
  CHECK(j.exitCode == 1);
  CHECK_THAT(j.err, Contains("not a nabla checkpoint"));

  // A write that fails (a full disk; here the file size limit, which fails write() the same way)
  // is an error, and the checkpoint already there stays as it was, with no temporary file left.
  std::string command = "trap '' XFSZ; ulimit -f 0; exec";
  for (const std::string &word :
       concat({NABLA_BINARY}, concat(common, {"--steps", "16", "--checkpoint", dir.file("ck")})))
    command += " '" + word + "'";
  ProcessResult w = runProcess("/bin/sh", {"-c", command});
  CHECK(w.exitCode == 1);
  CHECK_THAT(w.err, Contains("cannot write '" + dir.file("ck") + "': File too large"));
  CHECK(readText(dir.file("ck")) == good);
  for (const auto &entry : std::filesystem::directory_iterator(dir.file("")))
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  // Files left where a fixed temporary name would go are no obstacle.
  std::filesystem::create_directory(dir.file("ck.tmp"));
  writeText(dir.file(".ck.tmp"), good.substr(0, 10));
  ProcessResult resumed = runNabla(concat(common, {"--steps", "16", "--resume", dir.file("ck")}));
  INFO(resumed.err);
  CHECK(resumed.exitCode == 0);
}

TEST_CASE("fit: Ctrl-C writes a checkpoint, exits 130, and the run resumes exactly", "[fit][cli]") {
  ScratchDir dir("fit_sigint");
  writeText(dir.file("m.nabla"), kLinModel);
  const std::vector<std::string> common = {
      "fit",   dir.file("m.nabla"), "--data", kLinreg,       "--optimizer", "sgd", "--lr",
      "0.001", "--batch",           "8",      "--log-params"};
  // A run far too long to finish, interrupted once it has logged a few steps.
  std::vector<std::string> args =
      concat(common,
             {"--steps", "1000000000", "--log", dir.file("b.csv"), "--checkpoint", dir.file("ck")});
  args.insert(args.begin(), NABLA_BINARY);
  std::vector<char *> argv;
  for (std::string &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, dir.file("out.txt").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, dir.file("err.txt").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, NABLA_BINARY, &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  auto waitFor = [&](auto condition) { // evaluates condition once per try (waitpid reaps)
    for (int i = 0; i < 6000; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  const bool started = waitFor([&] {
    return std::filesystem::exists(dir.file("b.csv")) && countLines(dir.file("b.csv")) > 20;
  });
  kill(pid, SIGINT);
  int status = 0;
  const bool ended = waitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; });
  if (!ended) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  REQUIRE(started);
  REQUIRE(ended);
  INFO(readText(dir.file("err.txt")));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_THAT(readText(dir.file("err.txt")), Contains("continue with --resume " + dir.file("ck")));
  const std::size_t logged = countLines(dir.file("b.csv")) - 1;
  CHECK_THAT(readText(dir.file("out.txt")), Contains(std::to_string(logged) + " steps"));

  // Continue to `logged + 25` steps, and compare with one run of that length.
  const std::string total = std::to_string(logged + 25);
  ProcessResult resumed =
      runNabla(concat(common, {"--steps", total, "--log", dir.file("b.csv"), "-o",
                               dir.file("b.json"), "--resume", dir.file("ck")}));
  INFO(resumed.err);
  REQUIRE(resumed.exitCode == 0);
  REQUIRE(runNabla(concat(common,
                          {"--steps", total, "--log", dir.file("a.csv"), "-o", dir.file("a.json")}))
              .exitCode == 0);
  CHECK(readText(dir.file("a.csv")) == readText(dir.file("b.csv")));
  CHECK(readText(dir.file("a.json")) == readText(dir.file("b.json")));
}

TEST_CASE("predict: definitions per row, with the training standardization applied", "[fit][cli]") {
  ScratchDir dir("fit_predict");
  const std::string logreg = std::string(NABLA_TEST_DATA) + "/reference/optimizers/logreg.csv";
  writeText(dir.file("m.nabla"), "param w[3]\nparam b = 0\ninput x[3] from (x1 .. x3)\ninput t\n"
                                 "z = dot(w, x) + b\np = sigmoid(z)\n"
                                 "minimize softplus(z) - t*z\n"
                                 "report acc = where((p > 0.5) == (t > 0.5), 1, 0)\n");
  ProcessResult fit =
      runNabla({"fit", dir.file("m.nabla"), "--data", logreg, "--optimizer", "sgd", "--lr", "0.5",
                "--epochs", "20", "--standardize", "-o", dir.file("p.json")});
  INFO(fit.err);
  REQUIRE(fit.exitCode == 0);
  // The data without the target column: predictions need only the inputs they use.
  CsvTable data = readCsvTable(readText(logreg));
  std::string features = "x1,x2,x3\n";
  for (const auto &row : data.rows) features += row[0] + "," + row[1] + "," + row[2] + "\n";
  writeText(dir.file("features.csv"), features);
  ProcessResult r = runNabla({"predict", dir.file("m.nabla"), "--params", dir.file("p.json"),
                              "--data", dir.file("features.csv"), "--output", "p,z"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CsvTable out = readCsvTable(r.out);
  REQUIRE(out.header == std::vector<std::string>{"p", "z"});
  REQUIRE(out.rows.size() == data.rows.size());

  // The params and the statistics from the file; the statistics recomputed here agree.
  auto parsed = llvm::json::parse(readText(dir.file("p.json")));
  REQUIRE(bool(parsed));
  const llvm::json::Object &root = *parsed->getAsObject();
  const llvm::json::Array &w = *root.getObject("params")->getArray("w");
  const double b = *root.getObject("params")->getNumber("b");
  const llvm::json::Object &stats = *root.getObject("standardize")->getObject("x");
  double mean[3], sd[3];
  for (int j = 0; j < 3; ++j) {
    mean[j] = *(*stats.getArray("mean"))[j].getAsNumber();
    sd[j] = *(*stats.getArray("std"))[j].getAsNumber();
    long double s = 0, q = 0;
    for (std::size_t i = 0; i < data.rows.size(); ++i)
      s += data.number(i, "x" + std::to_string(j + 1));
    const long double m = s / data.rows.size();
    for (std::size_t i = 0; i < data.rows.size(); ++i) {
      long double d = data.number(i, "x" + std::to_string(j + 1)) - m;
      q += d * d;
    }
    CHECK(mean[j] == Approx(static_cast<double>(m)).epsilon(1e-12).margin(1e-15));
    CHECK(sd[j] == Approx(static_cast<double>(std::sqrt(q / data.rows.size()))).epsilon(1e-12));
  }
  for (std::size_t i = 0; i < data.rows.size(); ++i) {
    double z = b;
    for (int j = 0; j < 3; ++j)
      z += *w[j].getAsNumber() * (data.number(i, "x" + std::to_string(j + 1)) - mean[j]) / sd[j];
    CHECK(out.number(i, "z") == Approx(z).epsilon(1e-12).margin(1e-14));
    CHECK(out.number(i, "p") == Approx(1 / (1 + std::exp(-z))).epsilon(1e-12));
  }

  ProcessResult unknown = runNabla({"predict", dir.file("m.nabla"), "--params", dir.file("p.json"),
                                    "--data", dir.file("features.csv"), "--output", "q"});
  CHECK(unknown.exitCode == 1);
  CHECK_THAT(unknown.err, Contains("'q' is not a definition or report of '" + dir.file("m.nabla") + "'"));
  ProcessResult needsT = runNabla({"predict", dir.file("m.nabla"), "--params", dir.file("p.json"),
                                   "--data", dir.file("features.csv"), "--output", "acc"});
  CHECK(needsT.exitCode == 1);
  CHECK_THAT(needsT.err, Contains("input 't' reads column 't'"));
  ProcessResult noParams =
      runNabla({"predict", dir.file("m.nabla"), "--data", dir.file("features.csv")});
  CHECK(noParams.exitCode == 2);
}

TEST_CASE("fit: L-BFGS resumes with its history and its counts", "[fit][cli]") {
  ScratchDir dir("fit_resume_lbfgs");
  const std::string model = std::string(NABLA_SOURCE_DIR) + "/samples/rosenbrock.nabla";
  const std::vector<std::string> common = {"fit", model, "--optimizer", "lbfgs", "--line-search",
                                           "strong_wolfe", "--history-size", "5", "--max-iter", "4",
                                           "--log-params"};
  REQUIRE(runNabla(concat(common, {"--steps", "12", "--log", dir.file("a.csv"), "-o", dir.file("a.json")}))
              .exitCode == 0);
  REQUIRE(runNabla(concat(common, {"--steps", "5", "--log", dir.file("b.csv"), "--checkpoint", dir.file("ck")}))
              .exitCode == 0);
  ProcessResult r = runNabla(concat(common, {"--steps", "12", "--log", dir.file("b.csv"), "-o", dir.file("b.json"),
                                             "--resume", dir.file("ck")}));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(readText(dir.file("a.csv")) == readText(dir.file("b.csv")));
  CHECK(readText(dir.file("a.json")) == readText(dir.file("b.json")));
  CsvTable log = readCsvTable(readText(dir.file("a.csv")));
  REQUIRE(log.rows.size() == 12);
  // The counts are cumulative: at most --max-iter iterations per step, and they run on across the
  // resume (step 6 is the first of the resumed run).
  for (std::size_t k = 1; k < 12; ++k) {
    CHECK(log.number(k, "iters") > log.number(k - 1, "iters"));
    CHECK(log.number(k, "iters") - log.number(k - 1, "iters") <= 4);
    CHECK(log.number(k, "evals") > log.number(k - 1, "evals"));
  }
}

TEST_CASE("fit: maximize ascends and logs the objective as written; schedules set lr", "[fit][cli]") {
  ScratchDir dir("fit_maximize");
  writeText(dir.file("m.nabla"), "param x = 0\nmaximize -(x - 2)^2\n");
  ProcessResult r = runNabla({"fit", dir.file("m.nabla"), "--optimizer", "sgd", "--lr", "0.1", "--steps",
                              "50", "--schedule", "inv_sqrt", "--log", dir.file("log.csv"), "--log-params"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CsvTable log = readCsvTable(readText(dir.file("log.csv")));
  REQUIRE(log.rows.size() == 50);
  // Step k uses lr / sqrt(k) and ascends the gradient -2 (x - 2), from x = 0.
  double x = 0;
  for (std::size_t k = 0; k < 50; ++k) {
    const double lr = 0.1 / std::sqrt(static_cast<double>(k + 1));
    CHECK(log.number(k, "lr") == Approx(lr).epsilon(1e-15));
    CHECK(log.number(k, "loss") == Approx(-(x - 2) * (x - 2)).epsilon(1e-12));
    x += lr * (-2 * (x - 2));
    CHECK(log.number(k, "x") == Approx(x).epsilon(1e-12));
  }
}

TEST_CASE("fit: Newton's method solves least squares in one step", "[fit][cli]") {
  ScratchDir dir("fit_newton");
  writeText(dir.file("m.nabla"), kLinModel);
  ProcessResult r = runNabla({"fit", dir.file("m.nabla"), "--data", kLinreg, "--optimizer", "newton",
                              "--in-order", "--batch", "64", "--steps", "3", "--log", dir.file("log.csv")});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CsvTable log = readCsvTable(readText(dir.file("log.csv")));
  REQUIRE(log.rows.size() == 3);
  // The loss is quadratic in the params: after one full Newton step its gradient is zero.
  CHECK(log.number(0, "grad_norm") > 1);
  CHECK(log.number(1, "grad_norm") < 1e-10);
  CHECK(log.number(2, "loss") == Approx(log.number(1, "loss")).epsilon(1e-14));
}
