// `nabla predict`: a model's definitions for every row of a CSV file, with trained params.
#include "cli_common.h"

#include "runtime/fit/fit.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace nabla::cli {

const std::vector<Option> &predictOptions() {
  using K = Option::Kind;
  static const std::vector<Option> kOptions = [] {
    std::vector<Option> table = {
        {"--params", K::Value, "PARAMS.json", "the params (the -o file of `nabla fit`); required",
         {}, false, 0, Option::File::Read},
        {"--data", K::Value, "FILE.csv",
         "the rows to predict (CSV, .npy or .npz); only the inputs the outputs use are read", {},
         false, 0,
         Option::File::Read},
        {"--output", K::Value, "NAME,...",
         "the definitions (or reports) to write (default: every definition)"},
        {"-o", K::Value, "FILE.csv",
         "write the CSV to FILE.csv instead of standard output (never onto the model, the data "
         "or the params)",
         {}, false, 0, Option::File::Write},
    };
    for (const Option &o : dataReadOptions()) table.push_back(o);
    for (const Option &o : limitOptions(true)) table.push_back(o);
    return table;
  }();
  return kOptions;
}

std::string_view predictDetails() {
  static const std::string text =
      "Evaluates MODEL's definitions (`name = expr`) with the params of PARAMS.json for every\n"
      "row of the data, and writes them as CSV: a header of the outputs' names (`p`; `z[0]`,\n"
      "`z[1]`, ... for an array), then one line per data row, to standard output or, with\n"
      "-o FILE.csv, to that file (written whole: a new file renamed over the old one, so a\n"
      "failed run leaves the old file as it was); each number is the shortest decimal that\n"
      "reads back as the same double. An --output name the model does not define is an error\n"
      "that lists the definitions and reports there are. Inputs that were\n"
      "standardized in training (`nabla fit --standardize`, saved in PARAMS.json) are scaled\n"
      "the same way first. Bad data is an error naming the row and the column.\n";
  return text;
}

int runPredict(Invocation &inv) {
  const Arguments &a = inv.args;
  if (auto done = takeModelArgument(inv, a)) return *done;
  const std::string *paramsPath = a.get("--params"), *dataPath = a.get("--data");
  if (!paramsPath || paramsPath->empty())
    return usageError(inv, "give the params with --params PARAMS.json");
  if (!dataPath || dataPath->empty()) return usageError(inv, "give the data with --data FILE.csv");
  std::size_t maxRows = data::kDefaultMaxRows;
  if (!readLimitOptions(inv, a, &maxRows)) return kExitUsage;
  data::ReadOptions read;
  if (!readDataOptions(inv, a, read)) return kExitUsage;
  read.maxRows = maxRows;
  std::vector<std::string> names;
  if (const std::string *out = a.get("-o"); out && out->empty())
    return usageError(inv, "-o needs a file name (-o pred.csv)");
  if (const std::string *list = a.get("--output")) {
    std::stringstream ss(*list);
    std::string name;
    while (std::getline(ss, name, ',')) {
      if (name.empty()) return usageError(inv, "--output: an empty name in '" + *list + "'");
      // `nabla fit -o` and `--output` name a file; here --output names definitions, and a path
      // is never one of them.
      if (name.find_first_of("./") != std::string::npos)
        return usageError(inv, "--output names the definitions to write, and '" + name +
                                   "' is not a name; to write the CSV to a file, give -o " + name);
      names.push_back(name);
    }
    if (names.empty()) return usageError(inv, "--output needs at least one name");
  }

  int code = kExitOk;
  std::optional<driver::Program> program = loadProgram(inv, driver::ArgumentKind::File, code);
  if (!program) return code;
  const std::vector<fit::ArrayInfo> params = program->params();
  std::size_t paramCount = 0;
  for (const fit::ArrayInfo &p : params) paramCount += p.size();
  fit::Predictor predictor(std::move(*program), names);
  fit::ParamsFile file = fit::readParamsFile(*paramsPath, params, predictor.inputs(),
                                             std::vector<double>(paramCount, 0.0));
  for (std::size_t k = 0; k < params.size(); ++k)
    if (!file.given[k])
      return inputError(inv, *paramsPath + ": no value for param '" + params[k].name + "'");
  fit::Dataset data =
      fit::loadDataset(*dataPath, predictor.program().lowered(), predictor.inputs(), inv.input,
                       read);
  // The predictions are then of the rows kept: say so, since they no longer follow the file.
  if (data.dropped)
    warn(inv, *dataPath + ": " + std::to_string(data.dropped) +
                  (data.dropped == 1 ? " row" : " rows") +
                  " with a missing value left out (--drop-na): the output has a line per row kept");
  fit::applyScaling(data, predictor.inputs(), file.scaling);
  const std::string *outPath = a.get("-o");
  if (!outPath) {
    predictor.write(std::cout, file.params, data);
    std::cout.flush();
    return kExitOk;
  }
  // The whole text first, then one atomic write: a run that fails half way (a full disk) leaves
  // an earlier pred.csv as it was. checkCommandFiles has already refused a path that is the
  // model, the data or the params (by device and inode, not by spelling).
  std::ostringstream text;
  predictor.write(text, file.params, data);
  return writeFile(inv, *outPath, text.str()) ? kExitOk : kExitInput;
}

} // namespace nabla::cli
