// The pieces of a data-parallel run that need no MPI: a CSV file cut into shards at line ends
// (data::csvShard) reads as the whole file's rows and names bad rows as the whole file does; the
// batches of the shards of a plan together hold the rows of the plan's batch; keepShard; and the
// single-process Communicator.
#include "runtime/data/data.h"
#include "runtime/fit/fit.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using namespace nabla;
using namespace nabla::data;

namespace {

/// The shards' rows of column `c`, read and put together in rank order.
std::vector<double> shardsTogether(const CsvFile &file, std::size_t size, std::size_t c) {
  std::vector<double> out;
  std::size_t next = 0;
  for (std::size_t rank = 0; rank < size; ++rank) {
    std::optional<CsvShard> shard = csvShard(file, rank, size);
    REQUIRE(shard);
    REQUIRE(shard->first == next);
    next += shard->rows;
    if (shard->rows == 0) continue;
    const Table t = readColumns(shard->file, {c});
    REQUIRE(t.rows == shard->rows);
    out.insert(out.end(), t.columns[0].begin(), t.columns[0].end());
  }
  REQUIRE(next == csvShard(file, 0, size)->total);
  return out;
}

} // namespace

TEST_CASE("csvShard: shards cut at line ends read as the whole file", "[fit][data][shard]") {
  // Every line end there is, and a final line without one.
  const CsvFile file = csvFromText("d.csv", "a,b\n1,2\n3,4\r\n5,6\r7,8\n9,10\n11,12");
  const Table whole = readColumns(file, {0, 1});
  REQUIRE(whole.rows == 6);
  for (std::size_t size : {1, 2, 3, 4, 6, 8}) {
    INFO("size " << size);
    REQUIRE(shardsTogether(file, size, 0) == whole.columns[0]);
    REQUIRE(shardsTogether(file, size, 1) == whole.columns[1]);
  }
  // More ranks than rows: some shards are empty.
  REQUIRE(csvShard(file, 0, 8)->rows == 0);
}

TEST_CASE("csvShard: a bad row is named as in the whole file", "[fit][data][shard]") {
  const CsvFile file = csvFromText("d.csv", "a,b\n1,2\n3,4\n5,6\n7,x\n");
  std::string whole;
  try {
    (void)readColumns(file, {0, 1});
  } catch (const DataError &e) {
    whole = e.what();
  }
  REQUIRE_THAT(whole, Catch::Matchers::Contains("row 4 (line 5)"));
  std::optional<CsvShard> last = csvShard(file, 1, 2);
  REQUIRE(last);
  REQUIRE(last->first == 2);
  std::string shard;
  try {
    (void)readColumns(last->file, {0, 1});
  } catch (const DataError &e) {
    shard = e.what();
  }
  REQUIRE(shard == whole);
  // The first shard does not hold it.
  REQUIRE(readColumns(csvShard(file, 0, 2)->file, {0, 1}).rows == 2);
}

TEST_CASE("csvShard: a file with quotes is read whole", "[fit][data][shard]") {
  REQUIRE_FALSE(csvShard(csvFromText("d.csv", "a,b\n1,\"2\"\n3,4\n"), 0, 2));
  REQUIRE_FALSE(csvShard(csvFromText("d.csv", "a,b\n1,2\n3,4\n"), 0, 2, 1)); // beyond --max-rows
}

TEST_CASE("BatchColumns: the shards' batches hold the plan's batch", "[fit][data][shard]") {
  const std::size_t rows = 23;
  std::vector<std::vector<double>> all(2, std::vector<double>(rows));
  for (std::size_t r = 0; r < rows; ++r) {
    all[0][r] = static_cast<double>(r);
    all[1][r] = 100.0 + static_cast<double>(r);
  }
  for (bool shuffle : {false, true}) {
    BatchPlan plan;
    plan.rows = rows;
    plan.size = 5;
    plan.shuffle = shuffle;
    plan.seed = 11;
    for (std::size_t size : {2, 3, 5}) {
      for (std::size_t epoch = 0; epoch < 2; ++epoch)
        for (std::size_t b = 0; b < plan.perEpoch(); ++b) {
          BatchColumns whole(all);
          whole.select(plan, epoch, b);
          std::multiset<double> expected;
          for (std::size_t k = 0; k < whole.rows(); ++k) {
            REQUIRE(whole.pointers()[0][k] == static_cast<double>(whole.planRow(k)));
            expected.insert(whole.pointers()[0][k]);
          }
          std::multiset<double> got;
          for (std::size_t rank = 0; rank < size; ++rank) {
            const std::size_t first = rows * rank / size, last = rows * (rank + 1) / size;
            std::vector<std::vector<double>> part(2);
            for (std::size_t c = 0; c < 2; ++c)
              part[c].assign(all[c].begin() + static_cast<std::ptrdiff_t>(first),
                             all[c].begin() + static_cast<std::ptrdiff_t>(last));
            BatchColumns shard(part);
            shard.setShard(first, last - first);
            shard.select(plan, epoch, b);
            if (std::optional<PickedRows> picked = shard.picked())
              for (std::size_t k = 0; k < shard.rows(); ++k)
                REQUIRE(picked->table[picked->index[k] * picked->stride + 1] ==
                        100.0 + static_cast<double>(shard.planRow(k)));
            for (std::size_t k = 0; k < shard.rows(); ++k) {
              REQUIRE(shard.pointers()[0][k] == static_cast<double>(shard.planRow(k)));
              REQUIRE(shard.pointers()[1][k] == 100.0 + shard.pointers()[0][k]);
              got.insert(shard.pointers()[0][k]);
            }
          }
          REQUIRE(got == expected);
        }
    }
  }
}

TEST_CASE("keepShard keeps the rank's contiguous rows and their places", "[fit][shard]") {
  fit::Dataset d;
  d.rows = 7;
  d.columns = {{0, 1, 2, 3, 4, 5, 6}};
  d.rowsInFile = {0, 2, 3, 5, 6, 8, 9};
  d.checksum = 42;
  fit::keepShard(d, 1, 3);
  REQUIRE(d.rows == 2);
  REQUIRE(d.shardFirst == 2);
  REQUIRE(d.allRows() == 7);
  REQUIRE(d.columns[0] == std::vector<double>{2, 3});
  REQUIRE(d.fileRow(3) == 5);
  REQUIRE(d.checksum == 42);
}

TEST_CASE("the single-process Communicator and agree", "[fit][shard]") {
  fit::Communicator one;
  std::vector<double> v = {1.5, -2};
  one.sum(v);
  REQUIRE(v == std::vector<double>{1.5, -2});
  REQUIRE(one.max(3) == 3);
  REQUIRE(one.chain(5, [](std::uint64_t h) { return h * 2; }) == 10);
  REQUIRE_FALSE(one.first(""));
  REQUIRE_NOTHROW(fit::agree(one, nullptr));
  // One process rethrows its own failure as it is.
  REQUIRE_THROWS_AS(fit::agree(one, std::make_exception_ptr(data::DataError("x"))),
                    data::DataError);
}
