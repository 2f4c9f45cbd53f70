// A whole run of `nabla fit` after its options are read: the model, the data, standardization, the
// initial params, the loop, the outputs and the summary. The CLI (cli/cmd_fit.cpp) and the Python
// module (python/src/) both call fitProgram, so the two train the same way, bit for bit.
#include "runtime/fit/fit.h"

#include "support/output_file.h"
#include "support/text.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace nabla::fit {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// The names of the inputs to standardize: `requested`, or every input but the last declared.
std::vector<std::string> standardizedInputs(const std::vector<ArrayInfo> &inputs,
                                            const std::vector<std::string> &requested,
                                            const std::string &modelPath, const Job::Words &w) {
  std::vector<std::string> names;
  if (requested.empty()) {
    if (inputs.size() < 2)
      throw UsageError(w.standardize + " without names scales every input but the last "
                                       "declared (the target); name the inputs: " +
                       w.standardizeNamed + inputs[0].name);
    for (std::size_t k = 0; k + 1 < inputs.size(); ++k) names.push_back(inputs[k].name);
    return names;
  }
  std::vector<std::string> known;
  for (const ArrayInfo &in : inputs) known.push_back(in.name);
  for (const std::string &name : requested) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string close = closestName(name, known);
      throw UsageError(w.standardize + ": '" + name + "' is not an input of '" + modelPath + "'" +
                       (close.empty() ? "" : " (did you mean '" + close + "'?)"));
    }
    names.push_back(name);
  }
  return names;
}

/// `init` over `params`: each named param's elements replaced.
void applyInit(const Model &model, const std::map<std::string, std::vector<double>> &init,
               std::vector<double> &params) {
  std::vector<std::string> known;
  for (const ArrayInfo &p : model.params()) known.push_back(p.name);
  for (const auto &[name, values] : init) {
    auto it = std::find_if(model.params().begin(), model.params().end(),
                           [&](const ArrayInfo &p) { return p.name == name; });
    if (it == model.params().end()) {
      std::string close = closestName(name, known);
      throw UsageError("init: '" + name + "' is not a param of '" + model.path() + "'" +
                       (close.empty() ? "" : " (did you mean '" + close + "'?)"));
    }
    if (values.size() != it->size())
      throw UsageError("init: param '" + name + "' has " + std::to_string(it->size()) +
                       " elements, the value given " + std::to_string(values.size()));
    std::copy(values.begin(), values.end(), params.begin() + static_cast<std::ptrdiff_t>(it->offset));
  }
}

std::string summaryNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

} // namespace

JobResult fitProgram(driver::Program program, const std::string &modelPath, const Job &job) {
  const Job::Words &w = job.words;
  RunOptions run = job.run;
  run.settings.keepBest = job.keepBest.value_or(run.settings.earlyStop > 0);
  const Settings &s = run.settings;
  run.modelHash = data::fnv1a(program.source().text());
  // Data-parallel (Job::comm): every rank does the work before the loop, and they agree on its
  // failure at two points, before the first collective (standardization's) and after the last
  // file read, so that a rank that fails (a bad row, a file it cannot read) stops all of them
  // with its message. Rank 0 alone writes and warns.
  Communicator single;
  Communicator &comm = job.comm ? *job.comm : single;
  const bool parallel = comm.size() > 1;
  const bool writer = comm.rank() == 0;
  run.comm = &comm;
  if (!writer) {
    run.logPath.clear();
    run.logParams = false;
    run.checkpointPath.clear();
    run.interruptPath.clear();
    run.progress = nullptr;
    run.history = nullptr;
  }
  auto warn = [&](const std::string &message) {
    if (writer && job.warn) job.warn(message);
  };

  std::optional<Model> built;
  Dataset dataset, validation;
  double compileSeconds = 0, loadSeconds = 0;
  std::vector<ArrayInfo> inputs;
  bool hasInputs = false;
  agreeOn(comm, [&] {
    // What needs no model is checked first, so that a mistake costs no compile and no run.
    if (!job.plotPath.empty()) (void)plotFormat(job.plotPath);
    const bool wantsValidation = !job.valPath.empty() || job.valData || job.valSplit;
    if (!job.valPath.empty() && job.valSplit)
      throw UsageError("give " + w.val + " or " + w.valSplit + " F, not both");
    if (job.valSplit && !(*job.valSplit > 0 && *job.valSplit < 1))
      throw UsageError(w.valSplit + " is the fraction of the rows held out, between 0 and 1 (not " +
                       formatNumber(*job.valSplit) + ")");
    if ((s.earlyStop > 0 || s.keepBest) && !wantsValidation)
      throw UsageError(std::string(s.earlyStop > 0 ? w.earlyStop : w.keep) +
                       " watches the validation loss: give validation data with " + w.val + " or " +
                       w.valSplit + " F");

    const Clock::time_point compileStart = Clock::now();
    ModelOptions mo;
    mo.threads = s.threads;
    mo.hessian = needsHessian(s.optimizer);
    mo.hvp = needsHvp(s.optimizer);
    if (s.hessianForm == "dense") mo.hessianForm = driver::HessianForm::Dense;
    else if (s.hessianForm == "sparse") mo.hessianForm = driver::HessianForm::Sparse;
    else if (s.hessianForm != "auto")
      throw UsageError("unknown " + w.hessianForm + " '" + s.hessianForm +
                       "' (auto, dense or sparse)");
    mo.tier = job.tier;
    hasInputs = !program.lowered().inputs.empty();
    if (hasInputs && job.dataPath.empty() && !job.data)
      throw UsageError("'" + modelPath + "' has inputs: give their data with " + w.dataFile);
    built.emplace(std::move(program), modelPath, mo);
    const Model &model = *built;
    compileSeconds = secondsSince(compileStart);
    if (!hasInputs && (!job.dataPath.empty() || job.data))
      warn("'" + modelPath + "' has no inputs: " + w.data + " is not read");
    if (!hasInputs && wantsValidation)
      throw UsageError("'" + modelPath + "' has no inputs: validation (" + w.val + ", " +
                       w.valSplit + ") needs a model trained on data");

    inputs = model.inputs();
    const Clock::time_point loadStart = Clock::now();
    // Data-parallel: each rank reads only its rows of a CSV file where it can be cut at line ends
    // (loadShard); a validation split is chosen among all rows, so its file is read whole.
    const bool readShards = parallel && !job.data && !job.valSplit;
    std::optional<Dataset> shard;
    if (hasInputs && readShards)
      shard = loadShard(job.dataPath, model.program().lowered(), inputs, modelPath, job.read, comm);
    if (shard)
      dataset = std::move(*shard);
    else if (hasInputs)
      dataset = job.data ? job.data(model)
                         : loadDataset(job.dataPath, model.program().lowered(), inputs, modelPath,
                                       job.read);
    if (dataset.dropped)
      warn(job.dataPath + ": " + std::to_string(dataset.dropped) +
           (dataset.dropped == 1 ? " row" : " rows") +
           " with a missing value left out (--drop-na)");
    // The validation rows: a seeded part of the data, or data of their own. Data-parallel, they are
    // chosen among the rows of the whole file, before each rank keeps its shard of both parts.
    if (hasInputs && job.valSplit) {
      const std::size_t count =
          static_cast<std::size_t>(std::llround(*job.valSplit * static_cast<double>(dataset.rows)));
      if (count == 0 || count >= dataset.rows)
        throw UsageError(w.valSplit + " " + formatNumber(*job.valSplit) + " of " +
                         std::to_string(dataset.rows) + " rows leaves " +
                         (count == 0 ? "no validation rows" : "no training rows"));
      validation = splitRows(dataset, data::validationRows(dataset.rows, count, s.seed));
      run.settings.validation = "split " + formatNumber(*job.valSplit);
    } else if (hasInputs && wantsValidation) {
      std::optional<Dataset> valShard;
      if (parallel && !job.valData)
        valShard =
            loadShard(job.valPath, model.program().lowered(), inputs, modelPath, job.read, comm);
      if (valShard)
        validation = std::move(*valShard);
      else
        validation = job.valData ? job.valData(model)
                                 : loadDataset(job.valPath, model.program().lowered(), inputs,
                                               modelPath, job.read);
      if (validation.dropped)
        warn(job.valPath + ": " + std::to_string(validation.dropped) +
             (validation.dropped == 1 ? " row" : " rows") +
             " with a missing value left out (--drop-na)");
      char hash[20];
      std::snprintf(hash, sizeof hash, "%016llx",
                    static_cast<unsigned long long>(validation.checksum));
      run.settings.validation =
          "file, " + std::to_string(validation.allRows()) + " rows, checksum " + hash;
    }
    if (parallel && hasInputs) {
      if (!dataset.shardOf) keepShard(dataset, comm.rank(), comm.size());
      if (validation.rows > 0 && !validation.shardOf)
        keepShard(validation, comm.rank(), comm.size());
    }
    loadSeconds = secondsSince(loadStart);

    if (job.standardize) {
      if (!hasInputs) throw UsageError(w.standardize + " needs a model with inputs");
      run.settings.standardize = standardizedInputs(inputs, *job.standardize, modelPath, w);
    }
  });
  const Model &model = *built;

  agreeOn(comm, [&] {
    if (job.standardize) {
      // The statistics of the training rows (of all ranks), applied to the validation rows as to
      // new data.
      standardize(dataset, inputs, run.settings.standardize, &comm);
      if (validation.allRows() > 0) applyScaling(validation, inputs, dataset.scaling);
    }
    if (validation.allRows() > 0) run.validation = &validation;

    run.init = model.initialParams(s.seed);
    if (!job.initPath.empty())
      run.init = readParamsFile(job.initPath, model.params(), model.inputs(), run.init).params;
    applyInit(model, job.init, run.init);
  });

  if (job.beforeRun) job.beforeRun();
  RunResult result = fit::run(model, dataset, run);

  if (writer && !job.outputPath.empty())
    writeFileAtomically(job.outputPath,
                        paramsJson(model, hasInputs ? &dataset : nullptr, run.settings, result));
  if (writer && !job.plotPath.empty())
    writePlot(job.plotPath,
              lossPlotSvg(result.losses, hasInputs ? &result.epochHistory : nullptr,
                          result.stepsPerEpoch, "loss of " + modelPath + " (" + s.optimizer + ")"));
  return JobResult{std::move(*built), std::move(dataset), std::move(validation),
                   std::move(result),  run.settings,       compileSeconds, loadSeconds};
}

std::string summaryText(const JobResult &job, const Job::Words &words) {
  const Settings &settings = job.settings;
  const RunResult &result = job.result;
  const bool hasInputs = job.model.inputCount() > 0;
  std::string how = "finished";
  switch (result.stop) {
  case StopReason::Finished: break;
  case StopReason::Tolerance: how = "stopped: gradient norm within " + words.tol; break;
  case StopReason::Interrupted: how = "interrupted"; break;
  case StopReason::NoProgress: how = "stopped: no progress"; break;
  case StopReason::Diverged: how = "diverged"; break;
  case StopReason::EarlyStop:
    how = "stopped early: no better validation loss in " + std::to_string(settings.earlyStop) +
          (settings.earlyStop == 1 ? " epoch" : " epochs");
    break;
  }
  std::string out = settings.optimizer + ": " + std::to_string(result.steps) +
                    (result.steps == 1 ? " step" : " steps");
  if (hasInputs)
    out += ", " + std::to_string(result.epochs) + (result.epochs == 1 ? " epoch" : " epochs");
  out += " (" + how + ")\n";
  // How a sparse Hessian was made, for the methods that take one.
  if (const std::shared_ptr<const optim::SparsePattern> &p = job.model.sparsePattern();
      p && needsHessian(settings.optimizer) &&
      job.model.hessianForm() == driver::HessianForm::Sparse) {
    const std::size_t products = job.model.sparseHessianProducts();
    out += "Hessian: sparse, " + std::to_string(p->nonzeros()) + " nonzeros, " +
           (products ? "by " + std::to_string(products) + " Hessian-vector products each"
                     : std::string("symbolic entries")) +
           "\n";
  }
  auto line = [&](const std::string &prefix, double loss, const std::vector<double> &reports,
                  std::size_t rows, std::size_t dropped) {
    out += prefix + "loss " + summaryNumber(loss);
    if (hasInputs)
      out += " (mean over " + std::to_string(rows) + " rows" +
             (dropped ? "; " + std::to_string(dropped) + " with a missing value left out" : "") +
             ")";
    for (std::size_t k = 0; k < reports.size(); ++k)
      out += ", " + job.model.reportNames()[k] + " " + summaryNumber(reports[k]);
    out += "\n";
  };
  line("", result.loss, result.reports, job.data.allRows(), job.data.dropped);
  if (result.validation) {
    const RunResult::Validation &v = *result.validation;
    line("validation: ", v.loss, v.reports, v.rows, job.validation.dropped);
    const std::string epoch = std::to_string(result.epochHistory.bestEpoch);
    if (result.epochHistory.bestEpoch > 0 && settings.keepBest)
      out += "kept the params of epoch " + epoch + ", the best on the validation rows\n";
    else if (result.epochHistory.bestEpoch > 0)
      out += "the best validation loss, " + summaryNumber(result.epochHistory.bestLoss) +
             ", was at epoch " + epoch + "; kept the last params\n";
  }
  if (result.averagedLoss)
    line("averaged: ", *result.averagedLoss, result.averagedReports, job.data.allRows(), 0);
  // Without inputs, the params are the answer: they are shown (a few elements of each).
  if (!hasInputs) {
    constexpr std::size_t kShown = 10;
    for (const ArrayInfo &p : job.model.params()) {
      const std::size_t size = p.size();
      out += p.name + " = ";
      if (p.shape.isScalar()) {
        out += summaryNumber(result.params[p.offset]) + "\n";
        continue;
      }
      out += "[";
      for (std::size_t k = 0; k < std::min(size, kShown); ++k)
        out += (k ? ", " : "") + summaryNumber(result.params[p.offset + k]);
      out += size > kShown ? ", ... (" + std::to_string(size) + " elements)]\n" : "]\n";
    }
  }
  return out;
}

} // namespace nabla::fit
