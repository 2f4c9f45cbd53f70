// The runtime's data: CSV files read into columns of doubles, inputs bound to columns by name,
// standardization, and the rows of each mini-batch (a seeded shuffle per epoch, or file order).
// Nothing here knows the compiler; errors are DataError values whose message names the file, the
// row and the column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::data {

/// Bad data or a binding that does not fit the file. The message is complete (it names the file
/// and, where there is one, the row and the column) and starts lower-case.
class DataError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// `text` as messages show a cell or a column name: safe for a terminal (escapeForTerminal in
/// support/text.h: controls, bidirectional overrides and invalid UTF-8 escaped), and at most 60
/// bytes of it, then `...`.
std::string printable(std::string_view text);

/// Where a CSV file's bytes come from: the file itself, kept open and read in chunks (never all
/// of it at once), or text in memory.
class CsvSource;
/// The arrays of a NumPy file (.npy, .npz): their headers, read when the file is opened, and
/// where their data is, read when columns are asked for (runtime/data/numpy.cpp).
class NumpyArrays;

/// The most data rows read by default (--max-rows): a clear error instead of an exhausted machine.
inline constexpr std::size_t kDefaultMaxRows = std::size_t{1} << 24;

/// How a data file is read: the options of `nabla fit` and `nabla predict` (--delimiter, --na,
/// --drop-na, --max-rows), of Python's nabla.fit, and of every file of a run (the training data
/// and the validation data alike).
struct ReadOptions {
  /// CSV: `,` `;` or `\t`; 0 detects it from the header line: the most frequent of the three
  /// outside double quotes there, `,` on a tie or when none is there (detectDelimiter).
  char delimiter = 0;
  /// CSV: the spellings of a missing value (`NA`, `?`; "" for an empty cell), compared with a
  /// chosen cell after trimming and unquoting. A missing value is an error naming the row, the
  /// line and the column, unless `dropNa`. NumPy files: NaN is the missing value.
  std::vector<std::string> na;
  /// Rows with a missing value in a chosen column are left out (Table::dropped counts them)
  /// instead of being an error.
  bool dropNa = false;
  /// The most data rows of the file (dropped ones included); more is an error naming --max-rows.
  std::size_t maxRows = kDefaultMaxRows;
  /// Threads that parse a CSV file's rows: 0 is one per hardware thread, at most
  /// kMaxCsvThreads. The result does not depend on it.
  unsigned threads = 0;
  /// Bytes read per thread and per round (0: kCsvRoundBytes); tests make it small to cut files
  /// in many places.
  std::size_t chunkBytes = 0;
};

/// The bytes of a CSV file read by each thread per round: the text held while it is parsed is
/// at most threads * kCsvRoundBytes, plus one record (kMaxCsvRecordBytes) split by a round.
inline constexpr std::size_t kCsvRoundBytes = std::size_t{4} << 20;
/// The most threads parsing a CSV file (so that a round holds at most 64 MiB of text).
inline constexpr unsigned kMaxCsvThreads = 16;

/// `--delimiter`'s value as a character: `,` `;` `tab` or `\t` (the two characters, or a tab);
/// nullopt for anything else.
std::optional<char> parseDelimiter(std::string_view text);
/// `--na`'s value: a comma-separated list; an empty item or `""` is the empty cell.
std::vector<std::string> parseNaList(std::string_view text);
/// How messages name a delimiter: `','`, `';'`, `tab`.
std::string delimiterName(char delimiter);

/// A CSV file's header, and where its rows are. Accepted: `,` between cells; `\n`, `\r\n` or
/// `\r` line ends; a UTF-8 byte-order mark at the start (skipped); cells in double quotes
/// (`"a,b"`, `""` for a quote inside, line breaks allowed); spaces and tabs around a cell
/// (trimmed); blank lines at the end of the file (ignored). Every other row must have the
/// header's number of cells. A record (a row) is at most kMaxCsvRecordBytes bytes and
/// kMaxCsvColumns cells (support/input_file.h).
struct CsvFile {
  std::string path;                // as given, for messages
  std::vector<std::string> header; // the column names, trimmed and unquoted
  char delimiter = ',';            // given, or detected from the header line
  std::uint64_t bodyOffset = 0;    // where the first data row starts in the source
  std::size_t bodyLine = 2;        // its line number (1-based)
  std::uint64_t end = 0;           // where the last row ends (trailing blank lines are no rows)
  std::size_t bodyRow = 0;         // the file's rows before bodyOffset (a shard's: csvShard)
  std::shared_ptr<const CsvSource> source;
  /// Set for a NumPy file (openData): the header is then the arrays' column names, and
  /// readColumns reads from here.
  std::shared_ptr<const NumpyArrays> numpy;
};

/// Opens the file and reads its header row: only a regular file (a directory, a FIFO, a device
/// is refused before it is read), read in chunks of kInputChunkBytes, so that reading holds one
/// chunk and one row besides the numbers kept. Throws DataError when the file cannot be read, is
/// empty (no header) or has a malformed header (an unterminated quote, a record beyond a cap).
/// `delimiter` 0 detects it from the header line (ReadOptions::delimiter).
CsvFile openCsv(const std::string &path, char delimiter = 0);
/// The same for text in memory (tests); `path` names it in messages.
CsvFile csvFromText(std::string path, std::string text, char delimiter = 0);
/// A data file by its extension, the one place that decides: `.npy` and `.npz` (any case) are
/// NumPy files (openNumpy), anything else is CSV (openCsv with options.delimiter).
CsvFile openData(const std::string &path, const ReadOptions &options = {});

/// A NumPy file's arrays as columns (docs/fit.md, "NumPy files"):
/// - `.npy`: a structured array of shape (rows,) gives one column per field, named like it; a
///   plain array of shape (rows,) or (rows, k) gives columns `c0` .. `c{k-1}`.
/// - `.npz` (numpy.savez, stored or deflated): each array `name` of shape (rows,) is the column
///   `name`; of shape (rows, k) the columns `name0` .. `name{k-1}` (as an input `name[k]` binds
///   by default); a structured array gives its fields. Every array has the same number of rows.
/// Element types: little-endian float64 (`<f8`) as is; float32, integers of at most 32 bits and
/// booleans converted exactly; int64/uint64 while exact in a double (|v| <= 2^53). C or Fortran
/// order. Only the headers are read here; a header beyond kMaxNpyHeaderBytes, a shape whose data
/// is not the file's (or the zip member's) length, an unsupported type, a truncated or malformed
/// zip, a member that inflates beyond its declared size: DataError naming the file.
CsvFile openNumpy(const std::string &path);
/// The longest .npy header read (numpy writes a few hundred bytes).
inline constexpr std::size_t kMaxNpyHeaderBytes = std::size_t{1} << 20;

/// The rows of the chosen columns as numbers: columns[k][r] is row r of header column
/// `chosen[k]`. Every row must have as many cells as the header, and every chosen cell must be a
/// decimal number that readDecimal (support/number.h) accepts (hex, `nan`, `inf`, numbers beyond
/// the largest double and non-zero numbers that underflow to zero or a subnormal are refused);
/// other cells may hold anything, and are not kept. A file with a header and no rows is an error, and so
/// is one with more than `maxRows` rows (the message names --max-rows).
/// Throws DataError naming the row (1-based, after the header), its line and the column.
///
/// CSV rows are parsed in parallel (ReadOptions::threads), the file read in rounds of
/// kCsvRoundBytes per thread, each round cut at line ends into one piece per thread; a round
/// with a double quote in it is parsed by one thread (a quoted cell may hold a line end, so a
/// line end there need not end a row). The numbers, the rows and the error (the earliest bad
/// row's) are the same with any number of threads. Memory: the numbers kept, plus the text of
/// one round (threads * kCsvRoundBytes, and at most one record of kMaxCsvRecordBytes more) and
/// its numbers. A NumPy file's chosen columns are read one array at a time (an array's bytes
/// held while its columns are converted).
struct Table {
  std::size_t rows = 0;          // rows kept
  std::size_t dropped = 0;       // rows left out for a missing value (ReadOptions::dropNa)
  std::vector<std::size_t> kept; // with rows dropped, the file's rows (0-based) kept; else empty
  std::vector<std::vector<double>> columns;
};
Table readColumns(const CsvFile &file, const std::vector<std::size_t> &chosen,
                  const ReadOptions &options);
Table readColumns(const CsvFile &file, const std::vector<std::size_t> &chosen,
                  std::size_t maxRows = kDefaultMaxRows);

/// One process's part of a CSV file in a data-parallel run: rows [first, first + rows) of the
/// file's `total` data rows, as a CsvFile whose body is those rows only (bodyOffset, end,
/// bodyLine and bodyRow moved), so that readColumns reads only them and names rows and lines as in
/// the whole file. A row is then a line: a file with a double quote in its body (where a line end
/// may lie inside a cell) cannot be cut by lines and gives nothing, as does a NumPy file, a file
/// of more than `maxRows` rows and one without rows (reading the whole file says what is wrong).
/// The file is scanned twice for line ends (memchr's speed), never parsed whole.
struct CsvShard {
  CsvFile file;
  std::size_t first = 0, rows = 0, total = 0;
};
std::optional<CsvShard> csvShard(const CsvFile &file, std::size_t rank, std::size_t size,
                                 std::size_t maxRows = kDefaultMaxRows);

/// How a model input reads the file: the columns of its elements (`y`; `x0, x1, x2`; a listed
/// `from (a, b)`), or with `range` the run of columns from `columns[0]` to `columns[1]` in file
/// order. `where` ("model.nabla:3:7") starts messages about it.
struct InputColumns {
  std::string name;
  std::size_t size = 1; // elements
  std::vector<std::string> columns;
  bool range = false;
  std::string where;
};

/// The header index of every input element, inputs in order and each one's elements in order.
/// Throws DataError for a column the header does not have (with a suggestion), a name that the
/// header has twice, a range whose last column comes before its first, or a number of columns
/// that is not the input's size.
std::vector<std::size_t> bindColumns(const CsvFile &file, const std::vector<InputColumns> &inputs);

/// Standardization of one column: x' = (x - mean) / scale. `scale` is the population standard
/// deviation (divided by the number of rows, as scikit-learn's StandardScaler), or 1 for a
/// column whose values are all equal.
struct Scaling {
  double mean = 0;
  double scale = 1;
};
/// Two passes (the mean, then the squared deviations from it), in row order.
Scaling computeScaling(std::span<const double> column);
void applyScaling(const Scaling &s, std::span<double> column);

/// splitmix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by 0x9e3779b97f4a7c15 and mixed.
/// Chosen over <random>'s engines and distributions so that a seed gives the same numbers with
/// every compiler and library.
class Rng {
public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  /// Uniform in [0, n) without bias (rejection of the top partial range); n > 0.
  std::uint64_t below(std::uint64_t n);
  /// Uniform in [0, 1): the top 53 bits of next() times 2^-53.
  double uniform();
  /// A standard normal by Box-Muller: u1 = 1 - uniform(), u2 = uniform(), one draw per call
  /// (sqrt(-2 log u1) cos(2 pi u2)).
  double normal();
  std::uint64_t state() const { return state_; }

private:
  std::uint64_t state_;
};

/// The row order of epoch `epoch` (0-based): 0, 1, ..., rows-1 shuffled by Fisher-Yates (for
/// i = rows-1 down to 1, swap i with below(i + 1)) driven by Rng(epochSeed(seed, epoch)).
std::vector<std::size_t> shuffledRows(std::size_t rows, std::uint64_t seed, std::size_t epoch);
/// The rows (0-based, ascending) held out for validation: `count` of `rows`, the first `count`
/// positions of a Fisher-Yates shuffle (as shuffledRows) driven by Rng(epochSeed(seed,
/// SIZE_MAX)), a stream no epoch's order uses. 0 < count < rows.
std::vector<std::size_t> validationRows(std::size_t rows, std::size_t count, std::uint64_t seed);
/// splitmix64's mix of seed + (epoch + 1) * 0x9e3779b97f4a7c15: each epoch's stream depends only on
/// the seed and the epoch, so a resumed run needs no generator state.
std::uint64_t epochSeed(std::uint64_t seed, std::size_t epoch);

/// The batches of an epoch: ceil(rows / size) of them, the last one partial when size does not
/// divide rows; batch b holds positions [b*size, min((b+1)*size, rows)) of the epoch's order.
struct BatchPlan {
  std::size_t rows = 0;
  std::size_t size = 0;
  bool shuffle = true;
  std::uint64_t seed = 0;
  std::size_t epochs = SIZE_MAX; // epochs the run has steps in: no order is drawn for a later one

  std::size_t perEpoch() const { return rows == 0 ? 0 : (rows + size - 1) / size; }
  std::size_t begin(std::size_t b) const { return b * size; }
  std::size_t end(std::size_t b) const { return b * size + size < rows ? b * size + size : rows; }
};

/// Rows picked from a row-major table: row r is the `stride` doubles at table + index[r] * stride.
struct PickedRows {
  const double *table = nullptr;
  std::size_t stride = 0;
  const std::size_t *index = nullptr;
};

/// The rows of one batch. In file order they are a view into the columns; shuffled they are
/// picked from a row-major copy of the data where they lie (picked()), for kernels that gather
/// them themselves, and copied into columns only when pointers() asks for them.
class BatchColumns {
public:
  /// `columns` stay owned by the caller and must outlive this object.
  explicit BatchColumns(const std::vector<std::vector<double>> &columns) : data_(&columns) {}
  /// Selects batch `b` of `epoch`, of rows() rows.
  void select(const BatchPlan &plan, std::size_t epoch, std::size_t b);
  /// Optional, before the first select() of a run that starts at `epoch`: the row-major copy of a
  /// shuffled plan's data is made here, and the epoch's order is started, so that neither is
  /// counted in the epoch.
  void prepare(const BatchPlan &plan, std::size_t epoch);
  /// One pointer per column to the batch's rows() values (shuffled: copied at the first call
  /// after select()).
  const std::vector<const double *> &pointers();
  /// Shuffled plans: the batch's rows in the row-major copy (stride: the number of columns).
  std::optional<PickedRows> picked() const;
  std::size_t rows() const { return rows_; }
  /// A data-parallel run's shard, before the first select(): the columns hold rows [first, first +
  /// count) of the plan's rows (plan.rows counts all ranks' rows). A batch is then the part of the
  /// plan's batch that lies in the shard, in the order of the epoch's positions, and may be empty.
  void setShard(std::size_t first, std::size_t count);
  /// The plan's row (0-based, of all ranks' rows) of the batch's row `k` (< rows()).
  std::size_t planRow(std::size_t k) const;

private:
  const std::vector<std::vector<double>> *data_;
  /// Shuffled plans: the data again, row-major (row r's cells at r * columns), made at the first
  /// select(). A batch of scattered rows then reads a few whole cache lines per row, prefetched
  /// ahead, instead of one line per cell.
  std::shared_ptr<double> rowMajor_; // in memory of its own, on huge pages where the system has them
  std::vector<std::size_t> order_; // the rows of orderEpoch_ (shuffled plans)
  std::size_t orderEpoch_ = SIZE_MAX;
  /// The order of nextEpoch_, computed on a thread of its own while the current epoch runs.
  std::future<std::vector<std::size_t>> next_;
  std::size_t nextEpoch_ = SIZE_MAX;
  void startOrder(const BatchPlan &plan, std::size_t epoch);
  void makeRowMajor(const BatchPlan &plan);
  std::vector<std::vector<double>> gathered_;
  std::vector<const double *> pointers_;
  std::size_t rows_ = 0;
  std::size_t begin_ = 0;   // the batch's first position in the epoch's order
  /// The shard (setShard); count SIZE_MAX: the columns hold all rows. Shuffled and sharded, the
  /// batch's rows in the shard (0-based there), in the order of their positions.
  std::size_t shardFirst_ = 0, shardCount_ = SIZE_MAX;
  std::vector<std::size_t> local_;
  bool sharded() const { return shardCount_ != SIZE_MAX; }
  /// The batch's rows in the columns: the epoch's order from begin_, or local_ when sharded.
  const std::size_t *index() const { return sharded() ? local_.data() : order_.data() + begin_; }
  bool shuffled_ = false;   // the last select() was of a shuffled plan
  bool copied_ = false;     // and pointers() has copied its rows
};

/// FNV-1a (64 bits) of bytes, continuing from `h`: checksums of checkpoints and of the data a
/// checkpoint was made on.
std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = 0xcbf29ce484222325ull);
std::uint64_t fnv1a(std::span<const double> values, std::uint64_t h = 0xcbf29ce484222325ull);

} // namespace nabla::data
