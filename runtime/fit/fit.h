// The training loop of `nabla fit` and the predictions of `nabla predict`: a lowered program's
// objective, reports and definitions compiled as functions of params and inputs, data bound to
// its inputs, mini-batches, an optimizer of nabla/optim.hpp, the log, checkpoints, the params
// file and the loss plot. Nothing here prints to the terminal except the progress stream it is
// given; problems are FitError (or data::DataError) values with complete messages.
#pragma once

#include "nabla/optim.hpp"
#include "runtime/data/data.h"
#include "runtime/fit/comm.h"
#include "driver/driver.h"
#include "support/number.h"

#include <cmath>
#include <csignal>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::fit {

/// A problem with the model, the options, a file, or the run (a NaN). The message is complete.
class FitError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A param or input array: its name, shape, place among all params (inputs) and the names of its
/// elements (`w`; `w[0]`, `W[1][2]`, row-major), as the driver describes it.
using ArrayInfo = driver::VariableInfo;

/// Which code runs the training functions. Both compute the same values to a few ulps but not
/// bit for bit, so the choice is part of a run's settings.
enum class Tier {
  Auto,      // Optimized for objectives of at most kAutoOptimizedNodes nodes, else Baseline
  Baseline,  // nabla's baseline code, ready at once; batches row by row
  Optimized, // LLVM at O2 with the vectorized batch kernel, compiled before the first step
  Array,     // the array level whatever the size (an error when it cannot take the model)
};
/// LLVM's O2 time grows faster than linearly with the size of a function: about a second at
/// 1,500 nodes (value and gradient), tens of seconds at 5,000, where the baseline code, some
/// six times slower per row, finishes a small data set long before O2 is ready.
inline constexpr std::size_t kAutoOptimizedNodes = 1000;

struct ModelOptions {
  unsigned threads = 0; // of the batched kernels (0: one per hardware thread)
  bool hessian = false; // Newton's method needs the objective's Hessian
  /// With `hessian`: dense or sparse; unset, driver::chooseHessianForm decides from the size and
  /// the structural nonzeros.
  std::optional<driver::HessianForm> hessianForm;
  bool hvp = false;     // newton-cg needs Hessian-vector products
  Tier tier = Tier::Auto;
};

/// The compiled training functions of a program: one kind of code for the whole run (see Tier),
/// so that a run, and a resumed run, is reproducible bit for bit.
class Model {
public:
  /// Compiles the objective (batched over rows when the program has inputs) and the reports,
  /// through the driver and under the program's limits (a Hessian beyond --max-nodes is refused
  /// here as everywhere). Throws FitError when the program has no objective or no params, and
  /// driver::Error when it cannot be differentiated or compiled.
  Model(driver::Program program, std::string path, const ModelOptions &options);
  ~Model();
  Model(Model &&) noexcept;

  const std::string &path() const { return path_; }
  const driver::Program &program() const { return program_; }
  const std::vector<ArrayInfo> &params() const { return params_; }
  const std::vector<ArrayInfo> &inputs() const { return inputs_; }
  std::size_t paramCount() const { return paramCount_; }
  std::size_t inputCount() const { return inputCount_; }
  bool maximize() const { return program_.lowered().objective->maximize; }
  /// The reports' scalar names (`acc`; `acc[0]` for an array report), in declaration order.
  const std::vector<std::string> &reportNames() const { return reportNames_; }
  bool hasHessian() const;
  /// The form of the Hessian (with ModelOptions::hessian): dense or sparse.
  driver::HessianForm hessianForm() const { return hessianForm_; }
  /// The Hessian's structural nonzeros (with a sparse Hessian; null otherwise).
  const std::shared_ptr<const optim::SparsePattern> &sparsePattern() const { return pattern_; }
  /// The Hessian-vector products one sparse Hessian takes (one per colour of the pattern's star
  /// colouring: at the array level, and at the scalar level where the pattern favours them over
  /// symbolic entries); 0 for symbolic entries or a dense Hessian.
  std::size_t sparseHessianProducts() const;
  bool hasHvp() const { return hasHvp_; }
  /// Whether the code is LLVM's O2 (Tier::Optimized, or Auto that chose it).
  bool optimized() const { return optimized_; }
  /// Whether the array level runs the objective and the reports (see driver::kArrayLevelSize).
  bool arrays() const { return arrays_; }
  /// The nodes of the objective's value and gradient.
  std::size_t objectiveNodes() const { return objectiveNodes_; }

  /// The declared initial values: `= value`, 0, or draws from `~ normal(..)` / `~ uniform(..)` by
  /// data::Rng(seed), params in declaration order and elements row-major, one draw each.
  std::vector<double> initialParams(std::uint64_t seed) const;

  /// The rows a batch is computed on: `count` rows of `columns` (one column per input element;
  /// none for a program without inputs, where count is ignored), or, when `picked` is set, rows
  /// picked from a row-major table, which the compiled kernel gathers itself.
  struct Rows {
    std::size_t count = 0;
    std::span<const double *const> columns;
    std::optional<data::PickedRows> picked;
  };
  /// The objective as written and its gradient, averaged over the rows.
  double evaluate(std::span<const double> params, const Rows &rows, std::span<double> grad) const;
  /// The mean of each report over the rows, into `out` (reportNames().size() entries).
  void reports(std::span<const double> params, const Rows &rows, std::span<double> out) const;
  /// The objective's Hessian averaged over the rows (row-major, paramCount()^2). Needs
  /// ModelOptions::hessian.
  void hessian(std::span<const double> params, std::size_t rows,
               std::span<const double *const> columns, std::span<double> hess) const;
  /// The mean of the Hessian's nonzeros over the rows, in sparsePattern()'s order. Needs a sparse
  /// Hessian (ModelOptions::hessian with the sparse form).
  void sparseHessian(std::span<const double> params, std::size_t rows,
                     std::span<const double *const> columns, std::span<double> values) const;
  /// The mean of H v over the rows (paramCount() entries each). Needs ModelOptions::hvp.
  void hvp(std::span<const double> params, std::span<const double> v, std::size_t rows,
           std::span<const double *const> columns, std::span<double> out) const;

  /// Why the objective or its gradient is not finite at `params` on these rows: the first row
  /// (0-based, of the batch) where it is not, and the first node of the graph, in evaluation
  /// order, whose value is not finite, printed as nabla text. Empty when every value is finite.
  struct NonFinite {
    std::size_t row = 0;
    std::string what; // "the loss is nan; the first non-finite value is log(p) = -inf"
  };
  std::optional<NonFinite> explainNonFinite(std::span<const double> params, std::size_t rows,
                                            std::span<const double *const> columns) const;

private:
  void nameReportElements();
  void keepPattern(const HessianPattern &pattern);
  /// hvp() without its check: also the products of a sparse Hessian made from them.
  void product(std::span<const double> params, std::span<const double> v, std::size_t rows,
               std::span<const double *const> columns, std::span<double> out) const;
  struct Code;
  driver::Program program_;
  std::string path_;
  std::vector<ArrayInfo> params_, inputs_;
  std::size_t paramCount_ = 0, inputCount_ = 0;
  std::vector<std::string> reportNames_;
  bool optimized_ = false;
  bool arrays_ = false;
  driver::HessianForm hessianForm_ = driver::HessianForm::Dense;
  std::shared_ptr<const optim::SparsePattern> pattern_;
  bool hasHvp_ = false;
  bool hessian_ = false;  // the array level's Hessian (ModelOptions::hessian)
  std::size_t objectiveNodes_ = 0;
  std::unique_ptr<Code> code_;
};


/// The data of a run: one column per input element, standardized where asked.
struct Dataset {
  std::string path;
  std::size_t rows = 0;
  std::vector<std::vector<double>> columns;
  /// The standardization of each standardized input, one Scaling per element.
  std::map<std::string, std::vector<data::Scaling>> scaling;
  std::uint64_t checksum = 0; // fnv1a of the columns as read (before standardization)
  std::size_t dropped = 0;    // rows of the file left out for a missing value (--drop-na)
  /// Where each row is in the file (0-based), when the rows are a part of it (the training rows
  /// of a validation split, the rows --drop-na kept); empty when row r is the file's row r.
  /// Of a shard: its rows' places (empty when row r is the file's row shardFirst + r).
  std::vector<std::size_t> rowsInFile;
  /// One rank's shard of a data-parallel run (keepShard): rows [shardFirst, shardFirst + rows) of
  /// the shardOf rows of all ranks. shardOf 0: the dataset is whole.
  std::size_t shardFirst = 0, shardOf = 0;
  /// The rows of all ranks: those a batch plan and a checkpoint count.
  std::size_t allRows() const { return shardOf ? shardOf : rows; }
  /// The file's row (0-based) of row `r` of all ranks' rows, for messages (r in this shard).
  std::size_t fileRow(std::size_t r) const {
    return rowsInFile.empty() ? r : rowsInFile[r - shardFirst];
  }
};

/// A data-parallel run's shard of a CSV file, read alone (data::csvShard: rows [rank * R / size,
/// (rank + 1) * R / size) of the file's R rows), with the whole file's checksum (computed across
/// the ranks). Nothing when the file cannot be cut at line ends (a quote in it, a NumPy file, or
/// --drop-na): then every rank reads it whole and keeps its shard (keepShard). Every rank calls
/// it at the same point; a bad row in one shard throws RankError on all of them.
std::optional<Dataset> loadShard(const std::string &path, const LoweredProgram &program,
                                 const std::vector<ArrayInfo> &inputs, const std::string &modelPath,
                                 const data::ReadOptions &read, Communicator &comm);
/// Keeps rank `rank` of `size`'s contiguous shard of the rows of a whole dataset: rows
/// [rank * R / size, (rank + 1) * R / size) of its R rows (possibly none). The checksum stays the
/// whole data's, so that a checkpoint does not depend on the number of ranks.
void keepShard(Dataset &data, int rank, int size);

/// Moves the rows `held` (ascending, 0-based) of `data` into a dataset of their own, which is
/// returned; both keep their rows' places in the file (Dataset::rowsInFile).
Dataset splitRows(Dataset &data, const std::vector<std::size_t> &held);

/// Reads the columns of `inputs` (all of the program's, or those `predict` needs) from a CSV
/// file, or a NumPy .npy/.npz file (data::openData); `where(input)` locates an input's
/// declaration for messages. Read as `read` says (the delimiter, missing values, at most
/// `read.maxRows` rows: --max-rows). Throws data::DataError.
Dataset loadDataset(const std::string &path, const LoweredProgram &program,
                    const std::vector<ArrayInfo> &inputs, const std::string &modelPath,
                    const data::ReadOptions &read = {});
/// Standardizes the named inputs with statistics of the data itself. A shard's statistics are
/// those of all ranks' rows: computeScaling's two passes, each rank's partial sums (in row order)
/// added in rank order by `comm` (two reductions).
void standardize(Dataset &data, const std::vector<ArrayInfo> &inputs,
                 const std::vector<std::string> &names, Communicator *comm = nullptr);
/// Applies given statistics (from a params file) to the inputs they name that `inputs` has.
void applyScaling(Dataset &data, const std::vector<ArrayInfo> &inputs,
                  const std::map<std::string, std::vector<data::Scaling>> &scaling);

/// What decides a run's trajectory: checked against a checkpoint on --resume, setting by setting.
struct Settings {
  std::string optimizer = "adam";
  optim::Hyper hyper;
  std::string schedule = "constant";
  std::size_t batch = 32; // rows per batch (programs with inputs)
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool average = false;
  unsigned threads = 0;
  std::vector<std::string> standardize; // inputs
  /// Validation (Job::valPath, Job::valSplit): how the rows were chosen, as describeSettings
  /// writes it (`split 0.2`; `file, 120 rows, checksum 9f2c...`), empty without; and early
  /// stopping (RunOptions::earlyStop, keepBest).
  std::string validation;
  std::size_t earlyStop = 0;
  bool keepBest = false;
  /// newton's Hessian: "auto" (driver::chooseHessianForm), "dense" or "sparse".
  std::string hessianForm = "auto";
};
/// Whether an optimizer needs the objective's Hessian (newton) or its Hessian-vector products
/// (newton-cg).
inline bool needsHessian(std::string_view optimizer) { return optimizer == "newton"; }
inline bool needsHvp(std::string_view optimizer) { return optimizer == "newton-cg"; }
/// Each setting as key -> text, for the checkpoint and for messages: the hyperparameters given,
/// under torch's names (`lr` -> `0.05`, `betas` -> `0.9,0.999`), and `optimizer`, `schedule`,
/// `batch`, `in_order`, `seed`, `average`, `threads`, `standardize`; with validation, `val`,
/// `early_stop` and `keep` (absent without, so that checkpoints of runs without validation stay
/// comparable). run() adds `jit`, the code the model runs on (Model::optimized).
std::map<std::string, std::string> describeSettings(const Settings &settings);
/// A hyperparameter's value in `hyper` as settings text (numbers as formatNumber writes them,
/// `0.9,0.999`, `true`, `strong_wolfe`), or nothing when it is not set.
std::optional<std::string> hyperText(const optim::Hyper &hyper, const optim::HyperInfo &info);
/// The `nabla fit` option of a setting: `--` and its key with `-` for `_` (`weight_decay` ->
/// `--weight-decay`, `in_order` -> `--in-order`).
std::string settingFlag(std::string_view key);

/// Every step of a run, in step order: what the log has in its columns, without the file.
struct StepHistory {
  std::vector<double> loss;     // the batch loss the step computed its first gradient from
  std::vector<double> gradNorm; // the norm of that gradient
  std::vector<double> lr;       // the rate of the step
  /// The reports on the step's batch, one vector per report name (Model::reportNames order).
  std::vector<std::vector<double>> reports;
  /// With validation, per epoch: the loss and the reports over the validation rows at its end.
  std::vector<double> valLoss;
  std::vector<std::vector<double>> valReports;
};

struct RunOptions {
  Settings settings;
  /// How long: epochs (passes over the data) or steps; neither gives the default (10 epochs, or
  /// 100 steps for a program without inputs, where an epoch is one step).
  std::optional<std::size_t> epochs, steps;
  std::optional<double> tol; // stop after a step whose gradient norm is at most this
  /// optim::StopRule: steps in a row without progress before the run stops (NoProgress); 0 never.
  /// A run whose loss diverges stops with StopReason::Diverged (docs/optim.md).
  std::size_t patience = 10;
  std::vector<double> init;  // the starting params (ignored when resuming)
  std::string logPath;
  bool logParams = false;
  std::string checkpointPath; // written every checkpointEvery steps, at the end and on interrupt
  std::size_t checkpointEvery = 0; // 0: at the end of an epoch, at most every 30 s
  std::string interruptPath;       // where an interrupt writes one without checkpointPath
  std::string resumePath;
  std::uint64_t modelHash = 0; // identifies the model in checkpoints (e.g. fnv1a of its text)
  /// Validation rows (a program with inputs): the objective and the reports over all of them at
  /// the end of every epoch, in the progress line, the log, the result and the plot. Standardized
  /// as the training data. Set with settings.validation; owned by the caller.
  const Dataset *validation = nullptr;
  /// Set by a signal handler; checked between steps.
  const volatile std::sig_atomic_t *interrupted = nullptr;
  std::ostream *progress = nullptr; // the progress bar (terminal) or one line per epoch
  bool terminal = false;
  /// When set, every step of this run appends to it (a host's record of the run, such as the
  /// Python module's history; a resumed run's earlier steps are not in it).
  StepHistory *history = nullptr;
  /// A data-parallel run (docs/fit.md, "Many processes (MPI)"): the data and the validation data
  /// are this rank's shards (keepShard); each evaluation's sums are combined over the ranks; only
  /// rank 0 writes the log, the progress and checkpoints. Null: one process.
  Communicator *comm = nullptr;
};

/// The batch loss of every step, for the plot, in bounded space: the count of steps, the least
/// and the greatest finite loss, the last loss, and the losses of steps 1, 1 + stride,
/// 1 + 2 stride, ... where the stride is the least power of two that keeps at most kMaxSamples of
/// them (when they would be more, every other one is dropped and the stride doubles). What it
/// holds depends only on the losses added, not on when a run stopped and resumed, so a resumed
/// run draws the plot of the uninterrupted one; and a checkpoint holds it in a few tens of
/// kilobytes however long the run (a checkpoint every step writes O(steps) bytes in all).
class LossHistory {
public:
  static constexpr std::size_t kMaxSamples = 2048;
  void add(double loss);
  std::size_t count() const { return count_; }
  std::size_t stride() const { return stride_; }
  const std::vector<double> &samples() const { return samples_; }
  /// Of the finite losses: +inf and -inf when there is none.
  double least() const { return least_; }
  double greatest() const { return greatest_; }
  double last() const { return last_; }
  /// Its state as a checkpoint keeps it; false when the parts cannot come from add().
  bool restore(std::size_t count, std::size_t stride, std::vector<double> samples, double least,
               double greatest, double last);
  bool operator==(const LossHistory &) const = default;

private:
  std::size_t count_ = 0, stride_ = 1;
  std::vector<double> samples_;
  double least_ = INFINITY, greatest_ = -INFINITY, last_ = 0;
};

/// The figures of each epoch of a program with inputs, and early stopping's state: what the plot
/// draws per epoch and what a checkpoint keeps of them, so that a resumed run ends as the
/// uninterrupted one.
struct EpochHistory {
  /// The mean batch loss of each whole epoch (weighted by the batches' rows), and the running sums
  /// of the epoch under way.
  LossHistory train;
  double sum = 0, weight = 0;
  /// With validation: the objective over the validation rows at the end of each epoch.
  LossHistory val;
  /// The epoch (1-based; 0 before the first) with the best validation loss (least, or greatest for
  /// `maximize`), that loss, the epochs since it, and its params (with Settings::keepBest).
  std::size_t bestEpoch = 0;
  double bestLoss = 0;
  std::size_t sinceBest = 0;
  std::vector<double> bestParams;
  bool operator==(const EpochHistory &) const = default;
};

/// How a run ended. NoProgress and Diverged come from optim::StopRule; Diverged is a failure
/// (`nabla fit` exits with status 1 after writing its outputs), NoProgress is not. EarlyStop:
/// Settings::earlyStop epochs in a row without a better validation loss.
enum class StopReason { Finished, Tolerance, Interrupted, NoProgress, Diverged, EarlyStop };
/// As the params file writes it: "finished", "tolerance", "interrupted", "no_progress",
/// "diverged", "early_stop".
const char *stopName(StopReason stop);

/// With validation: the objective and the reports over the validation rows at the params a run
/// returns (the best epoch's with Settings::keepBest, else the last), and their epoch (0: the
/// params of a step within an epoch, when the run stopped mid-epoch). At namespace scope: as a
/// class nested in RunResult with default member initializers, clang does not take it as
/// default-constructible inside RunResult (std::optional::emplace() fails).
struct ValidationFigures {
  std::size_t rows = 0;
  double loss = 0;
  std::vector<double> reports;
  std::size_t epoch = 0;
};

struct RunResult {
  StopReason stop = StopReason::Finished;
  std::string stopMessage; // NoProgress, Diverged: StopRule::message(), with the step
  std::size_t steps = 0;  // steps done in all, a resumed run's earlier ones included
  std::size_t epochs = 0; // whole epochs done
  std::vector<double> params;
  std::vector<double> averaged; // with Settings::average
  /// The objective (as written) and the reports over all rows at the final params, and at the
  /// averaged ones.
  double loss = 0;
  std::vector<double> reports;
  std::optional<double> averagedLoss;
  std::vector<double> averagedReports;
  LossHistory losses;            // the batch loss of every step (for the plot)
  EpochHistory epochHistory;     // per epoch (programs with inputs)
  std::size_t stepsPerEpoch = 1;
  /// With validation: the figures at the returned params (ValidationFigures).
  using Validation = ValidationFigures;
  std::optional<Validation> validation;
  std::string checkpointWritten; // the path, when one was written
  /// Where the steps of this run (not a resumed run's earlier ones) spent their time, in seconds:
  /// all of the loop, the compiled objective (value and gradient, Hessian, reports), and making
  /// the batches. The rest is the optimizer's own arithmetic, the log, progress and checkpoints.
  struct Timing {
    double loop = 0, kernel = 0, batching = 0;
    std::size_t rows = 0; // rows of all batches, for rows/s
  } timing;
};

/// Everything a run needs to continue exactly where it stopped.
struct Checkpoint {
  /// 3: the per-epoch figures (EpochHistory). 2: the losses as a LossHistory, read with no
  /// per-epoch figures before the resumed step. 1, which kept every step's loss, is still read.
  static constexpr int kVersion = 3;
  std::string modelPath;
  std::uint64_t modelHash = 0; // RunOptions::modelHash of the run that wrote it
  std::string dataPath;
  std::size_t rows = 0;
  std::uint64_t dataHash = 0;
  std::map<std::string, std::string> settings; // describeSettings
  std::size_t step = 0;                        // steps done
  std::vector<double> params;
  std::string optimizer;
  optim::State state;
  std::vector<double> averageSum;
  double averageWeight = 0;
  std::size_t evaluations = 0, iterations = 0; // as logged (cumulative)
  std::string logPath;
  std::string logHeader;
  std::uint64_t logBytes = 0; // the log's length after the row of step `step`
  LossHistory losses; // the batch losses so far (for the plot)
  EpochHistory epochs;
};
/// The file: a first line `nabla-checkpoint VERSION BYTES FNV1A64` (the length and the FNV-1a
/// hash of the rest, in hex) and a JSON body in which every double is a C99 hex float string
/// ("0x1.91eb851eb851fp+1"), so that it reads back bit for bit.
std::string checkpointText(const Checkpoint &checkpoint);
/// Throws FitError naming the file when it is not a checkpoint, was written by another format
/// version, is truncated or does not match its checksum, or when its body nests deeper than
/// kMaxJsonDepth (support/input_file.h: checked before the JSON parser runs).
Checkpoint parseCheckpoint(const std::string &path, const std::string &text);
/// The file (a regular file of at most kMaxJsonBytes and its header line), parsed.
Checkpoint readCheckpoint(const std::string &path);

/// Runs the loop. Throws FitError (a non-finite loss or gradient names the step and the node;
/// an unusable checkpoint, a settings mismatch on resume, an unwritable file) or
/// data::DataError.
RunResult run(const Model &model, const Dataset &data, const RunOptions &options);

// --- a whole run ---------------------------------------------------------------------------------

/// A run asked for in a way that does not fit the model (`nabla fit` exits with status 2): data
/// missing for a model with inputs, inputs to standardize that it does not have.
class UsageError : public FitError {
public:
  using FitError::FitError;
};

/// What `nabla fit` does once its options are read, for the CLI and for the Python module alike,
/// so that both train the same way: compile the loaded program's training functions (fit::Model),
/// read or bind the data, standardize, set the initial params, run the loop, write the params
/// file and the plot.
struct Job {
  /// The settings, the length, the log, checkpoints, progress. fitProgram sets `modelHash` (from
  /// the program's text) and `init`.
  RunOptions run;
  Tier tier = Tier::Auto;
  /// The data of a model with inputs: `data` when set (it gets the compiled model and returns one
  /// column per input element, Dataset::checksum included), else the CSV (or NumPy) file
  /// `dataPath`, read as `read` says (--delimiter, --na, --drop-na, --max-rows).
  std::string dataPath;
  data::ReadOptions read;
  std::function<Dataset(const Model &)> data;
  /// Validation data (a model with inputs; settings.earlyStop and settings.keepBest need it):
  /// `valData` when set (as `data`), else the file `valPath` (read as `dataPath`), else with
  /// `valSplit` (in (0, 1)) that fraction of the data's rows, drawn by data::validationRows from
  /// settings.seed. Standardization's statistics come from the training rows only.
  std::function<Dataset(const Model &)> valData;
  std::string valPath;
  std::optional<double> valSplit;
  /// The params returned: the best validation epoch's (true) or the last step's; unset, the best
  /// exactly when settings.earlyStop is set (Keras' EarlyStopping with restore_best_weights).
  /// fitProgram decides it into settings.keepBest, for every front end.
  std::optional<bool> keepBest;
  /// The inputs to standardize: none when unset; an empty list is every input but the last
  /// declared (the target), as a bare --standardize.
  std::optional<std::vector<std::string>> standardize;
  /// The starting params: the declared ones (seeded by settings.seed), replaced by those of the
  /// params file `initPath`, then by `init` (param name -> its elements, row-major).
  std::string initPath;
  std::map<std::string, std::vector<double>> init;
  /// Written after the run when named: the params file (paramsJson) and the loss plot.
  std::string outputPath, plotPath;
  /// How messages name the options: `nabla fit`'s flags, or a host's own words.
  struct Words {
    std::string data = "--data", dataFile = "--data FILE.csv";
    std::string standardize = "--standardize", standardizeNamed = "--standardize=";
    std::string tol = "--tol";
    std::string val = "--val FILE", valSplit = "--val-split", earlyStop = "--early-stop";
    std::string keep = "--keep best";
    std::string hessianForm = "--hessian-form";
  } words;
  /// Called with each warning (data given to a model without inputs); none when unset.
  std::function<void(const std::string &)> warn;
  /// Called when everything is ready, just before the loop's first step (where the CLI starts
  /// catching Ctrl-C); none when unset.
  std::function<void()> beforeRun;
  /// A data-parallel run over the ranks of `comm` (a fit::MpiCommunicator of a host's MPI_Comm;
  /// null: one process). Every rank calls fitProgram with the same job: each reads the data,
  /// keeps its shard (keepShard) and agrees with the others on any failure (RankError); rank 0
  /// alone writes the log, progress, checkpoints, the params file and the plot, and calls `warn`.
  Communicator *comm = nullptr;
};

struct JobResult {
  Model model;
  Dataset data; // no rows for a program without inputs
  Dataset validation; // no rows without validation
  RunResult result;
  /// The run's settings as fitProgram decided them (the inputs standardized, the validation,
  /// keepBest): what the checkpoint records and the summary reads.
  Settings settings;
  double compileSeconds = 0; // fit::Model: the training functions' code
  double loadSeconds = 0;    // reading (or binding) the data
};

/// Runs `job` on a program loaded with driver::Options::deferBodies, named `modelPath` in
/// messages. Throws UsageError, FitError, data::DataError, driver::Error and FileError (an
/// output that cannot be written), as fit::Model, loadDataset, readParamsFile and run() do.
JobResult fitProgram(driver::Program program, const std::string &modelPath, const Job &job);

/// The summary `nabla fit` prints: `adam: 360 steps, 20 epochs (finished)`, then `loss 0.0735335
/// (mean over 569 rows), acc 0.98594`, and the same for the averaged params (with --average).
std::string summaryText(const JobResult &job, const Job::Words &words);

// --- files --------------------------------------------------------------------------------------


/// The params file (`-o`, `--init`, `predict --params`):
///   {"model": "m.nabla", "optimizer": "adam", "steps": 200, "epochs": 25, "stop": "finished",
///    "loss": L, "reports": {"acc": A},
///    "params": {"w": [..], "W": [[..], ..], "b": B},
///    "average": {...}, "average_loss": .., "average_reports": {...},  (with --average)
///    "standardize": {"x": {"mean": [..], "std": [..]}}}
/// Numbers are shortest round-trip decimals; NaN and infinities are the strings "nan", "inf",
/// "-inf". Keys in this order; arrays in their shapes.
std::string paramsJson(const Model &model, const Dataset *data, const Settings &settings,
                       const RunResult &result);

struct ParamsFile {
  std::vector<double> params; // in the model's order; entries not in the file keep init
  std::vector<bool> given;    // per param array: whether the file had it
  std::map<std::string, std::vector<data::Scaling>> scaling;
};
/// Reads a params file for `params` (a bare {"w": ..} object also works). A name the model
/// does not have, a wrong shape or a non-number is an error naming the file and the param.
/// The file is read under support/input_file.h's rules (a regular file of at most kMaxJsonBytes,
/// nesting at most kMaxJsonDepth levels, numbers that neither overflow nor underflow).
ParamsFile readParamsFile(const std::string &path, const std::vector<ArrayInfo> &params,
                          const std::vector<ArrayInfo> &inputs, std::vector<double> init);
/// The same for the file's text (`path` names it in messages).
ParamsFile parseParamsFile(const std::string &path, const std::string &text,
                           const std::vector<ArrayInfo> &params,
                           const std::vector<ArrayInfo> &inputs, std::vector<double> init);

/// The loss curves as a stand-alone SVG. With `epochs` (a program with inputs), x is epochs: the
/// mean training loss and, when there is any, the validation loss of each epoch, drawn bold, and
/// every step's batch loss drawn lightly behind them; without, x is steps. y is on a log scale
/// when every loss is positive and they span more than two decades. Axis ticks are round numbers
/// (1, 2 or 5 times a power of ten; decades on a log scale); the axes span every loss drawn.
std::string lossPlotSvg(const LossHistory &steps, const EpochHistory *epochs,
                        std::size_t stepsPerEpoch, const std::string &title);
/// The picture formats of --plot, by `path`'s extension: "svg", "png" or "pdf". Throws FitError
/// for another extension (naming the ones there are), and for png and pdf when the converter
/// (librsvg's `rsvg-convert`) is not on PATH: checked before a run, so that none is lost.
std::string plotFormat(const std::string &path);
/// Writes the plot: SVG as it is, PNG and PDF converted by `rsvg-convert` in a private temporary
/// folder, the result renamed into place. Throws FileError or FitError.
void writePlot(const std::string &path, const std::string &svg);

// --- predictions --------------------------------------------------------------------------------

/// The named definitions (and reports) of a program as one function of params and inputs, for
/// `nabla predict`: evaluated row by row.
class Predictor {
public:
  /// `names` empty: every definition. Throws FitError when there is none, driver::Error
  /// (NotFound, with a suggestion) for a name that is not a definition or report.
  Predictor(driver::Program program, const std::vector<std::string> &names);
  ~Predictor();
  const driver::Program &program() const;
  /// The output columns' names (`p`, `z[0]`, ...).
  const std::vector<std::string> &columns() const { return columns_; }
  /// The inputs the outputs read (only these need data).
  const std::vector<ArrayInfo> &inputs() const { return inputs_; }
  /// Writes the CSV (header, then one line per row) for the data's rows.
  void write(std::ostream &out, std::span<const double> params, const Dataset &data) const;

private:
  struct Code;
  std::vector<std::string> columns_;
  std::vector<ArrayInfo> inputs_;
  std::size_t paramCount_ = 0;
  std::unique_ptr<Code> code_;
};

} // namespace nabla::fit
