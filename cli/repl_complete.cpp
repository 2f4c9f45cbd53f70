// Tab completion for the REPL: commands at the start of a line, file names after :load and :save,
// else the session's names, the variables with values, the built-ins and the keywords.
#include "repl.h"

#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace nabla::cli::repl {

namespace {

bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::vector<std::string> Session::complete(std::string_view line, std::size_t cursor,
                                           std::size_t &wordBegin) const {
  cursor = std::min(cursor, line.size());
  std::string_view before = line.substr(0, cursor);
  std::vector<std::string> out;
  std::size_t lead = before.find_first_not_of(" \t");
  // A command name.
  if (lead != std::string_view::npos && before[lead] == ':' &&
      before.find_first_of(" \t", lead) == std::string_view::npos) {
    wordBegin = lead;
    std::string_view typed = before.substr(lead + 1);
    for (const Command &c : commands())
      if (c.name.substr(0, typed.size()) == typed)
        out.push_back(":" + std::string(c.name) + " ");
    return out;
  }
  // A file name after :load and :save.
  if (lead != std::string_view::npos &&
      (before.substr(lead).rfind(":load ", 0) == 0 || before.substr(lead).rfind(":save ", 0) == 0)) {
    std::size_t start = before.find_first_not_of(" \t", lead + 6);
    wordBegin = start == std::string_view::npos ? cursor : start;
    std::string typed(before.substr(wordBegin));
    std::size_t slash = typed.rfind('/');
    std::string dir = slash == std::string::npos ? "." : typed.substr(0, slash + 1);
    std::string prefix = slash == std::string::npos ? typed : typed.substr(slash + 1);
    std::string shown = slash == std::string::npos ? "" : typed.substr(0, slash + 1);
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) {
      std::string name = llvm::sys::path::filename(it->path()).str();
      if (name.rfind(prefix, 0) != 0 || (prefix.empty() && name[0] == '.'))
        continue;
      bool isDir = it->type() == llvm::sys::fs::file_type::directory_file;
      out.push_back(shown + name + (isDir ? "/" : ""));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // A name.
  std::size_t begin = cursor;
  while (begin > 0 && isNameChar(line[begin - 1]))
    --begin;
  wordBegin = begin;
  std::string_view typed = line.substr(begin, cursor - begin);
  if (typed.empty() || std::isdigit(static_cast<unsigned char>(typed[0])))
    return out;
  std::set<std::string> names;
  for (const Statement &s : statements_)
    if (s.kind != ast::StmtKind::Minimize && s.kind != ast::StmtKind::Maximize)
      names.insert(s.key);
  for (const auto &[name, v] : point_)
    if (name.find('[') == std::string::npos)
      names.insert(name);
  for (const std::string &b : driver::builtinNames())
    names.insert(b);
  for (const std::string &k : driver::keywords())
    names.insert(k);
  for (const std::string &n : names)
    if (n.rfind(typed, 0) == 0)
      out.push_back(n);
  return out;
}

}  // namespace nabla::cli::repl
