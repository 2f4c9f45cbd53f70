// CSV files: one pass over the text, record by record; only the chosen columns become numbers.
#include "runtime/data/data.h"

#include "support/text.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

namespace nabla::data {

namespace {

bool isBlank(char c) { return c == ' ' || c == '\t'; }

/// "1st", "2nd", "3rd", "4th", ... for column positions in messages.
std::string ordinal(std::size_t n) {
  const char *suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1)
      suffix = "st";
    else if (n % 10 == 2)
      suffix = "nd";
    else if (n % 10 == 3)
      suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

/// "the header", "row 3 (line 4)".
std::string describeRow(std::size_t row, std::size_t line) {
  if (row == 0) return "the header";
  return "row " + std::to_string(row) + " (line " + std::to_string(line) + ")";
}

/// Reads records (rows) from `text`, starting at `pos`:
///   record = cell { ',' cell } line-end
///   cell   = blanks ( '"' { any but '"' | '""' } '"' blanks | { any but ',' and line ends } )
/// Cells come out trimmed of blanks and unquoted.
class Records {
public:
  Records(const CsvFile &file, std::size_t pos, std::size_t line, std::size_t end)
      : file_(file), text_(file.text), pos_(pos), line_(line), end_(end) {}

  /// The next record into `cells`; false at the end of the text. `row` numbers it in messages
  /// (0: the header).
  bool next(std::vector<std::string> &cells, std::size_t row) {
    if (pos_ >= end_) return false;
    auto where = [&] { return describeRow(row, recordLine_); };
    recordLine_ = line_;
    std::size_t count = 0;
    while (true) {
      if (count == cells.size()) cells.emplace_back();
      std::string &cell = cells[count++];
      cell.clear();
      while (pos_ < end_ && isBlank(text_[pos_])) ++pos_;
      if (pos_ < end_ && text_[pos_] == '"') {
        std::size_t openLine = line_;
        ++pos_;
        while (true) {
          if (pos_ >= end_)
            throw DataError(file_.path + ": " + where() + ": the quote opened on line " +
                            std::to_string(openLine) + " is never closed");
          char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < end_ && text_[pos_] == '"') {
              cell += '"';
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n' || (c == '\r' && !(pos_ < end_ && text_[pos_] == '\n'))) ++line_;
          cell += c;
        }
        while (pos_ < end_ && isBlank(text_[pos_])) ++pos_;
        if (pos_ < end_ && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r')
          throw DataError(file_.path + ": " + where() + ": the " + ordinal(count) +
                          " cell has text after its closing quote");
      } else {
        std::size_t start = pos_;
        while (pos_ < end_ && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r')
          ++pos_;
        std::size_t stop = pos_;
        while (stop > start && isBlank(text_[stop - 1])) --stop;
        cell.assign(text_, start, stop - start);
      }
      if (pos_ < end_ && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      // A line end (or the end of the text) ends the record.
      if (pos_ < end_ && text_[pos_] == '\r') ++pos_;
      if (pos_ < end_ && text_[pos_] == '\n') ++pos_;
      ++line_;
      break;
    }
    count_ = count;
    return true;
  }
  std::size_t count() const { return count_; }
  std::size_t recordLine() const { return recordLine_; }
  std::size_t pos() const { return pos_; }
  std::size_t line() const { return line_; }

private:
  const CsvFile &file_;
  const std::string &text_;
  std::size_t pos_, line_, end_;
  std::size_t recordLine_ = 0;
  std::size_t count_ = 0;
};

/// Where the meaningful text ends: trailing line ends and blanks (blank lines at the end of the
/// file) are not rows.
std::size_t meaningfulEnd(const std::string &text) {
  std::size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || isBlank(text[end - 1])))
    --end;
  return end;
}

} // namespace

CsvFile csvFromText(std::string path, std::string text) {
  CsvFile file;
  file.path = std::move(path);
  file.text = std::move(text);
  if (file.text.compare(0, 3, "\xEF\xBB\xBF") == 0) file.text.erase(0, 3);
  const std::size_t end = meaningfulEnd(file.text);
  if (end == 0)
    throw DataError(file.path + ": the file is empty (expected a header row of column names)");
  Records records(file, 0, 1, end);
  records.next(file.header, 0);
  file.header.resize(records.count());
  file.bodyOffset = records.pos();
  file.bodyLine = records.line();
  return file;
}

CsvFile openCsv(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw DataError("cannot read '" + path + "': it is a directory, not a CSV file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    throw DataError("cannot read '" + path + "': " + std::strerror(err ? err : ENOENT));
  }
  std::string text;
  std::vector<char> chunk(1 << 16);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw DataError("cannot read '" + path + "': read error");
  return csvFromText(path, std::move(text));
}

std::string printable(std::string_view text) {
  constexpr std::size_t kShown = 60;
  if (text.size() <= kShown) return escapeForTerminal(text);
  // Cut before a UTF-8 continuation byte, not inside a character.
  std::size_t cut = kShown;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return escapeForTerminal(text.substr(0, cut)) + "...";
}

Table readColumns(const CsvFile &file, const std::vector<std::size_t> &columns,
                  std::size_t maxRows) {
  const std::size_t width = file.header.size();
  for (std::size_t c : columns)
    if (c >= width) throw DataError(file.path + ": no column " + std::to_string(c + 1));
  Table table;
  std::vector<std::vector<double>> &out = table.columns;
  out.resize(columns.size());
  const std::size_t end = meaningfulEnd(file.text);
  Records records(file, file.bodyOffset, file.bodyLine, std::max(end, file.bodyOffset));
  std::vector<std::string> cells;
  std::size_t row = 0;
  while (true) {
    if (!records.next(cells, row + 1)) break;
    if (row == maxRows)
      throw DataError(file.path + ": more than " + std::to_string(maxRows) +
                      " data rows (raise the limit with --max-rows)");
    ++row;
    auto where = [&] { return describeRow(row, records.recordLine()); };
    if (records.count() != width)
      throw DataError(file.path + ": " + where() + " has " + std::to_string(records.count()) +
                      (records.count() == 1 ? " cell" : " cells") + ", but the header has " +
                      std::to_string(width));
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const std::size_t c = columns[k];
      const std::string &cell = cells[c];
      auto fail = [&](const std::string &why) {
        return DataError(file.path + ": " + where() + ", column " + std::to_string(c + 1) + " '" +
                         printable(file.header[c]) + "': " + why);
      };
      if (cell.empty()) throw fail("empty cell (a number is needed)");
      errno = 0;
      char *stop = nullptr;
      const double v = std::strtod(cell.c_str(), &stop);
      const bool hex = cell.find_first_of("xX") != std::string::npos;
      if (stop != cell.c_str() + cell.size() || hex) throw fail("'" + printable(cell) + "' is not a number");
      if (std::isnan(v) || std::isinf(v)) {
        if (errno == ERANGE) throw fail("'" + printable(cell) + "' is out of the range of a double");
        throw fail("'" + printable(cell) + "' is not a finite number");
      }
      out[k].push_back(v);
    }
  }
  if (row == 0) throw DataError(file.path + ": the file has a header but no data rows");
  table.rows = row;
  return table;
}

} // namespace nabla::data
