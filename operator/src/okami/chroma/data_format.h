// Chroma on-disk data format, read from the data itself: the `migrations` table and the markers in
// `chroma.sqlite3`. Feeds the data-format gate, the `guard` init container (no older server on
// newer data), the backup manifest and the verification of a backup against the volume.
// Reading never writes: the database is opened read-only (immutable when no WAL is pending), and
// defensively: a tenant's volume may hold a crafted file.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

struct sqlite3;

namespace okami::chroma {

// A read-only SQLite connection that never writes next to the database: opened with
// SQLITE_OPEN_READONLY and `immutable=1` unless a non-empty `-wal` file is present (then a plain
// read-only open, so committed WAL frames are seen). Shared by detection, manifests and verify.
// Defensive: SQLITE_DBCONFIG_DEFENSIVE, trusted_schema=OFF (no functions or virtual tables run
// from the schema), and every statement is interrupted once `time_limit` since the open has
// passed, so a crafted schema cannot make a guard, probe or verify run forever.
// A WAL left by a crash without its `-shm` file, in a directory this process cannot write (the
// guard's read-only mount), cannot be opened in place: the database and its WAL are then copied
// into a private directory under TMPDIR and read there, so the committed frames still count.
class ReadOnlyDatabase {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeLimit{std::chrono::hours(1)};
  // Errors: kNotFound when the file does not exist, kIo when SQLite cannot open it.
  // allow_immutable=false for a database a live process may still write (the backup source):
  // then SQLite takes shared locks and reads the WAL instead of trusting the file as-is.
  static common::Result<ReadOnlyDatabase> open(const std::filesystem::path& file,
                                               bool allow_immutable = true,
                                               std::chrono::milliseconds time_limit = kDefaultTimeLimit);
  ReadOnlyDatabase(ReadOnlyDatabase&& other) noexcept;
  ReadOnlyDatabase& operator=(ReadOnlyDatabase&& other) noexcept;
  ReadOnlyDatabase(const ReadOnlyDatabase&) = delete;
  ReadOnlyDatabase& operator=(const ReadOnlyDatabase&) = delete;
  ~ReadOnlyDatabase();
  sqlite3* handle() const { return db_; }
  bool has_table(const std::string& table) const;
  // Runs `sql` and returns every row as text (NULL as ""). Errors: kIo with SQLite's message
  // (kTimeout when the time limit interrupted it).
  common::Result<std::vector<std::vector<std::string>>> query(const std::string& sql) const;

  struct Limits;  // the progress handler's deadline; stable across moves

 private:
  ReadOnlyDatabase(sqlite3* db, std::unique_ptr<Limits> limits, std::filesystem::path copy_dir);
  sqlite3* db_ = nullptr;
  std::unique_ptr<Limits> limits_;
  std::filesystem::path copy_dir_;  // the private copy of a crashed WAL database, removed on close
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

// What the operator told the guard about the volume in front of one server start.
struct GuardPolicy {
  // The volume's okami.io/chroma-data-format mark ("chroma-0.5", or
  // "migrating:chroma-0.5:chroma-1.0" during a migration). Unset: the operator did not know it.
  std::optional<std::string> expect_format;
  // The one format the operator allows this start to migrate the data to. Unset: none.
  std::optional<std::string> allow_migration_to;
};
// Decision of the `guard` init container, pure. Refuses a server older than the data on disk;
// refuses data whose format is not the expected one (the volume is not what the operator decided
// on); refuses a server that would migrate existing data unless the volume is marked migrating to
// exactly the format that server writes and that is the allowed target. Empty data is allowed.
struct GuardDecision {
  bool allowed = false;
  std::string reason;
};
GuardDecision decide_guard(const DataFormat& data, const ChromaVersion& server,
                           const GuardPolicy& policy);

}  // namespace okami::chroma
