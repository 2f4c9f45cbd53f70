// Seeded row orders, the columns of a batch, standardization and checksums.
#include "runtime/data/data.h"

#include <cmath>
#include <cstring>
#include <numbers>

namespace nabla::data {

namespace {

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ull;

std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

} // namespace

std::uint64_t Rng::next() {
  state_ += kGolden;
  return mix(state_);
}

std::uint64_t Rng::below(std::uint64_t n) {
  // Values at or above the largest multiple of n that fits are redrawn, so that every residue is
  // equally likely.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do {
    x = next();
  } while (x >= limit);
  return x % n;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }

double Rng::normal() {
  const double u1 = 1.0 - uniform(); // (0, 1]: log is finite
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::uint64_t epochSeed(std::uint64_t seed, std::size_t epoch) {
  return mix(seed + (static_cast<std::uint64_t>(epoch) + 1) * kGolden);
}

std::vector<std::size_t> shuffledRows(std::size_t rows, std::uint64_t seed, std::size_t epoch) {
  std::vector<std::size_t> order(rows);
  for (std::size_t i = 0; i < rows; ++i) order[i] = i;
  Rng rng(epochSeed(seed, epoch));
  for (std::size_t i = rows; i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(rng.below(i));
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

void BatchColumns::select(const BatchPlan &plan, std::size_t epoch, std::size_t b) {
  const std::vector<std::vector<double>> &data = *data_;
  const std::size_t begin = plan.begin(b), end = plan.end(b);
  rows_ = end - begin;
  pointers_.resize(data.size());
  if (!plan.shuffle) {
    for (std::size_t c = 0; c < data.size(); ++c) pointers_[c] = data[c].data() + begin;
    return;
  }
  if (orderEpoch_ != epoch) {
    order_ = shuffledRows(plan.rows, plan.seed, epoch);
    orderEpoch_ = epoch;
  }
  gathered_.resize(data.size());
  for (std::size_t c = 0; c < data.size(); ++c) {
    std::vector<double> &column = gathered_[c];
    column.resize(rows_);
    for (std::size_t r = 0; r < rows_; ++r) column[r] = data[c][order_[begin + r]];
    pointers_[c] = column.data();
  }
}

Scaling computeScaling(std::span<const double> column) {
  Scaling s;
  if (column.empty()) return s;
  double sum = 0;
  for (double v : column) sum += v;
  s.mean = sum / static_cast<double>(column.size());
  double squares = 0;
  for (double v : column) squares += (v - s.mean) * (v - s.mean);
  const double sd = std::sqrt(squares / static_cast<double>(column.size()));
  s.scale = sd > 0 ? sd : 1.0;
  return s;
}

void applyScaling(const Scaling &s, std::span<double> column) {
  for (double &v : column) v = (v - s.mean) / s.scale;
}

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::uint64_t fnv1a(std::span<const double> values, std::uint64_t h) {
  for (double v : values) {
    char bytes[sizeof v];
    std::memcpy(bytes, &v, sizeof v);
    h = fnv1a(std::string_view(bytes, sizeof bytes), h);
  }
  return h;
}

} // namespace nabla::data
