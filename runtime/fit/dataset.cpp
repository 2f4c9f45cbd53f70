// The data of a run: the CSV columns of the program's inputs, and their standardization.
#include "runtime/fit/fit.h"

#include <algorithm>

namespace nabla::fit {

namespace {

const InputDecl *findInput(const LoweredProgram &program, const std::string &name) {
  for (const InputDecl &in : program.inputs)
    if (in.vars.name == name) return &in;
  return nullptr;
}

} // namespace

Dataset loadDataset(const std::string &path, const LoweredProgram &program,
                    const std::vector<ArrayInfo> &inputs, const std::string &modelPath,
                    const data::ReadOptions &read) {
  data::CsvFile file = data::openData(path, read);
  std::vector<data::InputColumns> specs;
  for (const ArrayInfo &a : inputs) {
    const InputDecl *decl = findInput(program, a.name);
    if (!decl) throw FitError("'" + a.name + "' is not an input of '" + modelPath + "'");
    data::InputColumns spec;
    spec.name = a.name;
    spec.size = a.size();
    spec.columns = decl->columns;
    spec.range = decl->columnRange;
    spec.where = modelPath;
    specs.push_back(std::move(spec));
  }
  const std::vector<std::size_t> columns = data::bindColumns(file, specs);
  Dataset out;
  out.path = path;
  data::Table table = data::readColumns(file, columns, read);
  out.rows = table.rows;
  out.dropped = table.dropped;
  out.rowsInFile = std::move(table.kept); // messages name rows as the file numbers them
  out.columns = std::move(table.columns);
  std::uint64_t h = data::fnv1a(std::to_string(out.rows));
  for (const auto &c : out.columns) h = data::fnv1a(c, h);
  out.checksum = h;
  return out;
}

Dataset splitRows(Dataset &data, const std::vector<std::size_t> &held) {
  Dataset out;
  out.path = data.path;
  out.checksum = data.checksum;
  out.rows = held.size();
  out.columns.resize(data.columns.size());
  std::vector<std::size_t> kept;
  kept.reserve(data.rows - held.size());
  std::size_t next = 0;
  for (std::size_t r = 0; r < data.rows; ++r) {
    if (next < held.size() && held[next] == r)
      ++next;
    else
      kept.push_back(r);
  }
  auto inFile = [&](std::size_t r) { return data.rowsInFile.empty() ? r : data.rowsInFile[r]; };
  for (std::size_t c = 0; c < data.columns.size(); ++c) {
    std::vector<double> &column = data.columns[c];
    out.columns[c].reserve(held.size());
    for (std::size_t r : held) out.columns[c].push_back(column[r]);
    std::vector<double> rest;
    rest.reserve(kept.size());
    for (std::size_t r : kept) rest.push_back(column[r]);
    column = std::move(rest);
  }
  for (std::size_t r : held) out.rowsInFile.push_back(inFile(r));
  std::vector<std::size_t> rowsInFile;
  for (std::size_t r : kept) rowsInFile.push_back(inFile(r));
  data.rowsInFile = std::move(rowsInFile);
  data.rows = kept.size();
  return out;
}

void standardize(Dataset &data, const std::vector<ArrayInfo> &inputs,
                 const std::vector<std::string> &names) {
  std::size_t column = 0;
  for (const ArrayInfo &a : inputs) {
    const bool chosen = std::find(names.begin(), names.end(), a.name) != names.end();
    if (chosen) {
      std::vector<data::Scaling> &s = data.scaling[a.name];
      s.clear();
      for (std::size_t k = 0; k < a.size(); ++k) {
        s.push_back(data::computeScaling(data.columns[column + k]));
        data::applyScaling(s.back(), data.columns[column + k]);
      }
    }
    column += a.size();
  }
}

void applyScaling(Dataset &data, const std::vector<ArrayInfo> &inputs,
                  const std::map<std::string, std::vector<data::Scaling>> &scaling) {
  std::size_t column = 0;
  for (const ArrayInfo &a : inputs) {
    auto it = scaling.find(a.name);
    if (it != scaling.end()) {
      if (it->second.size() != a.size())
        throw FitError("the standardization of input '" + a.name + "' has " +
                       std::to_string(it->second.size()) + " entries, but the input has " +
                       std::to_string(a.size()) + " elements");
      for (std::size_t k = 0; k < a.size(); ++k)
        data::applyScaling(it->second[k], data.columns[column + k]);
      data.scaling[a.name] = it->second;
    }
    column += a.size();
  }
}

} // namespace nabla::fit
