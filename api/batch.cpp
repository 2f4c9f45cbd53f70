#include "batch.h"

#include <algorithm>
#include <vector>

namespace nabla::api {

double meanLossAndGrad(const jit::CompiledFunction &row, std::span<const double> params,
                       std::size_t n, std::span<const double *const> columns,
                       std::span<double> grad) {
  const std::size_t k = params.size();
  std::vector<double> args(k + columns.size());
  std::vector<double> rowGrad(k);
  std::copy(params.begin(), params.end(), args.begin());
  std::fill(grad.begin(), grad.end(), 0.0);
  const jit::ValueAndGradFn fn = row.valueAndGradFn();
  // Rows are summed in order, so a batch gives the same bits every time.
  double loss = 0;
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < columns.size(); ++c) args[k + c] = columns[c][r];
    loss += fn(args.data(), rowGrad.data());
    for (std::size_t i = 0; i < k; ++i) grad[i] += rowGrad[i];
  }
  const double count = static_cast<double>(n);
  for (double &g : grad) g /= count;
  return loss / count;
}

}  // namespace nabla::api
