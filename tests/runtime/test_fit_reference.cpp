// Parity with torch.optim: every trajectory of tests/reference/optimizers/ (index.json lists
// them) is reproduced by `nabla fit ... --in-order --log --log-params`, within the reference's
// tolerance |got - ref| <= 1e-9 * max(1, |ref|); L-BFGS's evaluation and iteration counts exactly.
#include "fit_test_util.h"
#include "support/reference.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <cmath>
#include <cstdio>

using namespace nabla::test;

namespace {

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

double at(const llvm::json::Array &a, std::size_t k) { return *a[k].getAsNumber(); }

bool close(double got, double ref) {
  return std::fabs(got - ref) <= 1e-9 * std::max(1.0, std::fabs(ref));
}

/// torch's hyperparameter names -> `nabla fit` flags. Returns false for a name it does not know.
bool addHyper(std::vector<std::string> &args, const std::string &key, const llvm::json::Value &v,
              bool &maximize) {
  static const char *kNumbers[][2] = {{"lr", "--lr"},
                                      {"momentum", "--momentum"},
                                      {"dampening", "--dampening"},
                                      {"weight_decay", "--weight-decay"},
                                      {"lr_decay", "--lr-decay"},
                                      {"initial_accumulator_value", "--initial-accumulator-value"},
                                      {"eps", "--eps"},
                                      {"alpha", "--alpha"},
                                      {"rho", "--rho"},
                                      {"momentum_decay", "--momentum-decay"},
                                      {"max_iter", "--max-iter"},
                                      {"max_eval", "--max-eval"},
                                      {"tolerance_grad", "--tolerance-grad"},
                                      {"tolerance_change", "--tolerance-change"},
                                      {"history_size", "--history-size"}};
  static const char *kFlags[][2] = {
      {"nesterov", "--nesterov"}, {"centered", "--centered"}, {"amsgrad", "--amsgrad"}};
  for (const auto &[name, flag] : kNumbers)
    if (key == name) {
      double d = *v.getAsNumber();
      args.push_back(flag);
      // Counts as integers, everything else with round-trip precision.
      args.push_back(std::string(flag).find("max-") != std::string::npos || key == "history_size"
                         ? std::to_string(static_cast<long long>(d))
                         : number(d));
      return true;
    }
  for (const auto &[name, flag] : kFlags)
    if (key == name) {
      args.push_back(std::string(flag) + "=" + (*v.getAsBoolean() ? "true" : "false"));
      return true;
    }
  if (key == "betas") {
    const llvm::json::Array &b = *v.getAsArray();
    args.push_back("--betas");
    args.push_back(number(at(b, 0)) + "," + number(at(b, 1)));
    return true;
  }
  if (key == "line_search_fn") {
    args.push_back("--line-search");
    args.push_back(v.getAsString() ? v.getAsString()->str() : "none");
    return true;
  }
  if (key == "maximize") {
    maximize = *v.getAsBoolean();
    return true;
  }
  // Implementation switches of torch that do not change the arithmetic.
  return key == "foreach" || key == "differentiable" || key == "capturable" || key == "fused";
}

} // namespace

TEST_CASE("every reference trajectory of torch.optim is reproduced by nabla fit",
          "[fit][reference]") {
  auto index = llvm::json::parse(readTestFile("reference/optimizers/index.json"));
  REQUIRE(bool(index));
  const llvm::json::Array &runs = *index->getAsArray();
  REQUIRE(runs.size() >= 29);
  ScratchDir dir("fit_reference");
  const std::string folder = std::string(NABLA_TEST_DATA) + "/reference/optimizers/";

  for (const llvm::json::Value &entry : runs) {
    const std::string file = entry.getAsObject()->getString("file")->str();
    SECTION(file) {
      auto parsed = llvm::json::parse(readTestFile("reference/optimizers/" + file));
      REQUIRE(bool(parsed));
      const llvm::json::Object &ref = *parsed->getAsObject();
      const std::string optimizer = ref.getString("optimizer")->str();
      std::string name;
      for (char c : optimizer)
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

      // The model: params with their initial values, inputs for the data columns, the per-row loss.
      std::vector<std::string> params;
      for (const llvm::json::Value &p : *ref.getArray("params"))
        params.push_back(p.getAsString()->str());
      std::string model;
      for (const std::string &p : params)
        model += "param " + p + " = " + number(*ref.getObject("init")->getNumber(p)) + "\n";
      std::vector<std::string> args = {"fit",
                                       dir.file("model.nabla"),
                                       "--optimizer",
                                       name,
                                       "--in-order",
                                       "--log",
                                       dir.file("log.csv"),
                                       "--log-params",
                                       "--steps",
                                       std::to_string(*ref.getInteger("n_steps")),
                                       // torch goes on after L-BFGS has converged (steps that
                                       // change nothing); nabla would stop after 10 of them.
                                       "--patience",
                                       "0"};
      if (const llvm::json::Object *data = ref.getObject("data")) {
        for (const llvm::json::Value &c : *data->getArray("columns"))
          model += "input " + c.getAsString()->str() + "\n";
        const std::int64_t rows = *data->getInteger("rows"), size = *data->getInteger("batch_size");
        // The reference's batches are those of --batch in file order.
        const llvm::json::Array &batches = *data->getArray("batches");
        REQUIRE(static_cast<std::int64_t>(batches.size()) == (rows + size - 1) / size);
        for (std::size_t b = 0; b < batches.size(); ++b) {
          const llvm::json::Array &range = *batches[b].getAsArray();
          CHECK(*range[0].getAsInteger() == static_cast<std::int64_t>(b) * size);
          CHECK(*range[1].getAsInteger() == std::min<std::int64_t>((b + 1) * size, rows));
        }
        args.insert(args.end(), {"--data", folder + data->getString("csv")->str(), "--batch",
                                 std::to_string(size)});
      }
      bool maximize = false;
      for (const auto &[key, value] : *ref.getObject("hyper")) {
        INFO("hyperparameter " << key.str());
        REQUIRE(addHyper(args, key.str(), value, maximize));
      }
      model +=
          std::string(maximize ? "maximize " : "minimize ") + ref.getString("expr")->str() + "\n";
      writeText(dir.file("model.nabla"), model);

      // Both kinds of code: LLVM's vectorized kernel and the baseline code row by row.
      for (const char *jit : {"optimized", "baseline"}) {
        INFO("--jit " << jit);
        ProcessResult r = runNabla(concat(args, {"--jit", jit}));
        INFO(model << r.err);
        REQUIRE(r.exitCode == 0);
        const CsvTable log = readCsvTable(readText(dir.file("log.csv")));
        const llvm::json::Array &steps = *ref.getArray("steps");
        const llvm::json::Array &loss = *ref.getArray("loss");
        const llvm::json::Array &gradNorm = *ref.getArray("grad_norm");
        REQUIRE(log.rows.size() == steps.size());
        const bool lbfgs = ref.getArray("lbfgs_func_evals") != nullptr;
        std::size_t mismatches = 0;
        for (std::size_t k = 0; k < steps.size() && mismatches < 5; ++k) {
          const llvm::json::Array &x = *steps[k].getAsArray();
          INFO("step " << k + 1);
          bool ok = true;
          for (std::size_t i = 0; i < params.size(); ++i) {
            const double got = log.number(k, params[i]), want = at(x, i);
            if (!close(got, want)) {
              ok = false;
              UNSCOPED_INFO(params[i] << " = " << number(got) << ", reference " << number(want));
            }
          }
          if (!close(log.number(k, "loss"), at(loss, k))) {
            ok = false;
            UNSCOPED_INFO("loss " << number(log.number(k, "loss")) << ", reference "
                                  << number(at(loss, k)));
          }
          if (!close(log.number(k, "grad_norm"), at(gradNorm, k))) {
            ok = false;
            UNSCOPED_INFO("grad_norm " << number(log.number(k, "grad_norm")) << ", reference "
                                       << number(at(gradNorm, k)));
          }
          if (lbfgs) {
            const double evals = at(*ref.getArray("lbfgs_func_evals"), k);
            const double iters = at(*ref.getArray("lbfgs_n_iter"), k);
            if (log.number(k, "evals") != evals || log.number(k, "iters") != iters) {
              ok = false;
              UNSCOPED_INFO("evals,iters " << log.number(k, "evals") << ","
                                           << log.number(k, "iters") << ", reference " << evals
                                           << "," << iters);
            }
          }
          CHECK(ok);
          if (!ok) ++mismatches;
        }
      }
    }
  }
}
