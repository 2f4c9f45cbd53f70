// Evaluating array nodes over a batch: every row-dependent node holds its value for all B rows
// (row-major, one row after the other), so that a product with a param is one call of BLAS for
// the whole batch, and the rest are plain loops. Transposes of params are never materialized in
// products: BLAS reads the matrix transposed.
#include "array/array.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

extern "C" void openblas_set_num_threads(int threads);

namespace nabla::array {

struct Executor::Impl {
  const Graph &g;
  std::vector<Id> roots, order;
  std::vector<std::size_t> inputOffsets, paramOffsets;
  std::vector<std::vector<double>> buffers;  // by node id
  std::vector<const double *> data;          // by node id: where its value is this run
  std::vector<std::vector<std::size_t>> runStarts;  // Slice, Embed: where each run of the box is
  std::size_t batch = 1;  // rows of this run

  Impl(const Graph &graph, std::vector<Id> r, std::vector<std::size_t> in, std::vector<std::size_t> par)
      : g(graph), roots(std::move(r)), inputOffsets(std::move(in)), paramOffsets(std::move(par)) {
    order = reachable(g, roots);
    buffers.resize(g.size());
    runStarts.resize(g.size());
    data.assign(g.size(), nullptr);
    // A transpose of a param (of any value the same for every row) that only products read is
    // never made: BLAS reads the matrix transposed (view()).
    std::vector<char> onlyProducts(g.size(), 1);
    for (Id id : order) {
      const Node &n = g[id];
      for (std::uint8_t k = 0; k < n.argCount; ++k)
        if (n.kind != Kind::MatMul) onlyProducts[n.args[k]] = 0;
      for (Id part : n.parts) onlyProducts[part] = 0;
    }
    for (Id r : roots) onlyProducts[r] = 0;
    std::vector<Id> kept;
    for (Id id : order) {
      const Node &n = g[id];
      if (n.kind == Kind::Transpose && !n.batched && onlyProducts[id]) continue;
      kept.push_back(id);
    }
    order = std::move(kept);
  }

  std::size_t rowsOf(Id id) const { return g[id].batched ? batch : 1; }

  double *output(Id id) {
    std::vector<double> &b = buffers[id];
    b.resize(rowsOf(id) * g[id].shape.size());
    data[id] = b.data();
    return b.data();
  }

  /// A matrix operand as BLAS reads it: a param's (or any unbatched) transpose is read in place.
  struct View {
    const double *p;
    bool trans;
    bool batched;
  };
  View view(Id id) const {
    const Node &n = g[id];
    if (n.kind == Kind::Transpose && !g[n.args[0]].batched) return {data[n.args[0]], true, false};
    return {data[id], false, n.batched};
  }

  void matmul(Id id) {
    const Node &n = g[id];
    const Shape &sa = g[n.args[0]].shape, &sb = g[n.args[1]].shape;
    const int m = sa.dims.size() == 2 ? static_cast<int>(sa.dims[0]) : 1;
    const int k = static_cast<int>(sa.dims.back());
    const int cols = sb.dims.size() == 2 ? static_cast<int>(sb.dims[1]) : 1;
    View a = view(n.args[0]), b = view(n.args[1]);
    const int lda = a.trans ? m : k, ldb = b.trans ? k : cols;
    const CBLAS_TRANSPOSE ta = a.trans ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE tb = b.trans ? CblasTrans : CblasNoTrans;
    double *out = output(id);
    const int R = static_cast<int>(rowsOf(id));
    if (!a.batched && !b.batched) {
      cblas_dgemm(CblasRowMajor, ta, tb, m, cols, k, 1.0, a.p, lda, b.p, ldb, 0.0, out, cols);
    } else if (!a.batched && cols == 1 && !b.trans) {
      // y_r = A x_r for every row: Y = X Aᵀ.
      cblas_dgemm(CblasRowMajor, CblasNoTrans, a.trans ? CblasNoTrans : CblasTrans, R, m, k, 1.0,
                  b.p, k, a.p, lda, 0.0, out, m);
    } else if (a.batched && !b.batched && !a.trans) {
      // The rows' A_r stacked: (R m) x k times k x cols.
      cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, R * m, cols, k, 1.0, a.p, k, b.p, ldb, 0.0, out,
                  cols);
    } else {
      const std::size_t sa_ = a.batched ? std::size_t(m) * k : 0, sb_ = b.batched ? std::size_t(k) * cols : 0;
      for (int r = 0; r < R; ++r)
        cblas_dgemm(CblasRowMajor, ta, tb, m, cols, k, 1.0, a.p + r * sa_, lda, b.p + r * sb_, ldb,
                    0.0, out + std::size_t(r) * m * cols, cols);
    }
  }

  template <class F>
  void mapLoop(Id id, F f) {
    const Node &n = g[id];
    const std::size_t S = n.shape.size(), R = rowsOf(id);
    double *out = output(id);
    const double *p[3] = {nullptr, nullptr, nullptr};
    std::size_t rs[3] = {0, 0, 0}, es[3] = {0, 0, 0};
    for (std::uint8_t k = 0; k < n.argCount; ++k) {
      const Node &x = g[n.args[k]];
      p[k] = data[n.args[k]];
      es[k] = x.shape.isScalar() ? 0 : 1;
      rs[k] = x.batched ? x.shape.size() : 0;
    }
    static const double zero = 0;
    for (std::uint8_t k = n.argCount; k < 3; ++k) p[k] = &zero;
    for (std::size_t r = 0; r < R; ++r) {
      const double *a = p[0] + r * rs[0], *b = p[1] + r * rs[1], *c = p[2] + r * rs[2];
      double *o = out + r * S;
      if (es[0] && es[1] && (n.argCount < 3 || es[2])) {
        for (std::size_t i = 0; i < S; ++i) o[i] = f(a[i], b[i], c[i]);
      } else {
        for (std::size_t i = 0; i < S; ++i) o[i] = f(a[i * es[0]], b[i * es[1]], c[i * es[2]]);
      }
    }
  }

  void map(Id id) {
    switch (g[id].op) {
    case Op::Add: return mapLoop(id, [](double a, double b, double) { return a + b; });
    case Op::Sub: return mapLoop(id, [](double a, double b, double) { return a - b; });
    case Op::Mul: return mapLoop(id, [](double a, double b, double) { return a * b; });
    case Op::Div: return mapLoop(id, [](double a, double b, double) { return a / b; });
    case Op::Neg: return mapLoop(id, [](double a, double, double) { return -a; });
    case Op::Tanh: return mapLoop(id, [](double a, double, double) { return std::tanh(a); });
    case Op::Exp: return mapLoop(id, [](double a, double, double) { return std::exp(a); });
    case Op::Pow:  // squares are the common case
      return mapLoop(id, [](double a, double b, double) { return b == 2 ? a * a : std::pow(a, b); });
    default: {
      const Op op = g[id].op;
      return mapLoop(id, [op](double a, double b, double c) { return evalOp(op, a, b, c); });
    }
    }
  }

  /// The shift of logsumexp and softmax, as the scalar level computes it: floor(max(v)), or 0
  /// when that is not finite.
  static double shiftOf(const double *v, std::size_t S) {
    double mx = v[0];
    for (std::size_t i = 1; i < S; ++i) mx = evalOp(Op::Max, mx, v[i]);
    const double top = std::floor(mx);
    return top - top == 0 ? top : 0.0;
  }

  void reduce(Id id) {
    const Node &n = g[id];
    const Id a = n.args[0];
    const std::size_t S = g[a].shape.size(), R = rowsOf(id);
    const std::size_t rs = g[a].batched ? S : 0;
    double *out = output(id);
    for (std::size_t r = 0; r < R; ++r) {
      const double *v = data[a] + r * rs;
      switch (n.kind) {
      case Kind::Sum: {
        double s = v[0];
        for (std::size_t i = 1; i < S; ++i) s += v[i];
        out[r] = s;
        break;
      }
      case Kind::Max:
      case Kind::Min: {
        const Op op = n.kind == Kind::Max ? Op::Max : Op::Min;
        double s = v[0];
        for (std::size_t i = 1; i < S; ++i) s = evalOp(op, s, v[i]);
        out[r] = s;
        break;
      }
      case Kind::LogSumExp: {
        const double shift = shiftOf(v, S);
        double s = 0;
        for (std::size_t i = 0; i < S; ++i) s += std::exp(v[i] - shift);
        out[r] = shift + std::log(s);
        break;
      }
      default: throw std::logic_error("array executor: not a reduction");
      }
    }
  }

  void softmax(Id id) {
    const Id a = g[id].args[0];
    const std::size_t S = g[a].shape.size(), R = rowsOf(id), rs = g[a].batched ? S : 0;
    double *out = output(id);
    for (std::size_t r = 0; r < R; ++r) {
      const double *v = data[a] + r * rs;
      double *o = out + r * S;
      const double shift = shiftOf(v, S);
      double s = 0;
      for (std::size_t i = 0; i < S; ++i) s += (o[i] = std::exp(v[i] - shift));
      for (std::size_t i = 0; i < S; ++i) o[i] /= s;
    }
  }

  /// Copies between a box of a larger array and a dense smaller one, for each row: runs of the
  /// box's last dimension, which are contiguous in both.
  void box(Id id, bool embed) {
    const Node &n = g[id];
    const Id a = n.args[0];
    const Shape &big = embed ? n.shape : g[a].shape;
    const std::size_t small = embed ? g[a].shape.size() : n.shape.size();
    const std::size_t R = rowsOf(id), rank = big.dims.size();
    const std::size_t inStride = g[a].batched ? g[a].shape.size() : 0;
    double *out = output(id);
    if (embed) std::fill(out, out + R * big.size(), 0.0);
    const std::size_t run = n.box[rank - 1].count, runs = small / run;
    // The offset in the larger array of each run's first element.
    std::vector<std::size_t> &starts = runStarts[id];
    if (starts.size() != runs) {
      starts.clear();
      std::vector<std::uint32_t> idx(rank, 0);
      for (std::size_t e = 0; e < runs; ++e) {
        std::size_t flat = 0;
        for (std::size_t d = 0; d < rank; ++d) flat = flat * big.dims[d] + n.box[d].start + idx[d];
        starts.push_back(flat);
        for (std::size_t d = rank - 1; d-- > 0;) {
          if (++idx[d] < n.box[d].count) break;
          idx[d] = 0;
        }
      }
    }
    for (std::size_t r = 0; r < R; ++r) {
      const double *in = data[a] + r * inStride;
      for (std::size_t e = 0; e < runs; ++e) {
        if (embed)
          std::copy(in + e * run, in + (e + 1) * run, out + r * big.size() + starts[e]);
        else
          std::copy(in + starts[e], in + starts[e] + run, out + r * small + e * run);
      }
    }
  }

  void input(Id id, const Rows &rows) {
    const Node &n = g[id];
    const std::size_t S = n.shape.size(), off = inputOffsets.at(n.group);
    double *out = output(id);
    if (rows.table) {
      for (std::size_t r = 0; r < rows.count; ++r) {
        const double *src = rows.table + rows.index[r] * rows.stride + off;
        std::copy(src, src + S, out + r * S);
      }
    } else {
      for (std::size_t j = 0; j < S; ++j) {
        const double *col = rows.columns[off + j];
        for (std::size_t r = 0; r < rows.count; ++r) out[r * S + j] = col[r];
      }
    }
  }

  void eval(Id id, std::span<const double> params, const Rows &rows) {
    const Node &n = g[id];
    switch (n.kind) {
    case Kind::Param: data[id] = params.data() + paramOffsets.at(n.group); return;
    case Kind::Const: data[id] = n.values.data(); return;
    case Kind::Input: return input(id, rows);
    case Kind::Map: return map(id);
    case Kind::MatMul: return matmul(id);
    case Kind::Transpose: {
      const Id a = n.args[0];
      const std::size_t rowsA = g[a].shape.dims[0], colsA = g[a].shape.dims[1], S = rowsA * colsA;
      const std::size_t R = rowsOf(id), rs = g[a].batched ? S : 0;
      double *out = output(id);
      for (std::size_t r = 0; r < R; ++r)
        for (std::size_t i = 0; i < rowsA; ++i)
          for (std::size_t j = 0; j < colsA; ++j)
            out[r * S + j * rowsA + i] = data[a][r * rs + i * colsA + j];
      return;
    }
    case Kind::Outer: {
      const Id u = n.args[0], v = n.args[1];
      const std::size_t m = g[u].shape.size(), k = g[v].shape.size(), R = rowsOf(id);
      const std::size_t su = g[u].batched ? m : 0, sv = g[v].batched ? k : 0;
      double *out = output(id);
      for (std::size_t r = 0; r < R; ++r)
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < k; ++j)
            out[(r * m + i) * k + j] = data[u][r * su + i] * data[v][r * sv + j];
      return;
    }
    case Kind::OuterSum: {
      const Id u = n.args[0], v = n.args[1];
      const int m = static_cast<int>(g[u].shape.size()), k = static_cast<int>(g[v].shape.size());
      double *out = output(id);
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, k, static_cast<int>(batch), 1.0,
                  data[u], m, data[v], k, 0.0, out, k);
      return;
    }
    case Kind::Sum:
    case Kind::Max:
    case Kind::Min:
    case Kind::LogSumExp: return reduce(id);
    case Kind::Softmax: return softmax(id);
    case Kind::Onehot: {
      const Id k = n.args[0];
      const std::size_t count = n.group, R = rowsOf(id), rs = g[k].batched ? 1 : 0;
      double *out = output(id);
      for (std::size_t r = 0; r < R; ++r)
        for (std::size_t j = 0; j < count; ++j)
          out[r * count + j] = data[k][r * rs] == static_cast<double>(j) ? 1.0 : 0.0;
      return;
    }
    case Kind::Slice: return box(id, false);
    case Kind::Embed: return box(id, true);
    case Kind::Stack: {
      const std::size_t S = n.shape.size(), R = rowsOf(id);
      const std::size_t part = S / n.parts.size();
      double *out = output(id);
      for (std::size_t p = 0; p < n.parts.size(); ++p) {
        const Id x = n.parts[p];
        const std::size_t rs = g[x].batched ? part : 0;
        for (std::size_t r = 0; r < R; ++r)
          std::copy(data[x] + r * rs, data[x] + r * rs + part, out + r * S + p * part);
      }
      return;
    }
    case Kind::Broadcast: {
      const Id a = n.args[0];
      const std::size_t S = n.shape.size(), R = rowsOf(id), rs = g[a].batched ? 1 : 0;
      double *out = output(id);
      for (std::size_t r = 0; r < R; ++r) std::fill(out + r * S, out + (r + 1) * S, data[a][r * rs]);
      return;
    }
    case Kind::BatchSum: {
      const Id a = n.args[0];
      const std::size_t S = n.shape.size();
      double *out = output(id);
      if (!g[a].batched) {
        for (std::size_t i = 0; i < S; ++i) out[i] = data[a][i] * static_cast<double>(batch);
        return;
      }
      std::fill(out, out + S, 0.0);
      for (std::size_t r = 0; r < batch; ++r)
        for (std::size_t i = 0; i < S; ++i) out[i] += data[a][r * S + i];
      return;
    }
    }
  }
};

Executor::Executor(const Graph &graph, std::vector<Id> roots, std::vector<std::size_t> inputOffsets,
                   std::vector<std::size_t> paramOffsets)
    : impl_(std::make_unique<Impl>(graph, std::move(roots), std::move(inputOffsets),
                                   std::move(paramOffsets))) {}
Executor::~Executor() = default;
Executor::Executor(Executor &&) noexcept = default;

std::size_t Executor::rootSize(std::size_t k) const {
  return impl_->g[impl_->roots.at(k)].shape.size();
}

std::size_t Executor::outputSize() const {
  std::size_t n = 0;
  for (std::size_t k = 0; k < impl_->roots.size(); ++k) n += rootSize(k);
  return n;
}

bool Executor::rootBatched(std::size_t k) const { return impl_->g[impl_->roots.at(k)].batched; }

void Executor::run(std::span<const double> params, const Rows &rows, std::span<double> out) {
  Impl &m = *impl_;
  if (out.size() != outputSize())
    throw std::invalid_argument("array executor: an output of the wrong size");
  m.batch = rows.count;
  for (Id id : m.order) m.eval(id, params, rows);
  std::size_t at = 0;
  for (Id root : m.roots) {
    const Node &n = m.g[root];
    const std::size_t S = n.shape.size();
    const double *v = m.data[root];
    if (!n.batched) {
      std::copy(v, v + S, out.begin() + at);
    } else {
      for (std::size_t i = 0; i < S; ++i) out[at + i] = 0;
      for (std::size_t r = 0; r < m.batch; ++r)
        for (std::size_t i = 0; i < S; ++i) out[at + i] += v[r * S + i];
    }
    at += S;
  }
}

void Executor::setBlasThreads(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  openblas_set_num_threads(static_cast<int>(threads));
}

}  // namespace nabla::array
