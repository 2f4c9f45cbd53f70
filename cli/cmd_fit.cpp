// `nabla fit`: trains a program's params with an optimizer of runtime/optim on CSV data
// (runtime/fit does the work; this file reads the options and reports).
#include "cli_common.h"

#include "runtime/fit/fit.h"
#include "support/output_file.h"
#ifdef NABLA_HAVE_MPI
#include "runtime/mpi/comm_mpi.h"
#endif

#include <llvm/Support/FormatVariadic.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace nabla::cli {

namespace {

using K = Option::Kind;

template <class... F> struct Overloaded : F... {
  using F::operator()...;
};
template <class... F> Overloaded(F...) -> Overloaded<F...>;

std::string listed(const std::vector<std::string> &items) {
  std::string out;
  for (const std::string &item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool hasOption(const std::string &optimizer, std::string_view option) {
  const std::vector<std::string_view> options = optim::options(optimizer);
  return std::find(options.begin(), options.end(), option) != options.end();
}

/// One option per hyperparameter of the optimizers' table: `--` and torch's name with `-` for `_`
/// (fit::settingFlag), its help and the optimizers that have it.
std::vector<Option> hyperparameterOptions() {
  struct Texts {
    std::string flag, help;
  };
  // Made once, complete before the options view them.
  static const std::vector<Texts> kTexts = [] {
    std::vector<Texts> out;
    for (const optim::HyperInfo &p : optim::hyperparameters()) {
      std::vector<std::string> have, lack;
      for (const std::string &o : optim::names()) (hasOption(o, p.name) ? have : lack).push_back(o);
      const std::string who = lack.empty()                  ? "all"
                              : lack.size() < have.size() ? "all but " + listed(lack)
                                                          : listed(have);
      out.push_back({fit::settingFlag(p.name), std::string(p.help) + " (" + who + ")"});
    }
    return out;
  }();
  std::vector<Option> out;
  for (std::size_t k = 0; k < kTexts.size(); ++k) {
    const optim::HyperInfo &p = optim::hyperparameters()[k];
    const bool flag = std::holds_alternative<std::optional<bool> optim::Hyper::*>(p.field);
    out.push_back({kTexts[k].flag, flag ? K::Flag : K::Value, p.placeholder, kTexts[k].help,
                   k == 0 ? "hyperparameters (torch.optim's names, - for _; defaults below)" : ""});
  }
  return out;
}

/// torch's defaults of each optimizer, its options in the order of torch's constructor, in lines
/// of at most 100 columns.
std::string defaultsHelp() {
  std::string out = "\ndefaults (torch.optim's; SciPy's for lbfgs-mt and newton-cg):\n";
  for (const std::string &name : optim::names()) {
    const optim::Hyper d = optim::defaults(name);
    std::string line = "  " + name + std::string(name.size() < 10 ? 10 - name.size() : 1, ' ');
    const std::size_t indent = line.size();
    bool first = true;
    for (std::string_view option : optim::options(name)) {
      const auto all = optim::hyperparameters();
      const optim::HyperInfo &p = *std::find_if(
          all.begin(), all.end(), [&](const optim::HyperInfo &i) { return i.name == option; });
      const std::string item = std::string(option) + " " + fit::hyperText(d, p).value_or("");
      if (!first) line += ",";
      if (!first && line.size() + 1 + item.size() > 100) {
        out += line + "\n";
        line = std::string(indent, ' ');
      } else if (!first) {
        line += " ";
      }
      line += item;
      first = false;
    }
    out += line + "\n";
  }
  return out;
}

std::vector<Option> joined(std::vector<Option> a, const std::vector<Option> &b,
                           const std::vector<Option> &c, const std::vector<Option> &d) {
  a.insert(a.end(), b.begin(), b.end());
  a.insert(a.end(), c.begin(), c.end());
  a.insert(a.end(), d.begin(), d.end());
  return a;
}

} // namespace

const std::vector<Option> &fitOptions() {
  static const std::vector<Option> kOptions = joined({
      {"--data", K::Value, "FILE.csv",
       "the data: CSV with a header row of column names, one row per example; or NumPy .npy/.npz",
       "data and batches", false,
       0, Option::File::Read},
      {"--val", K::Value, "FILE.csv",
       "validation data: the loss and reports on its rows after every epoch", {}, false, 0,
       Option::File::Read},
      {"--val-split", K::Value, "F",
       "hold out the fraction F of the data's rows (drawn by --seed) for validation"},
      {"--early-stop", K::Value, "N",
       "stop after N epochs in a row without a better validation loss"},
      {"--keep", K::Value, "best|last",
       "the params returned: the best validation epoch's (default with --early-stop) or the "
       "last"},
      {"--hessian-form", K::Value, "auto|dense|sparse",
       "newton's Hessian: every entry, or the structural nonzeros with a sparse LDL^T (default "
       "auto: dense up to 100 params or above a quarter nonzero)"},
      {"--batch", K::Value, "M",
       "rows per mini-batch (default 32; the last batch of an epoch may be smaller)"},
      {"--epochs", K::Value, "E",
       "passes over the data (default 10; without inputs: steps, default 100)"},
      {"--steps", K::Value, "K", "optimizer steps in all, instead of --epochs"},
      {"--in-order", K::Flag, "", "batches in file order (default: a seeded shuffle each epoch)"},
      {"--seed", K::Value, "S",
       "seed of the shuffles and of `~ normal`/`~ uniform` params (default 0)"},
      {"--standardize", K::OptionalValue, "x,z",
       "scale the named inputs (default: all but the last declared) to mean 0, variance 1"},
      {"--threads", K::Value, "T",
       "threads of the batched kernel (default: one per hardware thread)"},
      {"--jit", K::Value, "KIND",
       "auto (default), array (arrays as arrays, BLAS), optimized (LLVM O2, vectorized) or "
       "baseline (ready at once)"},
      {"--optimizer", K::Value, "NAME",
       "sgd, adagrad, rmsprop, adadelta, adam (default), nadam, adamw, lbfgs, lbfgs-mt, newton "
       "or newton-cg",
       "optimizer"},
      {"--schedule", K::Value, "S", "constant, inv_sqrt, step[:N[:GAMMA]] or cosine[:ETA_MIN]"},
      {"--average", K::Flag, "", "also the averaged iterate sum(lr_k x_k) / sum(lr_k)"},
      {"--tol", K::Value, "G", "stop after a step whose gradient norm is at most G"},
      {"--patience", K::Value, "N",
       "stop after N steps in a row without progress (default 10; 0: never)"},
   }, hyperparameterOptions(), {
      {"--init", K::Value, "PARAMS.json", "start from these params (a -o file, or {\"w\": ...})",
       "files", false, 0, Option::File::Read},
      {"--output", K::Value, "PARAMS.json",
       "write the final (and averaged) params, loss and reports", {}, false, 'o',
       Option::File::Write},
      {"--log", K::Value, "LOG.csv", "one row per step: step,epoch,loss,grad_norm,lr, the reports",
       {}, false, 0, Option::File::Write},
      {"--log-params", K::Flag, "", "also every param element after the step, in the log"},
      {"--plot", K::Value, "loss.svg",
       "draw the loss per epoch and step (.svg; .png and .pdf through rsvg-convert)", {}, false, 0,
       Option::File::Write},
      {"--checkpoint", K::Value, "FILE",
       "checkpoint at the end, on Ctrl-C and at epoch ends (at most every 30 s)", {}, false, 0,
       Option::File::Write, "--resume"},
      {"--checkpoint-every", K::Value, "K", "checkpoint every K steps instead"},
      {"--resume", K::Value, "FILE", "continue a run from its checkpoint, exactly", {}, false, 0,
       Option::File::Read},
   }, [] {
     std::vector<Option> v = dataReadOptions();
     for (const Option &o : limitOptions(true)) v.push_back(o);
     return v;
   }());
  return kOptions;
}

namespace {

volatile std::sig_atomic_t gInterrupted = 0;

/// The first signal asks the run to stop after its step; a second one, while that step still runs
/// (a dense Newton step can take minutes), ends the process at once as the signal would by
/// default. The checkpoints already written stay whole: every file is renamed into place.
extern "C" void onFitInterrupt(int signal) {
  if (gInterrupted) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  gInterrupted = 1;
}

/// Installs the handler for the run and restores the previous one after it.
struct InterruptGuard {
  struct sigaction previousInt {
  }, previousTerm{};
  InterruptGuard() {
    gInterrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = onFitInterrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &previousInt);
    sigaction(SIGTERM, &sa, &previousTerm);
  }
  ~InterruptGuard() {
    sigaction(SIGINT, &previousInt, nullptr);
    sigaction(SIGTERM, &previousTerm, nullptr);
  }
};

/// The ranks but 0 of a data-parallel run write nothing: their stdout and stderr go to /dev/null
/// (rank 0 prints the summary, the progress and an agreed failure). The stderr of before is kept
/// for a failure that the ranks could not agree on, which each rank prints before MPI_Abort.
struct SilentRank {
  int savedStderr = -1;
  SilentRank() {
    llvm::outs().flush();
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    savedStderr = ::dup(2);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::close(null);
    }
  }
};

#ifndef NABLA_HAVE_MPI
/// The ranks of the job that started this process: Open MPI's mpirun, or a PMI launcher (MPICH,
/// Slurm); 1 when none did.
long launcherSize() {
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char *v = std::getenv(name)) return std::max(1L, std::strtol(v, nullptr, 10));
  return 1;
}
#endif

} // namespace

std::string_view fitDetails() {
  static const std::string text =
      "Compiles MODEL's objective (`minimize` or `maximize`) with its gradient and runs an\n"
      "optimizer on it: torch.optim's update rules and defaults, L-BFGS as torch's, Newton's\n"
      "method with the compiled Hessian. A model with `input`s reads them from the CSV file's\n"
      "columns by name and takes the mean loss and gradient of each mini-batch; without inputs,\n"
      "every step uses the whole objective. One step of L-BFGS is one call of torch's step().\n"
      "Progress goes to stderr (a bar on a terminal, else one line per epoch); the summary (the\n"
      "loss and reports over all rows at the final params) to stdout. A NaN or infinity in the\n"
      "loss or gradient stops the run (exit 1) with the step and the first non-finite node; so\n"
      "does a loss that diverges (above 1e10 times its start: exit 1, after writing the outputs).\n"
      "--patience N steps in a row that change no parameter or leave the loss the same stop it\n"
      "(exit 0). docs/optim.md, \"When a run stops\", has the rules.\n"
      "--val FILE or --val-split F gives validation rows: their loss and reports after every\n"
      "epoch go to the progress, the log, the summary, the -o file and the plot; --early-stop N\n"
      "stops after N epochs without a better validation loss and keeps the best epoch's params.\n"
      "Ctrl-C writes a checkpoint (--checkpoint, else MODEL's name + .checkpoint) and exits with\n"
      "status 130; --resume continues it as if it had never stopped. docs/fit.md has the details.\n";
  return text;
}

std::string_view fitEpilogue() {
  static const std::string text = defaultsHelp();
  return text;
}

int runFit(Invocation &inv) {
  const Arguments &a = inv.args;
  if (auto done = takeModelArgument(inv, a)) return *done;

  fit::RunOptions run;
  fit::Settings &s = run.settings;
  optim::Hyper &h = s.hyper;
  // Reads the option's value when it was given; false after a usage error.
  bool ok = true;
  auto number = [&](const std::string &name, std::optional<double> &into) {
    if (const std::string *v = a.get(name)) {
      into = numberOption(inv, name, *v);
      ok = ok && into.has_value();
    }
  };
  auto integer = [&](const std::string &name, std::optional<int> &into) {
    if (const std::string *v = a.get(name)) {
      std::optional<std::size_t> n = countOption(inv, name, *v, true);
      if (n && *n > 1000000000) {
        usageError(inv, "option '" + std::string(name) + "' is too large");
        n.reset();
      }
      if (n) into = static_cast<int>(*n);
      ok = ok && n.has_value();
    }
  };
  auto flag = [&](const std::string &name, std::optional<bool> &into) {
    if (const std::string *v = a.get(name)) {
      into = boolOption(inv, name, *v);
      ok = ok && into.has_value();
    }
  };
  auto pair = [&](const std::string &name, std::optional<std::array<double, 2>> &into) {
    if (const std::string *v = a.get(name)) {
      const std::size_t comma = v->find(',');
      std::optional<double> first, second;
      if (comma == std::string::npos)
        usageError(inv, "option '" + name + "' needs two numbers, e.g. " + name + " 0.9,0.999");
      else if ((first = numberOption(inv, name, v->substr(0, comma))))
        second = numberOption(inv, name, v->substr(comma + 1));
      if (first && second) into = std::array<double, 2>{*first, *second};
      ok = ok && into.has_value();
    }
  };
  auto text = [&](const std::string &name, std::optional<std::string> &into) {
    if (const std::string *v = a.get(name)) into = *v;
  };
  auto count = [&](const char *name, auto &into, bool allowZero = false) {
    if (const std::string *v = a.get(name)) {
      std::optional<std::size_t> n = countOption(inv, name, *v, allowZero);
      if (n) into = *n;
      ok = ok && n.has_value();
    }
  };
  auto flagValue = [&](const char *name) {
    std::optional<bool> b;
    flag(name, b);
    return b.value_or(false);
  };

  if (const std::string *v = a.get("--optimizer")) s.optimizer = *v;
  // Each hyperparameter from its option, read by the type of its field in Hyper.
  const Overloaded read{number, integer, flag, pair, text};
  for (const optim::HyperInfo &p : optim::hyperparameters())
    std::visit([&](auto field) { read(fit::settingFlag(p.name), h.*field); }, p.field);
  if (const std::string *v = a.get("--schedule")) s.schedule = *v;
  count("--batch", s.batch);
  s.shuffle = !flagValue("--in-order");
  if (const std::string *v = a.get("--seed")) {
    std::optional<std::size_t> n = countOption(inv, "--seed", *v, true);
    if (n) s.seed = *n;
    ok = ok && n.has_value();
  }
  s.average = flagValue("--average");
  count("--threads", s.threads);
  fit::Tier tier = fit::Tier::Auto;
  if (const std::string *v = a.get("--jit")) {
    if (*v == "baseline")
      tier = fit::Tier::Baseline;
    else if (*v == "optimized")
      tier = fit::Tier::Optimized;
    else if (*v == "array")
      tier = fit::Tier::Array;
    else if (*v != "auto")
      return usageError(inv, "unknown --jit '" + *v + "' (auto, array, optimized or baseline)");
  }
  std::optional<std::size_t> epochs, steps, every;
  count("--epochs", epochs);
  count("--steps", steps);
  count("--checkpoint-every", every);
  if (const std::string *v = a.get("--patience")) { // 0 is allowed: never
    std::optional<std::size_t> n = countOption(inv, "--patience", *v, true);
    if (n) run.patience = *n;
    ok = ok && n.has_value();
  }
  number("--tol", run.tol);
  std::optional<double> valSplit;
  number("--val-split", valSplit);
  count("--early-stop", s.earlyStop);
  if (const std::string *v = a.get("--hessian-form")) {
    if (*v != "auto" && *v != "dense" && *v != "sparse")
      return usageError(inv, "unknown --hessian-form '" + *v + "' (auto, dense or sparse)");
    s.hessianForm = *v;
  }
  std::optional<bool> keepBest; // unset: fitProgram's default
  if (const std::string *v = a.get("--keep")) {
    if (*v != "best" && *v != "last")
      return usageError(inv, "unknown --keep '" + *v + "' (best or last)");
    keepBest = *v == "best";
  }
  run.logParams = flagValue("--log-params");
  std::size_t maxRows = data::kDefaultMaxRows;
  ok = readLimitOptions(inv, a, &maxRows) && ok;
  data::ReadOptions readOptions;
  ok = readDataOptions(inv, a, readOptions) && ok;
  readOptions.maxRows = maxRows;
  if (!ok) return kExitUsage;
  if (epochs && steps) return usageError(inv, "give --epochs or --steps, not both");
  run.epochs = epochs;
  run.steps = steps;
  run.checkpointEvery = every.value_or(0);
  auto path = [&](const char *name) {
    const std::string *v = a.get(name);
    return v ? *v : std::string();
  };
  run.logPath = path("--log");
  run.checkpointPath = path("--checkpoint");
  run.resumePath = path("--resume");
  const std::string output = path("--output"), plot = path("--plot"), initPath = path("--init"),
                    dataPath = path("--data"), valPath = path("--val");
  for (const char *name :
       {"--log", "--checkpoint", "--resume", "--output", "--plot", "--init", "--data", "--val"})
    if (a.has(name) && a.get(name)->empty())
      return usageError(inv, "option '" + std::string(name) + "' needs a file name");
  if (run.logParams && run.logPath.empty()) return usageError(inv, "--log-params needs --log FILE");
  {
    std::vector<std::string> names = optim::names();
    if (std::find(names.begin(), names.end(), s.optimizer) == names.end()) {
      std::string close = closestName(s.optimizer, names);
      return usageError(inv, "unknown optimizer '" + s.optimizer + "'" +
                                 (close.empty() ? "" : " (did you mean '" + close + "'?)") +
                                 "; the optimizers are " + listed(names));
    }
  }

  // The optimizer's own checks of its hyperparameters and the schedule are usage errors: they
  // need no model.
  try {
    (void)optim::make(s.optimizer, 1, h);
    (void)optim::parse_schedule(s.schedule);
  } catch (const nabla::Error &e) {
    return usageError(inv, e.what());
  }

  // Under mpirun (docs/fit.md, "Many processes (MPI)"): MPI starts here, after the options'
  // checks, and ends when the command returns. A plain `nabla fit` never starts MPI.
  std::unique_ptr<fit::Communicator> comm;
#ifdef NABLA_HAVE_MPI
  std::optional<fit::MpiSession> mpi;
  if (fit::launchedByMpi()) {
    mpi.emplace();
    comm = std::make_unique<fit::MpiCommunicator>(MPI_COMM_WORLD);
  }
#else
  if (launcherSize() > 1)
    return inputError(inv, "this nabla was built without MPI, so it cannot run as " +
                               std::to_string(launcherSize()) +
                               " processes under mpirun (install libopenmpi-dev and rebuild; "
                               "docs/fit.md, \"Many processes (MPI)\")");
#endif
  const bool parallel = comm && comm->size() > 1;
  const int rank = comm ? comm->rank() : 0;
  std::optional<SilentRank> silent;
  if (rank != 0) silent.emplace();

  // A second run on the same checkpoint or log stops here, before any work (the first one's
  // files stay its own). Data-parallel: rank 0's, which alone writes them.
  // The ranks agree on a lock refused, as on any failure before their first collective.
  FileLock checkpointLock, logLock;
  fit::Communicator one;
  try {
    fit::agreeOn(comm ? *comm : one, [&] {
      if (rank == 0 && !run.checkpointPath.empty())
        checkpointLock = FileLock(run.checkpointPath, "checkpoint");
      if (rank == 0 && !run.logPath.empty()) logLock = FileLock(run.logPath, "log");
    });
  } catch (const fit::RankError &e) {
    return inputError(inv, e.what());
  }

  int code = kExitOk;
  // The time to compile: reading and checking the model, and the code of fit::Model, before the
  // data is read. The definitions, the objective and the reports are left to the array level
  // (driver::Options::deferBodies), which the model lowers to scalars only when it needs them.
  const auto compileStart = std::chrono::steady_clock::now();
  Invocation deferred = inv;
  deferred.options.deferBodies = true;
  std::optional<driver::Program> program = loadProgram(deferred, driver::ArgumentKind::File, code);
  if (!program) return code;
  const double loadProgramSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - compileStart).count();

  fit::Job job;
  job.tier = tier;
  job.dataPath = dataPath;
  job.valPath = valPath;
  job.valSplit = valSplit;
  job.keepBest = keepBest;
  job.read = readOptions;
  if (a.has("--standardize")) {
    // Empty: every input but the last declared.
    const std::string &list = *a.get("--standardize");
    std::vector<std::string> names;
    std::size_t start = 0;
    while (!list.empty() && start <= list.size()) {
      std::size_t comma = list.find(',', start);
      names.push_back(
          list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    job.standardize = names;
  }
  job.initPath = initPath;
  job.outputPath = output;
  job.plotPath = plot;
  job.warn = [&](const std::string &message) { warn(inv, message); };
  run.progress = &std::cerr;
  run.terminal = stderrIsTerminal();
  if (run.checkpointPath.empty()) run.interruptPath = interruptCheckpointPath(inv.input);
  // Ctrl-C stops the loop from its first step on; before it, it ends the process as usual.
  std::optional<InterruptGuard> guard;
  job.beforeRun = [&] { guard.emplace(); };
  run.interrupted = &gInterrupted;
  job.run = run;
  job.comm = comm.get();
  std::optional<fit::JobResult> done;
  try {
    done.emplace(fit::fitProgram(std::move(*program), inv.input, job));
  } catch (const fit::UsageError &e) {
    return usageError(inv, e.what());
  } catch (const fit::RankError &e) {
    // Every rank knows of it and returns: rank 0 prints it (the others' stderr is /dev/null).
    llvm::outs().flush();
    return inputError(inv, e.what());
  } catch (...) {
    if (!parallel) throw;
    // A failure that the other ranks may not know of (they may wait for this one in a
    // collective): said here, on this rank's stderr, and every rank is ended.
    std::string message = "an unknown error";
    try {
      throw;
    } catch (const std::exception &e) {
      message = e.what();
    } catch (...) {
    }
    const std::string text = "nabla: error: rank " + std::to_string(rank) + " of " +
                             std::to_string(comm->size()) + ": " + message + "\n";
    const int fd = silent ? silent->savedStderr : 2;
    if (fd >= 0) (void)!::write(fd, text.data(), text.size());
#ifdef NABLA_HAVE_MPI
    fit::MpiSession::abort(1);
#else
    std::_Exit(1);
#endif
  }
  const fit::RunResult &result = done->result;
  const bool hasInputs = done->model.inputCount() > 0;
  const double compileSeconds = loadProgramSeconds + done->compileSeconds;
  const double loadSeconds = done->loadSeconds;

  llvm::raw_ostream &os = llvm::outs();
  os << fit::summaryText(*done, job.words);
  os.flush();
  // Where the time went, on stderr beside the progress (stdout stays the same from run to run).
  const fit::RunResult::Timing &t = result.timing;
  if (t.loop > 0) {
    const double outside = std::max(0.0, t.loop - t.kernel);
    std::cerr << llvm::formatv("time: compiled in {0:f3} s; {1:f3} s for the steps", compileSeconds,
                               t.loop)
                     .str();
    if (t.rows) std::cerr << llvm::formatv(" ({0:e2} rows/s)", t.rows / t.loop).str();
    std::cerr << llvm::formatv(": compiled code {0:f3} s, outside it {1:f3} s ({2:f1}%: batches "
                               "{3:f3} s, optimizer, log and progress {4:f3} s)",
                               t.kernel, outside, 100 * outside / t.loop, t.batching,
                               std::max(0.0, outside - t.batching))
                     .str();
    if (hasInputs) std::cerr << llvm::formatv("; data loaded in {0:f2} s", loadSeconds).str();
    std::cerr << "\n";
  }
  if (result.stop == fit::StopReason::NoProgress)
    note(inv, "stopped at " + result.stopMessage);
  if (result.stop == fit::StopReason::Diverged)
    return inputError(inv, "the run diverged at " + result.stopMessage +
                               "; try a smaller --lr" +
                               (s.optimizer == "lbfgs" ? " or --line-search strong_wolfe" : ""));
  if (result.stop == fit::StopReason::Interrupted) {
    note(inv, "interrupted after step " + std::to_string(result.steps) +
                  (result.checkpointWritten.empty()
                       ? ""
                       : "; continue with --resume " + result.checkpointWritten));
    return 130;
  }
  return kExitOk;
}

} // namespace nabla::cli
