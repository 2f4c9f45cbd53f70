// `nabla fit` and `nabla predict` with the options of reading data: --delimiter (given or
// detected), --na and --drop-na (the count on stderr), and NumPy files in place of CSV.
#include "fit_test_util.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace nabla::test;
using Catch::Matchers::Contains;

namespace {

const char *kModel = "param w\nparam b\ninput x\ninput y\np = w*x + b\nminimize (p - y)^2\n";

/// A .npy structured array of float64 fields x and y (numpy.save's layout).
std::string npyXY(const std::vector<double> &x, const std::vector<double> &y) {
  std::string dict = "{'descr': [('x', '<f8'), ('y', '<f8')], 'fortran_order': False, 'shape': (" +
                     std::to_string(x.size()) + ",), }";
  while ((10 + dict.size() + 1) % 64 != 0)
    dict += ' ';
  dict += '\n';
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  out += dict;
  for (std::size_t r = 0; r < x.size(); ++r) {
    out.append(reinterpret_cast<const char *>(&x[r]), 8);
    out.append(reinterpret_cast<const char *>(&y[r]), 8);
  }
  return out;
}

std::string lossLine(const std::string &out) {
  const std::size_t at = out.find("loss ");
  return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
}

} // namespace

TEST_CASE("fit: --delimiter, or the delimiter of the header line", "[fit][cli][data]") {
  ScratchDir dir("data_delimiter");
  writeText(dir.file("m.nabla"), kModel);
  writeText(dir.file("comma.csv"), "x,y\n1,2\n2,4.5\n3,6\n");
  writeText(dir.file("semi.csv"), "x;y\n1;2\n2;4.5\n3;6\n");
  writeText(dir.file("tab.tsv"), "x\ty\n1\t2\n2\t4.5\n3\t6\n");
  const std::vector<std::string> common = {"--steps", "5", "--in-order"};
  auto fit = [&](std::vector<std::string> args) {
    std::vector<std::string> all = {"fit", dir.file("m.nabla")};
    all.insert(all.end(), args.begin(), args.end());
    all.insert(all.end(), common.begin(), common.end());
    return runNabla(all);
  };
  ProcessResult comma = fit({"--data", dir.file("comma.csv")});
  REQUIRE(comma.exitCode == 0);
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"--data", dir.file("semi.csv")},
        {"--data", dir.file("semi.csv"), "--delimiter", ";"},
        {"--data", dir.file("tab.tsv")},
        {"--data", dir.file("tab.tsv"), "--delimiter", "tab"},
        {"--data", dir.file("tab.tsv"), "--delimiter=\\t"}}) {
    ProcessResult r = fit(args);
    INFO(r.err);
    CHECK(r.exitCode == 0);
    CHECK(lossLine(r.out) == lossLine(comma.out));
  }
  // Given, it wins: the header of semi.csv is then one column 'x;y'.
  ProcessResult given = fit({"--data", dir.file("semi.csv"), "--delimiter", ","});
  CHECK(given.exitCode == 1);
  CHECK_THAT(given.err,
             Contains("reads column 'x', which '" + dir.file("semi.csv") + "' does not have"));
  ProcessResult bad = fit({"--data", dir.file("comma.csv"), "--delimiter", "|"});
  CHECK(bad.exitCode == 2);
  CHECK_THAT(bad.err, Contains("unknown --delimiter '|' (',', ';', tab or \\t)"));
  ProcessResult help = runNabla({"fit", "--help"});
  CHECK_THAT(help.out, Contains("--delimiter"));
  CHECK_THAT(help.out, Contains("--drop-na"));
  CHECK_THAT(runNabla({"predict", "--help"}).out, Contains("--na"));
}

TEST_CASE("fit and predict: --na names missing values, --drop-na leaves their rows out",
          "[fit][cli][data]") {
  ScratchDir dir("data_na");
  writeText(dir.file("m.nabla"), kModel);
  writeText(dir.file("d.csv"), "x,y,note\n1,2,a\n2,NA,b\n3,6,c\n?,1,d\n");
  const std::vector<std::string> fit = {
      "fit", dir.file("m.nabla"), "--data", dir.file("d.csv"), "--steps", "3",
      "-o",  dir.file("p.json")};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> all = fit;
    all.insert(all.end(), extra.begin(), extra.end());
    return runNabla(all);
  };
  ProcessResult plain = with({});
  CHECK(plain.exitCode == 1);
  CHECK_THAT(plain.err,
             Contains(dir.file("d.csv") + ": row 2 (line 3), column 2 'y': 'NA' is not a number"));
  ProcessResult na = with({"--na", "NA,?"});
  CHECK(na.exitCode == 1);
  CHECK_THAT(na.err, Contains(dir.file("d.csv") + ": row 2 (line 3), column 2 'y': missing value "
                                                  "'NA' (leave such rows out with --drop-na)"));
  ProcessResult dropped = with({"--na", "NA,?", "--drop-na"});
  INFO(dropped.err);
  REQUIRE(dropped.exitCode == 0);
  CHECK_THAT(dropped.err,
             Contains(dir.file("d.csv") + ": 2 rows with a missing value left out (--drop-na)"));
  CHECK_THAT(dropped.out, Contains("(mean over 2 rows; 2 with a missing value left out)"));

  // predict reads x only (what p needs): the row of '?' is left out, and the warning says that
  // the output follows the rows kept.
  ProcessResult predict = runNabla({"predict", dir.file("m.nabla"), "--params", dir.file("p.json"),
                                    "--data", dir.file("d.csv"), "--na", "NA,?", "--drop-na"});
  CHECK(predict.exitCode == 0);
  CHECK(std::count(predict.out.begin(), predict.out.end(), '\n') == 4); // header and 3 rows
  CHECK_THAT(predict.err, Contains("1 row with a missing value left out (--drop-na): the output "
                                   "has a line per row kept"));
}

TEST_CASE("fit and predict: NumPy files in place of CSV", "[fit][cli][data]") {
  ScratchDir dir("data_numpy");
  writeText(dir.file("m.nabla"), kModel);
  writeText(dir.file("d.csv"), "x,y\n1,2\n2,4.5\n3,6\n");
  writeText(dir.file("d.npy"), npyXY({1, 2, 3}, {2, 4.5, 6}));
  const std::vector<std::string> common = {"--steps", "5", "--in-order", "-o", dir.file("p.json")};
  auto fit = [&](const std::string &data) {
    std::vector<std::string> all = {"fit", dir.file("m.nabla"), "--data", data};
    all.insert(all.end(), common.begin(), common.end());
    return runNabla(all);
  };
  ProcessResult csv = fit(dir.file("d.csv"));
  ProcessResult npy = fit(dir.file("d.npy"));
  INFO(npy.err);
  REQUIRE(npy.exitCode == 0);
  CHECK(lossLine(npy.out) == lossLine(csv.out));
  ProcessResult predict = runNabla({"predict", dir.file("m.nabla"), "--params", dir.file("p.json"),
                                    "--data", dir.file("d.npy")});
  CHECK(predict.exitCode == 0);
  CHECK(std::count(predict.out.begin(), predict.out.end(), '\n') == 4);
  // A NaN is a missing value.
  writeText(dir.file("nan.npy"), npyXY({1, 2, 3}, {2, std::nan(""), 6}));
  ProcessResult nan = fit(dir.file("nan.npy"));
  CHECK(nan.exitCode == 1);
  CHECK_THAT(nan.err, Contains(dir.file("nan.npy") + ": row 2, column 2 'y': missing value (NaN)"));
  // Malformed: a clear error naming the file, never a crash.
  writeText(dir.file("bad.npz"), "PK\x03\x04 not really a zip archive, and cut short");
  ProcessResult bad = fit(dir.file("bad.npz"));
  CHECK(bad.signal == 0);
  CHECK(bad.exitCode == 1);
  CHECK_THAT(bad.err, Contains(dir.file("bad.npz") + ": not a .npz file"));
}
