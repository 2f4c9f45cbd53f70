// Validation in `nabla fit`: --val-split and --val, the validation figures in the log, the summary
// and the params file (checked against a loss computed here from the params file), early stopping
// and --keep, resuming a run with validation, the usage errors, and the plot in SVG, PNG and PDF
// with round ticks.
#include "fit_test_util.h"

#include "runtime/fit/fit.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>
#include <llvm/Support/Program.h>

#include <algorithm>
#include <cmath>
#include <regex>

using namespace nabla::test;
using Catch::Matchers::Contains;

namespace {

const std::string kSamples = std::string(NABLA_SOURCE_DIR) + "/samples/";
const std::string kModel = kSamples + "logreg_breast_cancer.nabla";
const std::string kData = kSamples + "data/breast_cancer.csv";

llvm::json::Object readJson(const std::string &path) {
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(readText(path));
  REQUIRE(static_cast<bool>(v));
  REQUIRE(v->getAsObject() != nullptr);
  return *v->getAsObject();
}

std::vector<double> numbers(const llvm::json::Value *v) {
  std::vector<double> out;
  if (const llvm::json::Array *a = v ? v->getAsArray() : nullptr)
    for (const llvm::json::Value &e : *a) out.push_back(*e.getAsNumber());
  return out;
}

/// The sample's loss (softplus(z) - y z + 1e-3 |w|^2, z = w.x + b with x standardized by the
/// params file's statistics) and accuracy, averaged over `rows` of the data, computed here.
struct Figures {
  double loss = 0, acc = 0;
};
Figures logisticFigures(const llvm::json::Object &file, const CsvTable &data,
                        const std::vector<std::size_t> &rows) {
  const llvm::json::Object &params = *file.getObject("params");
  const std::vector<double> w = numbers(params.get("w"));
  const double b = *params.getNumber("b");
  const llvm::json::Object &x = *file.getObject("standardize")->getObject("x");
  const std::vector<double> mean = numbers(x.get("mean")), sd = numbers(x.get("std"));
  REQUIRE(w.size() == 30);
  double penalty = 0;
  for (double wi : w) penalty += wi * wi;
  Figures f;
  for (std::size_t r : rows) {
    double z = b;
    for (std::size_t k = 0; k < 30; ++k)
      z += w[k] * (std::strtod(data.rows[r][k].c_str(), nullptr) - mean[k]) / sd[k];
    const double y = std::strtod(data.rows[r][30].c_str(), nullptr);  // benign
    const double softplus = z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
    f.loss += softplus - y * z + 1e-3 * penalty;
    const double p = 1 / (1 + std::exp(-z));
    f.acc += ((p > 0.5) == (y > 0.5)) ? 1 : 0;
  }
  f.loss /= static_cast<double>(rows.size());
  f.acc /= static_cast<double>(rows.size());
  return f;
}

/// The log's rows that carry validation figures (the last step of each epoch).
std::vector<std::size_t> validationRows(const CsvTable &log) {
  std::vector<std::size_t> out;
  const std::size_t c = log.column("val_loss");
  for (std::size_t r = 0; r < log.rows.size(); ++r)
    if (c < log.rows[r].size() && !log.rows[r][c].empty()) out.push_back(r);
  return out;
}

const std::vector<std::string> kCommon = {"fit",  kModel, "--data",      kData,
                                          "--standardize", "--lr", "0.05", "--seed", "3"};

} // namespace

TEST_CASE("fit --val-split --early-stop: the figures, the best epoch and its params",
          "[fit][validation]") {
  ScratchDir dir("fit_val_split");
  ProcessResult r =
      runNabla(concat(kCommon, {"--val-split", "0.2", "--early-stop", "3", "--epochs", "200",
                                "--log", dir.file("log.csv"), "-o", dir.file("p.json")}));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  const CsvTable data = readCsvTable(readText(kData));
  REQUIRE(data.rows.size() == 569);
  REQUIRE(data.header.size() == 31);
  REQUIRE(data.header[30].rfind("benign", 0) == 0);
  // 114 rows held out (0.2 of 569, rounded), drawn by the seed; the rest train.
  const std::vector<std::size_t> held = nabla::data::validationRows(569, 114, 3);
  REQUIRE(held.size() == 114);
  std::vector<std::size_t> train;
  for (std::size_t k = 0; k < 569; ++k)
    if (!std::binary_search(held.begin(), held.end(), k)) train.push_back(k);
  CHECK_THAT(r.out, Contains("(mean over 455 rows)"));
  CHECK_THAT(r.out, Contains("validation: loss"));
  CHECK_THAT(r.out, Contains("(mean over 114 rows)"));
  CHECK_THAT(r.out, Contains("stopped early: no better validation loss in 3 epochs"));
  CHECK_THAT(r.err, Contains("val_loss"));  // the progress lines

  // The log: validation figures in the last row of each epoch, empty cells elsewhere.
  const CsvTable log = readCsvTable(readText(dir.file("log.csv")));
  CHECK(log.header == std::vector<std::string>{"step", "epoch", "loss", "grad_norm", "lr", "acc",
                                               "val_loss", "val_acc"});
  const std::size_t perEpoch = (455 + 31) / 32;
  const std::vector<std::size_t> ends = validationRows(log);
  REQUIRE(ends.size() >= 4);
  for (std::size_t k = 0; k < ends.size(); ++k) CHECK(ends[k] == (k + 1) * perEpoch - 1);
  // The best epoch is the least validation loss of the log, and the run stopped 3 epochs after.
  std::size_t best = 0;
  for (std::size_t k = 1; k < ends.size(); ++k)
    if (log.number(ends[k], "val_loss") < log.number(ends[best], "val_loss")) best = k;
  CHECK(ends.size() == best + 1 + 3);
  CHECK_THAT(r.out, Contains("kept the params of epoch " + std::to_string(best + 1) +
                             ", the best on the validation rows"));
  CHECK(log.rows.size() == ends.size() * perEpoch);

  // The params file: the best epoch's params, and their figures, which agree with the loss and
  // accuracy computed here on the held-out rows and on the training rows.
  const llvm::json::Object file = readJson(dir.file("p.json"));
  CHECK(*file.getString("stop") == "early_stop");
  const llvm::json::Object &v = *file.getObject("validation");
  CHECK(*v.getInteger("rows") == 114);
  CHECK(*v.getInteger("best_epoch") == static_cast<std::int64_t>(best + 1));
  CHECK(*v.getInteger("epoch") == static_cast<std::int64_t>(best + 1));
  CHECK(*v.getString("kept") == "best");
  CHECK(*v.getNumber("best_loss") == log.number(ends[best], "val_loss"));
  CHECK(*v.getNumber("loss") == log.number(ends[best], "val_loss"));
  const Figures heldOut = logisticFigures(file, data, held);
  CHECK(*v.getNumber("loss") == Approx(heldOut.loss).epsilon(1e-10));
  CHECK(*v.getObject("reports")->getNumber("acc") == Approx(heldOut.acc).epsilon(1e-12));
  const Figures trained = logisticFigures(file, data, train);
  CHECK(*file.getNumber("loss") == Approx(trained.loss).epsilon(1e-10));
  // Standardized by the training rows' statistics only.
  double sum = 0;
  for (std::size_t row : train) sum += data.number(row, "radius_mean");
  CHECK(numbers(file.getObject("standardize")->getObject("x")->get("mean"))[0] ==
        Approx(sum / 455).epsilon(1e-13));

  // --keep last: the same run's last params, the last epoch's validation loss.
  ProcessResult last =
      runNabla(concat(kCommon, {"--val-split", "0.2", "--early-stop", "3", "--keep", "last",
                                "--epochs", "200", "-o", dir.file("last.json")}));
  INFO(last.err);
  REQUIRE(last.exitCode == 0);
  const llvm::json::Object lastFile = readJson(dir.file("last.json"));
  const llvm::json::Object &lv = *lastFile.getObject("validation");
  CHECK(*lv.getString("kept") == "last");
  CHECK_THAT(last.out,
             Contains("was at epoch " + std::to_string(best + 1) + "; kept the last params"));
  CHECK(*lv.getInteger("epoch") == static_cast<std::int64_t>(ends.size()));
  CHECK(*lv.getNumber("loss") == log.number(ends.back(), "val_loss"));
  CHECK(logisticFigures(lastFile, data, held).loss == Approx(*lv.getNumber("loss")).epsilon(1e-10));
}

TEST_CASE("fit --val FILE: the validation rows of their own file", "[fit][validation]") {
  ScratchDir dir("fit_val_file");
  // The training data itself as validation data: the validation figures are the summary's.
  ProcessResult r = runNabla(concat(
      kCommon, {"--val", kData, "--epochs", "3", "--in-order", "-o", dir.file("p.json")}));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  const llvm::json::Object file = readJson(dir.file("p.json"));
  const llvm::json::Object &v = *file.getObject("validation");
  CHECK(*v.getInteger("rows") == 569);
  CHECK(*v.getNumber("loss") == *file.getNumber("loss"));
  CHECK(*v.getString("kept") == "last");
  CHECK(*v.getInteger("epoch") == 3);
  CHECK(*file.getString("stop") == "finished");

  // A bad cell of the validation file is reported with its file, row and column.
  std::string text = readText(kData);
  const std::size_t second = text.find('\n', text.find('\n') + 1);
  text.replace(second + 1, text.find(',', second + 1) - second - 1, "oops");
  writeText(dir.file("bad.csv"), text);
  ProcessResult bad = runNabla(concat(kCommon, {"--val", dir.file("bad.csv"), "--epochs", "1"}));
  CHECK(bad.exitCode == 1);
  CHECK_THAT(bad.err, Contains("bad.csv: row 2 (line 3), column 1 'radius_mean'"));
}

TEST_CASE("fit with validation resumes as if it had never stopped", "[fit][validation]") {
  ScratchDir dir("fit_val_resume");
  const std::vector<std::string> run =
      concat(kCommon, {"--val-split", "0.25", "--early-stop", "4", "--epochs", "200"});
  ProcessResult whole = runNabla(concat(run, {"-o", dir.file("a.json"), "--log",
                                              dir.file("a.csv"), "--plot", dir.file("a.svg")}));
  INFO(whole.err);
  REQUIRE(whole.exitCode == 0);
  // Stopped within an epoch (37 steps, 14 to an epoch), then resumed to the end.
  ProcessResult first = runNabla(concat(
      kCommon, {"--val-split", "0.25", "--early-stop", "4", "--steps", "37", "--checkpoint",
                dir.file("ck"), "--log", dir.file("b.csv")}));
  INFO(first.err);
  REQUIRE(first.exitCode == 0);
  ProcessResult resumed =
      runNabla(concat(run, {"--resume", dir.file("ck"), "-o", dir.file("b.json"), "--log",
                            dir.file("b.csv"), "--plot", dir.file("b.svg")}));
  INFO(resumed.err);
  REQUIRE(resumed.exitCode == 0);
  CHECK(readText(dir.file("a.json")) == readText(dir.file("b.json")));
  CHECK(readText(dir.file("a.csv")) == readText(dir.file("b.csv")));
  CHECK(readText(dir.file("a.svg")) == readText(dir.file("b.svg")));
  // Other validation settings than the checkpoint's are refused.
  ProcessResult other = runNabla(concat(
      kCommon, {"--val-split", "0.3", "--early-stop", "4", "--epochs", "200", "--resume",
                dir.file("ck")}));
  CHECK(other.exitCode == 1);
  CHECK_THAT(other.err, Contains("--val: split 0.25 in the checkpoint, split 0.3 now"));
}

TEST_CASE("fit validation: usage errors", "[fit][validation]") {
  ScratchDir dir("fit_val_usage");
  auto usage = [](const std::vector<std::string> &args, const std::string &message) {
    ProcessResult r = runNabla(args);
    INFO(r.err);
    CHECK(r.exitCode == 2);
    CHECK_THAT(r.err, Contains(message));
  };
  const std::vector<std::string> base = {"fit", kModel, "--data", kData};
  usage(concat(base, {"--early-stop", "3"}),
        "--early-stop watches the validation loss: give validation data with --val FILE or "
        "--val-split F");
  usage(concat(base, {"--keep", "best"}), "--keep best watches the validation loss");
  usage(concat(base, {"--keep", "first", "--val-split", "0.2"}), "unknown --keep 'first'");
  usage(concat(base, {"--val", kData, "--val-split", "0.2"}),
        "give --val FILE or --val-split F, not both");
  usage(concat(base, {"--val-split", "1.5"}), "between 0 and 1 (not 1.5)");
  usage(concat(base, {"--val-split", "0.0001"}),
        "--val-split 0.0001 of 569 rows leaves no validation rows");
  usage({"fit", kSamples + "rosenbrock.nabla", "--val-split", "0.2"},
        "has no inputs: validation (--val FILE, --val-split) needs a model trained on data");
  usage(concat(base, {"--plot", dir.file("loss.jpg")}),
        "unknown extension '.jpg' (the plot is .svg, .png or .pdf)");
  usage(concat(base, {"--plot", dir.file("loss")}), "it has no extension");
  CHECK_FALSE(std::filesystem::exists(dir.file("loss.jpg")));
}

TEST_CASE("fit --plot: both curves, round ticks, SVG, PNG and PDF", "[fit][validation][plot]") {
  ScratchDir dir("fit_val_plot");
  ProcessResult r = runNabla(
      concat(kCommon, {"--val-split", "0.2", "--epochs", "12", "--plot", dir.file("loss.svg")}));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  const std::string svg = readText(dir.file("loss.svg"));
  CHECK_THAT(svg, Contains("training loss (epoch mean)"));
  CHECK_THAT(svg, Contains("validation loss"));
  CHECK_THAT(svg, Contains(">epoch</text>"));
  CHECK(svg.rfind("</svg>\n") == svg.size() - 7);
  // Three curves: the steps (light), the epochs' training and validation losses.
  std::size_t polylines = 0;
  for (std::size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1))
    ++polylines;
  CHECK(polylines == 3);

  // Every tick label is a round number: a whole multiple of 1, 2 or 5 times a power of ten,
  // the same step between neighbours.
  const std::regex label(R"re(text-anchor="(end|middle)">([-0-9.e+]+)</text>)re");
  std::map<std::string, std::vector<double>> ticks;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label); it != std::sregex_iterator();
       ++it)
    ticks[(*it)[1]].push_back(std::stod((*it)[2]));
  for (const auto &[axis, values] : ticks) {
    INFO(axis);
    REQUIRE(values.size() >= 3);
    const double step = values[1] - values[0];
    const double decade = std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    const double mantissa = step / decade;
    CHECK((std::abs(mantissa - 1) < 1e-9 || std::abs(mantissa - 2) < 1e-9 ||
           std::abs(mantissa - 5) < 1e-9));
    for (std::size_t k = 0; k < values.size(); ++k) {
      CHECK(std::abs(values[k] / step - std::round(values[k] / step)) < 1e-6);
      if (k) CHECK(values[k] - values[k - 1] == Approx(step));
    }
  }
  CHECK(ticks["middle"].front() == 0);
  CHECK(ticks["middle"].back() >= 12);

  // PNG and PDF come through librsvg's converter (scripts/setup.sh installs it), whose XML
  // parser also takes the SVG as valid.
  llvm::ErrorOr<std::string> rsvg = llvm::sys::findProgramByName("rsvg-convert");
  REQUIRE(rsvg);
  ProcessResult parsed = runProcess(*rsvg, {"--format", "png", "--output", dir.file("check.png"),
                                            dir.file("loss.svg")});
  INFO(parsed.err);
  CHECK(parsed.exitCode == 0);
  for (const char *extension : {"png", "pdf"}) {
    const std::string path = dir.file(std::string("loss.") + extension);
    ProcessResult p =
        runNabla(concat(kCommon, {"--val-split", "0.2", "--epochs", "3", "--plot", path}));
    INFO(p.err);
    REQUIRE(p.exitCode == 0);
    const std::string bytes = readText(path);
    if (std::string(extension) == "png") {
      REQUIRE(bytes.size() > 24);
      CHECK(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
      CHECK(bytes.substr(12, 4) == "IHDR");
      // Width and height, big-endian: the SVG's 720 x 420.
      auto be32 = [&](std::size_t at) {
        return (static_cast<unsigned char>(bytes[at]) << 24) |
               (static_cast<unsigned char>(bytes[at + 1]) << 16) |
               (static_cast<unsigned char>(bytes[at + 2]) << 8) |
               static_cast<unsigned char>(bytes[at + 3]);
      };
      CHECK(be32(16) == 720);
      CHECK(be32(20) == 420);
    } else {
      CHECK(bytes.rfind("%PDF-", 0) == 0);
      CHECK(bytes.find("%%EOF") != std::string::npos);
    }
  }
}

TEST_CASE("lossPlotSvg: round ticks on linear and log axes", "[fit][plot]") {
  nabla::fit::LossHistory steps;
  for (int k = 0; k < 100; ++k) steps.add(0.13 + 0.0074 * k);  // 0.13 .. 0.86
  const std::string linear = nabla::fit::lossPlotSvg(steps, nullptr, 1, "t");
  for (const char *tick : {">0</text>", ">0.2</text>", ">0.4</text>", ">0.8</text>", ">1</text>",
                           ">20</text>", ">100</text>"})
    CHECK_THAT(linear, Contains(tick));
  CHECK(linear.find(">0.13</text>") == std::string::npos);

  nabla::fit::LossHistory wide;
  for (int k = 0; k < 50; ++k) wide.add(std::pow(10.0, 2 - 0.1 * k));  // 100 down to 1.3e-3
  const std::string log = nabla::fit::lossPlotSvg(wide, nullptr, 1, "t");
  CHECK_THAT(log, Contains("loss (log scale)"));
  for (const char *tick : {">0.001</text>", ">0.01</text>", ">0.1</text>", ">1</text>",
                           ">10</text>", ">100</text>"})
    CHECK_THAT(log, Contains(tick));
}
