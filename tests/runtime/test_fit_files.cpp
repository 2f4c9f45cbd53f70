// The files of `nabla fit` and `nabla predict` under attack and carelessness: outputs that are
// inputs or each other (by path, by other spellings, by hard and symbolic links), output folders
// that do not exist, targets that are not regular files, links planted where a temporary file
// would go, two runs on one checkpoint, and checkpoints that stay small however long the run
// (with the plot of a resumed run still the uninterrupted run's, from old checkpoints too).
#include "fit_test_util.h"

#include "runtime/fit/fit.h"

#include <catch2/catch.hpp>
#include <llvm/Support/FormatVariadic.h>
#include <llvm/Support/JSON.h>
#include <llvm/Support/raw_ostream.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <thread>

using namespace nabla::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

extern char **environ;

namespace {

const std::string kLinreg = std::string(NABLA_TEST_DATA) + "/reference/optimizers/linreg.csv";

const char *kLinModel = "param w[3] ~ normal(0, 0.1)\n"
                        "param b = 0\n"
                        "input x[3] from (x1 .. x3)\n"
                        "input y\n"
                        "p = dot(w, x) + b\n"
                        "minimize (p - y)^2\n";

const char *kBowl = "param x = -1.5\nparam y = 2\nminimize (1 - x)^2 + 10*(y - x^2)^2\n";

/// Runs in `folder` (through sh, which also lets a test redirect standard output).
ProcessResult runIn(const std::string &folder, const std::string &redirect,
                    const std::vector<std::string> &args) {
  std::string command = "cd '" + folder + "' && exec '" + std::string(NABLA_BINARY) + "'";
  for (const std::string &a : args) command += " '" + a + "'";
  return runProcess("/bin/sh", {"-c", command + " " + redirect});
}

} // namespace

TEST_CASE("fit and predict refuse an output that is an input or another output", "[fit][files]") {
  ScratchDir dir("files_same");
  const std::string m = dir.file("m.nabla"), data = dir.file("d.csv");
  writeText(m, kLinModel);
  writeText(data, readText(kLinreg));
  writeText(dir.file("init.json"), "{\"b\": 0.5}");
  fs::create_directory(dir.file("sub"));
  fs::create_hard_link(data, dir.file("hard.csv"));
  fs::create_symlink(m, dir.file("link.nabla"));
  const std::string modelText = readText(m), dataText = readText(data);
  const std::vector<std::string> base = {"fit", "m.nabla", "--data", "d.csv", "--steps", "3"};
  struct Case {
    std::vector<std::string> extra;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--log", "d.csv"}, "--log 'd.csv' is the same file as --data 'd.csv'"},
      {{"--log", "./d.csv"}, "--log './d.csv' is the same file as --data 'd.csv'"},
      {{"--log", "sub/../d.csv"}, "--log 'sub/../d.csv' is the same file as --data"},
      {{"--log", dir.file("d.csv")}, "is the same file as --data 'd.csv'"},
      {{"--log", "hard.csv"}, "--log 'hard.csv' is the same file as --data 'd.csv'"},
      {{"--log", "m.nabla"}, "--log 'm.nabla' is the same file as the model 'm.nabla'"},
      {{"--plot", "link.nabla"}, "--plot 'link.nabla' is the same file as the model"},
      {{"-o", "init.json", "--init", "init.json"}, "-o 'init.json' is the same file as --init"},
      {{"--checkpoint", "c", "-o", "c"}, "-o 'c' and --checkpoint 'c' are the same file"},
      {{"--checkpoint", "c", "-o", "./c"}, "-o './c' and --checkpoint 'c' are the same file"},
      {{"--plot", "p", "-o", "p"}, "-o 'p' and --plot 'p' are the same file"},
      {{"--log", "l", "--plot", "sub/../l"}, "--log 'l' and --plot 'sub/../l' are the same"},
      {{"--checkpoint", "d.csv"}, "--checkpoint 'd.csv' is the same file as --data"},
      {{"--resume", "m.nabla"}, ""},  // an input twice is no conflict: the model is no checkpoint
  };
  for (const Case &c : cases) {
    INFO(c.extra[0] << " " << c.extra[1]);
    ProcessResult r = runIn(dir.file(""), "", concat(base, c.extra));
    if (c.message.empty()) {
      CHECK(r.exitCode == 1);
      CHECK_THAT(r.err, Contains("not a nabla checkpoint"));
      continue;
    }
    CHECK(r.exitCode == 2);
    CHECK_THAT(r.err, Contains(c.message));
    CHECK_THAT(r.err, !Contains("step "));  // refused before any work
  }
  // Without --checkpoint, Ctrl-C writes MODEL.checkpoint: not over -o.
  ProcessResult interrupt = runIn(dir.file(""), "", concat(base, {"-o", "m.checkpoint"}));
  CHECK(interrupt.exitCode == 2);
  CHECK_THAT(interrupt.err,
             Contains("-o 'm.checkpoint' and the checkpoint written on Ctrl-C 'm.checkpoint'"));
  CHECK(readText(m) == modelText);
  CHECK(readText(data) == dataText);

  // A checkpoint may be the file the run resumed from: that is how a run goes on.
  REQUIRE(runIn(dir.file(""), "", concat(base, {"--checkpoint", "ck"})).exitCode == 0);
  ProcessResult resumed = runIn(dir.file(""), "",
                                {"fit", "m.nabla", "--data", "d.csv", "--steps", "6",
                                 "--checkpoint", "./ck", "--resume", "ck"});
  INFO(resumed.err);
  CHECK(resumed.exitCode == 0);

  // predict writes to standard output: not onto its data or params (`>>` keeps the data).
  REQUIRE(runIn(dir.file(""), "", concat(base, {"-o", "p.json"})).exitCode == 0);
  ProcessResult predict = runIn(dir.file(""), ">> d.csv",
                                {"predict", "m.nabla", "--params", "p.json", "--data", "d.csv"});
  CHECK(predict.exitCode == 2);
  CHECK_THAT(predict.err, Contains("standard output is the same file as --data 'd.csv'"));
  CHECK(readText(data) == dataText);
  ProcessResult toFile = runIn(dir.file(""), "> out.csv",
                               {"predict", "m.nabla", "--params", "p.json", "--data", "d.csv"});
  CHECK(toFile.exitCode == 0);
  CHECK(readText(dir.file("out.csv")).rfind("p\n", 0) == 0);
}

TEST_CASE("fit checks its output folders and targets before training", "[fit][files]") {
  ScratchDir dir("files_folders");
  const std::string m = dir.file("m.nabla");
  writeText(m, kLinModel);
  const std::vector<std::string> base = {"fit",     m,         "--data", kLinreg,
                                         "--steps", "100000", "--log",  dir.file("log.csv")};
  // Each refused at once: the log (in a good folder) is never started.
  std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-o", dir.file("nonexistent/p.json")},
       "cannot write '" + dir.file("nonexistent/p.json") + "' (-o): its folder '" +
           dir.file("nonexistent") + "' does not exist"},
      {{"--plot", "/nonexistent/loss.svg"}, "its folder '/nonexistent' does not exist"},
      {{"--checkpoint", dir.file("nonexistent/ck")}, "does not exist"},
      {{"-o", m + "/p.json"}, "'" + m + "' is not a folder"},
      {{"-o", dir.file("")}, "it names a folder, not a file"},
  };
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  fs::create_symlink(dir.file("fifo"), dir.file("fifo-link"));
  fs::create_directory(dir.file("folder"));
  for (const char *option : {"-o", "--checkpoint", "--plot"}) {
    cases.push_back({{option, dir.file("fifo")}, "it is a FIFO, and nabla replaces only regular"});
    cases.push_back({{option, dir.file("fifo-link")}, "it is a symbolic link to a FIFO"});
    cases.push_back({{option, dir.file("folder")}, "it is a folder"});
    cases.push_back({{option, "/dev/null"}, "it is a character device"});
  }
  const std::string device = dir.file("null-copy");
  if (::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0)
    cases.push_back({{"--checkpoint", device}, "it is a character device"});
  else
    WARN("mknod is not permitted here (" << std::strerror(errno)
                                         << "): a copy of /dev/null is not tried");
  for (const auto &[extra, message] : cases) {
    INFO(extra[0] << " " << extra[1]);
    ProcessResult r = runNabla(concat(base, extra));
    CHECK(r.exitCode == 1);
    CHECK_THAT(r.err, Contains(message));
    CHECK_FALSE(fs::exists(dir.file("log.csv")));
  }
  // The log itself on a FIFO: refused too, and the FIFO is still one.
  ProcessResult log = runNabla({"fit", m, "--data", kLinreg, "--steps", "3", "--log",
                                dir.file("fifo")});
  CHECK(log.exitCode == 1);
  CHECK_THAT(log.err, Contains("it is a FIFO"));
  struct stat st {};
  REQUIRE(::lstat(dir.file("fifo").c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  if (fs::exists(device)) {
    REQUIRE(::lstat(device.c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
  }
  if (::geteuid() != 0) {
    fs::create_directory(dir.file("sealed"));
    fs::permissions(dir.file("sealed"), fs::perms::owner_read | fs::perms::owner_exec);
    ProcessResult sealed = runNabla(concat(base, {"-o", dir.file("sealed/p.json")}));
    CHECK(sealed.exitCode == 1);
    CHECK_THAT(sealed.err, Contains("cannot be written (Permission denied)"));
    CHECK_FALSE(fs::exists(dir.file("log.csv")));
    fs::permissions(dir.file("sealed"), fs::perms::owner_all);
  } else {
    WARN("running as root, who may write anything: the read-only folder is not tried");
  }
}

TEST_CASE("links planted where temporary files would go are never followed", "[fit][files]") {
  ScratchDir dir("files_links");
  const std::string m = dir.file("m.nabla"), victim = dir.file("victim");
  writeText(m, kBowl);
  writeText(victim, "precious");
  for (const char *out : {"out.json", "ck", "log.csv", "loss.svg"})
    for (const char *suffix : {".tmp", "~", ".new", ".lock.tmp"})
      fs::create_symlink(victim, dir.file(std::string(out) + suffix));
  ProcessResult r = runNabla({"fit", m, "--steps", "20", "-o", dir.file("out.json"),
                              "--checkpoint", dir.file("ck"), "--log", dir.file("log.csv"),
                              "--plot", dir.file("loss.svg")});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(readText(victim) == "precious");
  for (const char *out : {"out.json", "ck", "log.csv", "loss.svg"}) {
    INFO(out);
    CHECK(fs::is_regular_file(fs::symlink_status(dir.file(out))));
    CHECK(fs::file_size(dir.file(out)) > 0);
  }
  CHECK_FALSE(fs::exists(dir.file("ck.lock")));  // released and removed
  // A link to a regular file at the target is replaced by the new file; what it pointed to stays.
  fs::create_symlink(victim, dir.file("linked.json"));
  REQUIRE(runNabla({"fit", m, "--steps", "2", "-o", dir.file("linked.json")}).exitCode == 0);
  CHECK(readText(victim) == "precious");
  CHECK(readText(dir.file("linked.json")).find("\"params\"") != std::string::npos);
  // No temporary file is left anywhere.
  for (const std::string &name : dir.names())
    CHECK((name.find(".tmp") == std::string::npos || fs::is_symlink(dir.file(name))));
}

TEST_CASE("two runs on one checkpoint: the second stops at once", "[fit][files]") {
  ScratchDir dir("files_lock");
  const std::string m = dir.file("m.nabla"), ck = dir.file("ck");
  writeText(m, kBowl);
  std::vector<std::string> args = {NABLA_BINARY, "fit",          m,         "--steps",
                                   "1000000000", "--checkpoint", ck,        "--log",
                                   dir.file("a.csv"), "--lr", "1e-6"};
  std::vector<char *> argv;
  for (std::string &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, dir.file("err.txt").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, NABLA_BINARY, &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  auto waitFor = [&](auto condition) {
    for (int i = 0; i < 6000; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  // Running: its log has rows.
  const bool started = waitFor([&] {
    return fs::exists(dir.file("a.csv")) && fs::file_size(dir.file("a.csv")) > 200;
  });
  ProcessResult second = runNabla({"fit", m, "--steps", "5", "--checkpoint", ck});
  ProcessResult viaOtherName =
      runNabla({"fit", m, "--steps", "5", "--checkpoint", dir.file("./ck")});
  ProcessResult sameLog = runNabla({"fit", m, "--steps", "5", "--log", dir.file("a.csv")});
  kill(pid, SIGINT);
  int status = 0;
  const bool ended = waitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; });
  if (!ended) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  REQUIRE(started);
  REQUIRE(ended);
  CHECK(second.exitCode == 1);
  CHECK_THAT(second.err, Contains("checkpoint '" + ck + "' is in use by another run"));
  CHECK(viaOtherName.exitCode == 1);
  CHECK_THAT(viaOtherName.err, Contains("is in use by another run"));
  CHECK(sameLog.exitCode == 1);
  CHECK_THAT(sameLog.err, Contains("log '" + dir.file("a.csv") + "' is in use by another run"));
  // The first run was undisturbed: it wrote its checkpoint on Ctrl-C, which resumes.
  INFO(readText(dir.file("err.txt")));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_FALSE(fs::exists(ck + ".lock"));
  const nabla::fit::Checkpoint c = nabla::fit::readCheckpoint(ck);
  CHECK(c.step > 0);
  ProcessResult after = runNabla({"fit", m, "--steps", std::to_string(c.step + 3), "--lr", "1e-6",
                                  "--checkpoint", ck, "--resume", ck});
  INFO(after.err);
  CHECK(after.exitCode == 0);
}

TEST_CASE("the loss history keeps a power-of-two stride of samples", "[fit][files]") {
  // The reference: every loss kept, then the samples a stride s takes, with s the least power of
  // two that keeps at most kMaxSamples of them.
  const std::size_t cap = nabla::fit::LossHistory::kMaxSamples;
  nabla::fit::LossHistory h;
  std::vector<double> all;
  for (std::size_t n = 1; n <= 5 * cap + 7; ++n) {
    const double loss = n % 97 == 0 ? INFINITY : 1.0 / static_cast<double>(n) + (n % 7);
    h.add(loss);
    all.push_back(loss);
    std::size_t stride = 1;
    while ((n + stride - 1) / stride > cap) stride *= 2;
    if (n % 1000 != 0 && n != 1 && n != cap && n != cap + 1 && n != 4 * cap + 1) continue;
    INFO(n);
    REQUIRE(h.count() == n);
    REQUIRE(h.stride() == stride);
    std::vector<double> expected;
    for (std::size_t k = 0; k < n; k += stride) expected.push_back(all[k]);
    REQUIRE(h.samples() == expected);
    double least = INFINITY, greatest = -INFINITY;
    for (double v : all)
      if (std::isfinite(v)) least = std::min(least, v), greatest = std::max(greatest, v);
    CHECK(h.least() == least);
    CHECK(h.greatest() == greatest);
    CHECK(h.last() == loss);
    // What a checkpoint keeps restores the same history; inconsistent parts are refused.
    nabla::fit::LossHistory r;
    CHECK(r.restore(h.count(), h.stride(), h.samples(), h.least(), h.greatest(), h.last()));
    CHECK(r == h);
    nabla::fit::LossHistory bad;
    CHECK_FALSE(bad.restore(h.count() + h.stride(), h.stride(), h.samples(), h.least(),
                            h.greatest(), h.last()));
    CHECK_FALSE(bad.restore(h.count(), h.stride() * 2, h.samples(), h.least(), h.greatest(),
                            h.last()));
    CHECK_FALSE(bad.restore(h.count(), 3, h.samples(), h.least(), h.greatest(), h.last()));
  }
}

TEST_CASE("checkpoints stay small, and a resumed run draws the uninterrupted run's plot",
          "[fit][files]") {
  ScratchDir dir("files_history");
  const std::string m = dir.file("m.nabla");
  writeText(m, kBowl);
  const std::vector<std::string> common = {"fit", m, "--optimizer", "sgd", "--lr", "1e-4"};
  // Sizes at 3,000 and 30,000 steps: a bounded history (at most kMaxSamples hex floats of about
  // 25 bytes), where keeping every loss made the second ten times the first.
  auto size = [&](const std::string &steps) {
    const std::string ck = dir.file("ck" + steps);
    REQUIRE(runNabla(concat(common, {"--steps", steps, "--checkpoint", ck})).exitCode == 0);
    return fs::file_size(ck);
  };
  const auto small = size("3000"), large = size("30000");
  const std::size_t bound = nabla::fit::LossHistory::kMaxSamples * 30 + 4096;
  CHECK(small < bound);
  CHECK(large < bound);
  CHECK(large < 2 * small);

  // 5,000 steps at once, and 2,500 then 2,500 more (the stride doubles in between).
  REQUIRE(runNabla(concat(common, {"--steps", "5000", "--plot", dir.file("a.svg"), "-o",
                                   dir.file("a.json"), "--log", dir.file("a.csv")}))
              .exitCode == 0);
  REQUIRE(runNabla(concat(common, {"--steps", "2500", "--checkpoint", dir.file("ck"), "--log",
                                   dir.file("b.csv")}))
              .exitCode == 0);
  const std::string v2 = readText(dir.file("ck"));
  ProcessResult resumed =
      runNabla(concat(common, {"--steps", "5000", "--plot", dir.file("b.svg"), "-o",
                               dir.file("b.json"), "--log", dir.file("b.csv"), "--resume",
                               dir.file("ck")}));
  INFO(resumed.err);
  REQUIRE(resumed.exitCode == 0);
  CHECK(readText(dir.file("a.svg")) == readText(dir.file("b.svg")));
  CHECK(readText(dir.file("a.json")) == readText(dir.file("b.json")));
  CHECK(readText(dir.file("a.csv")) == readText(dir.file("b.csv")));
  const std::string svg = readText(dir.file("a.svg"));
  CHECK(std::count(svg.begin(), svg.end(), ',') <= 2100);  // one comma per point, and the title

  // A checkpoint of format version 1, which kept every step's loss (the log's loss column here),
  // is still read, and draws the same plot.
  const std::size_t newline = v2.find('\n');
  llvm::Expected<llvm::json::Value> body = llvm::json::parse(v2.substr(newline + 1));
  REQUIRE(static_cast<bool>(body));
  llvm::json::Object &root = *body->getAsObject();
  CsvTable log = readCsvTable(readText(dir.file("a.csv")));
  llvm::json::Array losses;
  for (std::size_t k = 0; k < 2500; ++k) {
    char hex[40];
    std::snprintf(hex, sizeof hex, "%a", log.number(k, "loss"));
    losses.push_back(std::string(hex));
  }
  root["losses"] = std::move(losses);
  root["version"] = 1;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:1}", llvm::json::Value(std::move(root))) << "\n";
  os.flush();
  writeText(dir.file("v1"), checkpointFile(text, 1));
  ProcessResult old = runNabla(concat(common, {"--steps", "5000", "--plot", dir.file("c.svg"),
                                               "--resume", dir.file("v1")}));
  INFO(old.err);
  REQUIRE(old.exitCode == 0);
  CHECK(readText(dir.file("a.svg")) == readText(dir.file("c.svg")));
  // A history that add() cannot have made is refused.
  std::string bad = v2;
  const std::size_t at = bad.find("\"stride\": ", bad.find("\"losses\""));
  REQUIRE(at != std::string::npos);
  bad.replace(at, 11, "\"stride\": 3");
  const std::string badBody = bad.substr(bad.find('\n') + 1);
  writeText(dir.file("bad"), checkpointFile(badBody, 2));
  ProcessResult refused =
      runNabla(concat(common, {"--steps", "5000", "--resume", dir.file("bad")}));
  CHECK(refused.exitCode == 1);
  CHECK_THAT(refused.err, Contains("field 'losses' is missing or malformed"));
}
