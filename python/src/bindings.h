// What the files of the Python module share: the conversion of every C++ error into nabla's
// Python exceptions, options read from keywords, and input data bound to a model's inputs.
#pragma once

#include "driver/driver.h"
#include "nabla/nabla.hpp"
#include "nabla/optim.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace nabla::python {

namespace py = pybind11;

/// Throws nabla::Error of kind Argument: ArgumentError in Python.
[[noreturn]] void argumentError(const std::string &message);

/// Installs the translator that turns every C++ exception into one of nabla's Python exceptions
/// (nabla/_errors.py), so that none reaches the interpreter as a crash or a bare RuntimeError.
void registerErrors(py::module_ &m);
/// The driver's diagnostics as nabla.Diagnostic values.
py::list diagnosticsOf(const std::vector<Error::Diagnostic> &diagnostics);
/// Issues `message` as a Python warning of `category` (a UserWarning by default).
void warn(const std::string &message, PyObject *category = PyExc_UserWarning);

/// A path argument: str, bytes or os.PathLike.
std::string pathOf(const py::handle &object);

/// The hyperparameters among `kwargs` (torch's names: lr, betas, weight_decay, ...), removed
/// from it; `line_search_fn` is taken for `line_search`, as torch spells it.
optim::Hyper takeHyper(py::dict &kwargs);
/// An ArgumentError for the first keyword left in `kwargs`, naming the known ones.
void rejectUnknown(const py::dict &kwargs, const std::vector<std::string> &known,
                   const std::string &what);

/// A model's input, as data binds to it: its name, elements (`x[0]`, ...) and data columns.
struct InputSpec {
  std::string name;
  std::size_t size = 1;
  std::vector<std::string> elements;
  std::vector<std::string> columns;  // one per element, unless `range` (first and last only)
  bool range = false;
};

/// Data given as numpy arrays, read while the GIL is held and kept alive: arrays by name (each
/// Fortran-ordered float64, so that every column is contiguous), or one 2-D array with a column
/// per input element in order.
class ArrayData {
public:
  /// `data`: a mapping of names to arrays (1-D, or 2-D (n, size) for a vector input), or a 2-D
  /// array (n, input_count). Throws ArgumentError for anything else.
  explicit ArrayData(const py::handle &data);
  /// One pointer per input element, in the inputs' order, each to rows() doubles; reads no
  /// Python object (callable without the GIL). Throws ArgumentError for a missing input or
  /// arrays whose lengths differ.
  std::vector<const double *> bind(const std::vector<InputSpec> &inputs);
  std::size_t rows() const { return rows_; }

private:
  struct Entry {
    const double *data = nullptr;
    std::size_t rows = 0, width = 1;  // width: 1 for a 1-D array
  };
  std::vector<py::array> keep_;
  std::map<std::string, Entry> named_;
  std::vector<std::string> order_;  // the names in the mapping's order (a CSV's column order)
  bool table_ = false;  // one 2-D array: named_[""]
  std::size_t rows_ = 0;
};

/// The bindings of each file.
void bindCompiled(py::module_ &m);  // compile, load, Module, Function, Objective, Variable
void bindTraining(py::module_ &m);  // fit, FitResult, Optimizer and the optim functions
void bindDiff(py::module_ &m);      // diff

}  // namespace nabla::python
