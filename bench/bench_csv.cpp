// How fast nabla reads data files (runtime/data): `nabla_bench_csv FILE [THREADS...]` opens FILE
// (CSV, .npy or .npz, as `nabla fit --data` does), reads every column as numbers, and prints
// the best and the median of 5 reads per thread count: seconds, MB/s of the file and rows/s.
// bench/run.sh csv makes the files (bench/csv_speed.py) and runs this beside pandas and numpy.
#include "runtime/data/data.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: nabla_bench_csv FILE [THREADS...]\n");
    return 2;
  }
  const std::string path = argv[1];
  std::vector<unsigned> threads;
  for (int i = 2; i < argc; ++i)
    threads.push_back(static_cast<unsigned>(std::atoi(argv[i])));
  if (threads.empty())
    threads = {1, 2};
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::perror(path.c_str());
    return 1;
  }
  const double mb = static_cast<double>(st.st_size) / 1e6;
  try {
    for (unsigned t : threads) {
      std::vector<double> seconds;
      std::size_t rows = 0, columns = 0;
      for (int rep = 0; rep < 5; ++rep) {
        const auto start = std::chrono::steady_clock::now();
        nabla::data::ReadOptions options;
        options.threads = t;
        nabla::data::CsvFile file = nabla::data::openData(path, options);
        std::vector<std::size_t> all(file.header.size());
        std::iota(all.begin(), all.end(), std::size_t{0});
        nabla::data::Table table = nabla::data::readColumns(file, all, options);
        seconds.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        rows = table.rows;
        columns = table.columns.size();
      }
      std::sort(seconds.begin(), seconds.end());
      std::printf(
          "nabla %-28s threads %u: %zu rows x %zu columns, %.1f MB: best %.3f s (%.0f MB/s, "
          "%.3g rows/s), median %.3f s (%.0f MB/s)\n",
          path.substr(path.find_last_of('/') + 1).c_str(), t, rows, columns, mb, seconds[0],
          mb / seconds[0], rows / seconds[0], seconds[2], mb / seconds[2]);
    }
  } catch (const nabla::data::DataError &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
