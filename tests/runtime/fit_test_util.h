// What the fit tests share: scratch folders and files (support/files.h), checkpoint files, the
// log as a table.
#pragma once

#include "support/files.h"
#include "support/process.h"

#include "runtime/data/data.h"

#include <cstdio>
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

/// A checkpoint file of format `version` around `body`: the first line with its right length and
/// checksum (the runtime's fnv1a), as a test that edits a checkpoint's body needs.
inline std::string checkpointFile(const std::string &body, int version = 1) {
  char hash[20];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(nabla::data::fnv1a(body)));
  return "nabla-checkpoint " + std::to_string(version) + " " + std::to_string(body.size()) + " " +
         hash + "\n" + body;
}

/// `a` followed by `b`: a command's common arguments and a case's own.
inline std::vector<std::string> concat(std::vector<std::string> a,
                                       const std::vector<std::string> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
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
