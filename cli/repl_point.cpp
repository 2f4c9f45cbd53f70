// The values of the REPL's variables: `:at` (and the `# :at` line :save writes), the params'
// initial values, and constant expressions evaluated in the session.
#include "repl.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace nabla::cli::repl {

namespace {

bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::string pointText(const std::vector<std::pair<std::string, double>> &point) {
  std::string out;
  for (const auto &[name, v] : point) {
    std::string number = std::isnan(v)   ? "0/0"
                         : std::isinf(v) ? (v > 0 ? "1/0" : "-1/0")
                                         : formatNumber(v);
    out += (out.empty() ? "" : ", ") + name + "=" + number;
  }
  return out;
}

void Session::fillValues(const driver::Program &program, std::vector<double> &values,
                         std::vector<bool> &known) const {
  const Graph &graph = program.graph();
  values.assign(graph.symbolCount(), std::numeric_limits<double>::quiet_NaN());
  known.assign(graph.symbolCount(), false);
  for (const ParamDecl &p : program.lowered().params) {
    for (std::size_t k = 0; k < p.vars.symbols.size(); ++k) {
      SymbolId s = p.vars.symbols[k];
      if (p.init == InitKind::Zero) {
        values[s] = 0;
      } else if (p.init == InitKind::Value && !p.initValues.empty()) {
        values[s] = p.initValues[p.initValues.size() == 1 ? 0 : k];
      } else {
        continue;  // drawn at random when training starts: no value here
      }
      known[s] = true;
    }
  }
  for (SymbolId s = 0; s < graph.symbolCount(); ++s)
    for (const auto &[name, v] : point_)
      if (graph.symbolName(s) == name) {
        values[s] = v;
        known[s] = true;
      }
}

std::optional<Value> Session::evaluateConstant(const Origin &text,
                                               std::vector<double> &numbers) const {
  std::unique_ptr<driver::Program> program = compileExpression(text);
  if (!program)
    return std::nullopt;
  std::vector<double> values;
  std::vector<bool> known;
  fillValues(*program, values, known);
  const Value &result = program->lowered().bare->result;
  const Graph &graph = program->graph();
  for (NodeId id : graph.reachable(result.elems)) {
    const Node &n = graph[id];
    if (n.op == Op::Var && !known[n.symbol]) {
      const std::string &name = graph.symbolName(n.symbol);
      printError("no value for '" + name + "'" + didYouMean(name) +
                 (text.text() == name ? std::string() : " in '" + std::string(text.text()) + "'") +
                 " (set it with :at " + name + "=...)");
      return std::nullopt;
    }
  }
  numbers = driver::evaluate(*program, result.elems, values);
  return result;
}

bool Session::setPoint(const Origin &args) {
  // NAME=EXPR, ... with commas at bracket depth 0; each value may use the ones before it.
  std::vector<Origin> items;
  std::string_view text = args.text();
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    char c = i < text.size() ? text[i] : ',';
    if (c == '(' || c == '[')
      ++depth;
    else if ((c == ')' || c == ']') && depth > 0)
      --depth;
    else if (c == ',' && depth == 0) {
      items.push_back(args.sub(start, i));
      start = i + 1;
    }
  }
  std::vector<std::pair<std::string, double>> point = point_;
  auto assign = [&](const std::string &name, double v) {
    for (auto &[n, value] : point)
      if (n == name) {
        value = v;
        return;
      }
    point.emplace_back(name, v);
  };
  for (const Origin &item : items) {
    std::string_view s = item.text();
    std::size_t eq = s.find('=');
    if (eq == std::string_view::npos || (eq + 1 < s.size() && s[eq + 1] == '=')) {
      printError("expected NAME=VALUE in ':at " + std::string(args.text()) +
                 "', e.g. :at x=1, y=2");
      return false;
    }
    Origin nameText = item.sub(0, eq), valueText = item.sub(eq + 1, s.size());
    std::string name(nameText.text());
    // A name, optionally with subscripts (w[0], W[1][2]).
    std::size_t base = 0;
    while (base < name.size() && isNameChar(name[base]))
      ++base;
    bool valid = base > 0 && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (std::size_t i = base; valid && i < name.size();) {
      std::size_t close = name.find(']', i);
      valid = name[i] == '[' && close != std::string::npos && close > i + 1 &&
              std::all_of(name.begin() + static_cast<long>(i) + 1,
                          name.begin() + static_cast<long>(close),
                          [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
      i = close + 1;
    }
    if (!valid) {
      printError("'" + name + "' is not a variable name (:at x=1, w[0]=2)");
      return false;
    }
    if (const Statement *st = findStatement(name.substr(0, base))) {
      const char *what = st->kind == ast::StmtKind::Const      ? "a const"
                         : st->kind == ast::StmtKind::Function ? "a function"
                         : st->kind == ast::StmtKind::Report   ? "a report"
                         : st->kind == ast::StmtKind::Define   ? "a definition"
                                                               : nullptr;
      if (what) {
        printError("'" + name.substr(0, base) + "' is " + what +
                   ", not a variable: :at gives values to free names, params and inputs");
        return false;
      }
    }
    if (valueText.empty()) {
      printError("no value after '" + name + "=' in :at");
      return false;
    }
    // Evaluated with the values given so far in this command.
    std::swap(point, point_);
    std::vector<double> numbers;
    std::optional<Value> v = evaluateConstant(valueText, numbers);
    std::swap(point, point_);
    if (!v)
      return false;
    if (v->shape.isScalar()) {
      assign(name, numbers[0]);
      continue;
    }
    if (base != name.size()) {
      printError("the value of '" + name + "' has shape " + toString(v->shape) +
                 ", but an element is a scalar");
      return false;
    }
    // An array gives its elements: w[0], w[1], ... (row-major).
    for (std::size_t k = 0; k < numbers.size(); ++k) {
      std::string element = name;
      std::size_t rest = k, stride = numbers.size();
      for (std::uint32_t dim : v->shape.dims) {
        stride /= dim;
        element += "[" + std::to_string(rest / stride) + "]";
        rest %= stride;
      }
      assign(element, numbers[k]);
    }
  }
  point_ = std::move(point);
  return true;
}

}  // namespace nabla::cli::repl
