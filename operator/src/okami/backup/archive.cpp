#include "okami/backup/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

namespace okami::backup {
namespace fs = std::filesystem;
using common::ErrorCode;
using common::fail;
using common::Result;
using common::Status;

namespace {

constexpr size_t kBufferSize = 1 << 20;

std::string errno_text() { return std::strerror(errno); }

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// ---- writing ----

// libarchive's client data: every block goes to the sink and into the archive's SHA-256.
struct WriteSink {
  ByteSink* sink = nullptr;
  Sha256 sha;
  uint64_t bytes = 0;
  std::optional<common::Error> error;  // the sink's own failure, returned as it is
};

la_ssize_t write_callback(archive* a, void* client, const void* buffer, size_t length) {
  auto* sink = static_cast<WriteSink*>(client);
  if (auto st = sink->sink->write(buffer, length); !st) {
    if (!sink->error) sink->error = st.error();
    archive_set_error(a, EIO, "%s", st.error().message.c_str());
    return -1;
  }
  sink->sha.update(buffer, length);
  sink->bytes += length;
  return static_cast<la_ssize_t>(length);
}

// The archive file: every byte written through to a descriptor the caller owns.
class FdSink final : public ByteSink {
 public:
  FdSink(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
  Status write(const void* data, size_t size) override {
    const char* p = static_cast<const char*>(data);
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::write(fd_, p + done, size - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(ErrorCode::kIo, "write " + path_.string() + ": " + errno_text());
      }
      done += static_cast<size_t>(n);
    }
    return common::ok();
  }

 private:
  int fd_;
  fs::path path_;
};

struct SourceFile {
  fs::path source;
  std::string archive_path;
};

bool is_sqlite_side_file(const std::string& name) {
  return name == "chroma.sqlite3-wal" || name == "chroma.sqlite3-shm" ||
         name == "chroma.sqlite3-journal";
}

// Lists regular files under root in path order. Refuses symlinks and special files: a backup must
// hold the data itself, and restore refuses links anyway.
Status collect(const fs::path& root, const std::string& prefix, bool chroma_root,
               std::vector<SourceFile>& out, std::vector<std::string>& skipped) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return fail(ErrorCode::kInvalidArgument, root.string() + " is not a directory");
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) return fail(ErrorCode::kIo, "cannot list " + root.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return fail(ErrorCode::kIo, "cannot list " + root.string() + ": " + ec.message());
    const fs::path rel = it->path().lexically_relative(root);
    const std::string rel_str = rel.generic_string();
    auto status = it->symlink_status(ec);
    if (ec) return fail(ErrorCode::kIo, "cannot stat " + it->path().string() + ": " + ec.message());
    if (it.depth() == 0 && rel_str == "lost+found" && fs::is_directory(status)) {
      it.disable_recursion_pending();
      skipped.push_back(prefix + rel_str);
      continue;
    }
    if (fs::is_directory(status)) continue;
    if (!fs::is_regular_file(status)) {
      return fail(ErrorCode::kIntegrity, it->path().string() +
                                             " is a symlink or special file: backups hold regular "
                                             "files only");
    }
    if (chroma_root && it.depth() == 0 && is_sqlite_side_file(rel_str)) {
      skipped.push_back(prefix + rel_str);
      continue;
    }
    out.push_back({it->path(), prefix + rel_str});
  }
  return common::ok();
}

// Consistent copy of a live database through SQLite's online backup API.
Status snapshot_sqlite(const fs::path& source, const fs::path& dest) {
  auto src = chroma::ReadOnlyDatabase::open(source, /*allow_immutable=*/false);
  if (!src) return fail(src.error());
  sqlite3* dst = nullptr;
  if (sqlite3_open_v2(dest.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    std::string msg = dst ? sqlite3_errmsg(dst) : "out of memory";
    sqlite3_close(dst);
    return fail(ErrorCode::kIo, "cannot create snapshot " + dest.string() + ": " + msg);
  }
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src->handle(), "main");
  if (!b) {
    std::string msg = sqlite3_errmsg(dst);
    sqlite3_close(dst);
    return fail(ErrorCode::kIo, "cannot snapshot " + source.string() + ": " + msg);
  }
  int rc;
  int busy_rounds = 0;
  while ((rc = sqlite3_backup_step(b, 4096)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    if (rc != SQLITE_OK) {
      if (++busy_rounds > 600) break;  // ~60 s of a writer holding the lock
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  sqlite3_backup_finish(b);
  const int final_rc = sqlite3_errcode(dst);
  std::string msg = sqlite3_errmsg(dst);
  sqlite3_close(dst);
  if (rc != SQLITE_DONE || final_rc != SQLITE_OK) {
    return fail(rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? ErrorCode::kConflict : ErrorCode::kIo,
                "snapshot of " + source.string() + " failed: " + (rc == SQLITE_DONE ? msg : sqlite3_errstr(rc)));
  }
  return common::ok();
}

// Streams one file into the archive, hashing the same bytes.
Result<FileEntry> add_file(archive* a, const fs::path& source, const std::string& archive_path,
                           std::vector<char>& buffer, std::optional<uint32_t> mode_override) {
  Fd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return fail(ErrorCode::kIo, "cannot open " + source.string() + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(ErrorCode::kIo, "cannot stat " + source.string() + ": " + errno_text());
  FileEntry entry{archive_path, static_cast<uint64_t>(st.st_size), "",
                  mode_override.value_or(static_cast<uint32_t>(st.st_mode & 07777))};
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), archive_path.c_str());
  archive_entry_set_size(e.get(), st.st_size);
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), entry.mode);
  archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) {
    return fail(ErrorCode::kIo, "archive header for " + archive_path + ": " + archive_error_string(a));
  }
  Sha256 sha;
  uint64_t remaining = entry.size;
  while (true) {
    ssize_t n = ::read(fd.get(), buffer.data(), std::min<uint64_t>(buffer.size(), remaining ? remaining : 1));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kIo, "read " + source.string() + ": " + errno_text());
    }
    if (n == 0) break;
    if (remaining == 0) {
      return fail(ErrorCode::kConflict, source.string() + " grew while being archived: quiesce writers first");
    }
    sha.update(buffer.data(), static_cast<size_t>(n));
    if (archive_write_data(a, buffer.data(), static_cast<size_t>(n)) != n) {
      return fail(ErrorCode::kIo, "archive write for " + archive_path + ": " + archive_error_string(a));
    }
    remaining -= static_cast<uint64_t>(n);
  }
  if (remaining != 0) {
    return fail(ErrorCode::kConflict, source.string() + " shrank while being archived: quiesce writers first");
  }
  if (archive_write_finish_entry(a) != ARCHIVE_OK) {
    return fail(ErrorCode::kIo, "archive entry " + archive_path + ": " + archive_error_string(a));
  }
  entry.sha256 = sha.hex_digest();
  return entry;
}

Status add_bytes(archive* a, const std::string& archive_path, const std::string& bytes) {
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), archive_path.c_str());
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(bytes.size()));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK ||
      archive_write_data(a, bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()) ||
      archive_write_finish_entry(a) != ARCHIVE_OK) {
    return fail(ErrorCode::kIo, "archive write for " + archive_path + ": " + archive_error_string(a));
  }
  return common::ok();
}

bool is_inside(const fs::path& child, const fs::path& parent) {
  std::error_code ec;
  const fs::path c = fs::weakly_canonical(child, ec);
  const fs::path p = fs::weakly_canonical(parent, ec);
  auto rel = c.lexically_relative(p);
  return !rel.empty() && *rel.begin() != "..";
}

// Removes a temporary file this module created, whatever happens to the backup.
struct TempFile {
  fs::path path;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) fs::remove(path, ec);
  }
};

// Streams the archive into `out`, with the database snapshot taken at `snapshot`.
Result<BackupSummary> stream_archive(const BackupOptions& options, ByteSink& out, const TempFile& snapshot) {
  std::vector<SourceFile> files;
  BackupSummary summary;
  if (auto st = collect(options.data_dir, kChromaPrefix, true, files, summary.skipped); !st) return fail(st.error());
  if (options.memory_dir) {
    if (auto st = collect(*options.memory_dir, kMemoryPrefix, false, files, summary.skipped); !st) {
      return fail(st.error());
    }
  }
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.archive_path < b.archive_path; });

  Manifest manifest;
  manifest.stack = options.stack;
  manifest.taken_at = options.taken_at;
  manifest.chroma_version = options.chroma_version;
  const fs::path db = options.data_dir / "chroma.sqlite3";
  const std::string db_archive_path = std::string(kChromaPrefix) + "chroma.sqlite3";
  const bool has_db = std::any_of(files.begin(), files.end(),
                                  [&](const SourceFile& f) { return f.archive_path == db_archive_path; });
  if (has_db) {
    if (auto st = snapshot_sqlite(db, snapshot.path); !st) return fail(st.error());
    auto format = chroma::detect_sqlite_format(snapshot.path);
    if (!format) return fail(format.error());
    manifest.data_format = to_record(*format);
    auto collections = read_collections(snapshot.path);
    if (!collections) return fail(collections.error());
    manifest.collections = std::move(*collections);
  } else {
    auto format = chroma::detect_data_format(options.data_dir);
    if (!format) return fail(format.error());
    manifest.data_format = to_record(*format);
  }

  WriteSink sink;
  sink.sink = &out;
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (options.compression == Compression::kGzip) archive_write_add_filter_gzip(a.get());
  if (archive_write_open(a.get(), &sink, nullptr, write_callback, nullptr) != ARCHIVE_OK) {
    return fail(ErrorCode::kIo, std::string("cannot start archive: ") + archive_error_string(a.get()));
  }
  std::vector<char> buffer(kBufferSize);
  struct stat db_stat {};
  if (has_db && ::stat(db.c_str(), &db_stat) != 0) return fail(ErrorCode::kIo, "cannot stat " + db.string());
  for (const auto& f : files) {
    const bool is_db = f.archive_path == db_archive_path;
    auto entry = is_db ? add_file(a.get(), snapshot.path, f.archive_path, buffer,
                                  static_cast<uint32_t>(db_stat.st_mode & 07777))
                       : add_file(a.get(), f.source, f.archive_path, buffer, std::nullopt);
    if (!entry) return fail(sink.error ? *sink.error : entry.error());
    manifest.total_size += entry->size;
    manifest.files.push_back(std::move(*entry));
  }
  if (auto st = add_bytes(a.get(), kManifestEntry, canonical_json(manifest)); !st) {
    return fail(sink.error ? *sink.error : st.error());
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (sink.error) return fail(*sink.error);
    return fail(ErrorCode::kIo, std::string("cannot finish archive: ") + archive_error_string(a.get()));
  }
  summary.archive_sha256 = sink.sha.hex_digest();
  summary.archive_size = sink.bytes;
  summary.manifest = std::move(manifest);
  return summary;
}

}  // namespace

fs::path checksum_path(const fs::path& archive) {
  fs::path p = archive;
  p += ".sha256";
  return p;
}

Result<std::string> read_checksum_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return fail(ErrorCode::kNotFound, "no checksum file " + file.string());
  std::string hex;
  in >> hex;
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return fail(ErrorCode::kParse, file.string() + " does not start with a SHA-256 hex digest");
  }
  return hex;
}

Result<BackupSummary> write_backup(const BackupOptions& options) {
  std::error_code ec;
  if (options.out.empty() || options.data_dir.empty()) {
    return fail(ErrorCode::kInvalidArgument, "backup needs a data dir and an output file");
  }
  if (fs::exists(options.out, ec) || fs::exists(checksum_path(options.out), ec)) {
    return fail(ErrorCode::kInvalidArgument, options.out.string() + " already exists: backups never overwrite");
  }
  if (is_inside(options.out, options.data_dir) ||
      (options.memory_dir && is_inside(options.out, *options.memory_dir))) {
    return fail(ErrorCode::kInvalidArgument, "the archive must not be written inside a directory it backs up");
  }
  fs::path partial = options.out;
  partial += ".partial";
  TempFile snapshot{options.out.parent_path() / ("." + options.out.filename().string() + ".sqlite3.snapshot")};
  fs::remove(snapshot.path, ec);
  auto summary = [&]() -> Result<BackupSummary> {
    Fd out(::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
    if (out.get() < 0) return fail(ErrorCode::kIo, "cannot create " + partial.string() + ": " + errno_text());
    FdSink sink(out.get(), partial);
    auto streamed = stream_archive(options, sink, snapshot);
    if (!streamed) return streamed;
    if (::fsync(out.get()) != 0) return fail(ErrorCode::kIo, "fsync " + partial.string() + ": " + errno_text());
    streamed->archive = options.out;
    streamed->checksum_file = checksum_path(options.out);
    return streamed;
  }();
  if (!summary) {
    fs::remove(partial, ec);  // our own incomplete output, never the source
    return summary;
  }
  {
    std::ofstream sum(checksum_path(options.out));
    sum << summary->archive_sha256 << "  " << options.out.filename().string() << "\n";
    sum.flush();
    if (!sum) return fail(ErrorCode::kIo, "cannot write " + checksum_path(options.out).string());
  }
  fs::rename(partial, options.out, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot rename " + partial.string() + ": " + ec.message());
  return summary;
}

Result<BackupSummary> stream_backup(const BackupOptions& options, ByteSink& sink) {
  if (options.data_dir.empty()) return fail(ErrorCode::kInvalidArgument, "backup needs a data dir");
  std::error_code ec;
  const fs::path temp_dir = options.temp_dir.empty() ? fs::temp_directory_path(ec) : options.temp_dir;
  if (ec) return fail(ErrorCode::kIo, "no temporary directory: " + ec.message());
  if (is_inside(temp_dir, options.data_dir) || (options.memory_dir && is_inside(temp_dir, *options.memory_dir))) {
    return fail(ErrorCode::kInvalidArgument, "the temporary directory must not lie inside a directory it backs up");
  }
  std::random_device rd;
  std::ostringstream name;
  name << ".okami-backup-" << std::hex << rd() << rd() << ".sqlite3.snapshot";
  TempFile snapshot{temp_dir / name.str()};
  return stream_archive(options, sink, snapshot);
}

}  // namespace okami::backup
