// `mpirun -np N nabla fit` (docs/fit.md, "Many processes (MPI)"): with a fixed seed or in file
// order, the log and the params of N = 2, 3 and 4 processes match those of one process to 1e-12
// relative (the sums are only reassociated) for adam, sgd, lbfgs and newton on the breast-cancer
// sample, and with a validation split; a checkpoint written by 2 ranks resumes on 3 to the same
// result; a bad row in the last rank's shard stops every rank with a message naming that rank,
// the file, the row, the line and the column; only rank 0 writes. Built only where CMake found MPI
// and mpirun (NABLA_MPIRUN).
#include "fit_test_util.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <regex>

#ifdef NABLA_MPIRUN

using namespace nabla::test;
using Catch::Matchers::Contains;

namespace {

const std::string kSamples = std::string(NABLA_SOURCE_DIR) + "/samples/";
const std::string kModel = kSamples + "logreg_breast_cancer.nabla";
const std::string kData = kSamples + "data/breast_cancer.csv";

/// `nabla ARGS` as N processes of mpirun on this machine (more than its cores: --oversubscribe).
ProcessResult mpiNabla(int np, const std::vector<std::string> &args) {
  // Open MPI refuses to run as root (as CI's containers do) unless told that it is meant.
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  std::vector<std::string> all = {"-np", std::to_string(np), "--oversubscribe", NABLA_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  return runProcess(NABLA_MPIRUN, all, {}, 120);
}

/// Splits text into cells at the separators of CSV and of the params file's JSON.
std::vector<std::string> cells(const std::string &text) {
  std::vector<std::string> out;
  std::string cell;
  for (char c : text) {
    if (std::string_view(",\n:{}[] \"").find(c) != std::string_view::npos) {
      if (!cell.empty()) out.push_back(cell);
      cell.clear();
    } else {
      cell += c;
    }
  }
  if (!cell.empty()) out.push_back(cell);
  return out;
}

/// The same cells, numbers equal to `rel` relative to the larger of the two (exactly when 0).
void requireSameFigures(const std::string &a, const std::string &b, double rel = 1e-12) {
  const std::vector<std::string> x = cells(a), y = cells(b);
  REQUIRE(x.size() == y.size());
  for (std::size_t k = 0; k < x.size(); ++k) {
    char *endX = nullptr, *endY = nullptr;
    const double u = std::strtod(x[k].c_str(), &endX), v = std::strtod(y[k].c_str(), &endY);
    if (*endX != '\0' || *endY != '\0' || x[k].empty()) {
      INFO("cell " << k);
      REQUIRE(x[k] == y[k]);
      continue;
    }
    INFO("cell " << k << ": " << x[k] << " and " << y[k]);
    REQUIRE(std::fabs(u - v) <= rel * std::max(std::fabs(u), std::fabs(v)));
  }
}

/// Two logs: the same cells, numbers to `rel` relative, except grad_norm, compared to `rel` of the
/// column's largest: near an optimum the gradient is a sum that cancels to a small remainder,
/// whose last digits are those of the terms, so reassociating them changes it by more than `rel`
/// of itself (L-BFGS's gradient norm falls from 1 to 1e-6 in a few steps).
void requireSameLog(const std::string &a, const std::string &b, double rel = 1e-12) {
  const CsvTable x = readCsvTable(a), y = readCsvTable(b);
  REQUIRE(x.header == y.header);
  REQUIRE(x.rows.size() == y.rows.size());
  for (std::size_t c = 0; c < x.header.size(); ++c) {
    double largest = 0;
    if (x.header[c] == "grad_norm")
      for (std::size_t r = 0; r < x.rows.size(); ++r)
        largest = std::max(largest, std::fabs(x.number(r, "grad_norm")));
    for (std::size_t r = 0; r < x.rows.size(); ++r) {
      const std::string &u = x.rows[r].at(c), &v = y.rows[r].at(c);
      INFO("row " << r + 1 << ", " << x.header[c] << ": " << u << " and " << v);
      if (u == v) continue;
      const double p = std::strtod(u.c_str(), nullptr), q = std::strtod(v.c_str(), nullptr);
      REQUIRE(std::fabs(p - q) <= rel * std::max({std::fabs(p), std::fabs(q), largest}));
    }
  }
}

std::vector<std::string> fitArgs(const ScratchDir &dir, const std::string &tag,
                                 std::vector<std::string> more) {
  std::vector<std::string> args = {"fit",
                                   kModel,
                                   "--data",
                                   kData,
                                   "--standardize",
                                   "--threads",
                                   "1",
                                   "--log",
                                   dir.file(tag + ".csv"),
                                   "-o",
                                   dir.file(tag + ".json")};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

} // namespace

TEST_CASE("mpirun -np 2, 3 and 4: the log and the params of one process, to 1e-12", "[fit][mpi]") {
  ScratchDir dir("fit_mpi_same");
  struct Case {
    std::string name;
    std::vector<std::string> options;
  };
  const std::vector<Case> cases = {
      {"adam", {"--optimizer", "adam", "--lr", "0.01", "--seed", "7", "--epochs", "3"}},
      {"sgd",
       {"--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--in-order", "--epochs", "3",
        "--batch", "100"}},
      {"lbfgs", {"--optimizer", "lbfgs", "--batch", "569", "--steps", "8"}},
      // The Hessian's sums too.
      {"newton", {"--optimizer", "newton", "--batch", "569", "--steps", "3"}},
      // Held-out rows chosen among all rows, then shared out; their figures summed each epoch.
      {"val", {"--val-split", "0.2", "--seed", "3", "--epochs", "3", "--early-stop", "5"}},
  };
  for (const Case &c : cases) {
    DYNAMIC_SECTION(c.name) {
      const ProcessResult one = runNabla(fitArgs(dir, c.name + "_1", c.options));
      INFO(one.err);
      REQUIRE(one.exitCode == 0);
      for (int np : {2, 3, 4}) {
        const std::string tag = c.name + "_" + std::to_string(np);
        const ProcessResult many = mpiNabla(np, fitArgs(dir, tag, c.options));
        INFO("np " << np << ": " << many.err);
        REQUIRE(many.exitCode == 0);
        // Rank 0 alone prints the summary.
        REQUIRE(many.out == one.out);
        requireSameLog(readText(dir.file(c.name + "_1.csv")), readText(dir.file(tag + ".csv")));
        requireSameFigures(readText(dir.file(c.name + "_1.json")),
                           readText(dir.file(tag + ".json")));
      }
    }
  }
}

TEST_CASE("mpirun: a checkpoint of 2 ranks resumes on 3 as one process runs on", "[fit][mpi]") {
  ScratchDir dir("fit_mpi_resume");
  const std::vector<std::string> common = {"--optimizer", "adam", "--lr", "0.01", "--seed", "5"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> out = common;
    out.insert(out.end(), more.begin(), more.end());
    return out;
  };
  const ProcessResult one = runNabla(fitArgs(dir, "one", with({"--epochs", "4"})));
  INFO(one.err);
  REQUIRE(one.exitCode == 0);
  const std::string checkpoint = dir.file("run.ckpt");
  const ProcessResult first =
      mpiNabla(2, fitArgs(dir, "many", with({"--epochs", "2", "--checkpoint", checkpoint})));
  INFO(first.err);
  REQUIRE(first.exitCode == 0);
  const ProcessResult resumed = mpiNabla(
      3, fitArgs(dir, "many",
                 with({"--epochs", "4", "--checkpoint", checkpoint, "--resume", checkpoint})));
  INFO(resumed.err);
  REQUIRE(resumed.exitCode == 0);
  REQUIRE(resumed.out == one.out);
  requireSameLog(readText(dir.file("one.csv")), readText(dir.file("many.csv")));
  requireSameFigures(readText(dir.file("one.json")), readText(dir.file("many.json")));
}

TEST_CASE("mpirun: a bad row in the last rank's shard stops every rank, naming it", "[fit][mpi]") {
  ScratchDir dir("fit_mpi_bad");
  // The data with a word in a cell of its last row (row 569, line 570), which rank 2 of 3 holds.
  std::string text = readText(kData);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const std::size_t lineStart = text.rfind('\n') + 1;
  const std::size_t comma = text.find(',', lineStart);
  text = text.substr(0, lineStart) + "oops" + text.substr(comma) + "\n";
  const std::string bad = dir.file("bad.csv");
  writeText(bad, text);
  const std::string column = readCsvTable(readText(kData)).header.at(0);
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult r =
      mpiNabla(3, {"fit", kModel, "--data", bad, "--standardize", "--threads", "1", "-o",
                   dir.file("out.json"), "--log", dir.file("log.csv")});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(r.err);
  REQUIRE_FALSE(r.timedOut);
  REQUIRE(r.exitCode == 1);
  REQUIRE(seconds < 60);
  REQUIRE_THAT(r.err, Contains("nabla: error: rank 2 of 3: " + bad + ": row 569 (line 570)"));
  REQUIRE_THAT(r.err, Contains("'" + column + "'"));
  // Printed once (by rank 0), and no output written.
  REQUIRE(r.err.find("nabla: error:") == r.err.rfind("nabla: error:"));
  REQUIRE_FALSE(std::filesystem::exists(dir.file("out.json")));
  REQUIRE_FALSE(std::filesystem::exists(dir.file("log.csv")));
}

#ifdef NABLA_MPI_HOST
TEST_CASE("a host's own communicator: fitProgram over its ranks gives one process's params",
          "[fit][mpi]") {
  ScratchDir dir("fit_mpi_host");
  const ProcessResult one =
      runNabla({"fit", kModel, "--data", kData, "--optimizer", "adam", "--lr", "0.05",
                "--epochs", "3", "--seed", "7", "--standardize", "-o", dir.file("one.json")});
  INFO(one.err);
  REQUIRE(one.exitCode == 0);
  for (int np : {2, 3}) {
    const std::string out = dir.file("host" + std::to_string(np) + ".json");
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    const ProcessResult host = runProcess(
        NABLA_MPIRUN, {"-np", std::to_string(np), "--oversubscribe", NABLA_MPI_HOST, kModel, kData,
                       out},
        {}, 120);
    INFO(host.err);
    REQUIRE(host.exitCode == 0);
    REQUIRE_THAT(host.out, Contains("on " + std::to_string(np) + " ranks"));
    REQUIRE_THAT(host.out, Contains("over 569 rows"));
    requireSameFigures(readText(dir.file("one.json")), readText(out));
  }
}
#endif

#endif
