// Star colouring (diff/colouring.h): on random graphs the colouring is a valid star colouring
// (every path of four vertices checked by brute force) and is exactly what a brute-force greedy
// colouring in the same order makes (the least colour that keeps every coloured P4 three-coloured);
// tridiagonal, arrowhead and block-diagonal patterns take the colours stated below; and the direct
// recovery reproduces random symmetric sparse matrices exactly from their compressed products.
// Random graphs with dense rows (hubs) as well: the colouring reads the colours around a hub
// from lists it keeps, and must still agree with the brute force.
#include "diff/colouring.h"

#include <catch2/catch.hpp>

#include <random>
#include <set>

using namespace nabla;

namespace {

using Edges = std::set<std::pair<std::size_t, std::size_t>>;

/// The pattern of the graph `edges` (each once, either order) with the diagonal where `diagonal`.
HessianPattern patternOf(std::size_t n, const Edges &edges, bool diagonal = true) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
  for (const auto &[i, j] : edges) pairs.push_back({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j)});
  if (diagonal)
    for (std::size_t i = 0; i < n; ++i) pairs.push_back({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i)});
  return patternFromPairs(n, pairs);
}

Edges randomEdges(std::size_t n, double p, std::mt19937 &rng) {
  Edges e;
  std::bernoulli_distribution coin(p);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      if (coin(rng)) e.insert({i, j});
  return e;
}

/// Adjacency without the diagonal.
std::vector<std::vector<std::size_t>> adjacency(const HessianPattern &p) {
  std::vector<std::vector<std::size_t>> adj(p.n);
  for (std::size_t i = 0; i < p.n; ++i)
    for (std::int64_t j : p.row(i))
      if (static_cast<std::size_t>(j) != i) adj[i].push_back(static_cast<std::size_t>(j));
  return adj;
}

/// Whether the (partial: -1 is uncoloured) colouring is proper and has no two-coloured path on
/// four coloured vertices.
bool starValid(const std::vector<std::vector<std::size_t>> &adj, const std::vector<std::int64_t> &col) {
  const std::size_t n = adj.size();
  for (std::size_t a = 0; a < n; ++a) {
    if (col[a] < 0) continue;
    for (std::size_t b : adj[a]) {
      if (col[b] < 0) continue;
      if (col[a] == col[b]) return false;
      for (std::size_t c : adj[b]) {
        if (c == a || col[c] < 0) continue;
        for (std::size_t d : adj[c]) {
          if (d == a || d == b || col[d] < 0) continue;
          if (col[a] == col[c] && col[b] == col[d]) return false;
        }
      }
    }
  }
  return true;
}

/// Whether the colouring stays valid with v coloured, when it was valid without v: the edges at v
/// and the paths of four coloured vertices through v, v first or second (a path and its reverse break the
/// rule together, so that covers v third and fourth as well).
bool validAt(const std::vector<std::vector<std::size_t>> &adj, const std::vector<std::int64_t> &col,
             std::size_t v) {
  auto coloured = [&](std::size_t x) { return col[x] >= 0; };
  for (std::size_t b : adj[v]) {
    if (!coloured(b)) continue;
    if (col[b] == col[v]) return false;
    for (std::size_t c : adj[b]) {  // v-b-c-d
      if (c == v || !coloured(c)) continue;
      for (std::size_t d : adj[c])
        if (d != v && d != b && coloured(d) && col[v] == col[c] && col[b] == col[d]) return false;
    }
    for (std::size_t a : adj[v]) {  // a-v-b-d
      if (a == b || !coloured(a)) continue;
      for (std::size_t d : adj[b])
        if (d != v && d != a && coloured(d) && col[a] == col[b] && col[v] == col[d]) return false;
    }
  }
  return true;
}

/// Greedy by brute force: each vertex in order takes the least colour for which the coloured
/// vertices so far form a star colouring.
std::vector<std::int64_t> bruteGreedy(const HessianPattern &p) {
  const auto adj = adjacency(p);
  std::vector<std::int64_t> col(p.n, -1);
  for (std::size_t v = 0; v < p.n; ++v)
    for (col[v] = 0; !validAt(adj, col, v); ++col[v]) {
    }
  return col;
}

std::size_t countColours(const std::vector<std::int64_t> &col) {
  return std::set<std::int64_t>(col.begin(), col.end()).size();
}

/// B = H D for the pattern's values (row-major n x colours).
std::vector<double> compress(const HessianPattern &p, const std::vector<double> &values,
                             const StarColouring &c) {
  std::vector<double> b(p.n * c.colours, 0.0);
  const std::vector<double> d = c.seedMatrix();
  for (std::size_t i = 0; i < p.n; ++i)
    for (std::int64_t k = p.rowStart[i]; k < p.rowStart[i + 1]; ++k) {
      const std::size_t j = static_cast<std::size_t>(p.columns[static_cast<std::size_t>(k)]);
      for (std::size_t col = 0; col < c.colours; ++col)
        b[i * c.colours + col] += values[static_cast<std::size_t>(k)] * d[j * c.colours + col];
    }
  return b;
}

/// Random symmetric values on the pattern.
std::vector<double> randomValues(const HessianPattern &p, std::mt19937 &rng) {
  std::uniform_real_distribution<double> u(-3, 3);
  std::vector<double> v(p.nonzeros());
  for (std::size_t i = 0; i < p.n; ++i)
    for (std::int64_t k = p.rowStart[i]; k < p.rowStart[i + 1]; ++k) {
      const std::size_t j = static_cast<std::size_t>(p.columns[static_cast<std::size_t>(k)]);
      if (j < i) continue;
      const double x = u(rng);
      v[static_cast<std::size_t>(k)] = x;
      const auto r = p.row(j);
      const auto at = std::lower_bound(r.begin(), r.end(), static_cast<std::int64_t>(i));
      v[static_cast<std::size_t>(p.rowStart[j] + (at - r.begin()))] = x;
    }
  return v;
}

void checkRecovery(const HessianPattern &p, const StarColouring &c, std::mt19937 &rng) {
  const std::vector<double> values = randomValues(p, rng);
  CHECK(recoverHessian(p, c, compress(p, values, c)) == values);
}

}  // namespace

TEST_CASE("colouring: random graphs: valid, and the brute-force greedy colouring", "[diff][colouring]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 80; ++trial) {
    const std::size_t n = 5 + static_cast<std::size_t>(trial % 30);
    const double p = 0.04 + 0.3 * static_cast<double>(trial % 7) / 7;
    const HessianPattern pattern = patternOf(n, randomEdges(n, p, rng), trial % 2 == 0);
    const StarColouring c = starColouring(pattern);
    INFO("trial " << trial << ", n = " << n << ", " << pattern.nonzeros() << " nonzeros");
    REQUIRE(c.colour.size() == n);
    CHECK(starValid(adjacency(pattern), c.colour));
    CHECK(countColours(c.colour) == c.colours);
    const std::vector<std::int64_t> brute = bruteGreedy(pattern);
    CHECK(c.colours <= countColours(brute));
    CHECK(c.colour == brute);
    checkRecovery(pattern, c, rng);
  }
}

TEST_CASE("colouring: random graphs with dense rows: valid, and the brute-force greedy colouring",
          "[diff][colouring]") {
  // A few hubs, each joined to a random share (30% to all) of the variables, over a sparse or
  // banded graph: the colours a hub forbids come from its lists, never from walking its row.
  std::mt19937 rng(19);
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t n = 20 + static_cast<std::size_t>(trial % 41);
    Edges e = randomEdges(n, trial % 3 == 0 ? 0.0 : 0.02 + 0.05 * (trial % 4), rng);
    if (trial % 5 == 0)
      for (std::size_t i = 0; i + 1 < n; ++i) e.insert({i, i + 1});
    const std::size_t hubs = 1 + static_cast<std::size_t>(trial % 3);
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    std::bernoulli_distribution joined(0.3 + 0.7 * static_cast<double>(trial % 4) / 3);
    for (std::size_t h = 0; h < hubs; ++h) {
      const std::size_t hub = trial % 2 == 0 ? pick(rng) : (h == 0 ? 0 : n - h);
      for (std::size_t j = 0; j < n; ++j)
        if (j != hub && joined(rng)) e.insert({std::min(hub, j), std::max(hub, j)});
    }
    const HessianPattern pattern = patternOf(n, e, trial % 2 == 1);
    const StarColouring c = starColouring(pattern);
    INFO("trial " << trial << ", n = " << n << ", " << pattern.nonzeros() << " nonzeros");
    REQUIRE(c.colour.size() == n);
    CHECK(starValid(adjacency(pattern), c.colour));
    CHECK(countColours(c.colour) == c.colours);
    CHECK(c.colour == bruteGreedy(pattern));
    checkRecovery(pattern, c, rng);
  }
}

TEST_CASE("colouring: tridiagonal, arrowhead, block-diagonal", "[diff][colouring]") {
  std::mt19937 rng(11);
  const std::size_t n = 200;
  Edges band, arrowFirst, arrowLast, blocks;
  for (std::size_t i = 0; i + 1 < n; ++i) band.insert({i, i + 1});
  for (std::size_t i = 1; i < n; ++i) arrowFirst.insert({0, i});
  for (std::size_t i = 0; i + 1 < n; ++i) arrowLast.insert({i, n - 1});
  for (std::size_t b = 0; b < n; b += 5)
    for (std::size_t i = b; i < b + 5; ++i)
      for (std::size_t j = i + 1; j < b + 5; ++j) blocks.insert({i, j});
  // Tridiagonal: greedy in order gives 0 1 0 2 0 1 0 2 ...: three colours.
  {
    const HessianPattern p = patternOf(n, band);
    const StarColouring c = starColouring(p);
    CHECK(c.colours == 3);
    CHECK(c.colour[0] == 0);
    CHECK(c.colour[1] == 1);
    CHECK(c.colour[2] == 0);
    CHECK(c.colour[3] == 2);
    CHECK(starValid(adjacency(p), c.colour));
    checkRecovery(p, c, rng);
  }
  // Arrowhead, the dense row first or last: two colours (the hub, and every other variable).
  for (const Edges *e : {&arrowFirst, &arrowLast}) {
    const HessianPattern p = patternOf(n, *e);
    const StarColouring c = starColouring(p);
    CHECK(c.colours == 2);
    checkRecovery(p, c, rng);
  }
  // Dense blocks of 5: five colours.
  {
    const HessianPattern p = patternOf(n, blocks);
    const StarColouring c = starColouring(p);
    CHECK(c.colours == 5);
    checkRecovery(p, c, rng);
  }
  // Dense blocks of 40 (each variable has up to 39 colours around it, past the 16 the colouring
  // reads in turn) joined by a band: the brute-force greedy colouring, at least a block's 40.
  {
    Edges wide = band;
    for (std::size_t b = 0; b + 40 <= n; b += 40)
      for (std::size_t i = b; i < b + 40; ++i)
        for (std::size_t j = i + 1; j < b + 40; ++j) wide.insert({i, j});
    const HessianPattern p = patternOf(n, wide);
    const StarColouring c = starColouring(p);
    CHECK(c.colours >= 40);
    CHECK(starValid(adjacency(p), c.colour));
    CHECK(c.colour == bruteGreedy(p));
    checkRecovery(p, c, rng);
  }
  // A diagonal matrix: one colour; an empty pattern: none.
  {
    const HessianPattern p = patternOf(n, {});
    CHECK(starColouring(p).colours == 1);
    checkRecovery(p, starColouring(p), rng);
    CHECK(starColouring(HessianPattern{}).colours == 0);
  }
}

TEST_CASE("colouring: classes, seed matrix, and a colouring that is not a star colouring", "[diff][colouring]") {
  const HessianPattern p = patternOf(4, {{0, 1}, {1, 2}, {2, 3}});
  const StarColouring c = starColouring(p);
  CHECK(c.classes() == std::vector<std::vector<std::int64_t>>{{0, 2}, {1}, {3}});
  CHECK(c.seedMatrix() == std::vector<double>{1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1});
  // Two colours on a path of four is a distance-1 colouring only: (1, 2) cannot be recovered.
  StarColouring two{2, {0, 1, 0, 1}};
  CHECK_THROWS_AS(recoverHessian(p, two, std::vector<double>(8, 0.0)), std::invalid_argument);
  CHECK_THROWS_AS(recoverHessian(p, c, std::vector<double>(3, 0.0)), std::invalid_argument);
}
