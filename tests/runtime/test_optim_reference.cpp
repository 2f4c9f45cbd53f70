// The optimizers against torch.optim's trajectories (tests/reference/optimizers/, every file that
// index.json lists): the objective compiled from the file's expression with the C++ API, batches
// in file order, every hyperparameter of the file mapped to nabla's, and each step's parameters,
// loss, gradient norm and full loss within 1e-9 * max(1, |ref|); L-BFGS's cumulative evaluation
// and iteration counts exactly.
#include "optim_test_util.h"
#include "support/reference.h"

#include <nabla/nabla.hpp>

#include <llvm/Support/JSON.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

using namespace nabla::optimtest;
namespace json = llvm::json;

namespace {

const std::string kDir = "reference/optimizers/";

json::Value parseFile(const std::string &name) {
  auto parsed = json::parse(nabla::test::readTestFile(kDir + name));
  if (!parsed) throw std::runtime_error(name + ": " + llvm::toString(parsed.takeError()));
  return std::move(*parsed);
}

std::string roundTrip(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::vector<double> numbers(const json::Array &a) {
  std::vector<double> out;
  for (const json::Value &v : a) out.push_back(*v.getAsNumber());
  return out;
}

/// The CSV's columns by name; each cell is strtod of its text.
std::map<std::string, std::vector<double>> readCsv(const std::string &name) {
  std::istringstream in(nabla::test::readTestFile(kDir + name));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  for (std::istringstream h(line); std::getline(h, line, ',');) header.push_back(line);
  std::map<std::string, std::vector<double>> columns;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream cells(line);
    std::string cell;
    for (const std::string &column : header) {
      std::getline(cells, cell, ',');
      columns[column].push_back(std::strtod(cell.c_str(), nullptr));
    }
  }
  return columns;
}

std::set<std::string> identifiers(const std::string &expr) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < expr.size();) {
    if (std::isalpha(static_cast<unsigned char>(expr[i])) || expr[i] == '_') {
      std::size_t j = i;
      while (j < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[j])) || expr[j] == '_')) ++j;
      out.insert(expr.substr(i, j - i));
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(expr[i]))) {
      while (i < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[i])) || expr[i] == '.')) ++i;
    } else {
      ++i;
    }
  }
  return out;
}

/// torch's constructor arguments as nabla's Hyper; `maximize` (a flag of torch's step, not an
/// option) is returned apart. An unknown key fails the test, so that a new kind of file is seen.
nabla::optim::Hyper hyperOf(const json::Object &h, bool &maximize) {
  nabla::optim::Hyper out;
  maximize = false;
  for (const auto &[key, value] : h) {
    const std::string k = key.str();
    auto num = [&] { return *value.getAsNumber(); };
    auto integer = [&] { return static_cast<int>(*value.getAsInteger()); };
    if (k == "lr") out.lr = num();
    else if (k == "momentum") out.momentum = num();
    else if (k == "dampening") out.dampening = num();
    else if (k == "nesterov") out.nesterov = *value.getAsBoolean();
    else if (k == "weight_decay") out.weight_decay = num();
    else if (k == "lr_decay") out.lr_decay = num();
    else if (k == "initial_accumulator_value") out.initial_accumulator_value = num();
    else if (k == "eps") out.eps = num();
    else if (k == "alpha") out.alpha = num();
    else if (k == "centered") out.centered = *value.getAsBoolean();
    else if (k == "rho") out.rho = num();
    else if (k == "betas") {
      const json::Array &b = *value.getAsArray();
      out.betas = std::array<double, 2>{*b[0].getAsNumber(), *b[1].getAsNumber()};
    } else if (k == "amsgrad") out.amsgrad = *value.getAsBoolean();
    else if (k == "momentum_decay") out.momentum_decay = num();
    else if (k == "max_iter") out.max_iter = integer();
    else if (k == "max_eval") out.max_eval = integer();
    else if (k == "tolerance_grad") out.tolerance_grad = num();
    else if (k == "tolerance_change") out.tolerance_change = num();
    else if (k == "history_size") out.history_size = integer();
    else if (k == "line_search_fn")
      out.line_search = value.getAsNull() ? std::string("none") : value.getAsString()->str();
    else if (k == "maximize") maximize = *value.getAsBoolean();
    else FAIL("unknown hyperparameter '" << k << "'");
  }
  return out;
}

struct Deviation {
  std::size_t mismatches = 0;
  std::string first;
  double worst = 0;  // the largest |got - ref| / max(1, |ref|)
  void check(double got, double ref, std::size_t step, const std::string &what) {
    const double rel = std::abs(got - ref) / std::max(1.0, std::abs(ref));
    if (!(rel <= worst)) worst = rel;  // NaN counts as worst
    if (close(got, ref)) return;
    if (mismatches++ == 0)
      first = "step " + std::to_string(step + 1) + " " + what + ": got " + roundTrip(got) +
              ", reference " + roundTrip(ref);
  }
};

/// Unsets every option whose value is torch's documented default (max_eval where it is
/// max_iter * 5 // 4), so that the table's default takes its place; returns how many.
std::size_t dropDefaults(const std::string &optimizer, nabla::optim::Hyper &h) {
  std::size_t dropped = 0;
  if (h.max_eval && h.max_iter && *h.max_eval == *h.max_iter * 5 / 4) {
    h.max_eval.reset();
    ++dropped;
  }
  const nabla::optim::Hyper d = torchConstructor(optimizer).defaults;
  for (const nabla::optim::HyperInfo &p : nabla::optim::hyperparameters())
    std::visit(
        [&](auto field) {
          if (h.*field && h.*field == d.*field) {
            (h.*field).reset();
            ++dropped;
          }
        },
        p.field);
  return dropped;
}

/// Runs one reference file; returns the deviations found. With `defaults`, the options whose
/// values are torch's defaults are left unset (and counted there).
Deviation runFile(const std::string &file, std::size_t *defaults = nullptr) {
  const json::Value root = parseFile(file);
  const json::Object &run = *root.getAsObject();
  const std::string expr = run.getString("expr")->str();
  std::vector<std::string> params;
  for (const json::Value &p : *run.getArray("params")) params.push_back(p.getAsString()->str());
  const json::Object &init = *run.getObject("init");

  // The program: the params with their initial values, an input per data column used, the loss.
  std::string text;
  std::vector<double> x;
  for (const std::string &p : params) {
    x.push_back(*init.getNumber(p));
    text += "param " + p + " = " + roundTrip(x.back()) + "\n";
  }
  const json::Object *data = run.getObject("data");
  std::map<std::string, std::vector<double>> csv;
  std::vector<std::pair<std::size_t, std::size_t>> batches;
  std::size_t rows = 0;
  if (data) {
    csv = readCsv(data->getString("csv")->str());
    rows = static_cast<std::size_t>(*data->getInteger("rows"));
    const std::set<std::string> used = identifiers(expr);
    for (const json::Value &c : *data->getArray("columns"))
      if (used.count(c.getAsString()->str())) text += "input " + c.getAsString()->str() + "\n";
    for (const json::Value &b : *data->getArray("batches")) {
      const json::Array &range = *b.getAsArray();
      batches.emplace_back(*range[0].getAsInteger(), *range[1].getAsInteger());
    }
    REQUIRE(csv.begin()->second.size() == rows);
  }
  text += "minimize " + expr + "\n";
  INFO("program:\n" << text);
  const nabla::Objective objective = nabla::compile(text).objective();
  REQUIRE(objective.param_count() == params.size());

  // Column pointers of the objective's inputs, in its order.
  std::vector<const std::vector<double> *> columns;
  for (const nabla::Variable &in : objective.inputs()) columns.push_back(&csv.at(in.columns.at(0)));
  auto lossOver = [&](std::span<const double> p, std::size_t begin, std::size_t end,
                      std::span<double> g) {
    if (!data) return objective.value_and_grad(p, {}, g);
    std::vector<const double *> ptrs;
    for (const auto *c : columns) ptrs.push_back(c->data() + begin);
    return objective.batch(p, end - begin, ptrs, g);
  };

  bool maximize = false;
  std::string name = run.getString("optimizer")->str();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  nabla::optim::Hyper hyper = hyperOf(*run.getObject("hyper"), maximize);
  if (defaults) *defaults += dropDefaults(name, hyper);
  auto opt = nabla::optim::make(name, params.size(), hyper);

  const std::size_t nSteps = static_cast<std::size_t>(*run.getInteger("n_steps"));
  const json::Array &steps = *run.getArray("steps");
  const std::vector<double> loss = numbers(*run.getArray("loss")),
                            gradNorm = numbers(*run.getArray("grad_norm")),
                            lossAfter = numbers(*run.getArray("loss_after"));
  const json::Array *evals = run.getArray("lbfgs_func_evals"), *iters = run.getArray("lbfgs_n_iter");
  REQUIRE(steps.size() == nSteps);
  REQUIRE(loss.size() == nSteps);

  Deviation dev;
  std::vector<double> scratch(params.size());
  for (std::size_t k = 0; k < nSteps; ++k) {
    const auto [begin, end] = data ? batches[k % batches.size()] : std::pair<std::size_t, std::size_t>(0, 1);
    // torch's maximize negates the gradient the update sees (after the loss is reported).
    auto closure = [&, begin = begin, end = end](std::span<const double> p, std::span<double> g) {
      const double f = lossOver(p, begin, end, g);
      if (maximize)
        for (double &v : g) v = -v;
      return f;
    };
    const double returned = opt->step(x, closure);
    dev.check(returned, loss[k], k, "returned loss");
    dev.check(opt->last().loss, loss[k], k, "loss");
    dev.check(opt->last().grad_norm, gradNorm[k], k, "grad_norm");
    const std::vector<double> ref = numbers(*steps[k].getAsArray());
    for (std::size_t i = 0; i < params.size(); ++i) dev.check(x[i], ref[i], k, params[i]);
    dev.check(lossOver(x, 0, data ? rows : 1, scratch), lossAfter[k], k, "loss_after");
    CHECK(opt->last().steps == k + 1);
    if (evals) {
      INFO(file << " step " << k + 1);
      CHECK(opt->last().evaluations == static_cast<std::size_t>(*(*evals)[k].getAsInteger()));
      CHECK(opt->last().iterations == static_cast<std::size_t>(*(*iters)[k].getAsInteger()));
    }
  }
  return dev;
}

}  // namespace

TEST_CASE("every optimizer follows torch's trajectories", "[optim][reference]") {
  const json::Value index = parseFile("index.json");
  std::set<std::string> optimizers;
  std::size_t files = 0;
  for (const json::Value &entry : *index.getAsArray()) {
    const std::string file = entry.getAsObject()->getString("file")->str();
    INFO(file);
    const Deviation dev = runFile(file);
    CHECK(dev.first == "");
    CHECK(dev.mismatches == 0);
    WARN(file << ": largest deviation " << dev.worst << " (relative to max(1, |ref|))");
    optimizers.insert(entry.getAsObject()->getString("optimizer")->str());
    ++files;
  }
  CHECK(files >= 29);
  // Every optimizer of torch that nabla has is covered by a run.
  CHECK(optimizers == std::set<std::string>{"SGD", "Adagrad", "RMSprop", "Adadelta", "Adam",
                                            "NAdam", "AdamW", "LBFGS"});
}

TEST_CASE("torch's trajectories follow from the table's defaults", "[optim][reference][hyper]") {
  // Each run with only the options whose values differ from torch's defaults: the table's take
  // the place of the others, which the reference's own run gave explicitly.
  const json::Value index = parseFile("index.json");
  std::size_t dropped = 0;
  for (const json::Value &entry : *index.getAsArray()) {
    const std::string file = entry.getAsObject()->getString("file")->str();
    INFO(file);
    const std::size_t before = dropped;
    const Deviation dev = runFile(file, &dropped);
    CHECK(dev.first == "");
    CHECK(dev.mismatches == 0);
    CHECK(dropped > before);
  }
  CHECK(dropped >= 100);
}
