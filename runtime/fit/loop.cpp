// The training loop: batches, optimizer steps, the log, progress, checkpoints and resuming.
#include "runtime/fit/fit.h"

#include "support/output_file.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nabla::fit {

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Thrown out of the optimizer's closure at the first non-finite loss or gradient entry.
struct NonFiniteStop {};

/// A data-parallel run's evaluations: each rank's means over its rows times its row count, with
/// the row count last, summed over the ranks in rank order in one reduction, and divided by the
/// total. A rank whose share of the rows is empty contributes zeros; a rank whose evaluation
/// failed contributes a NaN row count, so that every rank learns of it from the same reduction
/// and they agree on the failure (RankError) instead of waiting for each other.
class Reducer {
public:
  Reducer(const Model &model, Communicator &comm) : model_(model), comm_(comm) {}

  /// The objective's mean over all ranks' rows (`rows` being this rank's part), its mean gradient
  /// into `grad`, and with a non-empty `reports` the reports' means (in the same reduction).
  double evaluate(std::span<const double> x, const Model::Rows &rows, std::span<double> grad,
                  std::span<double> reports) {
    const std::size_t n = grad.size(), k = reports.size();
    buffer_.assign(n + k + 2, 0.0);
    std::exception_ptr error;
    if (rows.count > 0) {
      try {
        const double w = static_cast<double>(rows.count);
        buffer_[0] = model_.evaluate(x, rows, grad) * w;
        for (std::size_t i = 0; i < n; ++i) buffer_[1 + i] = grad[i] * w;
        if (k) {
          model_.reports(x, rows, reports);
          for (std::size_t j = 0; j < k; ++j) buffer_[1 + n + j] = reports[j] * w;
        }
        buffer_[n + k + 1] = w;
      } catch (...) {
        error = std::current_exception();
        buffer_[n + k + 1] = NAN;
      }
    }
    comm_.sum(buffer_);
    const double total = buffer_[n + k + 1];
    if (std::isnan(total)) agree(comm_, error);
    for (std::size_t i = 0; i < n; ++i) grad[i] = buffer_[1 + i] / total;
    for (std::size_t j = 0; j < k; ++j) reports[j] = buffer_[1 + n + j] / total;
    return buffer_[0] / total;
  }

  /// The objective's mean Hessian over all ranks' rows (this rank's: `rows` of `columns`).
  void hessian(std::span<const double> x, std::size_t rows, std::span<const double *const> columns,
               std::span<double> hess) {
    mean(rows, hess, [&](std::span<double> out) { model_.hessian(x, rows, columns, out); });
  }

  /// The mean over all ranks' rows of what `compute` writes to `out` as this rank's mean over its
  /// `rows` (none: it is not called): a mean Hessian, its nonzeros, H v.
  template <class Compute>
  void mean(std::size_t rows, std::span<double> out, Compute &&compute) {
    const std::size_t n = out.size();
    buffer_.assign(n + 1, 0.0);
    std::exception_ptr error;
    if (rows > 0) {
      try {
        const double w = static_cast<double>(rows);
        compute(out);
        for (std::size_t i = 0; i < n; ++i) buffer_[i] = out[i] * w;
        buffer_[n] = w;
      } catch (...) {
        error = std::current_exception();
        buffer_[n] = NAN;
      }
    }
    comm_.sum(buffer_);
    if (std::isnan(buffer_[n])) agree(comm_, error);
    for (std::size_t i = 0; i < n; ++i) out[i] = buffer_[i] / buffer_[n];
  }

private:
  const Model &model_;
  Communicator &comm_;
  std::vector<double> buffer_;
};

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

std::string rate(double rowsPerSecond) {
  char buf[32];
  if (rowsPerSecond >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1fM", rowsPerSecond / 1e6);
  else if (rowsPerSecond >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", rowsPerSecond / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", rowsPerSecond);
  return buf;
}

std::string short5(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", v);
  return buf;
}

/// The progress bar on a terminal (redrawn at most ten times a second), or one line per epoch
/// (for a program without inputs, where every step is an epoch, about twenty lines per run).
class Progress {
public:
  Progress(std::ostream *os, bool terminal, std::size_t total, std::size_t perEpoch,
           std::size_t startStep, const std::vector<std::string> &reportNames)
      : os_(os), terminal_(terminal), total_(total), perEpoch_(perEpoch), startStep_(startStep),
        reportNames_(reportNames), sums_(reportNames.size(), 0.0), start_(Clock::now()) {}

  /// `rows` 0: a program without inputs (no epochs to show, steps per second). `validation`: the
  /// validation figures of the epoch this step ended, shown from then on (empty: none new).
  void step(std::size_t done, double loss, std::span<const double> reports, std::size_t rows,
            const std::string &validation = {}) {
    if (!os_) return;
    const double weight = rows ? static_cast<double>(rows) : 1.0;
    rowsDone_ += rows;
    epochRows_ += weight;
    lossSum_ += loss * weight;
    for (std::size_t k = 0; k < reports.size(); ++k) sums_[k] += reports[k] * weight;
    const bool epochEnd = done % perEpoch_ == 0;
    const std::size_t epoch = (done - 1) / perEpoch_ + 1,
                      epochs = (total_ + perEpoch_ - 1) / perEpoch_;
    const Clock::time_point now = Clock::now();
    const double elapsed = seconds(start_, now);
    const double perStep = elapsed / static_cast<double>(done - startStep_);
    std::string line =
        rows ? "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs) + "  " : "";
    line += "step " + std::to_string(done) + "/" + std::to_string(total_) + "  loss " +
            short5(lossSum_ / epochRows_);
    for (std::size_t k = 0; k < sums_.size(); ++k)
      line += "  " + reportNames_[k] + " " + short5(sums_[k] / epochRows_);
    if (!validation.empty()) validation_ = validation;
    if (!validation_.empty()) line += "  " + validation_;
    if (rows)
      line += "  " + rate(elapsed > 0 ? static_cast<double>(rowsDone_) / elapsed : 0) + " rows/s";
    else
      line += "  " + rate(elapsed > 0 ? static_cast<double>(done - startStep_) / elapsed : 0) +
              " steps/s";
    if (terminal_) {
      if (seconds(lastDraw_, now) >= 0.1 || done == total_) {
        lastDraw_ = now;
        line += "  ETA " + duration(perStep * static_cast<double>(total_ - done));
        *os_ << "\r" << line << "\x1b[K" << std::flush;
        drawn_ = true;
      }
    } else {
      const bool print =
          (perEpoch_ > 1 ? epochEnd : done % std::max<std::size_t>(1, total_ / 20) == 0) ||
          done == total_;
      if (print) *os_ << line << "\n" << std::flush;
    }
    if (epochEnd) {
      epochRows_ = 0;
      lossSum_ = 0;
      std::fill(sums_.begin(), sums_.end(), 0.0);
    }
  }
  /// Ends the bar's line, so that later messages start on their own.
  void finish() {
    if (os_ && terminal_ && drawn_) *os_ << "\n" << std::flush;
    drawn_ = false;
  }

private:
  std::ostream *os_;
  bool terminal_;
  std::size_t total_, perEpoch_, startStep_;
  const std::vector<std::string> &reportNames_;
  std::vector<double> sums_;
  double lossSum_ = 0, epochRows_ = 0;
  std::size_t rowsDone_ = 0;
  std::string validation_; // of the last epoch that had them
  Clock::time_point start_, lastDraw_{};
  bool drawn_ = false;
};

/// The CSV log: a row per step. A new log is a new file from the start: the header goes to a
/// temporary file that replaces the old log whole (support/output_file.h), and the rows are
/// appended to it as the steps go, buffered, written out before each checkpoint (so that the
/// checkpoint's byte count is the file's length, synced with it) and at the end. A resumed log is
/// the old one's first `keepBytes` copied into a new file the same way, then continued.
class Log {
public:
  ~Log() {
    try {
      flush();
    } catch (const FileError &) {
    }
  }
  void open(const std::string &path, const std::string &header, std::uint64_t keepBytes,
            bool append) {
    path_ = path;
    file_ = std::make_unique<AtomicOutput>(path);
    if (append) {
      const std::string why = copyPrefix(path, keepBytes, *file_);
      if (!why.empty()) {
        file_.reset();
        throw FitError("cannot resume the log '" + path + "': " + why);
      }
      bytes_ = keepBytes;
    } else {
      file_->write(header);
      bytes_ = header.size();
    }
    file_->commit();
  }
  bool isOpen() const { return file_ != nullptr; }
  void write(const std::string &line) {
    if (!file_) return;
    buffer_ += line;
    bytes_ += line.size();
    if (buffer_.size() >= kBuffer) flush();
  }
  void flush() {
    if (!file_ || buffer_.empty()) return;
    std::string out;
    out.swap(buffer_);
    file_->write(out);
  }
  /// Written out and synced: what a checkpoint counts on.
  void sync() {
    flush();
    if (file_) file_->sync();
  }
  std::uint64_t bytes() const { return bytes_; }

private:
  static constexpr std::size_t kBuffer = 8192; // as stdio's: rows show soon in `tail -f`

  /// The first `keep` bytes of the log at `path` into `out`; why not, or empty.
  static std::string copyPrefix(const std::string &path, std::uint64_t keep, AtomicOutput &out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return errno == ENOENT ? "it does not exist" : std::strerror(errno);
    struct stat st {};
    std::string why;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
      why = "it is not a regular file";
    else if (static_cast<std::uint64_t>(st.st_size) < keep)
      why = "it is shorter than at the checkpoint (" + std::to_string(keep) + " bytes)";
    std::vector<char> chunk(1 << 20);
    while (why.empty() && keep > 0) {
      const ssize_t n = ::read(fd, chunk.data(), std::min<std::uint64_t>(keep, chunk.size()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        why = n < 0 ? std::strerror(errno) : "it is shorter than at the checkpoint";
        break;
      }
      out.write(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
      keep -= static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    return why;
  }

  std::string path_;
  std::unique_ptr<AtomicOutput> file_;
  std::string buffer_;
  std::uint64_t bytes_ = 0;
};

void check(const std::map<std::string, std::string> &mine,
           const std::map<std::string, std::string> &theirs, const std::string &path) {
  std::string differences;
  std::map<std::string, std::string> all = mine;
  all.insert(theirs.begin(), theirs.end());
  for (const auto &[key, unused] : all) {
    auto a = mine.find(key), b = theirs.find(key);
    std::string now = a == mine.end() ? "not given" : a->second;
    std::string then = b == theirs.end() ? "not given" : b->second;
    if (now != then)
      differences += "\n  " + settingFlag(key) + ": " + then + " in the checkpoint, " + now + " now";
  }
  if (!differences.empty())
    throw FitError("cannot resume from '" + path +
                   "': it was made with other settings (a resumed run takes the same options as "
                   "the run that wrote it):" +
                   differences);
}

} // namespace

std::optional<std::string> hyperText(const optim::Hyper &hyper, const optim::HyperInfo &info) {
  struct Text {
    std::string operator()(double v) const { return formatNumber(v); }
    std::string operator()(int v) const { return std::to_string(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::array<double, 2> &v) const {
      return formatNumber(v[0]) + "," + formatNumber(v[1]);
    }
    std::string operator()(const std::string &v) const { return v; }
  };
  return std::visit(
      [&](auto field) -> std::optional<std::string> {
        const auto &value = hyper.*field;
        if (!value) return std::nullopt;
        return Text()(*value);
      },
      info.field);
}

std::string settingFlag(std::string_view key) {
  std::string flag = "--" + std::string(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::map<std::string, std::string> describeSettings(const Settings &s) {
  std::map<std::string, std::string> out;
  out["optimizer"] = s.optimizer;
  for (const optim::HyperInfo &info : optim::hyperparameters())
    if (std::optional<std::string> text = hyperText(s.hyper, info))
      out[std::string(info.name)] = *text;
  out["schedule"] = s.schedule;
  out["batch"] = std::to_string(s.batch);
  out["in_order"] = s.shuffle ? "false" : "true";
  out["seed"] = std::to_string(s.seed);
  out["average"] = s.average ? "true" : "false";
  out["threads"] = std::to_string(s.threads);
  std::string names;
  for (const std::string &n : s.standardize) names += (names.empty() ? "" : ",") + n;
  out["standardize"] = names.empty() ? "none" : names;
  if (!s.validation.empty()) {
    out["val"] = s.validation;
    out["early_stop"] = std::to_string(s.earlyStop);
    out["keep"] = s.keepBest ? "best" : "last";
  }
  // Absent by default, so that checkpoints from before the choice existed stay comparable.
  if (needsHessian(s.optimizer) && s.hessianForm != "auto") out["hessian_form"] = s.hessianForm;
  return out;
}

RunResult run(const Model &model, const Dataset &data, const RunOptions &o) {
  const Settings &s = o.settings;
  const std::size_t n = model.paramCount();
  const bool hasInputs = model.inputCount() > 0;
  // Data-parallel: `data` is this rank's shard of data.allRows() rows, and every evaluation goes
  // through the Reducer. One process takes the paths it always took, bit for bit.
  Communicator single;
  Communicator &comm = o.comm ? *o.comm : single;
  const bool parallel = comm.size() > 1;
  Reducer reducer(model, comm);
  const std::size_t allRows = data.allRows();

  data::BatchPlan plan;
  plan.rows = hasInputs ? allRows : 1;
  plan.size = hasInputs ? std::min(std::max<std::size_t>(s.batch, 1), allRows) : 1;
  plan.shuffle = s.shuffle && hasInputs;
  plan.seed = s.seed;
  const std::size_t perEpoch = plan.perEpoch();
  std::size_t total = 0;
  if (o.steps)
    total = *o.steps;
  else if (o.epochs)
    total = *o.epochs * perEpoch;
  else
    total = hasInputs ? 10 * perEpoch : 100;
  plan.epochs = perEpoch == 0 ? 0 : (total + perEpoch - 1) / perEpoch;

  std::unique_ptr<optim::Optimizer> opt;
  optim::Schedule schedule;
  try {
    // --tol stops the run on the gradient's 2-norm. An optimizer that ends its own iterations
    // once max |g| is within tolerance_grad, or once the loss changes less than
    // tolerance_change, would otherwise stop short of it (newton's default tolerance_grad,
    // 1e-7, against --tol 1e-8; lbfgs-mt's test on f at a loss near 0), and the run would end
    // on no progress. Unless given, tolerance_grad is at most tol / sqrt(n), where max |g| makes
    // |g|_2 <= tol, and tolerance_change is 0: a step that changes nothing still ends it.
    optim::Hyper hyper = s.hyper;
    if (o.tol) {
      const optim::Hyper own = optim::defaults(s.optimizer);
      if (!hyper.tolerance_grad && own.tolerance_grad && n > 0)
        hyper.tolerance_grad =
            std::min(*own.tolerance_grad, *o.tol / std::sqrt(static_cast<double>(n)));
      if (!hyper.tolerance_change && own.tolerance_change) hyper.tolerance_change = 0.0;
    }
    opt = optim::make(s.optimizer, n, hyper);
    schedule = optim::parse_schedule(s.schedule);
  } catch (const nabla::Error &e) {
    throw FitError(e.what());
  }
  if (schedule.kind == optim::Schedule::Kind::Cosine && schedule.total == 0) schedule.total = total;
  if (needsHessian(s.optimizer) && !model.hasHessian())
    throw FitError(s.optimizer + " needs the objective's Hessian (compile the model with it)");
  if (needsHvp(s.optimizer) && !model.hasHvp())
    throw FitError(s.optimizer + " needs the objective's Hessian-vector products (compile the "
                                 "model with them)");
  const double baseLr = opt->lr();
  // The methods with inner iterations log their evaluations and iterations per step.
  const bool lbfgs = s.optimizer == "lbfgs" || s.optimizer == "lbfgs-mt" ||
                     s.optimizer == "newton" || s.optimizer == "newton-cg";
  // The first-order optimizers evaluate once per step and compute the gradient's norm themselves
  // (GradientOptimizer::step, the same sum in the same order): the loop takes it from them
  // instead of a second pass over the gradient.
  const bool oneEvaluation = !lbfgs && s.optimizer != "newton";
  const bool triesBeyondFinite = s.optimizer == "lbfgs-mt" || s.optimizer == "newton-cg";
  std::map<std::string, std::string> settings = describeSettings(s);
  settings["jit"] = model.arrays() ? "array" : model.optimized() ? "optimized" : "baseline";

  const Dataset *val = hasInputs ? o.validation : nullptr;
  if (!val && (s.earlyStop > 0 || s.keepBest))
    throw FitError("early stopping and keeping the best params need validation data");

  // The log's columns.
  std::string header = "step,epoch,loss,grad_norm,lr";
  for (const std::string &r : model.reportNames()) header += "," + r;
  // The validation figures: in the row of the last step of each epoch, empty in the others.
  if (val) {
    header += ",val_loss";
    for (const std::string &r : model.reportNames()) header += ",val_" + r;
  }
  if (lbfgs) header += ",evals,iters";
  if (o.logParams)
    for (const ArrayInfo &p : model.params())
      for (const std::string &e : p.elements) header += "," + e;
  header += "\n";

  RunResult result;
  std::vector<double> params = o.init;
  if (params.size() != n) throw FitError("the initial params have the wrong size");
  optim::Average average(n);
  std::size_t step = 0, evaluations = 0, iterations = 0;
  LossHistory &losses = result.losses;
  EpochHistory &epochs = result.epochHistory;
  Log log;

  // Every rank reads the checkpoint (the state is the same on all of them); rank 0 alone opens the
  // log. They agree on a failure of either before the first collective.
  agreeOn(comm, [&] {
    if (!o.resumePath.empty()) {
      Checkpoint c = readCheckpoint(o.resumePath);
      if (c.modelHash != o.modelHash)
        throw FitError("cannot resume from '" + o.resumePath +
                       "': it was made for another model ('" + c.modelPath +
                       "', or that file has changed since)");
      // The settings first: a different validation split also makes the training rows differ.
      check(settings, c.settings, o.resumePath);
      const std::uint64_t dataHash = hasInputs ? data.checksum : 0;
      if (c.dataHash != dataHash || c.rows != (hasInputs ? allRows : 0))
        throw FitError("cannot resume from '" + o.resumePath + "': it was made on other data ('" +
                       c.dataPath + "', " + std::to_string(c.rows) + " rows)");
      if (c.params.size() != n || c.averageSum.size() != n)
        throw FitError("cannot resume from '" + o.resumePath + "': it has " +
                       std::to_string(c.params.size()) + " params, the model " + std::to_string(n));
      if (c.step > total)
        throw FitError("cannot resume from '" + o.resumePath + "': it is at step " +
                       std::to_string(c.step) + ", beyond the " + std::to_string(total) +
                       " steps of this run");
      try {
        opt->set_state(c.state);
      } catch (const nabla::Error &e) {
        throw FitError("cannot resume from '" + o.resumePath + "': " + e.what());
      }
      params = c.params;
      average.restore(c.averageSum, c.averageWeight);
      step = c.step;
      evaluations = c.evaluations;
      iterations = c.iterations;
      losses = c.losses;
      epochs = c.epochs;
      if (s.keepBest && epochs.bestEpoch > 0 && epochs.bestParams.size() != n)
        throw FitError("cannot resume from '" + o.resumePath + "': its best params have " +
                       std::to_string(epochs.bestParams.size()) + " elements, the model " +
                       std::to_string(n));
      if (!o.logPath.empty()) {
        const bool append = c.logPath == o.logPath && c.logHeader == header;
        if (c.logPath == o.logPath && c.logHeader != header)
          throw FitError("cannot resume the log '" + o.logPath +
                         "': its columns differ from this run's (--log-params, or the model)");
        log.open(o.logPath, header, c.logBytes, append);
      }
    } else if (!o.logPath.empty()) {
      log.open(o.logPath, header, 0, false);
    }
  });

  // Columns of all rows (the final evaluation) and of the current batch.
  std::vector<const double *> allColumns;
  for (const auto &c : data.columns) allColumns.push_back(c.data());
  data::BatchColumns batch(data.columns);
  if (data.shardOf) batch.setShard(data.shardFirst, data.rows);
  std::vector<const double *> valColumns;
  if (val)
    for (const auto &c : val->columns) valColumns.push_back(c.data());
  Model::Rows valRows;
  valRows.count = val ? val->rows : 0;
  valRows.columns = valColumns;
  std::vector<double> valReports(model.reportNames().size()), valGrad(val ? n : 0);

  std::vector<double> reports(model.reportNames().size());
  std::vector<double> lastX(n);
  optim::StopRule::Options stopOptions;
  stopOptions.patience = o.patience;
  optim::StopRule stopRule(stopOptions);
  if (losses.count() > 0 && !losses.samples().empty()) {
    // Resumed: the first loss (the history's first sample is step 1's) and the last so far.
    const double first = losses.samples().front();
    stopRule.resume(model.maximize() ? -first : first,
                    model.maximize() ? -losses.last() : losses.last());
  }
  std::vector<double> before(n);
  Progress progress(o.progress, o.terminal, total, perEpoch, step, model.reportNames());
  Clock::time_point lastCheckpoint = Clock::now();

  auto writeCheckpoint = [&](const std::string &path) {
    if (path.empty()) return;
    log.sync();
    Checkpoint c;
    c.modelPath = model.path();
    c.modelHash = o.modelHash;
    c.dataPath = hasInputs ? data.path : "";
    c.rows = hasInputs ? allRows : 0;
    c.dataHash = hasInputs ? data.checksum : 0;
    c.settings = settings;
    c.step = step;
    c.params = params;
    c.optimizer = s.optimizer;
    c.state = opt->state();
    c.averageSum = average.sum();
    c.averageWeight = average.weight();
    c.evaluations = evaluations;
    c.iterations = iterations;
    c.logPath = log.isOpen() ? o.logPath : "";
    c.logHeader = log.isOpen() ? header : "";
    c.logBytes = log.bytes();
    c.losses = losses;
    c.epochs = epochs;
    writeFileAtomically(path, checkpointText(c));
    result.checkpointWritten = path;
    lastCheckpoint = Clock::now();
  };

  if (hasInputs && step < total) batch.prepare(plan, step / perEpoch);
  RunResult::Timing &timing = result.timing;
  // Data-parallel: a failure of rank-local work (rank 0's log, progress and checkpoints) is kept
  // here and agreed on at the start of the next step, or after the loop, so that every rank
  // stops at the same point. One process throws it at once.
  std::exception_ptr pending;
  auto local = [&](auto &&work) {
    if (!parallel) return work();
    try {
      work();
    } catch (...) {
      if (!pending) pending = std::current_exception();
    }
  };
  const Clock::time_point loopStart = Clock::now();
  while (step < total) {
    bool interrupted = o.interrupted && *o.interrupted;
    if (parallel) {
      // Ctrl-C reaches the ranks at different moments: they stop at the same step when any has
      // seen it.
      const std::int64_t status = comm.max((interrupted ? 1 : 0) | (pending ? 2 : 0));
      if (status & 2) agree(comm, pending);
      interrupted = status & 1;
    }
    if (interrupted) {
      result.stop = StopReason::Interrupted;
      break;
    }
    const std::size_t epoch = step / perEpoch, b = step % perEpoch;
    Model::Rows batchRows;
    batchRows.count = 1;
    if (hasInputs) {
      const Clock::time_point t0 = Clock::now();
      batch.select(plan, epoch, b);
      batchRows.count = batch.rows();
      // Shuffled rows are gathered by the compiled kernel where they lie; in file order the
      // batch is a view into the columns.
      batchRows.picked = batch.picked();
      if (!batchRows.picked) batchRows.columns = batch.pointers();
      timing.batching += seconds(t0, Clock::now());
      timing.rows += batchRows.count;
    }
    const std::size_t rows = batchRows.count;
    // The batch's rows on all ranks: those the figures of the step are means over.
    const std::size_t batchRowsAll = hasInputs ? plan.end(b) - plan.begin(b) : 1;
    if (parallel) {
      timing.rows += batchRowsAll - batchRows.count;
      // A program without inputs is evaluated by rank 0 alone (the sum over ranks is its value).
      if (!hasInputs) batchRows.count = comm.rank() == 0 ? 1 : 0;
    }
    // The batch as columns, for what has no gathering kernel (the Hessian, the diagnosis of a
    // non-finite value): copied when first asked for.
    auto columns = [&]() -> std::span<const double *const> {
      if (!hasInputs) return {};
      const Clock::time_point t0 = Clock::now();
      std::span<const double *const> out = batch.pointers();
      timing.batching += seconds(t0, Clock::now());
      return out;
    };
    const double lr = schedule.rate(baseLr, step, epoch);
    opt->set_lr(lr);
    // Data-parallel: the reports join the first evaluation's reduction.
    if (!reports.empty() && !parallel) {
      const Clock::time_point t0 = Clock::now();
      model.reports(params, batchRows, reports);
      timing.kernel += seconds(t0, Clock::now());
    }

    std::size_t calls = 0;
    double firstLoss = 0, firstNorm = 0;
    auto closure = [&](std::span<const double> x, std::span<double> g) {
      const Clock::time_point t0 = Clock::now();
      const double v =
          parallel ? reducer.evaluate(x, batchRows, g,
                                      calls == 0 ? std::span<double>(reports) : std::span<double>())
                   : model.evaluate(x, batchRows, g);
      timing.kernel += seconds(t0, Clock::now());
      // Finite when no element has the exponent of an infinity or a NaN: integer work that the
      // compiler vectorizes (a sum of squares added in order does not).
      constexpr std::uint64_t kExponent = 0x7ff0000000000000ull;
      std::uint64_t nonFinite = 0;
      for (double gi : g) nonFinite |= (std::bit_cast<std::uint64_t>(gi) & kExponent) == kExponent;
      const bool finite = std::isfinite(v) && !nonFinite;
      if (calls++ == 0) {
        firstLoss = v;
        if (!oneEvaluation) {
          double squares = 0;
          for (double gi : g) squares += gi * gi;
          firstNorm = std::sqrt(squares);
        }
      }
      // lbfgs-mt's line search and newton-cg's trust region step back from a trial point where
      // the function is not finite (an exp that overflows far from the start): only the step's
      // first evaluation must be finite for them.
      if (!finite && !(calls > 1 && triesBeyondFinite)) {
        std::copy(x.begin(), x.end(), lastX.begin());
        throw NonFiniteStop{};
      }
      if (model.maximize()) {
        for (double &gi : g) gi = -gi;
        return -v;
      }
      return v;
    };
    auto hessian = [&](std::span<const double> x, std::span<double> h) {
      const Clock::time_point t0 = Clock::now();
      if (parallel)
        reducer.hessian(x, batchRows.count,
                        batchRows.count ? columns() : std::span<const double *const>(), h);
      else
        model.hessian(x, rows, columns(), h);
      timing.kernel += seconds(t0, Clock::now());
      if (model.maximize())
        for (double &hi : h) hi = -hi;
    };
    // The second-order methods' curvature, as the model has it: newton's dense or sparse
    // Hessian, newton-cg's Hessian-vector products.
    optim::Curvature curvature;
    if (needsHessian(s.optimizer)) {
      if (model.hessianForm() == driver::HessianForm::Sparse) {
        curvature.pattern = model.sparsePattern();
        curvature.sparse = [&](std::span<const double> x, std::span<double> values) {
          const Clock::time_point t0 = Clock::now();
          if (parallel)
            reducer.mean(batchRows.count, values, [&](std::span<double> out) {
              model.sparseHessian(x, batchRows.count, columns(), out);
            });
          else
            model.sparseHessian(x, rows, columns(), values);
          timing.kernel += seconds(t0, Clock::now());
          if (model.maximize())
            for (double &hi : values) hi = -hi;
        };
      } else {
        curvature.dense = hessian;
      }
    }
    if (needsHvp(s.optimizer))
      curvature.hvp = [&](std::span<const double> x, std::span<const double> v,
                          std::span<double> out) {
        const Clock::time_point t0 = Clock::now();
        if (parallel)
          reducer.mean(batchRows.count, out, [&](std::span<double> o) {
            model.hvp(x, v, batchRows.count, columns(), o);
          });
        else
          model.hvp(x, v, rows, columns(), out);
        timing.kernel += seconds(t0, Clock::now());
        if (model.maximize())
          for (double &hi : out) hi = -hi;
      };
    std::copy(params.begin(), params.end(), before.begin());
    double minimized = 0; // the loss as the optimizer minimizes it
    try {
      if (needsHessian(s.optimizer) || needsHvp(s.optimizer))
        minimized = opt->step(params, closure, curvature);
      else
        minimized = opt->step(params, closure);
    } catch (const NonFiniteStop &) {
      // Every rank gets here at the same evaluation (its values were reduced): each explains the
      // value on its own rows, and the lowest rank with an explanation gives the message.
      local([&] { log.flush(); });
      progress.finish();
      std::string message = "step " + std::to_string(step + 1) + " (epoch " +
                            std::to_string(epoch + 1) + "): the loss or its gradient is not finite";
      if (calls > 1) message += " at evaluation " + std::to_string(calls) + " of the step";
      std::string explained;
      try {
        if (batchRows.count > 0)
          if (std::optional<Model::NonFinite> why =
                  model.explainNonFinite(lastX, batchRows.count, columns())) {
            explained = "step " + std::to_string(step + 1) + " (epoch " +
                        std::to_string(epoch + 1) + "): " + why->what;
            if (hasInputs)
              explained += "\n  at row " +
                           std::to_string(data.fileRow(batch.planRow(why->row)) + 1) + " of '" +
                           data.path + "'";
          }
      } catch (...) {
        if (!parallel) throw;
      }
      if (!parallel) throw FitError(explained.empty() ? message : explained);
      if (std::optional<Communicator::RankMessage> first = comm.first(explained))
        throw RankError(first->rank, comm.size(), first->message);
      throw RankError(0, comm.size(), message);
    } catch (const nabla::Error &e) {
      FitError error("step " + std::to_string(step + 1) + ": " + e.what());
      if (!parallel) throw error;
      // The same on every rank (the optimizer saw the same values): agreed on as rank 0's.
      agree(comm, std::make_exception_ptr(error));
    }
    if (oneEvaluation) firstNorm = opt->last().grad_norm;
    ++step;
    evaluations += calls;
    // Cumulative, like torch's state['n_iter']: the count is part of the optimizer's state, so a
    // resumed run continues it.
    if (lbfgs) iterations = opt->last().iterations;
    if (s.average) average.add(lr, params);
    losses.add(firstLoss);

    // The end of an epoch: its mean batch loss, and the validation figures at its last params.
    const bool epochEnd = step % perEpoch == 0;
    std::string validationText;
    double valLoss = 0;
    if (hasInputs) {
      epochs.sum += firstLoss * static_cast<double>(batchRowsAll);
      epochs.weight += static_cast<double>(batchRowsAll);
      if (epochEnd) {
        epochs.train.add(epochs.sum / epochs.weight);
        epochs.sum = epochs.weight = 0;
      }
    }
    if (val && epochEnd) {
      const Clock::time_point t0 = Clock::now();
      if (parallel) {
        valLoss = reducer.evaluate(params, valRows, valGrad, valReports);
      } else {
        valLoss = model.evaluate(params, valRows, valGrad);
        if (!valReports.empty()) model.reports(params, valRows, valReports);
      }
      timing.kernel += seconds(t0, Clock::now());
      epochs.val.add(valLoss);
      const bool better =
          std::isfinite(valLoss) &&
          (epochs.bestEpoch == 0 ||
           (model.maximize() ? valLoss > epochs.bestLoss : valLoss < epochs.bestLoss));
      if (better) {
        epochs.bestEpoch = step / perEpoch;
        epochs.bestLoss = valLoss;
        epochs.sinceBest = 0;
        if (s.keepBest) epochs.bestParams = params;
      } else {
        ++epochs.sinceBest;
      }
      validationText = "val_loss " + short5(valLoss);
      for (std::size_t k = 0; k < valReports.size(); ++k)
        validationText += "  val_" + model.reportNames()[k] + " " + short5(valReports[k]);
    }

    local([&] {
      if (log.isOpen()) {
        std::string line = std::to_string(step) + "," + std::to_string(epoch + 1) + "," +
                           formatNumber(firstLoss) + "," + formatNumber(firstNorm) + "," +
                           formatNumber(lr);
        for (double r : reports) line += "," + formatNumber(r);
        if (val) {
          line += epochEnd ? "," + formatNumber(valLoss) : ",";
          for (double r : valReports) line += epochEnd ? "," + formatNumber(r) : ",";
        }
        if (lbfgs) line += "," + std::to_string(evaluations) + "," + std::to_string(iterations);
        if (o.logParams)
          for (double p : params) line += "," + formatNumber(p);
        log.write(line + "\n");
      }
      if (o.history) {
        o.history->loss.push_back(firstLoss);
        o.history->gradNorm.push_back(firstNorm);
        o.history->lr.push_back(lr);
        o.history->reports.resize(reports.size());
        for (std::size_t k = 0; k < reports.size(); ++k)
          o.history->reports[k].push_back(reports[k]);
        if (val && epochEnd) {
          o.history->valLoss.push_back(valLoss);
          o.history->valReports.resize(valReports.size());
          for (std::size_t k = 0; k < valReports.size(); ++k)
            o.history->valReports[k].push_back(valReports[k]);
        }
      }
      progress.step(step, firstLoss, reports, hasInputs ? batchRowsAll : 0, validationText);
    });

    if (o.tol && firstNorm <= *o.tol) {
      result.stop = StopReason::Tolerance;
      break;
    }
    if (optim::StopReason why = stopRule.observe(minimized, before, params);
        why != optim::StopReason::None) {
      result.stop = why == optim::StopReason::Diverged ? StopReason::Diverged : StopReason::NoProgress;
      result.stopMessage = "step " + std::to_string(step) + ": " + stopRule.message();
      break;
    }
    if (val && epochEnd && s.earlyStop > 0 && epochs.sinceBest >= s.earlyStop) {
      result.stop = StopReason::EarlyStop;
      result.stopMessage = "epoch " + std::to_string(step / perEpoch) +
                           ": no better validation loss in " + std::to_string(s.earlyStop) +
                           (s.earlyStop == 1 ? " epoch" : " epochs") + " (the best, " +
                           short5(epochs.bestLoss) + ", at epoch " +
                           std::to_string(epochs.bestEpoch) + ")";
      break;
    }
    // Data-parallel: the 30 seconds are rank 0's (only it writes), so every rank may ask.
    if (o.checkpointEvery ? step % o.checkpointEvery == 0
                          : epochEnd && seconds(lastCheckpoint, Clock::now()) >= 30)
      local([&] { writeCheckpoint(o.checkpointPath); });
  }
  timing.loop = seconds(loopStart, Clock::now());
  progress.finish();
  local([&] {
    writeCheckpoint(result.stop == StopReason::Interrupted && o.checkpointPath.empty()
                        ? o.interruptPath
                        : o.checkpointPath);
    log.sync();
  });
  if (parallel) agree(comm, pending);

  result.steps = step;
  result.epochs = step / perEpoch;
  result.stepsPerEpoch = perEpoch;
  // The params returned: the best epoch's with --keep best, else the last step's.
  const bool best = s.keepBest && epochs.bestEpoch > 0;
  if (best) params = epochs.bestParams;
  result.params = params;
  std::vector<double> grad(n);
  Model::Rows all;
  all.count = hasInputs ? data.rows : parallel && comm.rank() != 0 ? 0 : 1;
  all.columns = allColumns;
  // The objective and the reports over rows: all ranks' when data-parallel.
  auto overRows = [&](std::span<const double> x, const Model::Rows &rows,
                      std::vector<double> &reportsOut) {
    reportsOut.assign(model.reportNames().size(), 0.0);
    if (parallel) return reducer.evaluate(x, rows, grad, reportsOut);
    const double loss = model.evaluate(x, rows, grad);
    model.reports(x, rows, reportsOut);
    return loss;
  };
  result.loss = overRows(params, all, result.reports);
  if (s.average && average.weight() > 0) {
    result.averaged = average.value();
    result.averagedLoss = overRows(result.averaged, all, result.averagedReports);
  }
  if (val) {
    RunResult::Validation &v = result.validation.emplace();
    v.rows = val->allRows();
    v.loss = overRows(params, valRows, v.reports);
    v.epoch = best ? epochs.bestEpoch : step % perEpoch == 0 ? step / perEpoch : 0;
  }
  return result;
}

} // namespace nabla::fit
