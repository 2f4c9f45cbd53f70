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
         "the rows to predict; only the inputs the outputs use are read", {}, false, 0,
         Option::File::Read},
        {"--output", K::Value, "NAME,...",
         "the definitions (or reports) to write (default: every definition)"},
    };
    for (const Option &o : limitOptions(true)) table.push_back(o);
    return table;
  }();
  return kOptions;
}

std::string_view predictDetails() {
  static const std::string text =
      "Evaluates MODEL's definitions (`name = expr`) with the params of PARAMS.json for every\n"
      "row of the data, and writes them as CSV: a header of the outputs' names (`p`; `z[0]`,\n"
      "`z[1]`, ... for an array), then one line per data row, to standard output; each number\n"
      "is the shortest decimal that reads back as the same double. Inputs that were\n"
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
  std::vector<std::string> names;
  if (const std::string *list = a.get("--output")) {
    std::stringstream ss(*list);
    std::string name;
    while (std::getline(ss, name, ',')) {
      if (name.empty()) return usageError(inv, "--output: an empty name in '" + *list + "'");
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
                       maxRows);
  fit::applyScaling(data, predictor.inputs(), file.scaling);
  predictor.write(std::cout, file.params, data);
  std::cout.flush();
  return kExitOk;
}

} // namespace nabla::cli
