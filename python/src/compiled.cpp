// compile(), load() and the compiled handles: Module, Function, Objective, Variable. A Function is
// called on numbers (one point) or on numpy arrays (many points in one call, vectorized, without
// copying the points where their layout allows, and with the GIL released).
#include "bindings.h"

#include <array>
#include <span>

namespace nabla::python {

namespace {

using Layout = Function::Layout;

// --- The points of a call ------------------------------------------------------------------------

/// How a call's arguments hold its points, and where they are.
struct Points {
  enum class Kind {
    One,       // one point: numbers, or one array of arity() coordinates
    Rows,      // a C-ordered (n, k) float64 array (or a converted copy): Layout::Rows
    Fortran,   // an F-ordered (n, k) float64 array: Layout::Columns, results in F order
    Separate,  // one 1-D array (or number) per argument, stacked into (k, n): Layout::Columns
  };
  Kind kind = Kind::One;
  std::array<double, 8> small{};  // one point of up to 8 coordinates, without allocating
  std::vector<double> large;
  std::span<const double> point;
  py::object array;  // many points: keeps their memory alive (a null handle costs nothing, where
                     // a default-made py::array would make an empty numpy array on every call)
  std::size_t n = 0;
  const double *data = nullptr;
  Layout layout() const { return kind == Kind::Rows ? Layout::Rows : Layout::Columns; }
};

bool isArrayLike(const py::handle &h) {
  if (py::isinstance<py::array>(h)) return py::reinterpret_borrow<py::array>(h).ndim() > 0;
  return PyList_Check(h.ptr()) || PyTuple_Check(h.ptr());
}

/// `h` as a C-ordered float64 array: the array itself when it already is one (no copy).
py::array_t<double> contiguous(const py::handle &h, const std::string &what) {
  auto array = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(h);
  if (!array) {
    PyErr_Clear();
    argumentError(what + " cannot be read as an array of float64");
  }
  return array;
}

std::string shapeText(const py::array &a) {
  std::string out = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) out += (d ? ", " : "") + std::to_string(a.shape(d));
  return out + (a.ndim() == 1 ? ",)" : ")");
}

std::string usage(const Function &f) {
  const std::string k = std::to_string(f.arity());
  return "'" + f.name() + "' takes " + k + (f.arity() == 1 ? " argument" : " arguments") +
         " (numbers or 1-D arrays), one array of " + k + " coordinates, or a 2-D array of points (n, " +
         k + ")";
}

void setOne(Points &p, std::size_t k) {
  p.point = k <= p.small.size() ? std::span<const double>(p.small.data(), k)
                                : std::span<const double>(p.large);
}

/// A 2-D array of points, one per row.
void readMatrix(Points &p, const Function &f, py::array a) {
  if (a.shape(1) != static_cast<py::ssize_t>(f.arity()))
    argumentError(usage(f) + "; got an array of shape " + shapeText(a));
  constexpr int kAligned = py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  const bool float64 = py::isinstance<py::array_t<double>>(a) && (a.flags() & kAligned);
  p.n = static_cast<std::size_t>(a.shape(0));
  if (float64 && (a.flags() & py::array::c_style)) {
    p.kind = Points::Kind::Rows;
  } else if (float64 && (a.flags() & py::array::f_style)) {
    p.kind = Points::Kind::Fortran;  // argument c of point r at c * n + r: Layout::Columns
  } else {
    a = contiguous(a, "the points");
    p.kind = Points::Kind::Rows;
  }
  p.data = static_cast<const double *>(a.data());
  p.array = std::move(a);
}

/// One 1-D array or number per argument: stacked into a (k, n) array, numbers broadcast.
void readSeparate(Points &p, const Function &f, const py::args &args) {
  const std::size_t k = f.arity();
  std::vector<py::array_t<double>> arrays(k);
  std::vector<double> numbers(k);
  std::vector<bool> isArray(k, false);  // (a default-made array_t is an empty array, not null)
  std::optional<std::size_t> n;
  for (std::size_t i = 0; i < k; ++i) {
    const std::string what = "argument " + std::to_string(i + 1) + " of '" + f.name() + "'";
    if (!isArrayLike(args[i])) {
      numbers[i] = py::cast<double>(args[i]);
      continue;
    }
    arrays[i] = contiguous(args[i], what);
    isArray[i] = true;
    if (arrays[i].ndim() != 1)
      argumentError(usage(f) + "; " + what + " has shape " + shapeText(arrays[i]));
    const auto length = static_cast<std::size_t>(arrays[i].shape(0));
    if (n && *n != length)
      argumentError("the arrays given to '" + f.name() + "' have different lengths (" +
                    std::to_string(*n) + " and " + std::to_string(length) + ")");
    n = length;
  }
  p.kind = Points::Kind::Separate;
  p.n = *n;
  py::array_t<double> stacked({k, p.n});
  double *out = stacked.mutable_data();
  for (std::size_t i = 0; i < k; ++i) {
    double *row = out + i * p.n;
    if (isArray[i]) {
      std::copy_n(arrays[i].data(), p.n, row);
    } else {
      std::fill_n(row, p.n, numbers[i]);
    }
  }
  p.data = stacked.data();
  p.array = std::move(stacked);
}

/// The points of f(...): numbers, one array of arity() coordinates, a 2-D array of points, or
/// one number or 1-D array per argument.
void readPoints(Points &p, const Function &f, const py::args &args) {
  const std::size_t k = f.arity();
  const std::size_t count = args.size();
  if (count == 1 && isArrayLike(args[0])) {
    py::array a = py::array::ensure(args[0]);
    if (!a) {
      PyErr_Clear();
      argumentError(usage(f));
    }
    if (a.ndim() == 2) return readMatrix(p, f, std::move(a));
    if (a.ndim() == 1 && k == 1) return readSeparate(p, f, args);
    if (a.ndim() == 1 && a.shape(0) == static_cast<py::ssize_t>(k)) {
      py::array_t<double> point = contiguous(a, "the point");
      if (k > p.small.size()) p.large.assign(point.data(), point.data() + k);
      else std::copy_n(point.data(), k, p.small.data());
      setOne(p, k);
      return;
    }
    argumentError(usage(f) + "; got an array of shape " + shapeText(a));
  }
  if (count != k) argumentError(usage(f) + "; got " + std::to_string(count));
  if (k > p.small.size()) p.large.resize(k);
  double *out = k > p.small.size() ? p.large.data() : p.small.data();
  for (std::size_t i = 0; i < k; ++i) {
    PyObject *o = args[i].ptr();
    if (PyFloat_Check(o)) {
      out[i] = PyFloat_AS_DOUBLE(o);
    } else if (isArrayLike(o)) {
      return readSeparate(p, f, args);
    } else {
      out[i] = PyFloat_AsDouble(o);  // ints, numpy scalars, anything with __float__
      if (out[i] == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        argumentError("argument " + std::to_string(i + 1) + " of '" + f.name() +
                      "' is not a number or an array: " + std::string(py::str(args[i].get_type().attr("__name__"))));
      }
    }
  }
  setOne(p, k);
}

unsigned threadsOf(const py::kwargs &kwargs) {
  unsigned threads = 0;
  for (auto [key, value] : kwargs) {
    if (std::string(py::str(key)) != "threads")
      argumentError("unknown keyword '" + std::string(py::str(key)) + "' (only threads=)");
    const auto t = value.cast<long long>();
    if (t < 0) argumentError("threads must be 0 (one per hardware thread) or more");
    threads = static_cast<unsigned>(t);
  }
  return threads;
}

/// An (n, k...) result: as Rows keeps it, or computed by column ((k..., n) C order) and shown
/// as (n, k...) (Fortran input), or kept (k..., n) (separate arrays).
py::object shaped(const Points &p, py::array_t<double> byColumn) {
  if (p.kind != Points::Kind::Fortran) return byColumn;
  if (byColumn.ndim() == 2) return byColumn.attr("T");
  return byColumn.attr("transpose")(2, 0, 1);
}

py::array_t<double> gradArray(const Points &p, std::size_t k) {
  if (p.kind == Points::Kind::Rows) return py::array_t<double>({p.n, k});
  return py::array_t<double>({k, p.n});
}

py::array_t<double> hessArray(const Points &p, std::size_t k) {
  if (p.kind == Points::Kind::Rows) return py::array_t<double>({p.n, k, k});
  return py::array_t<double>({k, k, p.n});
}

std::span<double> all(py::array_t<double> &a) {
  return {a.mutable_data(), static_cast<std::size_t>(a.size())};
}

std::span<const double> pointsSpan(const Points &p, std::size_t k) { return {p.data, p.n * k}; }

py::object callValue(const Function &f, const py::args &args, const py::kwargs &kwargs) {
  Points p;
  readPoints(p, f, args);
  if (p.kind == Points::Kind::One) return py::float_(f.value(p.point));
  const unsigned threads = kwargs.empty() ? 0 : threadsOf(kwargs);
  py::array_t<double> values(p.n);
  std::span<double> out = all(values);
  {
    py::gil_scoped_release release;
    f.values(p.n, pointsSpan(p, f.arity()), out, p.layout(), threads);
  }
  return values;
}

py::object callValueAndGrad(const Function &f, const py::args &args, const py::kwargs &kwargs,
                            bool withValue) {
  Points p;
  readPoints(p, f, args);
  const std::size_t k = f.arity();
  if (p.kind == Points::Kind::One) {
    py::array_t<double> grad(k);
    const double v = f.value_and_grad(p.point, all(grad));
    if (!withValue) return grad;
    return py::make_tuple(v, grad);
  }
  const unsigned threads = kwargs.empty() ? 0 : threadsOf(kwargs);
  py::array_t<double> values(p.n);
  py::array_t<double> grads = gradArray(p, k);
  std::span<double> v = all(values), g = all(grads);
  {
    py::gil_scoped_release release;
    f.values_and_grads(p.n, pointsSpan(p, k), v, g, p.layout(), threads);
  }
  if (!withValue) return shaped(p, std::move(grads));
  return py::make_tuple(values, shaped(p, std::move(grads)));
}

py::object callHessian(const Function &f, const py::args &args, const py::kwargs &kwargs) {
  Points p;
  readPoints(p, f, args);
  const std::size_t k = f.arity();
  if (p.kind == Points::Kind::One) {
    py::array_t<double> hess({k, k});
    f.hessian(p.point, all(hess));
    return hess;
  }
  const unsigned threads = kwargs.empty() ? 0 : threadsOf(kwargs);
  py::array_t<double> hess = hessArray(p, k);
  std::span<double> h = all(hess);
  {
    py::gil_scoped_release release;
    f.hessians(p.n, pointsSpan(p, k), h, p.layout(), threads);
  }
  return shaped(p, std::move(hess));
}

// --- Objective arguments ------------------------------------------------------------------------

/// Values for `vars` (count scalars in all): a flat array, or a dict of each variable's value in
/// its shape. `what` names them in messages ("params", "inputs").
std::vector<double> flatten(const std::string &owner, const std::vector<Variable> &vars,
                            std::size_t count, const py::handle &given, const char *what) {
  if (given.is_none()) return {};
  if (!py::isinstance<py::dict>(given)) {
    py::array_t<double> a = contiguous(given, std::string(what) + " of '" + owner + "'");
    return std::vector<double>(a.data(), a.data() + a.size());
  }
  std::vector<double> out(count);
  py::dict d = py::reinterpret_borrow<py::dict>(given);
  std::size_t used = 0;
  for (const Variable &v : vars) {
    if (!d.contains(v.name))
      throw Error(Error::Kind::NotFound,
                  std::string(what) + " of '" + owner + "': no value for '" + v.name + "'");
    py::array_t<double> a = contiguous(d[py::str(v.name)], "'" + v.name + "'");
    if (static_cast<std::size_t>(a.size()) != v.size)
      argumentError(std::string(what) + " of '" + owner + "': '" + v.name + "' has " +
                    std::to_string(v.size) + " elements, the value given " +
                    std::to_string(a.size()));
    std::copy_n(a.data(), v.size, out.begin() + static_cast<std::ptrdiff_t>(v.offset));
    ++used;
  }
  if (used != d.size())
    for (auto [key, value] : d) {
      const std::string name = py::str(key);
      bool known = false;
      for (const Variable &v : vars) known = known || v.name == name;
      if (!known) argumentError("'" + name + "' is not among the " + what + " of '" + owner + "'");
    }
  return out;
}

std::vector<InputSpec> specsOf(const Objective &o) {
  std::vector<InputSpec> out;
  for (const Variable &v : o.inputs())
    out.push_back({v.name, v.size, v.elements, v.columns, v.column_range});
  return out;
}

py::tuple objectiveBatch(const Objective &o, const py::handle &params, const py::handle &data) {
  const std::vector<double> x = flatten(o.name(), o.params(), o.param_count(), params, "params");
  ArrayData table(data);
  std::vector<const double *> columns = table.bind(specsOf(o));
  py::array_t<double> grad(o.param_count());
  std::span<double> g = all(grad);
  double loss;
  {
    py::gil_scoped_release release;
    loss = o.batch(x, table.rows(), columns, g);
  }
  return py::make_tuple(loss, grad);
}

/// A 1-D array of `k` doubles (any array-like), else ArgumentError naming `what`.
std::vector<double> vectorOf(const py::handle &h, std::size_t k, const std::string &what) {
  auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(h);
  if (!a || a.ndim() != 1 || static_cast<std::size_t>(a.size()) != k)
    argumentError(what + " must be a 1-D array of " + std::to_string(k) + " numbers");
  return std::vector<double>(a.data(), a.data() + k);
}

py::array_t<double> functionHvp(const Function &f, const py::handle &x, const py::handle &v) {
  const std::size_t k = f.arity();
  const std::vector<double> at = vectorOf(x, k, "x"), dir = vectorOf(v, k, "v");
  py::array_t<double> out(k);
  f.hvp(at, dir, all(out));
  return out;
}

py::array_t<double> objectiveHvp(const Objective &o, const py::handle &params,
                                 const py::handle &v, const py::handle &inputs) {
  const std::vector<double> x = flatten(o.name(), o.params(), o.param_count(), params, "params");
  const std::vector<double> dir = flatten(o.name(), o.params(), o.param_count(), v, "v");
  const std::vector<double> in = flatten(o.name(), o.inputs(), o.input_count(), inputs, "inputs");
  std::vector<double> h;
  {
    py::gil_scoped_release release;
    h = o.hvp(x, dir, in);
  }
  py::array_t<double> out(h.size());
  std::copy(h.begin(), h.end(), out.mutable_data());
  return out;
}

py::array_t<double> objectiveHvpBatch(const Objective &o, const py::handle &params,
                                      const py::handle &v, const py::handle &data) {
  const std::vector<double> x = flatten(o.name(), o.params(), o.param_count(), params, "params");
  const std::vector<double> dir = flatten(o.name(), o.params(), o.param_count(), v, "v");
  ArrayData table(data);
  std::vector<const double *> columns = table.bind(specsOf(o));
  py::array_t<double> out(o.param_count());
  std::span<double> h = all(out);
  {
    py::gil_scoped_release release;
    o.hvp_batch(x, dir, table.rows(), columns, h);
  }
  return out;
}

/// (indptr, indices) of the objective's Hessian pattern, made once per Objective object and kept
/// on it, read-only: int32 when the sizes allow (what scipy.sparse keeps without a copy), else
/// int64.
py::tuple patternArrays(const py::object &self) {
  if (py::hasattr(self, "_hessian_pattern")) return self.attr("_hessian_pattern");
  const Objective &o = self.cast<const Objective &>();
  const SparsePattern *p = nullptr;
  {
    py::gil_scoped_release release;
    p = &o.hessian_sparsity();
  }
  auto fill = [](auto tag, const std::vector<std::int64_t> &from) {
    using T = decltype(tag);
    py::array_t<T> out(from.size());
    T *data = out.mutable_data();
    for (std::size_t k = 0; k < from.size(); ++k) data[k] = static_cast<T>(from[k]);
    out.attr("setflags")(py::arg("write") = false);
    return py::object(out);
  };
  const bool small = p->nonzeros() < INT32_MAX;
  py::tuple arrays = small ? py::make_tuple(fill(std::int32_t{}, p->row_start),
                                            fill(std::int32_t{}, p->columns))
                           : py::make_tuple(fill(std::int64_t{}, p->row_start),
                                            fill(std::int64_t{}, p->columns));
  self.attr("_hessian_pattern") = arrays;
  return arrays;
}

py::array_t<double> sparseValues(const Objective &o, const py::handle &params,
                                 const py::handle &inputs) {
  const std::vector<double> x = flatten(o.name(), o.params(), o.param_count(), params, "params");
  const std::vector<double> in = flatten(o.name(), o.inputs(), o.input_count(), inputs, "inputs");
  std::vector<double> values;
  {
    py::gil_scoped_release release;
    values = o.sparse_hessian(x, in);
  }
  py::array_t<double> out(values.size());
  std::copy(values.begin(), values.end(), out.mutable_data());
  return out;
}

py::object sparseHessian(const py::object &self, const py::handle &params,
                         const py::handle &inputs) {
  const Objective &o = self.cast<const Objective &>();
  py::module_ sparse;
  try {
    sparse = py::module_::import("scipy.sparse");
  } catch (py::error_already_set &) {
    throw py::import_error("sparse_hessian() returns a scipy.sparse.csr_matrix and needs SciPy "
                           "(apt-get install python3-scipy); sparse_hessian_values() and "
                           "hessian_sparsity() give the arrays without it");
  }
  const py::tuple pattern = patternArrays(self);
  const py::array_t<double> data = sparseValues(o, params, inputs);
  const py::ssize_t n = static_cast<py::ssize_t>(o.param_count());
  return sparse.attr("csr_matrix")(py::make_tuple(data, pattern[1], pattern[0]),
                                   py::arg("shape") = py::make_tuple(n, n),
                                   py::arg("copy") = false);
}

// --- compile ------------------------------------------------------------------------------------

Options optionsOf(int optLevel, bool fastMath, bool hessian, bool simplify,
                  const std::string &name, const py::object &limits, bool hvp = true) {
  Options o;
  o.opt_level = optLevel;
  o.fast_math = fastMath;
  o.hessian = hessian;
  o.hvp = hvp;
  o.simplify = simplify;
  o.source_name = name;
  if (!limits.is_none()) {
    if (!py::isinstance<py::dict>(limits))
      argumentError("limits must be a dict (max_source_bytes, max_nesting, max_nodes, max_array)");
    for (auto [key, value] : py::reinterpret_borrow<py::dict>(limits)) {
      const std::string k = py::str(key);
      const auto n = value.cast<long long>();
      if (n <= 0) argumentError("limits['" + k + "'] must be positive");
      if (k == "max_source_bytes") o.max_source_bytes = static_cast<std::size_t>(n);
      else if (k == "max_nesting") o.max_nesting = static_cast<unsigned>(n);
      else if (k == "max_nodes") o.max_nodes = static_cast<std::size_t>(n);
      else if (k == "max_array") o.max_array = static_cast<std::size_t>(n);
      else
        argumentError("unknown limit '" + k +
                      "' (max_source_bytes, max_nesting, max_nodes, max_array)");
    }
  }
  return o;
}

constexpr const char *kCompileOptions = R"doc(
opt_level: LLVM's optimization level, 0 to 3 (default 2).
fast_math: let LLVM reassociate and assume no NaN or infinity (default False: IEEE arithmetic).
hessian: compile the Hessians (default True; False compiles faster, and hessian() then raises
    UnavailableError).
simplify: run the simplifier on the functions and their derivatives (default True).
hvp: compile the Hessian-vector products (default True; hvp() raises UnavailableError without).
limits: a dict of max_source_bytes, max_nesting, max_nodes, max_array for untrusted text.

Raises CompileError (with .diagnostics) for bad text.)doc";

std::string repr(const Module &m) {
  std::string out = "<nabla.Module '" + m.name() + "'";
  std::string names;
  for (const std::string &f : m.functions()) names += (names.empty() ? "" : ", ") + f;
  if (!names.empty()) out += ": " + names;
  if (m.has_objective()) out += std::string(names.empty() ? ": " : "; ") + "objective " + m.objective().name();
  return out + ">";
}

}  // namespace

void bindCompiled(py::module_ &m) {
  py::class_<Variable>(m, "Variable", R"doc(A param or input of an objective: its name, shape,
place among all params (or inputs), the names of its elements and, for an input, its data
columns.)doc")
      .def_readonly("name", &Variable::name, "The declared name (`w`).")
      .def_property_readonly(
          "shape", [](const Variable &v) { return py::tuple(py::cast(v.shape)); },
          "() for a scalar, (3,) for a vector, (2, 3) for a matrix.")
      .def_readonly("offset", &Variable::offset,
                    "Index of its first scalar among all params (or inputs).")
      .def_readonly("size", &Variable::size, "Number of scalars (the product of the shape).")
      .def_readonly("elements", &Variable::elements,
                    "The scalars' names, row-major: `w[0]`, `W[1][2]`.")
      .def_readonly("columns", &Variable::columns,
                    "Inputs: the data columns it reads (the first and last of a range).")
      .def_readonly("column_range", &Variable::column_range,
                    "Inputs: whether it reads a run of columns `from (first .. last)`.")
      .def("__repr__", [](const Variable &v) {
        std::string shape;
        for (std::size_t d : v.shape) shape += "[" + std::to_string(d) + "]";
        return "<nabla.Variable " + v.name + shape + ">";
      });

  py::class_<Function>(m, "Function", R"doc(A compiled scalar function: value, gradient and
Hessian, on one point or on many.

One point: numbers, or one array of `arity` coordinates:
    f(0.5, -0.5) -> float;  f.grad(0.5, -0.5) -> (k,);  f.hessian(0.5, -0.5) -> (k, k)
Many points in one call (vectorized across SIMD lanes and threads, the GIL released):
    a 2-D array X of shape (n, k), a point per row:
        f(X) -> (n,);  f.grad(X) -> (n, k);  f.hessian(X) -> (n, k, k)
    one 1-D array (or number, broadcast) per argument, by column:
        f(xs, ys) -> (n,);  f.grad(xs, ys) -> (k, n), so `gx, gy = f.grad(xs, ys)`;
        f.hessian(xs, ys) -> (k, k, n)
A C-ordered float64 X is read in place; so is an F-ordered one (X.T of a (k, n) array), whose
results come back F-ordered; anything else (other dtypes, strided views, lists) is converted
once. The keyword threads= sets the threads of a vectorized call (0, the default: one per
hardware thread; 1: the calling thread only).)doc")
      .def_property_readonly("name", &Function::name, "The function's name (`f`).")
      .def_property_readonly("arity", &Function::arity, "The number of scalar arguments, k.")
      .def_property_readonly("arg_names", &Function::arg_names,
                             "The arguments' names in order, arrays flattened row-major.")
      .def_property_readonly("has_hessian", &Function::has_hessian,
                             "Whether the Hessian was compiled (compile(..., hessian=True)).")
      .def_property_readonly("text", &Function::text,
                             "The function as self-contained nabla text, simplified.")
      .def_property_readonly("gradient_text", &Function::gradient_text,
                             "Each partial derivative as self-contained nabla text.")
      .def_property_readonly("hessian_text", &Function::hessian_text,
                             "The Hessian's entries as nabla text, a list of k lists of k.")
      .def("__call__", &callValue, R"doc(The value: f(0.5, -0.5) -> float; f(X) with X of shape
(n, k) -> (n,); f(xs, ys) with 1-D arrays -> (n,). Keyword: threads.)doc")
      .def("value", &callValue, "The value, as f(...) computes it.")
      .def(
          "grad",
          [](const Function &f, const py::args &a, const py::kwargs &kw) {
            return callValueAndGrad(f, a, kw, false);
          },
          R"doc(The gradient: (k,) for one point, (n, k) for a 2-D array of points, (k, n) for
one 1-D array per argument.)doc")
      .def(
          "value_and_grad",
          [](const Function &f, const py::args &a, const py::kwargs &kw) {
            return callValueAndGrad(f, a, kw, true);
          },
          R"doc(The value and the gradient from one call that shares the forward pass:
(float, (k,)) for one point, ((n,), (n, k)) for a 2-D array, ((n,), (k, n)) for arrays per
argument.)doc")
      .def("hessian", &callHessian, R"doc(The Hessian: (k, k) for one point, (n, k, k) for a 2-D
array of points, (k, k, n) for one 1-D array per argument. Raises UnavailableError when compiled
with hessian=False.)doc")
      .def_property_readonly("has_hvp", &Function::has_hvp,
                             "Whether the Hessian-vector product was compiled (hvp=True).")
      .def("hvp", &functionHvp, py::arg("x"), py::arg("v"),
           R"doc(H v: the Hessian at the point x (k,) times v (k,), without forming the Hessian
(the derivative of the gradient along v, a few times the gradient's cost): (k,). Raises
UnavailableError when compiled with hvp=False.)doc")
      .def("__repr__", [](const Function &f) {
        std::string args;
        for (const std::string &a : f.arg_names()) args += (args.empty() ? "" : ", ") + a;
        return "<nabla.Function " + f.name() + "(" + args + ")>";
      });

  py::class_<Objective>(m, "Objective", py::dynamic_attr(), R"doc(The objective of a model (`minimize` or
`maximize`): a per-row loss over the params and the inputs (one value per data row).

params: a flat float64 array of param_count values, or a dict of each param's value in its
shape (as FitResult.params); inputs likewise for one row. data (batch): a dict of arrays by
input name (a vector input as a 2-D (n, size) array or one column per element, by element
name), or a 2-D array (n, input_count) with a column per input element.)doc")
      .def_property_readonly("name", &Objective::name, "`L` (or `loss`, `objective`).")
      .def_property_readonly("maximize", &Objective::maximize, "Whether it is `maximize`.")
      .def_property_readonly("params", &Objective::params, "The params, declaration order.")
      .def_property_readonly("inputs", &Objective::inputs, "The inputs, declaration order.")
      .def_property_readonly("param_count", &Objective::param_count, "Scalars of all params.")
      .def_property_readonly("input_count", &Objective::input_count, "Scalars of all inputs.")
      .def_property_readonly("has_hessian", &Objective::has_hessian,
                             "Whether the Hessian was compiled.")
      .def(
          "value",
          [](const Objective &o, const py::handle &params, const py::handle &inputs) {
            return o.value(flatten(o.name(), o.params(), o.param_count(), params, "params"),
                           flatten(o.name(), o.inputs(), o.input_count(), inputs, "inputs"));
          },
          py::arg("params"), py::arg("inputs") = py::none(), "One row: the loss.")
      .def(
          "value_and_grad",
          [](const Objective &o, const py::handle &params, const py::handle &inputs) {
            py::array_t<double> grad(o.param_count());
            const double v = o.value_and_grad(
                flatten(o.name(), o.params(), o.param_count(), params, "params"),
                flatten(o.name(), o.inputs(), o.input_count(), inputs, "inputs"), all(grad));
            return py::make_tuple(v, grad);
          },
          py::arg("params"), py::arg("inputs") = py::none(),
          "One row: the loss and its gradient over the params, (float, (param_count,)).")
      .def(
          "hessian",
          [](const Objective &o, const py::handle &params, const py::handle &inputs) {
            std::vector<double> h =
                o.hessian(flatten(o.name(), o.params(), o.param_count(), params, "params"),
                          flatten(o.name(), o.inputs(), o.input_count(), inputs, "inputs"));
            py::array_t<double> out({o.param_count(), o.param_count()});
            std::copy(h.begin(), h.end(), out.mutable_data());
            return out;
          },
          py::arg("params"), py::arg("inputs") = py::none(),
          "One row: the Hessian over the params, (param_count, param_count).")
      .def("batch", &objectiveBatch, py::arg("params"), py::arg("data"),
           R"doc(The mean loss and mean gradient over the rows of `data`, by the batched kernel
(vectorized across rows, over threads, the GIL released): (float, (param_count,)).)doc")
      .def_property_readonly("has_hvp", &Objective::has_hvp,
                             "Whether the Hessian-vector product is available (hvp=True).")
      .def("hvp", &objectiveHvp, py::arg("params"), py::arg("v"), py::arg("inputs") = py::none(),
           R"doc(One row: H v, the Hessian over the params times v (params' layout: a flat array
or a dict), without forming the Hessian: (param_count,). A large objective runs at the array
level, where H v costs a few gradients even for millions of params.)doc")
      .def("hvp_batch", &objectiveHvpBatch, py::arg("params"), py::arg("v"), py::arg("data"),
           "The mean of H v over the rows of `data` (as batch()): (param_count,).")
      .def("hessian_sparsity", &patternArrays,
           R"doc(The Hessian's structural nonzeros over the params, (indptr, indices): row i's
columns are indices[indptr[i]:indptr[i+1]], ascending, both triangles; read-only arrays, made
once.)doc")
      .def("sparse_hessian_values", &sparseValues, py::arg("params"), py::arg("inputs") = py::none(),
           "One row: the Hessian's nonzeros in hessian_sparsity()'s order, (nonzeros,).")
      .def("sparse_hessian", &sparseHessian, py::arg("params"), py::arg("inputs") = py::none(),
           R"doc(One row: the Hessian as a scipy.sparse.csr_matrix over the pattern's arrays (no
copy). At the array level, one Hessian-vector product per colour of a star colouring of the
pattern.)doc")
      .def("__repr__", [](const Objective &o) {
        return std::string("<nabla.Objective ") + (o.maximize() ? "maximize " : "minimize ") +
               o.name() + ": " + std::to_string(o.param_count()) + " params, " +
               std::to_string(o.input_count()) + " inputs>";
      });

  py::class_<Module>(m, "Module", R"doc(A compiled program: its scalar functions (m.f,
m.function("f"), m["f"]) and its objective (m.objective).)doc")
      .def_property_readonly("name", &Module::name,
                             "The source's name: `<expr>` (or name=) or the file's path.")
      .def_property_readonly("functions", &Module::functions,
                             "The scalar functions' names, in declaration order.")
      .def("function", &Module::function, py::arg("name"),
           "The function called `name`; NotFoundError names the functions there are.")
      .def("__getitem__", &Module::function, py::arg("name"))
      .def("__contains__", &Module::has_function, py::arg("name"))
      .def("__getattr__",
           [](const Module &mod, const std::string &name) {
             if (!mod.has_function(name))
               throw py::attribute_error("'" + mod.name() + "' has no function '" + name + "'" +
                                         (mod.functions().empty()
                                              ? ""
                                              : " (its functions: " + [&] {
                                                  std::string s;
                                                  for (const auto &f : mod.functions())
                                                    s += (s.empty() ? "" : ", ") + f;
                                                  return s;
                                                }() + ")"));
             return mod.function(name);
           })
      .def_property_readonly("has_objective", &Module::has_objective,
                             "Whether the program has `minimize` or `maximize`.")
      .def_property_readonly("objective", &Module::objective,
                             "The objective; NotFoundError when the program has none.")
      .def_property_readonly(
          "warnings", [](const Module &mod) { return diagnosticsOf(mod.warnings()); },
          "The compiler's warnings, as Diagnostic values.")
      .def("__repr__", &repr);

  m.def(
      "compile",
      [](const std::string &text, int optLevel, bool fastMath, bool hessian, bool simplify,
         const std::string &name, const py::object &limits, bool hvp) {
        const Options o = optionsOf(optLevel, fastMath, hessian, simplify, name, limits, hvp);
        py::gil_scoped_release release;
        return nabla::compile(text, o);
      },
      py::arg("text"), py::kw_only(), py::arg("opt_level") = 2, py::arg("fast_math") = false,
      py::arg("hessian") = true, py::arg("simplify") = true, py::arg("name") = "<expr>",
      py::arg("limits") = py::none(), py::arg("hvp") = true,
      (std::string(R"doc(Compiles nabla text into native code: a bare expression (the function
`f` of its free variables, in order of first appearance), functions, or a whole program.

    m = nabla.compile("f(x, y) = (x^2 + y)^2 * (y - x*y)")
    m.f(0.5, -0.5)   # -0.015625

name: what diagnostics call the text (default `<expr>`).)doc") +
       kCompileOptions)
          .c_str());
  m.def(
      "load",
      [](const py::object &path, int optLevel, bool fastMath, bool hessian, bool simplify,
         const py::object &limits, bool hvp) {
        const std::string file = pathOf(path);
        const Options o = optionsOf(optLevel, fastMath, hessian, simplify, file, limits, hvp);
        py::gil_scoped_release release;
        return nabla::compile_file(file, o);
      },
      py::arg("path"), py::kw_only(), py::arg("opt_level") = 2, py::arg("fast_math") = false,
      py::arg("hessian") = true, py::arg("simplify") = true, py::arg("limits") = py::none(),
      py::arg("hvp") = true,
      (std::string(R"doc(Compiles a .nabla file (statements only). Raises IoError when it cannot
be read.)doc") +
       kCompileOptions)
          .c_str());
}

}  // namespace nabla::python
