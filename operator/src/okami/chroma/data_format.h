// Chroma on-disk data format, read from the data itself: the `migrations` table and the markers in
// `chroma.sqlite3`. Feeds the data-format gate, the `guard` init container (no older server on
// newer data), the backup manifest and the verification of a backup against the volume.
// Reading never writes: the database is opened read-only (immutable when no WAL is pending).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

struct sqlite3;

namespace okami::chroma {

// A read-only SQLite connection that never writes next to the database: opened with
// SQLITE_OPEN_READONLY and `immutable=1` unless a non-empty `-wal` file is present (then a plain
// read-only open, so committed WAL frames are seen). Shared by detection, manifests and verify.
class ReadOnlyDatabase {
 public:
  // Errors: kNotFound when the file does not exist, kIo when SQLite cannot open it.
  // allow_immutable=false for a database a live process may still write (the backup source):
  // then SQLite takes shared locks and reads the WAL instead of trusting the file as-is.
  static common::Result<ReadOnlyDatabase> open(const std::filesystem::path& file,
                                               bool allow_immutable = true);
  ReadOnlyDatabase(ReadOnlyDatabase&& other) noexcept;
  ReadOnlyDatabase& operator=(ReadOnlyDatabase&& other) noexcept;
  ReadOnlyDatabase(const ReadOnlyDatabase&) = delete;
  ReadOnlyDatabase& operator=(const ReadOnlyDatabase&) = delete;
  ~ReadOnlyDatabase();
  sqlite3* handle() const { return db_; }
  bool has_table(const std::string& table) const;
  // Runs `sql` and returns every row as text (NULL as ""). Errors: kIo with SQLite's message.
  common::Result<std::vector<std::vector<std::string>>> query(const std::string& sql) const;

 private:
  explicit ReadOnlyDatabase(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// A Chroma release number (major.minor.patch). Accepts "1.0.15", "v1.0.15", "0.5.23-rc1".
struct ChromaVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string str() const;
  auto operator<=>(const ChromaVersion&) const = default;
};
// Errors: kInvalidArgument when `text` is not a version.
common::Result<ChromaVersion> parse_chroma_version(const std::string& text);

// One migration set that released Chroma versions write. Names use the oldest release family
// that writes the set ("chroma-0.5" is written by 0.5.7 … 0.6.3, "chroma-1.0" by 1.0.0 … 1.2.x).
struct KnownFormat {
  std::string name;
  ChromaVersion first_release;  // the oldest release that writes exactly this set
  std::map<std::string, int> migrations;  // dir → highest applied version
  int rank = 0;                 // order of formats; a server may open formats of rank <= its own
};
// Oldest first. Sources: the migration files shipped in each chromadb wheel on PyPI.
const std::vector<KnownFormat>& known_formats();

// Name used for a database whose migrations are below "chroma-0.5" (Chroma 0.5.6 and older).
inline constexpr const char* kLegacyFormat = "chroma-legacy";
// Name used for migrations beyond every known set (a Chroma newer than this operator knows).
inline constexpr const char* kNewerFormat = "chroma-newer-than-known";

enum class DataPresence {
  kMissing,  // the directory does not exist
  kEmpty,    // no chroma.sqlite3, or one without a migrations table: nothing written yet
  kPresent,  // a Chroma database with migrations
};

struct DataFormat {
  DataPresence presence = DataPresence::kMissing;
  std::string name;                       // one of known_formats(), kLegacyFormat or kNewerFormat
  int rank = 0;                           // rank of `name` (kLegacyFormat 0, kNewerFormat top+1)
  std::map<std::string, int> migrations;  // dir → MAX(version)
  std::string seq_id_type;                // typeof(max_seq_id.seq_id): blob, integer, mixed, none
  bool opened_by_1x = false;              // table acquire_write exists (any 1.x process opened it)
  bool has_data() const { return presence == DataPresence::kPresent; }
  // "chroma-0.5 (embeddings_queue=2 metadb=4 sysdb=9, seq_id blob)" or "empty" / "missing".
  std::string describe() const;
};

// Reads the format of a persist dir (the directory holding chroma.sqlite3).
// Errors: kIo when the database cannot be opened read-only, kIntegrity when the directory holds
// Chroma segment files but no database. Blocks on file reads only.
common::Result<DataFormat> detect_data_format(const std::filesystem::path& persist_dir);
// Same for one database file (for example a copy extracted from a backup archive).
common::Result<DataFormat> detect_sqlite_format(const std::filesystem::path& sqlite_file);

// The format a server of `version` writes when it opens data (it migrates older data up to it).
const KnownFormat& format_written_by(const ChromaVersion& version);

// Decision of the `guard` init container, pure. Refuses a server older than the data on disk;
// with allow_migration=false also refuses a server that would migrate existing data forward.
struct GuardDecision {
  bool allowed = false;
  std::string reason;
};
GuardDecision decide_guard(const DataFormat& data, const ChromaVersion& server, bool allow_migration);

}  // namespace okami::chroma
