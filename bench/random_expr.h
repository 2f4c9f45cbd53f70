// Random well-formed nabla expressions of a given size, for the compile-latency benchmark: a
// seeded, deterministic generator (the same seed and size give the same text).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace nabla::bench {

/// An expression of about `nodes` operations and leaves over the variables x0..x{vars-1}:
/// operators + - * / and the functions sin cos tanh sigmoid softplus atan log1p exp. Divisors are
/// 1 + u^2, log1p takes u^2 and exp takes -u^2, so that every subexpression is finite at any point.
/// Subexpressions are combined in random order from a pool, so nesting grows like log(nodes) and
/// no parser limit is reached.
inline std::string randomExpression(std::size_t nodes, unsigned vars, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  std::vector<std::string> pool;
  std::size_t made = 0;
  auto take = [&] {
    std::size_t i = pick(pool.size());
    std::swap(pool[i], pool.back());
    std::string s = std::move(pool.back());
    pool.pop_back();
    return s;
  };
  auto leaf = [&] {
    ++made;
    static const char *kConsts[] = {"0.5", "2", "1.5", "0.25", "3"};
    if (pick(4) == 0)
      pool.emplace_back(kConsts[pick(5)]);
    else
      pool.push_back("x" + std::to_string(pick(vars)));
  };
  auto binary = [&] {
    std::string a = take(), b = take();
    ++made;
    switch (pick(4)) {
    case 0: pool.push_back("(" + a + " + " + b + ")"); break;
    case 1: pool.push_back("(" + a + " - " + b + ")"); break;
    case 2: pool.push_back("(" + a + " * " + b + ")"); break;
    default: pool.push_back("(" + a + " / (1 + " + b + "^2))"); made += 3; break;
    }
  };
  auto unary = [&] {
    std::string a = take();
    ++made;
    static const char *kFns[] = {"sin", "cos", "tanh", "sigmoid", "softplus", "atan"};
    switch (pick(8)) {
    case 6: pool.push_back("log1p(" + a + "^2)"); ++made; break;
    case 7: pool.push_back("exp(-" + a + "^2)"); made += 2; break;
    default: pool.push_back(std::string(kFns[pick(6)]) + "(" + a + ")"); break;
    }
  };
  while (made < nodes) {
    std::size_t choice = pick(8);
    if (pool.size() < 2 || choice < 4)
      leaf();
    else if (choice < 6)
      binary();
    else
      unary();
  }
  while (pool.size() > 1) binary();
  return pool.back();
}

}  // namespace nabla::bench
