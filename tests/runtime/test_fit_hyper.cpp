// `nabla fit` and the hyperparameter table: --help lists every hyperparameter, the optimizers that
// have it and their defaults, as docs/fit.md shows them; each option reaches the optimizer (the
// logged trajectory is the C++ API's with the same value, which differs from the one without it);
// a checkpoint keys its settings by torch's names, and reads those of earlier checkpoints spelled
// as flags.
#include "fit_test_util.h"
#include "optim_test_util.h"
#include "runtime/fit/fit.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <algorithm>
#include <set>
#include <sstream>

using namespace nabla::test;
using Catch::Matchers::Contains;
using nabla::optimtest::close;
using nabla::optimtest::HuberBowl;
namespace optim = nabla::optim;

namespace {

bool has(const std::string &optimizer, std::string_view option) {
  const std::vector<std::string_view> options = optim::options(optimizer);
  return std::find(options.begin(), options.end(), option) != options.end();
}

/// The line of `text` that starts with `start`, with the lines after it that continue it (those
/// that start with three spaces).
std::string entryOf(const std::string &text, const std::string &start) {
  const std::size_t at = text.find("\n" + start);
  if (at == std::string::npos)
    return "";
  std::size_t end = at + 1;
  do {
    end = text.find('\n', end + 1);
  } while (end != std::string::npos && end + 3 < text.size() && text[end + 1] == ' ' &&
           text[end + 2] == ' ' && text[end + 3] == ' ');
  return text.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

/// Python's `name=value, ...` as `nabla fit` arguments: `--` and the name with `-` for `_`, then
/// the value (a pair as `b1,b2`, a string unquoted); True as the bare flag, False as `=false`.
std::vector<std::string> fitArguments(const std::string &signature) {
  std::vector<std::string> out;
  for (auto [name, text] : nabla::optimtest::arguments(signature)) {
    std::replace(name.begin(), name.end(), '_', '-');
    const std::string flag = "--" + name;
    if (text == "True") {
      out.push_back(flag);
    } else if (text == "False") {
      out.push_back(flag + "=false");
    } else if (text.front() == '(') {
      text.erase(std::remove_if(text.begin(), text.end(),
                                [](char c) { return c == '(' || c == ')' || c == ' '; }),
                 text.end());
      out.insert(out.end(), {flag, text});
    } else if (text.front() == '\'') {
      out.insert(out.end(), {flag, text.substr(1, text.size() - 2)});
    } else {
      out.insert(out.end(), {flag, text});
    }
  }
  return out;
}

constexpr std::size_t kSteps = 4;

struct Trajectory {
  std::vector<std::vector<double>> params; // after each step
  std::vector<std::size_t> evaluations, iterations;
};

/// The C++ API's optimizer on the hand-written function.
Trajectory apiRun(const std::string &optimizer, const optim::Hyper &h) {
  Trajectory t;
  std::vector<double> x = HuberBowl::start();
  auto opt = optim::make(optimizer, x.size(), h);
  for (std::size_t k = 0; k < kSteps; ++k) {
    opt->step(x, HuberBowl::value, HuberBowl::hessian);
    t.params.push_back(x);
    t.evaluations.push_back(opt->last().evaluations);
    t.iterations.push_back(opt->last().iterations);
  }
  return t;
}

bool closeAll(const Trajectory &a, const Trajectory &b) {
  for (std::size_t k = 0; k < a.params.size(); ++k)
    for (std::size_t i = 0; i < a.params[k].size(); ++i)
      if (!close(a.params[k][i], b.params[k][i]))
        return false;
  return true;
}

} // namespace

TEST_CASE("fit: --help lists every hyperparameter of the table and each optimizer's defaults",
          "[fit][cli][hyper]") {
  ProcessResult help = runNabla({"fit", "--help"});
  REQUIRE(help.exitCode == 0);
  const std::string &out = help.out;
  for (const optim::HyperInfo &p : optim::hyperparameters()) {
    const std::string flag = nabla::fit::settingFlag(p.name);
    INFO(flag);
    const std::string line = entryOf(
        out, "  " + flag + (p.placeholder.empty() ? " " : " " + std::string(p.placeholder) + " "));
    REQUIRE_FALSE(line.empty());
    CHECK_THAT(line, Contains(std::string(p.help)));
    // The optimizers that have it, last in parentheses: all, all but those named, or those named.
    const std::size_t open = line.rfind('('), end = line.rfind(')');
    REQUIRE(open < end);
    std::string who = line.substr(open + 1, end - open - 1);
    const bool all = who == "all", but = who.rfind("all but ", 0) == 0;
    if (but)
      who.erase(0, 8);
    std::set<std::string> named;
    for (std::size_t start = 0; !all && start <= who.size();) {
      const std::size_t comma = std::min(who.find(", ", start), who.size());
      named.insert(who.substr(start, comma - start));
      start = comma + 2;
    }
    std::vector<std::string> shown, with;
    for (const std::string &o : optim::names()) {
      if (all || (but ? named.count(o) == 0 : named.count(o) == 1))
        shown.push_back(o);
      if (has(o, p.name))
        with.push_back(o);
    }
    CHECK(shown == with);
  }
  // The defaults, in the order of torch's constructor.
  const std::size_t defaults = out.find("\ndefaults (torch.optim's; SciPy's for lbfgs-mt and newton-cg):\n");
  REQUIRE(defaults != std::string::npos);
  const std::string table = out.substr(defaults);
  for (const std::string &o : optim::names()) {
    INFO(o);
    const std::string entry = entryOf(table, "  " + o + " ");
    REQUIRE_FALSE(entry.empty());
    const optim::Hyper d = optim::defaults(o);
    std::size_t at = 0;
    for (std::string_view option : optim::options(o)) {
      const auto all = optim::hyperparameters();
      const optim::HyperInfo &p = *std::find_if(
          all.begin(), all.end(), [&](const optim::HyperInfo &i) { return i.name == option; });
      const std::string item = std::string(option) + " " + nabla::fit::hyperText(d, p).value();
      INFO(item);
      const std::size_t found = entry.find(item, at);
      CHECK(found != std::string::npos);
      if (found != std::string::npos)
        at = found + item.size();
    }
  }
  CHECK_THAT(table, Contains("lr 0.001, momentum 0, dampening 0, weight_decay 0, nesterov false"));
  CHECK_THAT(table, Contains("max_eval 25"));

  // docs/fit.md shows both parts as the help prints them.
  const std::string docs = readText(std::string(NABLA_SOURCE_DIR) + "/docs/fit.md");
  const std::size_t from = out.find("hyperparameters (torch.optim's names");
  REQUIRE(from != std::string::npos);
  std::istringstream lines(out.substr(from, out.find("\n\n", from) - from) + table);
  std::size_t shown = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    INFO(line);
    CHECK(docs.find("\n" + line + "\n") != std::string::npos);
    ++shown;
  }
  CHECK(shown >= 2 + optim::hyperparameters().size() + optim::names().size());
}

TEST_CASE("fit: each hyperparameter's option reaches the optimizer", "[fit][cli][hyper]") {
  ScratchDir dir("fit_hyper");
  writeText(dir.file("r.nabla"), HuberBowl::kText);
  std::size_t runs = 0;
  for (const std::string &optimizer : optim::names()) {
    for (const optim::HyperInfo &p : optim::hyperparameters()) {
      if (!has(optimizer, p.name))
        continue;
      const std::string option(p.name);
      INFO(optimizer << " with " << option);
      // The option's value, with what it needs to make a difference; without it, the
      // trajectory is another.
      const std::string before = nabla::optimtest::prerequisites(optimizer, option);
      const std::string signature = (before.empty() ? "" : before + ", ") + option + "=" +
                                    nabla::optimtest::otherValue(optimizer, option);
      INFO(signature);
      const Trajectory api = apiRun(optimizer, nabla::optimtest::hyperOf(signature));
      CHECK_FALSE(closeAll(api, apiRun(optimizer, nabla::optimtest::hyperOf(before))));

      std::vector<std::string> args = {"fit",     dir.file("r.nabla"),    "--optimizer", optimizer,
                                       "--steps", std::to_string(kSteps), "--jit",       "baseline",
                                       "--log",   dir.file("log.csv"),    "--log-params"};
      for (const std::string &a : fitArguments(signature))
        args.push_back(a);
      ProcessResult r = runNabla(args);
      INFO(r.err);
      REQUIRE(r.exitCode == 0);
      ++runs;
      const CsvTable log = readCsvTable(readText(dir.file("log.csv")));
      REQUIRE(log.rows.size() == kSteps);
      for (std::size_t k = 0; k < kSteps; ++k) {
        INFO("step " << k + 1);
        CHECK(close(log.number(k, "a"), api.params[k][0]));
        CHECK(close(log.number(k, "b"), api.params[k][1]));
        CHECK(close(log.number(k, "c"), api.params[k][2]));
        if (optimizer == "lbfgs") {
          CHECK(log.number(k, "evals") == static_cast<double>(api.evaluations[k]));
          CHECK(log.number(k, "iters") == static_cast<double>(api.iterations[k]));
        }
      }
    }
  }
  CHECK(runs >= 45);
}

TEST_CASE("fit: a checkpoint's settings are keyed by torch's names; flag-spelled keys still read",
          "[fit][cli][hyper]") {
  ScratchDir dir("fit_hyper_checkpoint");
  writeText(dir.file("m.nabla"), "param w[3] = 0\n"
                                 "param b = 0\n"
                                 "input x[3] from (x1 .. x3)\n"
                                 "input y\n"
                                 "minimize (dot(w, x) + b - y)^2\n");
  const std::string data = std::string(NABLA_TEST_DATA) + "/reference/optimizers/linreg.csv";
  const std::vector<std::string> common = {"fit",         dir.file("m.nabla"),
                                           "--data",      data,
                                           "--optimizer", "adamw",
                                           "--lr",        "0.01",
                                           "--betas",     "0.8,0.99",
                                           "--amsgrad",   "--weight-decay",
                                           "0.1",         "--in-order",
                                           "--batch",     "16",
                                           "--log-params"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = common;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  REQUIRE(runNabla(with({"--steps", "12", "--log", dir.file("a.csv")})).exitCode == 0);
  REQUIRE(
      runNabla(with({"--steps", "6", "--log", dir.file("b.csv"), "--checkpoint", dir.file("ck")}))
          .exitCode == 0);

  const std::string text = readText(dir.file("ck"));
  auto body = llvm::json::parse(text.substr(text.find('\n') + 1));
  REQUIRE(bool(body));
  const llvm::json::Object &settings = *body->getAsObject()->getObject("settings");
  std::map<std::string, std::string> got;
  for (const auto &[key, value] : settings)
    got[key.str()] = value.getAsString()->str();
  REQUIRE(got.count("jit"));
  CHECK((got["jit"] == "optimized" || got["jit"] == "baseline"));
  std::map<std::string, std::string> rest = got;
  rest.erase("jit");
  const std::map<std::string, std::string> want = {
      {"optimizer", "adamw"}, {"lr", "0.01"},          {"betas", "0.8,0.99"},
      {"amsgrad", "true"},    {"weight_decay", "0.1"}, {"schedule", "constant"},
      {"batch", "16"},        {"in_order", "true"},    {"seed", "0"},
      {"average", "false"},   {"threads", "0"},        {"standardize", "none"}};
  CHECK(rest == want);

  // A setting that differs is named by its option.
  ProcessResult other =
      runNabla({"fit", dir.file("m.nabla"), "--data", data, "--optimizer", "adamw", "--lr", "0.01",
                "--betas", "0.8,0.99", "--amsgrad", "--weight-decay", "0.2", "--batch", "16",
                "--steps", "12", "--resume", dir.file("ck")});
  CHECK(other.exitCode == 1);
  CHECK_THAT(other.err, Contains("--weight-decay: 0.1 in the checkpoint, 0.2 now"));
  CHECK_THAT(other.err, Contains("--in-order: true in the checkpoint, false now"));

  // The same checkpoint with its settings spelled as flags, as earlier versions wrote them,
  // resumes the run exactly.
  nabla::fit::Checkpoint old = nabla::fit::readCheckpoint(dir.file("ck"));
  std::map<std::string, std::string> flags;
  for (const auto &[key, value] : old.settings)
    flags[nabla::fit::settingFlag(key)] = value;
  old.settings = flags;
  const std::string oldText = nabla::fit::checkpointText(old);
  REQUIRE(oldText.find("\"--weight-decay\": \"0.1\"") != std::string::npos);
  REQUIRE(oldText.find("\"--in-order\": \"true\"") != std::string::npos);
  writeText(dir.file("old"), oldText);
  CHECK(nabla::fit::readCheckpoint(dir.file("old")).settings == got);
  ProcessResult resumed =
      runNabla(with({"--steps", "12", "--log", dir.file("b.csv"), "--resume", dir.file("old")}));
  INFO(resumed.err);
  REQUIRE(resumed.exitCode == 0);
  CHECK(readText(dir.file("a.csv")) == readText(dir.file("b.csv")));
}
