// The hand-written kernels (see kernels.h). NABLA_HAND_NS names the namespace of this build.
#include "kernels.h"

#include <cmath>
#include <type_traits>

namespace NABLA_HAND_NS {

double seedGrad(const double *args, double *grad) {
  const double x = args[0], y = args[1];
  const double u = x * x + y, v = y - x * y;
  grad[0] = 2 * u * 2 * x * v + u * u * (-y);
  grad[1] = 2 * u * v + u * u * (1 - x);
  return u * u * v;
}

void seedGradPoints(std::size_t n, const double *__restrict points, double *__restrict values,
                    double *__restrict grads) {
  // The same arithmetic inlined into one loop over the points, for GCC to vectorize.
  for (std::size_t r = 0; r < n; ++r) {
    const double x = points[2 * r], y = points[2 * r + 1];
    const double u = x * x + y, v = y - x * y;
    grads[2 * r] = 2 * u * 2 * x * v + u * u * (-y);
    grads[2 * r + 1] = 2 * u * v + u * u * (1 - x);
    values[r] = u * u * v;
  }
}

namespace {

template <class N>
inline double rosenbrock(const double *x, double *grad, N n) {
  double f = 0;
  for (std::size_t i = 0; i < n; ++i) grad[i] = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const double a = 1 - x[i], b = x[i + 1] - x[i] * x[i];
    f += a * a + 100 * b * b;
    grad[i] += -2 * a - 400 * x[i] * b;
    grad[i + 1] += 200 * b;
  }
  return f;
}

}  // namespace

double rosenbrockGrad(const double *x, double *grad, std::size_t n) { return rosenbrock(x, grad, n); }

double rosenbrockGrad100(const double *x, double *grad) {
  return rosenbrock(x, grad, std::integral_constant<std::size_t, 100>{});
}

void logregSums(const double *w, double b, const double *const *x, const double *y,
                std::size_t begin, std::size_t end, double *sums) {
  constexpr int kFeatures = 16;
  double loss = 0, gb = 0, gw[kFeatures] = {}, wl[kFeatures];
  const double *xl[kFeatures];
  for (int j = 0; j < kFeatures; ++j) {
    wl[j] = w[j];
    xl[j] = x[j];
  }
  for (std::size_t r = begin; r < end; ++r) {
    double z = b;
    for (int j = 0; j < kFeatures; ++j) z += wl[j] * xl[j][r];
    // softplus(z) = max(z, 0) + log1p(exp(-|z|)); sigmoid from the same exp.
    const double e = std::exp(-std::fabs(z));
    loss += (z > 0 ? z : 0) + std::log1p(e) - y[r] * z;
    const double s = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    const double d = s - y[r];
    for (int j = 0; j < kFeatures; ++j) gw[j] += d * xl[j][r];
    gb += d;
  }
  sums[0] = loss;
  for (int j = 0; j < kFeatures; ++j) sums[1 + j] = gw[j];
  sums[1 + kFeatures] = gb;
}

void mlpSums(const double *params, const double *const *x, const double *y, std::size_t begin,
             std::size_t end, double *sums) {
  constexpr int kIn = 4, kHidden = 16;
  const double *W1 = params, *b1 = params + kIn * kHidden, *W2 = b1 + kHidden, *b2 = W2 + kHidden;
  double gW1[kIn * kHidden] = {}, gb1[kHidden] = {}, gW2[kHidden] = {}, gb2[1] = {};
  double loss = 0;
  for (std::size_t r = begin; r < end; ++r) {
    double in[kIn], h[kHidden];
    for (int k = 0; k < kIn; ++k) in[k] = x[k][r];
    double out = *b2;
    for (int j = 0; j < kHidden; ++j) {
      double a = b1[j];
      for (int k = 0; k < kIn; ++k) a += W1[j * kIn + k] * in[k];
      h[j] = std::tanh(a);
      out += W2[j] * h[j];
    }
    const double e = out - y[r];
    loss += e * e;
    const double d = 2 * e;
    *gb2 += d;
    for (int j = 0; j < kHidden; ++j) {
      gW2[j] += d * h[j];
      const double dh = d * W2[j] * (1 - h[j] * h[j]);
      gb1[j] += dh;
      for (int k = 0; k < kIn; ++k) gW1[j * kIn + k] += dh * in[k];
    }
  }
  sums[0] = loss;
  double *out = sums + 1;
  for (double g : gW1) *out++ = g;
  for (double g : gb1) *out++ = g;
  for (double g : gW2) *out++ = g;
  *out = gb2[0];
}

}  // namespace NABLA_HAND_NS
