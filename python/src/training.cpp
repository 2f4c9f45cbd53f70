// Training from Python: nabla.fit (the runtime's fit::fitProgram, what `nabla fit` runs, so that
// both give the same params bit for bit), FitResult, the optimizers of nabla.optim, and data
// given as numpy arrays.
#include "bindings.h"

#include "runtime/fit/fit.h"
#include "support/text.h"

#include <sys/stat.h>

#include <cmath>
#include <csignal>
#include <iostream>
#include <span>

namespace nabla::python {

// --- Keywords ----------------------------------------------------------------------------------

namespace {

template <class T> std::optional<T> readValue(const py::handle &value, const std::string &name);

template <> std::optional<double> readValue<double>(const py::handle &v, const std::string &name) {
  if (PyBool_Check(v.ptr()) || !PyNumber_Check(v.ptr()))
    argumentError(name + " must be a number");
  return py::cast<double>(v);
}
template <> std::optional<int> readValue<int>(const py::handle &v, const std::string &name) {
  if (PyBool_Check(v.ptr()) || !PyIndex_Check(v.ptr())) argumentError(name + " must be an integer");
  const auto n = py::cast<long long>(v);
  if (n < 0 || n > 1000000000) argumentError(name + " is out of range");
  return static_cast<int>(n);
}
template <> std::optional<bool> readValue<bool>(const py::handle &v, const std::string &name) {
  if (!PyBool_Check(v.ptr())) argumentError(name + " must be True or False");
  return v.cast<bool>();
}
template <>
std::optional<std::array<double, 2>> readValue<std::array<double, 2>>(const py::handle &v,
                                                                      const std::string &name) {
  if (!py::isinstance<py::sequence>(v) || py::len(v) != 2)
    argumentError(name + " must be a pair of numbers, e.g. (0.9, 0.999)");
  py::sequence s = py::reinterpret_borrow<py::sequence>(v);
  return std::array<double, 2>{*readValue<double>(s[0], name), *readValue<double>(s[1], name)};
}
template <>
std::optional<std::string> readValue<std::string>(const py::handle &v, const std::string &name) {
  if (!py::isinstance<py::str>(v)) argumentError(name + " must be a str");
  return v.cast<std::string>();
}

/// A typed default of optim::defaults() as a Python value.
template <class T> py::object pythonValue(const std::optional<T> &v) {
  if (!v) return py::none();
  if constexpr (std::is_same_v<T, std::array<double, 2>>) return py::make_tuple((*v)[0], (*v)[1]);
  else return py::cast(*v);
}

}  // namespace

optim::Hyper takeHyper(py::dict &kwargs) {
  optim::Hyper h;
  for (const optim::HyperInfo &info : optim::hyperparameters()) {
    std::string key(info.name);
    if (!kwargs.contains(key) && info.name == "line_search" && kwargs.contains("line_search_fn"))
      key = "line_search_fn";  // torch's keyword
    if (!kwargs.contains(key)) continue;
    py::object value = kwargs[py::str(key)];
    PyDict_DelItemString(kwargs.ptr(), key.c_str());
    if (value.is_none()) continue;  // torch's None: the default
    std::visit(
        [&](auto field) {
          using T = typename std::remove_reference_t<decltype(h.*field)>::value_type;
          h.*field = readValue<T>(value, key);
        },
        info.field);
  }
  return h;
}

void rejectUnknown(const py::dict &kwargs, const std::vector<std::string> &known,
                   const std::string &what) {
  for (auto [key, value] : kwargs) {
    const std::string name = py::str(key);
    const std::string close = closestName(name, known);
    argumentError(what + " has no keyword '" + name + "'" +
                  (close.empty() ? "" : " (did you mean '" + close + "'?)"));
  }
}

// --- Data as arrays -----------------------------------------------------------------------------

ArrayData::ArrayData(const py::handle &data) {
  py::object asFortran = py::module_::import("numpy").attr("asfortranarray");
  auto add = [&](const std::string &name, const py::handle &value) {
    py::array a;
    try {
      a = asFortran(value, py::arg("dtype") = "float64");
    } catch (py::error_already_set &) {
      argumentError("data['" + name + "'] cannot be read as an array of float64");
    }
    if (a.ndim() != 1 && a.ndim() != 2)
      argumentError("data" + (name.empty() ? "" : "['" + name + "']") +
                    " must be a 1-D or 2-D array, not " + std::to_string(a.ndim()) + "-D");
    Entry e;
    e.data = static_cast<const double *>(a.data());
    e.rows = static_cast<std::size_t>(a.shape(0));
    e.width = a.ndim() == 2 ? static_cast<std::size_t>(a.shape(1)) : 1;
    if (!named_.count(name)) order_.push_back(name);
    named_[name] = e;
    keep_.push_back(std::move(a));
  };
  if (py::hasattr(data, "keys") && !py::isinstance<py::array>(data)) {
    // A dict, or anything with keys() and [] (a pandas DataFrame).
    for (py::handle key : data.attr("keys")()) {
      if (!py::isinstance<py::str>(key)) argumentError("the keys of data must be names (str)");
      add(key.cast<std::string>(), data[key]);
    }
  } else if (py::isinstance<py::array>(data) || py::isinstance<py::sequence>(data)) {
    table_ = true;
    add("", data);
    if (named_[""].width == 0 || keep_.back().ndim() != 2)
      argumentError("data as one array must be 2-D: (n rows, one column per input element)");
  } else {
    argumentError("data must be a dict of arrays by input name, a 2-D array or a CSV path");
  }
}

std::vector<const double *> ArrayData::bind(const std::vector<InputSpec> &inputs) {
  std::vector<const double *> out;
  std::optional<std::size_t> rows;
  auto take = [&](const std::string &name, const Entry &e, std::size_t column) {
    if (rows && *rows != e.rows)
      argumentError("the arrays of data have different lengths (" + std::to_string(*rows) +
                    " and " + std::to_string(e.rows) + " rows, at '" + name + "')");
    rows = e.rows;
    out.push_back(e.data + column * e.rows);
  };
  if (table_) {
    const Entry &e = named_.at("");
    std::size_t total = 0;
    for (const InputSpec &in : inputs) total += in.size;
    if (e.width != total)
      argumentError("data as one 2-D array needs a column per input element (" +
                    std::to_string(total) + "), not " + std::to_string(e.width));
    for (std::size_t c = 0; c < total; ++c) take("data", e, c);
  } else {
    for (const InputSpec &in : inputs) {
      auto whole = named_.find(in.name);
      if (whole != named_.end()) {
        if (whole->second.width != in.size)
          argumentError("data['" + in.name + "'] has " + std::to_string(whole->second.width) +
                        (whole->second.width == 1 ? " column" : " columns") + ", but input '" +
                        in.name + "' has " + std::to_string(in.size) +
                        (in.size == 1 ? " element" : " elements"));
        for (std::size_t c = 0; c < in.size; ++c) take(in.name, whole->second, c);
        continue;
      }
      // A run of columns `from (first .. last)`: the keys from first to last in the data's
      // order, as the run is taken from a CSV file's header.
      if (in.range && in.columns.size() == 2) {
        auto first = std::find(order_.begin(), order_.end(), in.columns[0]);
        auto last = std::find(order_.begin(), order_.end(), in.columns[1]);
        if (first != order_.end() && last != order_.end() && first <= last &&
            static_cast<std::size_t>(last - first) + 1 == in.size &&
            std::all_of(first, last + 1, [&](const std::string &n) { return named_[n].width == 1; })) {
          for (auto it = first; it <= last; ++it) take(*it, named_[*it], 0);
          continue;
        }
      }
      // One column per element: by element name (`x[0]`), or by the data column it reads.
      for (std::size_t k = 0; k < in.size; ++k) {
        auto it = named_.find(in.elements[k]);
        if (it == named_.end() && !in.range && in.columns.size() == in.size)
          it = named_.find(in.columns[k]);
        if (it == named_.end() || it->second.width != 1) {
          std::string how = in.size == 1 ? "a 1-D array"
                                         : "a 2-D array (n, " + std::to_string(in.size) +
                                               "), or 1-D arrays '" + in.elements.front() +
                                               "' .. '" + in.elements.back() + "'";
          if (!in.columns.empty() && in.columns.front() != in.name &&
              in.columns.front() != in.elements.front())
            how += std::string(in.range ? ", or the run of columns '" : ", or its columns '") +
                   in.columns.front() + "'" +
                   (in.size > 1 ? " .. '" + in.columns.back() + "'" : "") +
                   (in.range ? " in the data's order" : "");
          throw Error(Error::Kind::NotFound,
                      "data has no values for input '" + in.name + "': give " + how);
        }
        take(it->first, it->second, 0);
      }
    }
  }
  rows_ = rows.value_or(0);
  if (rows_ == 0 && !inputs.empty()) argumentError("data has no rows");
  return out;
}

// --- fit ----------------------------------------------------------------------------------------

namespace {

/// What nabla.fit returns.
struct FitResult {
  py::dict params, history, metrics, standardization, settings;
  py::object averagedParams = py::none(), averagedLoss = py::none(), validation = py::none();
  py::dict averagedMetrics;
  double loss = 0;
  std::size_t steps = 0, epochs = 0;
  std::string stop, stopMessage, summary, optimizer, model;
};

py::array_t<double> shapedArray(const std::vector<std::uint32_t> &dims, const double *values) {
  std::vector<py::ssize_t> shape(dims.begin(), dims.end());
  py::array_t<double> a(shape);
  std::copy_n(values, a.size(), a.mutable_data());
  return a;
}

py::dict paramsDict(const fit::Model &model, const std::vector<double> &values) {
  py::dict out;
  for (const fit::ArrayInfo &p : model.params())
    out[py::str(p.name)] = shapedArray(p.shape.dims, values.data() + p.offset);
  return out;
}

py::dict reportsDict(const fit::Model &model, const std::vector<double> &values) {
  py::dict out;
  for (std::size_t k = 0; k < values.size(); ++k) out[py::str(model.reportNames()[k])] = values[k];
  return out;
}

py::array_t<double> vectorArray(const std::vector<double> &v) {
  py::array_t<double> a(v.size());
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

std::optional<std::size_t> countOf(const py::object &v, const char *name, bool zero = false) {
  if (v.is_none()) return std::nullopt;
  if (PyBool_Check(v.ptr()) || !PyIndex_Check(v.ptr()))
    argumentError(std::string(name) + " must be an integer");
  const auto n = v.cast<long long>();
  if (n < 0 || (n == 0 && !zero)) argumentError(std::string(name) + " must be positive");
  return static_cast<std::size_t>(n);
}

std::string optionalPath(const py::object &v) { return v.is_none() ? "" : pathOf(v); }

/// The model argument: a file, a Module compiled from one, or program text.
driver::Source modelSource(const py::object &model, std::string &name, const driver::Limits &l) {
  std::string text;
  if (py::isinstance<Module>(model)) {
    text = model.cast<const Module &>().name();
    if (!text.empty() && text.front() == '<')
      argumentError("fit needs the model's file or text; this Module was compiled from text "
                    "named '" + text + "'");
  } else if (py::isinstance<py::str>(model)) {
    text = model.cast<std::string>();
  } else {
    text = pathOf(model);
  }
  struct stat st {};
  if (driver::looksLikePath(text) || (::stat(text.c_str(), &st) == 0 && S_ISREG(st.st_mode))) {
    name = text;
    return driver::readFile(text, l, "limits");
  }
  name = "<expr>";
  return driver::fromText(name, text, false, l, "limits");
}

/// Ctrl-C during a run: the loop stops between steps, as `nabla fit`'s, instead of the signal
/// waiting for the GIL until the run ends.
volatile std::sig_atomic_t gFitInterrupted = 0;
extern "C" void onFitInterrupt(int) { gFitInterrupted = 1; }

/// Catches SIGINT for the run when called from Python's main thread (which owns signal handling),
/// and gives the previous handler back after it.
class InterruptGuard {
public:
  InterruptGuard() {
    const py::module_ threading = py::module_::import("threading");
    if (!threading.attr("current_thread")().is(threading.attr("main_thread")())) return;
    gFitInterrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = onFitInterrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    installed_ = sigaction(SIGINT, &sa, &previous_) == 0;
  }
  ~InterruptGuard() {
    if (installed_) sigaction(SIGINT, &previous_, nullptr);
  }
  InterruptGuard(const InterruptGuard &) = delete;
  InterruptGuard &operator=(const InterruptGuard &) = delete;
  bool installed() const { return installed_; }

private:
  struct sigaction previous_ {};
  bool installed_ = false;
};

FitResult fit(const py::object &model, const py::object &data, const std::string &optimizer,
              const py::object &epochs, const py::object &steps, std::size_t batch,
              std::uint64_t seed, bool shuffle, bool inOrder, const py::object &standardize,
              unsigned threads, const py::object &init, const py::object &tol,
              std::size_t patience, const std::string &schedule, bool average,
              const std::string &jit, const py::object &log, bool logParams,
              const py::object &checkpoint, std::size_t checkpointEvery, const py::object &resume,
              const py::object &output, const py::object &plot, const py::object &maxRows,
              bool verbose, py::kwargs kwargs) {
  fit::Job job;
  fit::RunOptions &run = job.run;
  fit::Settings &s = run.settings;
  py::dict rest(kwargs);
  s.hyper = takeHyper(rest);
  // Validation, as `nabla fit --val FILE | --val-split F --early-stop N --keep best|last`.
  auto take = [&](const char *name) -> py::object {
    if (!rest.contains(name)) return py::none();
    return rest.attr("pop")(name);
  };
  const py::object val = take("val"), valSplit = take("val_split"), earlyStop = take("early_stop"),
                   keep = take("keep");
  // How data files are read (applied below), as `nabla fit --delimiter D --na A,B --drop-na`.
  const py::object delimiter = take("delimiter"), na = take("na"), dropNa = take("drop_na");
  // newton's Hessian, as `nabla fit --hessian-form auto|dense|sparse` (checked by fitProgram).
  if (const py::object form = take("hessian_form"); !form.is_none())
    s.hessianForm = py::cast<std::string>(form);
  if (!valSplit.is_none()) job.valSplit = py::cast<double>(valSplit);
  if (std::optional<std::size_t> n = countOf(earlyStop, "early_stop")) s.earlyStop = *n;
  if (!keep.is_none()) {
    const std::string k = py::cast<std::string>(keep);
    if (k != "best" && k != "last") argumentError("unknown keep '" + k + "' (best or last)");
    job.keepBest = k == "best";
  }
  {
    std::vector<std::string> known = {"data", "optimizer", "epochs", "steps", "batch", "seed",
                                      "shuffle", "in_order", "standardize", "threads", "init",
                                      "tol", "patience", "schedule", "average", "jit", "log",
                                      "log_params", "checkpoint", "checkpoint_every", "resume",
                                      "output", "plot", "max_rows", "verbose", "delimiter",
                                      "na", "drop_na"};
    for (const optim::HyperInfo &info : optim::hyperparameters()) known.emplace_back(info.name);
    rejectUnknown(rest, known, "fit()");
  }
  s.optimizer = optimizer;
  {
    const std::vector<std::string> names = optim::names();
    if (std::find(names.begin(), names.end(), optimizer) == names.end()) {
      const std::string close = closestName(optimizer, names);
      std::string all;
      for (const std::string &n : names) all += (all.empty() ? "" : ", ") + n;
      argumentError("unknown optimizer '" + optimizer + "'" +
                    (close.empty() ? "" : " (did you mean '" + close + "'?)") +
                    "; the optimizers are " + all);
    }
  }
  // The optimizer's own checks of its hyperparameters and the schedule, before any work (as the
  // CLI makes them).
  (void)optim::make(optimizer, 1, s.hyper);
  (void)optim::parse_schedule(schedule);
  s.schedule = schedule;
  s.batch = batch;
  if (batch == 0) argumentError("batch must be positive");
  s.shuffle = shuffle && !inOrder;
  s.seed = seed;
  s.average = average;
  s.threads = threads;
  run.epochs = countOf(epochs, "epochs");
  run.steps = countOf(steps, "steps");
  if (run.epochs && run.steps) argumentError("give epochs or steps, not both");
  if (!tol.is_none()) run.tol = py::cast<double>(tol);
  run.patience = patience;
  run.logPath = optionalPath(log);
  run.logParams = logParams;
  if (logParams && run.logPath.empty()) argumentError("log_params needs log=FILE");
  run.checkpointPath = optionalPath(checkpoint);
  run.checkpointEvery = checkpointEvery;
  run.resumePath = optionalPath(resume);
  if (verbose) run.progress = &std::cerr;
  fit::StepHistory history;
  run.history = &history;
  if (jit == "baseline") job.tier = fit::Tier::Baseline;
  else if (jit == "optimized") job.tier = fit::Tier::Optimized;
  else if (jit == "array") job.tier = fit::Tier::Array;
  else if (jit != "auto") argumentError("unknown jit '" + jit + "' (auto, array, optimized or baseline)");
  if (std::optional<std::size_t> n = countOf(maxRows, "max_rows")) job.read.maxRows = *n;
  {
    if (!delimiter.is_none()) {
      const std::string d = py::cast<std::string>(delimiter);
      std::optional<char> c = data::parseDelimiter(d);
      if (!c) argumentError("unknown delimiter '" + data::printable(d) + "' (',', ';', tab or \\t)");
      job.read.delimiter = *c;
    }
    if (py::isinstance<py::str>(na))
      job.read.na = data::parseNaList(py::cast<std::string>(na));
    else if (!na.is_none())
      job.read.na = py::cast<std::vector<std::string>>(na);
    if (!dropNa.is_none()) job.read.dropNa = py::cast<bool>(dropNa);
  }
  job.outputPath = optionalPath(output);
  job.plotPath = optionalPath(plot);

  if (standardize.is_none() || (PyBool_Check(standardize.ptr()) && !standardize.cast<bool>())) {
  } else if (PyBool_Check(standardize.ptr())) {
    job.standardize = std::vector<std::string>{};  // every input but the last
  } else if (py::isinstance<py::str>(standardize)) {
    std::vector<std::string> names;
    const std::string list = standardize.cast<std::string>();
    std::size_t start = 0;
    while (start <= list.size()) {
      const std::size_t comma = list.find(',', start);
      names.push_back(list.substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    job.standardize = names;
  } else {
    std::vector<std::string> names;
    for (py::handle n : standardize) names.push_back(py::str(n));
    job.standardize = names;
  }

  if (py::isinstance<py::dict>(init)) {
    for (auto [key, value] : py::reinterpret_borrow<py::dict>(init)) {
      auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(value);
      if (!a) {
        PyErr_Clear();
        argumentError("init['" + std::string(py::str(key)) + "'] is not an array of numbers");
      }
      job.init[py::str(key)] = std::vector<double>(a.data(), a.data() + a.size());
    }
  } else if (!init.is_none()) {
    job.initPath = pathOf(init);
  }

  // Arrays given for the data or the validation rows, bound to the model's inputs by name.
  auto arrayData = [](ArrayData &arrays, const char *path) {
    return [&arrays, path](const fit::Model &m) {
      std::vector<InputSpec> specs;
      for (const fit::ArrayInfo &in : m.inputs())
        specs.push_back({in.name, in.size(), in.elements, in.columns, in.columnRange});
      const std::vector<const double *> columns = arrays.bind(specs);
      fit::Dataset d;
      d.path = path;
      d.rows = arrays.rows();
      std::uint64_t h = data::fnv1a(std::to_string(d.rows));
      for (const double *c : columns) {
        d.columns.emplace_back(c, c + d.rows);
        h = data::fnv1a(d.columns.back(), h);
      }
      d.checksum = h;
      return d;
    };
  };
  // A file's path, or arrays kept in `arrays` for the run and bound when the model is compiled.
  auto takeData = [&](const py::object &given, std::string &path,
                      std::function<fit::Dataset(const fit::Model &)> &bind,
                      std::optional<ArrayData> &arrays, const char *name) {
    if (given.is_none()) return;
    if (py::isinstance<py::str>(given) || py::hasattr(given, "__fspath__")) {
      path = pathOf(given);
      return;
    }
    arrays.emplace(given);
    bind = arrayData(*arrays, name);
  };
  std::optional<ArrayData> arrays, valArrays;
  takeData(data, job.dataPath, job.data, arrays, "<arrays>");
  takeData(val, job.valPath, job.valData, valArrays, "<validation arrays>");
  job.words.data = "data";
  job.words.dataFile = "data= (a CSV file, or a dict of arrays by input name)";
  job.words.standardize = "standardize";
  job.words.standardizeNamed = "standardize=";
  job.words.tol = "tol";
  job.words.val = "val=";
  job.words.valSplit = "val_split=";
  job.words.earlyStop = "early_stop=";
  job.words.keep = "keep='best'";
  job.words.hessianForm = "hessian_form=";
  std::vector<std::string> warnings;
  job.warn = [&](const std::string &message) { warnings.push_back(message); };

  std::string modelName;
  driver::Options options;
  options.deferBodies = true;
  const driver::Source source = modelSource(model, modelName, options.limits);
  std::optional<fit::JobResult> done;
  std::string loadWarnings;
  {
    InterruptGuard guard;
    if (guard.installed()) run.interrupted = &gFitInterrupted;
    py::gil_scoped_release release;
    driver::Program program = driver::Program::load(source, options);
    loadWarnings = program.renderWarnings(false);
    done.emplace(fit::fitProgram(std::move(program), modelName, job));
  }
  if (!loadWarnings.empty()) warn(loadWarnings);
  for (const std::string &w : warnings) warn(w);

  const fit::JobResult &j = *done;
  const fit::RunResult &r = j.result;
  FitResult out;
  out.model = modelName;
  out.optimizer = optimizer;
  out.params = paramsDict(j.model, r.params);
  out.loss = r.loss;
  out.metrics = reportsDict(j.model, r.reports);
  out.steps = r.steps;
  out.epochs = r.epochs;
  out.stop = fit::stopName(r.stop);
  out.stopMessage = r.stopMessage;
  out.summary = fit::summaryText(j, job.words);
  out.history["loss"] = vectorArray(history.loss);
  out.history["grad_norm"] = vectorArray(history.gradNorm);
  out.history["lr"] = vectorArray(history.lr);
  for (std::size_t k = 0; k < history.reports.size(); ++k)
    out.history[py::str(j.model.reportNames()[k])] = vectorArray(history.reports[k]);
  if (r.validation) {
    py::dict v;
    v["rows"] = r.validation->rows;
    v["loss"] = r.validation->loss;
    v["metrics"] = reportsDict(j.model, r.validation->reports);
    v["epoch"] = r.validation->epoch;
    v["best_epoch"] = r.epochHistory.bestEpoch;
    v["best_loss"] = r.epochHistory.bestLoss;
    v["kept"] = j.settings.keepBest ? "best" : "last";
    out.validation = v;
    out.history["val_loss"] = vectorArray(history.valLoss);
    for (std::size_t k = 0; k < history.valReports.size(); ++k)
      out.history[py::str("val_" + j.model.reportNames()[k])] = vectorArray(history.valReports[k]);
  }
  if (r.averagedLoss) {
    out.averagedParams = paramsDict(j.model, r.averaged);
    out.averagedLoss = py::float_(*r.averagedLoss);
    out.averagedMetrics = reportsDict(j.model, r.averagedReports);
  }
  for (const auto &[name, scalings] : j.data.scaling) {
    std::vector<double> mean, scale;
    for (const data::Scaling &sc : scalings) {
      mean.push_back(sc.mean);
      scale.push_back(sc.scale);
    }
    py::dict d;
    d["mean"] = vectorArray(mean);
    d["std"] = vectorArray(scale);
    out.standardization[py::str(name)] = d;
  }
  for (const auto &[key, value] : fit::describeSettings(j.settings))
    out.settings[py::str(key)] = value;
  if (r.stop == fit::StopReason::Diverged)
    warn("the run diverged at " + r.stopMessage + "; try a smaller lr", PyExc_RuntimeWarning);
  if (r.stop == fit::StopReason::Interrupted) {
    // Python's answer to Ctrl-C, once the run has written its checkpoint and outputs.
    PyErr_SetString(PyExc_KeyboardInterrupt,
                    ("nabla.fit was interrupted after step " + std::to_string(r.steps) +
                     (r.checkpointWritten.empty()
                          ? std::string(" (give checkpoint=FILE to be able to resume)")
                          : "; resume=" + r.checkpointWritten + " continues it"))
                        .c_str());
    throw py::error_already_set();
  }
  return out;
}

// --- Optimizers ---------------------------------------------------------------------------------

struct Optimizer {
  std::unique_ptr<optim::Optimizer> opt;
};

std::span<double> paramsSpan(const Optimizer &o, const py::handle &params) {
  constexpr int kWriteable = py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  if (!py::isinstance<py::array_t<double>>(params))
    argumentError("params must be a float64 numpy array (np.asarray(p, dtype=np.float64)), "
                  "which step() updates in place");
  py::array a = py::reinterpret_borrow<py::array>(params);
  if (!(a.flags() & py::array::c_style) || !(a.flags() & kWriteable))
    argumentError("params must be a contiguous, writable array: step() updates it in place");
  if (static_cast<std::size_t>(a.size()) != o.opt->size())
    argumentError("params has " + std::to_string(a.size()) + " entries, the optimizer was made "
                  "for " + std::to_string(o.opt->size()));
  return {static_cast<double *>(a.mutable_data()), o.opt->size()};
}

/// A Python closure `closure(x) -> (loss, grad)` as the optimizers call it.
optim::Closure closureOf(const py::object &fn) {
  return [fn](std::span<const double> x, std::span<double> g) {
    py::array_t<double> at(x.size());
    std::copy(x.begin(), x.end(), at.mutable_data());
    py::object r = fn(at);
    if (!py::isinstance<py::sequence>(r) || py::len(r) != 2)
      argumentError("the closure must return (loss, grad)");
    py::sequence pair = py::reinterpret_borrow<py::sequence>(r);
    auto grad = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(pair[1]);
    if (!grad || static_cast<std::size_t>(grad.size()) != g.size()) {
      PyErr_Clear();
      argumentError("the closure's gradient must be an array of " + std::to_string(g.size()) +
                    " numbers");
    }
    std::copy_n(grad.data(), g.size(), g.begin());
    return py::cast<double>(pair[0]);
  };
}

double step(Optimizer &o, const py::handle &params, const py::object &gradOrClosure, double loss,
            const py::object &hessian, const py::object &hvp) {
  std::span<double> x = paramsSpan(o, params);
  const std::string name(o.opt->name());
  if (PyCallable_Check(gradOrClosure.ptr())) {
    const optim::Closure closure = closureOf(gradOrClosure);
    if (hessian.is_none() && hvp.is_none()) return o.opt->step(x, closure);
    optim::Curvature curvature;
    if (!hvp.is_none())
      curvature.hvp = [&](std::span<const double> at, std::span<const double> v,
                          std::span<double> out) {
        py::array_t<double> point(at.size()), direction(v.size());
        std::copy(at.begin(), at.end(), point.mutable_data());
        std::copy(v.begin(), v.end(), direction.mutable_data());
        auto hv = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(
            hvp(point, direction));
        if (!hv || static_cast<std::size_t>(hv.size()) != out.size()) {
          PyErr_Clear();
          argumentError("hvp(x, v) must return an array of " + std::to_string(out.size()) +
                        " numbers");
        }
        std::copy_n(hv.data(), out.size(), out.begin());
      };
    if (hessian.is_none()) return o.opt->step(x, closure, curvature);
    curvature.dense = [&](std::span<const double> at, std::span<double> out) {
      py::array_t<double> point(at.size());
      std::copy(at.begin(), at.end(), point.mutable_data());
      auto hess = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(
          hessian(point));
      if (!hess || static_cast<std::size_t>(hess.size()) != out.size()) {
        PyErr_Clear();
        argumentError("the Hessian must be an array of " + std::to_string(at.size()) + " x " +
                      std::to_string(at.size()) + " numbers");
      }
      std::copy_n(hess.data(), out.size(), out.begin());
    };
    return o.opt->step(x, closure, curvature);
  }
  if (name == "lbfgs" || name == "lbfgs-mt" || name == "newton" || name == "newton-cg")
    argumentError(name + " evaluates the objective during its step: pass a closure "
                         "closure(x) -> (loss, grad)" +
                  (name == "newton"      ? std::string(" and hessian=")
                   : name == "newton-cg" ? std::string(" and hvp=")
                                         : std::string()));
  auto grad = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(gradOrClosure);
  if (!grad || static_cast<std::size_t>(grad.size()) != x.size()) {
    PyErr_Clear();
    argumentError("grad must be an array of " + std::to_string(x.size()) + " numbers");
  }
  const double *g = grad.data();
  return o.opt->step(x, [&](std::span<const double>, std::span<double> out) {
    std::copy_n(g, out.size(), out.begin());
    return loss;
  });
}

Optimizer makeOptimizer(const std::string &name, const py::object &sizeOrParams, py::kwargs kw) {
  std::size_t n = 0;
  if (!py::isinstance<py::array>(sizeOrParams) && PyIndex_Check(sizeOrParams.ptr()) &&
      !PyBool_Check(sizeOrParams.ptr())) {
    n = *countOf(sizeOrParams, "the number of params", true);
  } else {
    py::array a = py::array::ensure(sizeOrParams);
    if (!a) {
      PyErr_Clear();
      argumentError("an optimizer takes the number of params or an array of them");
    }
    n = static_cast<std::size_t>(a.size());
  }
  py::dict rest(kw);
  optim::Hyper h = takeHyper(rest);
  std::vector<std::string> known;
  for (std::string_view o : optim::options(name)) known.emplace_back(o);
  rejectUnknown(rest, known, name);
  return Optimizer{optim::make(name, n, h)};
}

py::dict hyperDict(const optim::Hyper &h, const std::vector<std::string_view> &only) {
  py::dict out;
  for (const optim::HyperInfo &info : optim::hyperparameters()) {
    if (std::find(only.begin(), only.end(), info.name) == only.end()) continue;
    std::visit([&](auto field) { out[py::str(std::string(info.name))] = pythonValue(h.*field); },
               info.field);
  }
  return out;
}

}  // namespace

void bindTraining(py::module_ &m) {
  py::class_<FitResult>(m, "FitResult", "What nabla.fit returns: the trained params, the loss "
                                        "per step, the final loss and reports.")
      .def_readonly("params", &FitResult::params,
                    "The final params: a dict of numpy arrays in their declared shapes.")
      .def_readonly("history", &FitResult::history,
                    "Per step: 'loss' (the batch loss the step computed its gradient from), "
                    "'grad_norm', 'lr', and each report on the step's batch. With validation, "
                    "per epoch: 'val_loss' and 'val_' + each report.")
      .def_readonly("validation", &FitResult::validation,
                    "With validation data: {'rows', 'loss', 'metrics' (at the returned params), "
                    "'epoch' (theirs), 'best_epoch', 'best_loss', 'kept'}; else None.")
      .def_readonly("metrics", &FitResult::metrics,
                    "The reports over all rows at the final params (`acc`, ...).")
      .def_readonly("loss", &FitResult::loss, "The objective over all rows at the final params.")
      .def_readonly("steps", &FitResult::steps, "Optimizer steps done.")
      .def_readonly("epochs", &FitResult::epochs, "Whole passes over the data done.")
      .def_readonly("stop", &FitResult::stop,
                    "How the run ended: finished, tolerance, interrupted, no_progress, diverged.")
      .def_readonly("stop_message", &FitResult::stopMessage,
                    "For no_progress and diverged: why, with the step.")
      .def_readonly("averaged_params", &FitResult::averagedParams,
                    "With average=True: the averaged iterate's params, else None.")
      .def_readonly("averaged_loss", &FitResult::averagedLoss, "Its loss, or None.")
      .def_readonly("averaged_metrics", &FitResult::averagedMetrics, "Its reports.")
      .def_readonly("standardization", &FitResult::standardization,
                    "For each standardized input: {'mean': array, 'std': array}, per element.")
      .def_readonly("settings", &FitResult::settings,
                    "The run's settings as `nabla fit` records them in checkpoints.")
      .def_readonly("summary", &FitResult::summary, "The summary `nabla fit` prints.")
      .def_readonly("optimizer", &FitResult::optimizer, "The optimizer's name.")
      .def_readonly("model", &FitResult::model, "The model's path (or `<expr>`).")
      .def("__repr__", [](const FitResult &r) {
        return "<nabla.FitResult " + r.optimizer + ": " + std::to_string(r.steps) +
               " steps, loss " + std::string(py::str(py::float_(r.loss))) + " (" + r.stop + ")>";
      });

  m.def("fit", &fit, py::arg("model"), py::arg("data") = py::none(), py::kw_only(),
        py::arg("optimizer") = "adam", py::arg("epochs") = py::none(),
        py::arg("steps") = py::none(), py::arg("batch") = 32, py::arg("seed") = 0,
        py::arg("shuffle") = true, py::arg("in_order") = false,
        py::arg("standardize") = py::none(), py::arg("threads") = 0,
        py::arg("init") = py::none(), py::arg("tol") = py::none(), py::arg("patience") = 10,
        py::arg("schedule") = "constant", py::arg("average") = false, py::arg("jit") = "auto",
        py::arg("log") = py::none(), py::arg("log_params") = false,
        py::arg("checkpoint") = py::none(), py::arg("checkpoint_every") = 0,
        py::arg("resume") = py::none(), py::arg("output") = py::none(),
        py::arg("plot") = py::none(), py::arg("max_rows") = py::none(),
        py::arg("verbose") = false,
        R"doc(Trains a model's params: what `nabla fit MODEL --data DATA ...` does, with the same
optimizers, defaults and results, bit for bit (the same params and loss for the same options).

    r = nabla.fit("samples/logreg_breast_cancer.nabla",
                  data="samples/data/breast_cancer.csv",
                  optimizer="adam", lr=0.01, epochs=20, standardize=True)
    r.params["w"], r.loss, r.metrics["acc"], r.history["loss"]

model: a .nabla file (or a Module loaded from one, or the program's text).
data: a CSV file (or a NumPy .npy/.npz file); or a dict of numpy arrays by input name (a vector input as a 2-D (n, size)
    array, or one column per element by element name `x[0]` or by the column it reads); or a
    2-D array (n, input_count) with a column per input element, in order.
optimizer: sgd, adagrad, rmsprop, adadelta, adam (default), nadam, adamw, lbfgs, lbfgs-mt,
    newton, newton-cg.
Hyperparameters under torch.optim's names: lr, momentum, dampening, nesterov, weight_decay,
    lr_decay, initial_accumulator_value, eps, alpha, centered, rho, betas=(b1, b2), amsgrad,
    momentum_decay, max_iter, max_eval, tolerance_grad, tolerance_change, history_size,
    line_search (or line_search_fn) = 'strong_wolfe'; and newton-cg's trust_radius,
    max_trust_radius, eta (SciPy's names). Unset ones take their defaults (torch's; SciPy's for
    lbfgs-mt and newton-cg).
epochs / steps: how long (default 10 epochs; 100 steps for a model without inputs).
batch: rows per mini-batch (32); seed: of the shuffles and of `~ normal` inits (0);
shuffle=False or in_order=True: batches in data order.
standardize: True scales every input but the last declared (the target) to mean 0 and
    variance 1; or a list of input names (or "x,z").
threads: of the batched kernel (0: one per hardware thread).
init: a dict of starting values by param name, or a params file (`nabla fit -o`).
tol: stop after a step whose gradient norm is at most tol (lbfgs, lbfgs-mt, newton and
    newton-cg then get tolerance_grad at most tol/sqrt(n) and tolerance_change 0 unless they
    are given); patience: steps in a row without progress before the run stops (10; 0 never).
val: validation data (a CSV file or arrays, as data), or val_split=F: hold out that fraction
    of the rows (drawn by seed). The loss and reports on them after every epoch go to
    history['val_loss'], ... and result.validation. early_stop=N: stop after N epochs without
    a better validation loss; keep='best' (the default with early_stop) or 'last': the params
    returned.
delimiter: of a CSV file (',', ';', 'tab'; default: detected from the header line); na: the
    spellings of a missing value ("NA,?" or a list; "" an empty cell), an error unless
    drop_na=True leaves such rows out (and NaN rows of .npy/.npz files).
schedule: constant, inv_sqrt, step[:N[:GAMMA]], cosine[:ETA_MIN]; average: also the averaged
    iterate. jit: auto, array, optimized or baseline.
log, log_params, checkpoint, checkpoint_every, resume, output (the params file), plot (SVG):
    files, as `nabla fit`'s options. verbose: progress on stderr.

The GIL is released while the run computes. A diverged run returns with stop='diverged' and a
RuntimeWarning. Ctrl-C (from the main thread) stops the run between steps; the checkpoint and
the outputs are written, then KeyboardInterrupt is raised. Raises ArgumentError for bad options, DataError for bad data, FitError for a run
that cannot go on (a non-finite loss names the step, the row and the node), CompileError for a
bad model.)doc");

  py::class_<Optimizer>(m, "Optimizer", R"doc(One of torch.optim's optimizers (or L-BFGS, or
Newton's method) over a float64 numpy array of params, updated in place by step().)doc")
      .def(py::init(&makeOptimizer), py::arg("name"), py::arg("params"),
           "Optimizer(name, params_or_count, **hyper): as nabla.optim.make.")
      .def_property_readonly(
          "name", [](const Optimizer &o) { return std::string(o.opt->name()); }, "`adam`, ...")
      .def_property_readonly(
          "size", [](const Optimizer &o) { return o.opt->size(); }, "Number of params.")
      .def_property(
          "lr", [](const Optimizer &o) { return o.opt->lr(); },
          [](Optimizer &o, double lr) { o.opt->set_lr(lr); }, "The learning rate of the next step.")
      .def("step", &step, py::arg("params"), py::arg("grad"), py::kw_only(),
           py::arg("loss") = NAN, py::arg("hessian") = py::none(), py::arg("hvp") = py::none(),
           R"doc(One step, updating `params` (a writable float64 array) in place; returns the loss
the step computed its first gradient from.

step(params, grad, loss=...): first-order methods, with the gradient at params.
step(params, closure): closure(x) -> (loss, grad), called as the optimizer needs (L-BFGS: up to
    max_eval times); newton also takes hessian=callable(x) -> (n, n) array, newton-cg
    hvp=callable(x, v) -> (n,) array (H(x) v, e.g. Objective.hvp).)doc")
      .def_property_readonly(
          "last",
          [](const Optimizer &o) {
            const optim::StepInfo &i = o.opt->last();
            py::dict d;
            d["loss"] = i.loss;
            d["grad_norm"] = i.grad_norm;
            d["evaluations"] = i.evaluations;
            d["iterations"] = i.iterations;
            d["steps"] = i.steps;
            return d;
          },
          "What the last step saw: loss, grad_norm, and cumulative evaluations, iterations, "
          "steps.")
      .def(
          "state",
          [](const Optimizer &o) {
            py::dict d;
            for (const auto &[k, v] : o.opt->state()) d[py::str(k)] = vectorArray(v);
            return d;
          },
          "Everything the next steps depend on besides the params (buffers, counters), exactly.")
      .def(
          "set_state",
          [](Optimizer &o, const py::dict &state) {
            optim::State s;
            for (auto [k, v] : state) {
              auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(v);
              if (!a) {
                PyErr_Clear();
                argumentError("state['" + std::string(py::str(k)) + "'] is not an array");
              }
              s[py::str(k)] = std::vector<double>(a.data(), a.data() + a.size());
            }
            o.opt->set_state(s);
          },
          py::arg("state"), "Restores what state() returned.")
      .def("__repr__", [](const Optimizer &o) {
        return "<nabla.optim." + std::string(o.opt->name()) + " over " +
               std::to_string(o.opt->size()) + " params, lr " +
               std::string(py::str(py::float_(o.opt->lr()))) + ">";
      });

  m.def(
      "make",
      [](const std::string &name, const py::object &params, py::kwargs kw) {
        return makeOptimizer(name, params, std::move(kw));
      },
      py::arg("name"), py::arg("params"),
      "make(name, params_or_count, **hyper): an optimizer by name (sgd, adagrad, rmsprop, "
      "adadelta, adam, nadam, adamw, lbfgs, newton), hyperparameters under torch's names.");
  m.def("names", &optim::names, "The optimizers' names.");
  m.def(
      "options",
      [](const std::string &name) {
        std::vector<std::string> out;
        for (std::string_view o : optim::options(name)) out.emplace_back(o);
        return out;
      },
      py::arg("name"), "An optimizer's hyperparameters, in the order of torch's constructor.");
  m.def(
      "defaults",
      [](const std::string &name) { return hyperDict(optim::defaults(name), optim::options(name)); },
      py::arg("name"), "torch's defaults for an optimizer, by hyperparameter name.");
}

}  // namespace nabla::python
