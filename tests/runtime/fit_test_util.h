// What the fit tests share: a scratch folder, small files, the log as a table.
#pragma once

#include "support/process.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace nabla::test {

/// A fresh folder under the system's temporary directory, removed at the end.
class ScratchDir {
public:
  explicit ScratchDir(const std::string &name) {
    path_ = std::filesystem::temp_directory_path() /
            ("nabla_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string &name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

inline void writeText(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string readText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A CSV file with a header, as text cells by column name.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::size_t column(const std::string &name) const {
    for (std::size_t k = 0; k < header.size(); ++k)
      if (header[k] == name) return k;
    throw std::runtime_error("no column '" + name + "'");
  }
  double number(std::size_t row, const std::string &name) const {
    return std::strtod(rows.at(row).at(column(name)).c_str(), nullptr);
  }
};

inline CsvTable readCsvTable(const std::string &text) {
  CsvTable t;
  std::istringstream in(text);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    if (first)
      t.header = cells;
    else
      t.rows.push_back(cells);
    first = false;
  }
  return t;
}

} // namespace nabla::test
