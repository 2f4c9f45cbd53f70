// The Python module `nabla._nabla` (docs/python.md): a thin layer over the C++ API
// (include/nabla/nabla.hpp), the driver and the fit runtime. This file: the module itself, the
// exceptions, and diff().
#include "bindings.h"

#include "runtime/data/data.h"
#include "runtime/fit/fit.h"
#include "support/output_file.h"

#include <sys/stat.h>

#include <new>
#include <tuple>

namespace nabla::python {

namespace {

const char *severityName(Error::Severity s) {
  switch (s) {
  case Error::Severity::Error: return "error";
  case Error::Severity::Warning: return "warning";
  case Error::Severity::Note: return "note";
  }
  return "error";
}

const char *className(Error::Kind kind) {
  switch (kind) {
  case Error::Kind::Compile: return "CompileError";
  case Error::Kind::Io: return "IoError";
  case Error::Kind::NotFound: return "NotFoundError";
  case Error::Kind::Argument: return "ArgumentError";
  case Error::Kind::Unavailable: return "UnavailableError";
  case Error::Kind::Internal: return "InternalError";
  }
  return "InternalError";
}

/// Sets the Python error: nabla._errors.<cls>(message, diagnostics). Falls back on RuntimeError
/// when the package's Python half cannot be imported (the extension loaded on its own).
void raise(const char *cls, const std::string &message, py::list diagnostics = py::list()) {
  try {
    py::object type = py::module_::import("nabla._errors").attr(cls);
    py::object value = type(message, diagnostics);
    PyErr_SetObject(type.ptr(), value.ptr());
  } catch (py::error_already_set &) {
    PyErr_SetString(PyExc_RuntimeError, message.c_str());
  }
}

/// The driver's diagnostics, located in its buffer, notes after their message.
std::vector<Error::Diagnostic> located(const driver::Error &e) {
  std::vector<Error::Diagnostic> out;
  if (!e.buffer()) {
    Error::Diagnostic d;
    d.message = e.message();
    out.push_back(std::move(d));
    return out;
  }
  auto add = [&](Severity severity, SourceRange range, const std::string &message) {
    Error::Diagnostic d;
    d.severity = severity == Severity::Error     ? Error::Severity::Error
                 : severity == Severity::Warning ? Error::Severity::Warning
                                                 : Error::Severity::Note;
    d.file = e.buffer()->name();
    if (range.valid()) std::tie(d.line, d.column) = e.buffer()->lineColumn(range.begin);
    d.message = message;
    out.push_back(std::move(d));
  };
  for (const Diagnostic &d : e.diagnostics()) {
    add(d.severity, d.range, d.message);
    for (const DiagnosticNote &n : d.notes)
      add(Severity::Note, n.range.valid() || !d.range.valid() ? n.range : d.range, n.message);
  }
  return out;
}

}  // namespace

void argumentError(const std::string &message) { throw Error(Error::Kind::Argument, message); }

py::list diagnosticsOf(const std::vector<Error::Diagnostic> &diagnostics) {
  py::object type = py::module_::import("nabla._errors").attr("Diagnostic");
  py::list out;
  for (const Error::Diagnostic &d : diagnostics)
    out.append(type(d.file, d.line, d.column, d.message, severityName(d.severity)));
  return out;
}

void warn(const std::string &message, PyObject *category) {
  if (PyErr_WarnEx(category, message.c_str(), 1) != 0) throw py::error_already_set();
}

std::string pathOf(const py::handle &object) {
  py::object path = py::module_::import("os").attr("fspath")(object);
  if (py::isinstance<py::bytes>(path)) return path.cast<std::string>();
  if (!py::isinstance<py::str>(path)) argumentError("a path must be a str or os.PathLike");
  return path.cast<std::string>();
}

void registerErrors(py::module_ &) {
  // Translators run newest first, before pybind11's own: Python errors raised inside callbacks and
  // pybind11's conversion errors go on to it unchanged.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error &e) {
      raise(className(e.kind()), e.what(), diagnosticsOf(e.diagnostics()));
    } catch (const driver::Error &e) {
      const char *cls = "InternalError";
      switch (e.kind()) {
      case driver::ErrorKind::Syntax:
      case driver::ErrorKind::Semantic:
      case driver::ErrorKind::Limit: cls = "CompileError"; break;
      case driver::ErrorKind::NotFound: cls = "NotFoundError"; break;
      case driver::ErrorKind::Io: cls = "IoError"; break;
      case driver::ErrorKind::Interrupted:  // the module sets no Options::cancel
      case driver::ErrorKind::Internal: cls = "InternalError"; break;
      }
      raise(cls, e.what(), diagnosticsOf(located(e)));
    } catch (const fit::UsageError &e) {
      raise("ArgumentError", e.what());
    } catch (const fit::FitError &e) {
      raise("FitError", e.what());
    } catch (const data::DataError &e) {
      raise("DataError", e.what());
    } catch (const FileError &e) {
      raise("IoError", e.what());
    } catch (const py::error_already_set &) {
      throw;
    } catch (const py::builtin_exception &) {
      throw;
    } catch (const std::bad_alloc &) {
      throw;
    } catch (const std::exception &e) {
      raise("InternalError", std::string("internal error: ") + e.what() +
                                 "; this is a bug in nabla, please report it with the input "
                                 "that caused it");
    }
  });
}

// --- diff ----------------------------------------------------------------------------------------

namespace {

/// The limits of a `limits=` dict: max_source_bytes, max_nesting, max_nodes, max_array.
driver::Limits limitsOf(const py::handle &limits) {
  driver::Limits out;
  if (limits.is_none()) return out;
  if (!py::isinstance<py::dict>(limits))
    argumentError("limits must be a dict (max_source_bytes, max_nesting, max_nodes, max_array)");
  py::dict d = py::reinterpret_borrow<py::dict>(limits);
  for (auto [key, value] : d) {
    const std::string name = py::str(key);
    const auto n = value.cast<long long>();
    if (n <= 0) argumentError("limits['" + name + "'] must be positive");
    if (name == "max_source_bytes") out.maxSourceBytes = static_cast<std::size_t>(n);
    else if (name == "max_nesting") out.maxNesting = static_cast<unsigned>(n);
    else if (name == "max_nodes") out.maxNodes = static_cast<std::size_t>(n);
    else if (name == "max_array") out.maxArray = static_cast<std::size_t>(n);
    else
      argumentError("unknown limit '" + name +
                    "' (max_source_bytes, max_nesting, max_nodes, max_array)");
  }
  return out;
}

constexpr const char *kLimitHint = "limits={'max_source_bytes': ...}";

/// Text or a file, as `nabla diff` reads its argument: an existing file, or anything that looks
/// like a path, is read as a file.
driver::Source sourceOf(const std::string &text, const driver::Limits &limits) {
  struct stat st {};
  if (driver::looksLikePath(text) || (::stat(text.c_str(), &st) == 0 && S_ISREG(st.st_mode)))
    return driver::readFile(text, limits, kLimitHint);
  return driver::fromText("<expr>", text, false, limits, kLimitHint);
}

py::str diff(const std::string &text, const py::object &wrt, bool hessian, bool json,
             const std::string &function, bool matrix, bool simplify, const py::object &limits) {
  driver::Options options;
  options.limits = limitsOf(limits);
  options.simplify = simplify;
  options.deferBodies = matrix;
  driver::DiffRequest request;
  request.function = function;
  request.hessian = hessian;
  request.json = json;
  request.wrtOption = "wrt";
  if (py::isinstance<py::str>(wrt)) {
    request.wrt.push_back(wrt.cast<std::string>());
  } else if (!wrt.is_none()) {
    for (py::handle name : wrt) request.wrt.push_back(py::str(name));
  }
  if (matrix && (hessian || json || !request.wrt.empty() || !function.empty()))
    argumentError("matrix=True gives the objective's gradient alone: it takes no hessian, json, "
                  "wrt or function");

  std::string out, warnings;
  std::vector<driver::Message> messages;
  std::optional<driver::Error> failure;
  {
    py::gil_scoped_release release;
    try {
      driver::Program program = driver::Program::load(sourceOf(text, options.limits), options);
      warnings = program.renderWarnings(false);
      if (matrix) {
        if (!program.objective())
          throw driver::Error(driver::ErrorKind::Semantic,
                              "matrix=True: '" + program.source().name() + "' has no objective");
        std::string why;
        std::optional<std::string> gradient = driver::printArrayGradient(program, &why);
        if (!gradient) {
          program.complete();  // reports any error in the bodies first
          throw driver::Error(driver::ErrorKind::Semantic,
                              "matrix=True: the array level cannot take '" +
                                  program.source().name() + "': " + why);
        }
        out = *gradient;
      } else {
        out = driver::diffText(program, request, messages);
      }
    } catch (const driver::Error &e) {
      failure = e;
    }
  }
  if (!warnings.empty()) warn(warnings);
  for (const driver::Message &m : messages)
    warn((m.severity == Severity::Note ? "note: " : "") + m.text);
  if (failure) throw *failure;
  return py::str(out);
}

}  // namespace

void bindDiff(py::module_ &m) {
  m.def("diff", &diff, py::arg("text"), py::kw_only(), py::arg("wrt") = py::none(),
        py::arg("hessian") = false, py::arg("json") = false, py::arg("function") = "",
        py::arg("matrix") = false, py::arg("simplify") = true, py::arg("limits") = py::none(),
        R"doc(The partial derivatives of an expression, a function or a model file, simplified,
as nabla text: exactly what `nabla diff` prints for the same input and options.

    >>> print(nabla.diff("(x^2 + y)^2 * (y - x*y)"))
    ∂f/∂x = 2*(t3*x) - t2*y
    ∂f/∂y = t2 - t2*x + t3
    where
      t1 = x^2 + y
      t2 = t1^2
      t3 = 2*((y - x*y)*t1)

text: an expression (its free variables are the arguments, in order of first appearance), a
    function `f(x, y) = ...`, statements, or the path of a .nabla file.
wrt: a name or a list of names to differentiate with respect to, in this order (`--wrt`).
hessian: also the Hessian entries (`--hessian`).
json: one self-contained expression per derivative, as the JSON text `--json` prints.
function: only this function (`--fn`).
matrix: the objective's gradient per param array in matrix notation (`--matrix`).
simplify: False skips the simplifier (`--no-simplify`).
limits: a dict of max_source_bytes, max_nesting, max_nodes, max_array.

Notes and warnings (an unused `wrt` name, a function left out) are issued as Python warnings.
Raises CompileError for bad text, IoError for a file that cannot be read, NotFoundError for an
unknown function.)doc");
}

}  // namespace nabla::python

PYBIND11_MODULE(_nabla, m) {
  namespace py = pybind11;
  m.doc() = "nabla's compiled half: the C++ API, the driver and the fit runtime (see `nabla`).";
  m.attr("__version__") = nabla::version();
  nabla::python::registerErrors(m);
  nabla::python::bindCompiled(m);
  nabla::python::bindTraining(m);
  nabla::python::bindDiff(m);
}
