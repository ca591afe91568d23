#include "okami/chroma/data_format.h"

#include <sqlite3.h>

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <system_error>

#include "okami/gate/compat_matrix.h"

namespace okami::chroma {
namespace fs = std::filesystem;
using common::ErrorCode;
using common::fail;
using common::Result;

namespace {

// Percent-encodes a path for an SQLite `file:` URI (keeps '/' and unreserved characters).
std::string uri_escape(const std::string& path) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool pending_wal(const fs::path& file) {
  std::error_code ec;
  fs::path wal = file;
  wal += "-wal";
  auto size = fs::file_size(wal, ec);
  return !ec && size > 0;
}

// A directory that holds nothing Chroma wrote: a fresh volume (lost+found, dot files).
bool looks_empty(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "lost+found" || name.starts_with(".")) continue;
    return false;
  }
  return true;
}

}  // namespace

std::string ChromaVersion::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

Result<ChromaVersion> parse_chroma_version(const std::string& text) {
  std::string s = text;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.erase(0, 1);
  ChromaVersion v;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%d.%d.%d%n", &v.major, &v.minor, &v.patch, &consumed) != 3 ||
      v.major < 0 || v.minor < 0 || v.patch < 0 ||
      (static_cast<size_t>(consumed) != s.size() && s[consumed] != '-' && s[consumed] != '+')) {
    return fail(ErrorCode::kInvalidArgument, "not a Chroma version (want X.Y.Z): '" + text + "'");
  }
  return v;
}

const std::vector<KnownFormat>& known_formats() {
  // Checked against the migration files inside the chromadb wheels on PyPI (2026-11-26):
  //  - 0.5.0 ships 1/3/5 and 0.5.4–0.5.5 ship 1/3/7 (kLegacyFormat here); 0.5.7 is the first
  //    release with 2/4/9, unchanged in 0.5.9–0.5.23 and 0.6.3 (FACTS said "0.5.23 and 0.6.3").
  //  - 1.x embeds its migrations in the Rust extension: 1.0.0, 1.0.15 and 1.2.2 carry the same 16
  //    files (metadb/00005-max-seq-id-int), 1.3.0 and 1.4.1 add sysdb/00010-collection-schema,
  //    1.5.0 adds metadb/00006-metadata-array-support. A real 1.0.15 server applied exactly 2/5/9.
  static const std::vector<KnownFormat> formats = {
      {"chroma-0.5", {0, 5, 7}, {{"embeddings_queue", 2}, {"metadb", 4}, {"sysdb", 9}}, 1},
      {"chroma-1.0", {1, 0, 0}, {{"embeddings_queue", 2}, {"metadb", 5}, {"sysdb", 9}}, 2},
      {"chroma-1.3", {1, 3, 0}, {{"embeddings_queue", 2}, {"metadb", 5}, {"sysdb", 10}}, 3},
      {"chroma-1.5", {1, 5, 0}, {{"embeddings_queue", 2}, {"metadb", 6}, {"sysdb", 10}}, 4},
  };
  return formats;
}

const KnownFormat& format_written_by(const ChromaVersion& version) {
  const auto& formats = known_formats();
  static const KnownFormat legacy{kLegacyFormat, {0, 0, 0}, {}, 0};
  const KnownFormat* best = &legacy;
  for (const auto& f : formats) {
    if (f.first_release <= version) best = &f;
  }
  return *best;
}

std::string DataFormat::describe() const {
  if (presence == DataPresence::kMissing) return "missing";
  if (presence == DataPresence::kEmpty) return "empty";
  std::ostringstream out;
  out << name << " (";
  bool first = true;
  for (const auto& [dir, version] : migrations) {
    out << (first ? "" : " ") << dir << "=" << version;
    first = false;
  }
  out << ", seq_id " << seq_id_type << (opened_by_1x ? ", opened by 1.x" : "") << ")";
  return out.str();
}

// ---- ReadOnlyDatabase ----

struct ReadOnlyDatabase::Limits {
  std::chrono::steady_clock::time_point deadline;
  bool interrupted = false;
};

namespace {

int past_deadline(void* context) {
  auto* limits = static_cast<ReadOnlyDatabase::Limits*>(context);
  if (std::chrono::steady_clock::now() < limits->deadline) return 0;
  limits->interrupted = true;
  return 1;  // SQLite stops the statement with SQLITE_INTERRUPT
}

bool has_shm(const fs::path& file) {
  std::error_code ec;
  fs::path shm = file;
  shm += "-shm";
  return fs::exists(shm, ec);
}

// Copies `file` and its -wal into a fresh private directory under TMPDIR (or /tmp).
Result<fs::path> private_copy(const fs::path& file) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/okami-wal-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return fail(ErrorCode::kIo, "cannot create a private directory to read the WAL of " +
                                    file.string() + " (" + pattern + ")");
  }
  const fs::path dir = pattern;
  std::error_code ec;
  fs::path wal = file;
  wal += "-wal";
  fs::copy_file(file, dir / "db", ec);
  if (!ec) fs::copy_file(wal, dir / "db-wal", ec);
  if (ec) {
    fs::remove_all(dir, ec);
    return fail(ErrorCode::kIo, "cannot copy " + file.string() + " and its WAL to read them: " +
                                    ec.message());
  }
  return dir;
}

sqlite3* open_uri(const std::string& uri, std::string& error) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  if (rc == SQLITE_OK) {
    // Opening is lazy: make SQLite read the header (and the WAL) now, so a WAL it cannot read in
    // place fails here and not in the first query. Other failures (a file that is not SQLite)
    // are left to the queries, which name them.
    rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_CANTOPEN) rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) {
    error = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

}  // namespace

ReadOnlyDatabase::ReadOnlyDatabase(sqlite3* db, std::unique_ptr<Limits> limits, fs::path copy_dir)
    : db_(db), limits_(std::move(limits)), copy_dir_(std::move(copy_dir)) {}

Result<ReadOnlyDatabase> ReadOnlyDatabase::open(const fs::path& file, bool allow_immutable,
                                                std::chrono::milliseconds time_limit) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    return fail(ErrorCode::kNotFound, "no database file at " + file.string());
  }
  const fs::path absolute = fs::absolute(file, ec);
  std::string uri = "file:" + uri_escape(absolute.string()) + "?mode=ro";
  // immutable=1 tells SQLite nobody writes the file: no locks, no -shm, no journal. Only safe
  // when no committed-but-uncheckpointed WAL frames exist, which immutable would ignore.
  const bool wal = pending_wal(absolute);
  if (allow_immutable && !wal) uri += "&immutable=1";
  std::string error;
  sqlite3* db = open_uri(uri, error);
  fs::path copy_dir;
  if (db == nullptr && wal && !has_shm(absolute)) {
    // A crash left the WAL without its index, and SQLite cannot build one next to a database
    // on a read-only mount: read a private copy, never the file without its committed frames.
    auto copied = private_copy(absolute);
    if (!copied) return fail(ErrorCode::kIo, "cannot open " + file.string() + " read-only: " +
                                                 error + "; " + copied.error().message);
    copy_dir = *copied;
    db = open_uri("file:" + uri_escape((copy_dir / "db").string()) + "?mode=ro", error);
    if (db == nullptr) fs::remove_all(copy_dir, ec);
  }
  if (db == nullptr) {
    return fail(ErrorCode::kIo, "cannot open " + file.string() + " read-only: " + error);
  }
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, nullptr);
  sqlite3_busy_timeout(db, 5000);
  auto limits = std::make_unique<Limits>();
  limits->deadline = std::chrono::steady_clock::now() + time_limit;
  sqlite3_progress_handler(db, 1000, past_deadline, limits.get());
  return ReadOnlyDatabase(db, std::move(limits), std::move(copy_dir));
}

ReadOnlyDatabase::ReadOnlyDatabase(ReadOnlyDatabase&& other) noexcept
    : db_(other.db_), limits_(std::move(other.limits_)), copy_dir_(std::move(other.copy_dir_)) {
  other.db_ = nullptr;
  other.copy_dir_.clear();
}

ReadOnlyDatabase& ReadOnlyDatabase::operator=(ReadOnlyDatabase&& other) noexcept {
  if (this != &other) {
    this->~ReadOnlyDatabase();
    db_ = other.db_;
    limits_ = std::move(other.limits_);
    copy_dir_ = std::move(other.copy_dir_);
    other.db_ = nullptr;
    other.copy_dir_.clear();
  }
  return *this;
}

ReadOnlyDatabase::~ReadOnlyDatabase() {
  sqlite3_close(db_);
  db_ = nullptr;
  if (!copy_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(copy_dir_, ec);
    copy_dir_.clear();
  }
}

bool ReadOnlyDatabase::has_table(const std::string& table) const {
  auto rows = query("SELECT 1 FROM sqlite_master WHERE type='table' AND name='" + table + "'");
  return rows && !rows->empty();
}

Result<std::vector<std::vector<std::string>>> ReadOnlyDatabase::query(const std::string& sql) const {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return fail(ErrorCode::kIo, std::string("sqlite: ") + sqlite3_errmsg(db_) + " in: " + sql);
  }
  std::vector<std::vector<std::string>> rows;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<std::string> row;
    const int n = sqlite3_column_count(stmt);
    for (int i = 0; i < n; ++i) {
      const unsigned char* text = sqlite3_column_text(stmt, i);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  if (rc == SQLITE_INTERRUPT && limits_ && limits_->interrupted) {
    return fail(ErrorCode::kTimeout, "sqlite: the time limit for reading the database passed in: " + sql);
  }
  if (rc != SQLITE_DONE) {
    return fail(ErrorCode::kIo, std::string("sqlite: ") + sqlite3_errmsg(db_) + " in: " + sql);
  }
  return rows;
}

// ---- detection ----

Result<DataFormat> detect_sqlite_format(const fs::path& sqlite_file) {
  auto db = ReadOnlyDatabase::open(sqlite_file);
  if (!db) return fail(db.error());
  DataFormat out;
  out.presence = DataPresence::kEmpty;
  out.seq_id_type = "none";
  if (!db->has_table("migrations")) {
    // A zero-byte or never-migrated file: no Chroma process has written a schema yet. A file
    // that is not SQLite at all fails in has_table's query and lands here too, so check it.
    auto probe = db->query("SELECT count(*) FROM sqlite_master");
    if (!probe) return fail(ErrorCode::kIntegrity, sqlite_file.string() + " is not a SQLite database");
    return out;
  }
  auto rows = db->query("SELECT dir, MAX(version) FROM migrations GROUP BY dir");
  if (!rows) return fail(rows.error());
  for (const auto& row : *rows) {
    int version = 0;
    auto [ptr, ec] = std::from_chars(row[1].data(), row[1].data() + row[1].size(), version);
    if (ec != std::errc() || ptr != row[1].data() + row[1].size()) {
      return fail(ErrorCode::kIntegrity, "migrations table holds a non-integer version '" + row[1] + "'");
    }
    out.migrations[row[0]] = version;
  }
  if (out.migrations.empty()) return out;
  out.presence = DataPresence::kPresent;
  if (db->has_table("max_seq_id")) {
    auto types = db->query("SELECT DISTINCT typeof(seq_id) FROM max_seq_id");
    if (!types) return fail(types.error());
    if (types->size() == 1) out.seq_id_type = (*types)[0][0];
    if (types->size() > 1) out.seq_id_type = "mixed";
  }
  out.opened_by_1x = db->has_table("acquire_write");

  // Classify: an exact known set, else below the oldest known (legacy), else newer than known.
  const auto& formats = known_formats();
  for (const auto& f : formats) {
    if (f.migrations == out.migrations) {
      out.name = f.name;
      out.rank = f.rank;
      return out;
    }
  }
  bool all_below_oldest = true;
  for (const auto& [dir, version] : formats.front().migrations) {
    auto it = out.migrations.find(dir);
    if (it != out.migrations.end() && it->second > version) all_below_oldest = false;
  }
  for (const auto& [dir, version] : out.migrations) {
    if (!formats.front().migrations.count(dir)) all_below_oldest = false;
    (void)version;
  }
  if (all_below_oldest) {
    out.name = kLegacyFormat;
    out.rank = 0;
  } else {
    out.name = kNewerFormat;
    out.rank = formats.back().rank + 1;
  }
  return out;
}

Result<DataFormat> detect_data_format(const fs::path& persist_dir) {
  std::error_code ec;
  DataFormat out;
  if (!fs::exists(persist_dir, ec)) {
    out.presence = DataPresence::kMissing;
    return out;
  }
  if (!fs::is_directory(persist_dir, ec)) {
    return fail(ErrorCode::kInvalidArgument, persist_dir.string() + " is not a directory");
  }
  const fs::path db = persist_dir / "chroma.sqlite3";
  if (!fs::exists(db, ec)) {
    if (looks_empty(persist_dir)) {
      out.presence = DataPresence::kEmpty;
      out.seq_id_type = "none";
      return out;
    }
    return fail(ErrorCode::kIntegrity, persist_dir.string() +
                                           " holds files but no chroma.sqlite3: not a Chroma "
                                           "persist dir, or its database was lost");
  }
  return detect_sqlite_format(db);
}

GuardDecision decide_guard(const DataFormat& data, const ChromaVersion& server,
                           const GuardPolicy& policy) {
  if (!data.has_data()) {
    return {true, "no Chroma data yet (" + data.describe() + "): any server may initialise it"};
  }
  const KnownFormat& writes = format_written_by(server);
  if (data.seq_id_type == "mixed") {
    return {false, "data " + data.describe() +
                       " holds both BLOB and INTEGER seq_ids: an older server has written into "
                       "migrated data; restore a backup instead of starting any server on it"};
  }
  if (data.rank > writes.rank) {
    return {false, "Chroma " + server.str() + " is older than the data on disk, " +
                       data.describe() + " (written by Chroma >= " +
                       (data.name == kNewerFormat ? "a newer release than this operator knows"
                                                  : "a newer release") +
                       "); starting it could corrupt the migrated data. Run a newer server, or "
                       "restore a backup taken before the migration into a fresh volume"};
  }
  std::optional<gate::DataFormatMark> mark;
  if (policy.expect_format) {
    auto parsed = gate::DataFormatMark::parse(*policy.expect_format);
    if (!parsed) {
      return {false, "the expected format '" + *policy.expect_format +
                         "' is not a data format mark: " + parsed.error().message};
    }
    mark = *parsed;
    const bool expected =
        data.name == mark->format || (mark->migrating_to && data.name == *mark->migrating_to);
    if (!expected) {
      return {false, "the volume is marked " + *policy.expect_format + " but holds " +
                         data.describe() +
                         ": the data on disk is not what the operator decided on; no server "
                         "starts on it until the mark is corrected from the data"};
    }
  }
  if (data.rank < writes.rank) {
    const bool marked_migrating = mark && mark->migrating_to && *mark->migrating_to == writes.name;
    const bool allowed = policy.allow_migration_to && *policy.allow_migration_to == writes.name;
    if (!marked_migrating || !allowed) {
      return {false,
              "Chroma " + server.str() + " would migrate " + data.describe() + " to " +
                  writes.name + " irreversibly, and this start is not allowed to (" +
                  (allowed ? "the volume is not marked migrating to " + writes.name
                           : policy.allow_migration_to
                                 ? "the allowed target is " + *policy.allow_migration_to
                                 : std::string("no migration target was allowed")) +
                  "); a format-crossing upgrade needs a verified backup first"};
    }
  }
  return {true, "Chroma " + server.str() + " (writes " + writes.name + ") may open " +
                    data.describe() +
                    (policy.expect_format ? " (marked " + *policy.expect_format + ")" : "")};
}

}  // namespace okami::chroma
