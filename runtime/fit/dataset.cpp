// The data of a run: the CSV columns of the program's inputs, and their standardization.
#include "runtime/fit/fit.h"

#include <algorithm>
#include <cmath>

namespace nabla::fit {

namespace {

const InputDecl *findInput(const LoweredProgram &program, const std::string &name) {
  for (const InputDecl &in : program.inputs)
    if (in.vars.name == name) return &in;
  return nullptr;
}

} // namespace

namespace {

/// The file opened and the inputs' columns found in its header.
std::vector<std::size_t> bindInputs(const data::CsvFile &file, const LoweredProgram &program,
                                    const std::vector<ArrayInfo> &inputs,
                                    const std::string &modelPath) {
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
  return data::bindColumns(file, specs);
}

} // namespace

Dataset loadDataset(const std::string &path, const LoweredProgram &program,
                    const std::vector<ArrayInfo> &inputs, const std::string &modelPath,
                    const data::ReadOptions &read) {
  data::CsvFile file = data::openData(path, read);
  const std::vector<std::size_t> columns = bindInputs(file, program, inputs, modelPath);
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

std::optional<Dataset> loadShard(const std::string &path, const LoweredProgram &program,
                                 const std::vector<ArrayInfo> &inputs, const std::string &modelPath,
                                 const data::ReadOptions &read, Communicator &comm) {
  // Missing values left out would make the shards' row counts differ from the lines: such a
  // file is read whole (as one that cannot be cut).
  if (read.dropNa) return std::nullopt;
  data::CsvFile file = data::openData(path, read);
  const std::vector<std::size_t> columns = bindInputs(file, program, inputs, modelPath);
  std::optional<data::CsvShard> shard =
      data::csvShard(file, static_cast<std::size_t>(comm.rank()),
                     static_cast<std::size_t>(comm.size()), read.maxRows);
  if (!shard) return std::nullopt;
  Dataset out;
  out.path = path;
  out.columns.resize(columns.size());
  // A bad row fails only the rank that holds it: the ranks agree on it before the checksum's
  // chain, the next collective.
  agreeOn(comm, [&] {
    if (shard->rows == 0) return;
    data::Table table = data::readColumns(shard->file, columns, read);
    out.columns = std::move(table.columns);
  });
  out.rows = shard->rows;
  out.shardFirst = shard->first;
  out.shardOf = shard->total;
  // Dataset::checksum of the whole file: each column's FNV-1a continued from rank to rank.
  std::uint64_t h = data::fnv1a(std::to_string(shard->total));
  for (const std::vector<double> &c : out.columns)
    h = comm.chain(h, [&](std::uint64_t state) { return data::fnv1a(c, state); });
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

void keepShard(Dataset &data, int rank, int size) {
  const std::size_t total = data.rows, r = static_cast<std::size_t>(rank),
                    n = static_cast<std::size_t>(size);
  const std::size_t first = total * r / n, last = total * (r + 1) / n;
  for (std::vector<double> &column : data.columns)
    column = std::vector<double>(column.begin() + static_cast<std::ptrdiff_t>(first),
                                 column.begin() + static_cast<std::ptrdiff_t>(last));
  if (!data.rowsInFile.empty())
    data.rowsInFile =
        std::vector<std::size_t>(data.rowsInFile.begin() + static_cast<std::ptrdiff_t>(first),
                                 data.rowsInFile.begin() + static_cast<std::ptrdiff_t>(last));
  data.rows = last - first;
  data.shardFirst = first;
  data.shardOf = total;
}

namespace {

/// computeScaling over the rows of all ranks: the sums of each pass over this rank's rows in row
/// order, added over the ranks in rank order.
std::vector<data::Scaling> scalingOfShards(const std::vector<const std::vector<double> *> &columns,
                                           double rows, Communicator &comm) {
  const std::size_t n = columns.size();
  std::vector<double> sums(n, 0.0);
  for (std::size_t k = 0; k < n; ++k)
    for (double v : *columns[k]) sums[k] += v;
  comm.sum(sums);
  std::vector<data::Scaling> out(n);
  for (std::size_t k = 0; k < n; ++k) {
    out[k].mean = sums[k] / rows;
    double squares = 0;
    for (double v : *columns[k]) squares += (v - out[k].mean) * (v - out[k].mean);
    sums[k] = squares;
  }
  comm.sum(sums);
  for (std::size_t k = 0; k < n; ++k) {
    const double sd = std::sqrt(sums[k] / rows);
    out[k].scale = sd > 0 ? sd : 1.0;
  }
  return out;
}

} // namespace

void standardize(Dataset &data, const std::vector<ArrayInfo> &inputs,
                 const std::vector<std::string> &names, Communicator *comm) {
  if (comm && comm->size() > 1) {
    // Every rank reduces the same columns in the same order, including a rank with no rows.
    std::vector<const std::vector<double> *> chosen;
    std::size_t column = 0;
    for (const ArrayInfo &a : inputs) {
      if (std::find(names.begin(), names.end(), a.name) != names.end())
        for (std::size_t k = 0; k < a.size(); ++k) chosen.push_back(&data.columns[column + k]);
      column += a.size();
    }
    const std::vector<data::Scaling> all =
        scalingOfShards(chosen, static_cast<double>(data.allRows()), *comm);
    std::size_t next = 0;
    column = 0;
    for (const ArrayInfo &a : inputs) {
      if (std::find(names.begin(), names.end(), a.name) != names.end()) {
        std::vector<data::Scaling> &s = data.scaling[a.name];
        s.assign(all.begin() + static_cast<std::ptrdiff_t>(next),
                 all.begin() + static_cast<std::ptrdiff_t>(next + a.size()));
        for (std::size_t k = 0; k < a.size(); ++k)
          data::applyScaling(s[k], data.columns[column + k]);
        next += a.size();
      }
      column += a.size();
    }
    return;
  }
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
