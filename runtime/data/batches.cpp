// Seeded row orders, the columns of a batch, standardization and checksums.
#include "runtime/data/data.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <numbers>

namespace nabla::data {

namespace {

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ull;

std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// Memory for `count` doubles, not yet touched, on transparent huge pages where the system offers
/// them: rows picked at random then cost far fewer TLB misses than on 4 KiB pages.
std::shared_ptr<double> allocateRows(std::size_t count) {
  constexpr std::size_t huge = std::size_t{2} << 20;
  const std::size_t bytes = count * sizeof(double) + huge;
  void *base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  const std::uintptr_t aligned =
      (reinterpret_cast<std::uintptr_t>(base) + huge - 1) / huge * huge;
#ifdef MADV_HUGEPAGE
  madvise(reinterpret_cast<void *>(aligned), bytes - (aligned - reinterpret_cast<std::uintptr_t>(base)),
          MADV_HUGEPAGE);
#endif
  return std::shared_ptr<double>(reinterpret_cast<double *>(aligned),
                                 [base, bytes](double *) { munmap(base, bytes); });
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
  // Fisher-Yates, with the random positions drawn a block ahead and prefetched: the swaps are
  // the same, in the same order, but a large order no longer waits on one cache miss at a time.
  constexpr std::size_t kAhead = 32;
  std::size_t picks[kAhead];
  for (std::size_t i = rows; i > 1;) {
    const std::size_t count = std::min(kAhead, i - 1);
    for (std::size_t k = 0; k < count; ++k) {
      picks[k] = static_cast<std::size_t>(rng.below(i - k));
      __builtin_prefetch(&order[picks[k]], 1);
    }
    for (std::size_t k = 0; k < count; ++k) std::swap(order[i - 1 - k], order[picks[k]]);
    i -= count;
  }
  return order;
}

std::vector<std::size_t> validationRows(std::size_t rows, std::size_t count, std::uint64_t seed) {
  std::vector<std::size_t> order = shuffledRows(rows, seed, SIZE_MAX);
  order.resize(std::min(count, rows));
  std::sort(order.begin(), order.end());
  return order;
}

void BatchColumns::startOrder(const BatchPlan &plan, std::size_t epoch) {
  // Small data sets draw their orders in select(): a thread would cost more than the shuffle.
  if (plan.rows < (std::size_t{1} << 16)) return;
  if (nextEpoch_ == epoch && next_.valid()) return;
  if (next_.valid()) next_.wait();
  nextEpoch_ = epoch;
  next_ = std::async(std::launch::async, [rows = plan.rows, seed = plan.seed, epoch] {
    return shuffledRows(rows, seed, epoch);
  });
}

void BatchColumns::makeRowMajor(const BatchPlan &plan) {
  const std::vector<std::vector<double>> &data = *data_;
  const std::size_t width = data.size();
  if (rowMajor_ || width == 0) return;
  // The rows held: all of the plan's, or a shard's.
  const std::size_t rows = data[0].size();
  rowMajor_ = allocateRows(rows * width);
  std::vector<const double *> in(width);
  for (std::size_t c = 0; c < width; ++c) in[c] = data[c].data();
  double *to = rowMajor_.get();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < width; ++c) *to++ = in[c][r];
}

void BatchColumns::prepare(const BatchPlan &plan, std::size_t epoch) {
  if (!plan.shuffle || plan.rows == 0) return;
  // The order first: it is drawn on its own thread while the copy is made.
  startOrder(plan, epoch);
  makeRowMajor(plan);
}

void BatchColumns::select(const BatchPlan &plan, std::size_t epoch, std::size_t b) {
  const std::vector<std::vector<double>> &data = *data_;
  const std::size_t begin = plan.begin(b), end = plan.end(b);
  rows_ = end - begin;
  begin_ = begin;
  shuffled_ = plan.shuffle;
  copied_ = false;
  pointers_.resize(data.size());
  if (!plan.shuffle) {
    // Sharded: the part of [begin, end) in [shardFirst_, shardFirst_ + shardCount_).
    std::size_t from = begin;
    if (sharded()) {
      from = std::max(begin, shardFirst_);
      const std::size_t to = std::min(end, shardFirst_ + shardCount_);
      rows_ = to > from ? to - from : 0;
      if (rows_ == 0) from = shardFirst_;
      begin_ = from;
      from -= shardFirst_;
    }
    for (std::size_t c = 0; c < data.size(); ++c) pointers_[c] = data[c].data() + from;
    return;
  }
  if (orderEpoch_ != epoch) {
    if (nextEpoch_ == epoch && next_.valid()) {
      order_ = next_.get();
    } else {
      order_ = shuffledRows(plan.rows, plan.seed, epoch);
    }
    orderEpoch_ = epoch;
    if (epoch + 1 < plan.epochs) startOrder(plan, epoch + 1);
  }
  if (sharded()) {
    local_.clear();
    for (std::size_t p = begin; p < end; ++p)
      if (order_[p] >= shardFirst_ && order_[p] - shardFirst_ < shardCount_)
        local_.push_back(order_[p] - shardFirst_);
    rows_ = local_.size();
  }
  makeRowMajor(plan);
}

void BatchColumns::setShard(std::size_t first, std::size_t count) {
  shardFirst_ = first;
  shardCount_ = count;
}

std::size_t BatchColumns::planRow(std::size_t k) const {
  if (!shuffled_) return begin_ + k;
  return sharded() ? shardFirst_ + local_[k] : order_[begin_ + k];
}

std::optional<PickedRows> BatchColumns::picked() const {
  if (!shuffled_ || !rowMajor_) return std::nullopt;
  return PickedRows{rowMajor_.get(), data_->size(), index()};
}

const std::vector<const double *> &BatchColumns::pointers() {
  if (!shuffled_ || copied_) return pointers_;
  copied_ = true;
  const std::size_t width = data_->size();
  gathered_.resize(width);
  std::vector<double *> out(width);
  for (std::size_t c = 0; c < width; ++c) {
    gathered_[c].resize(rows_);
    out[c] = gathered_[c].data();
    pointers_[c] = gathered_[c].data();
  }
  if (width == 0) return pointers_;
  // Prefetch the cache lines of the row `ahead` positions on, so that many rows are on their way
  // from memory at once.
  constexpr std::size_t ahead = 16;
  const std::size_t *order = index();
  const double *rows = rowMajor_.get();
  const std::size_t bytes = width * sizeof(double);
  for (std::size_t r = 0; r < rows_; ++r) {
    if (r + ahead < rows_) {
      const char *next = reinterpret_cast<const char *>(rows + order[r + ahead] * width);
      for (std::size_t line = 0; line < bytes + 63; line += 64) __builtin_prefetch(next + line);
    }
    const double *row = rows + order[r] * width;
    for (std::size_t c = 0; c < width; ++c) out[c][r] = row[c];
  }
  return pointers_;
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
