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

struct WriteSink {
  int fd = -1;
  Sha256 sha;
  uint64_t bytes = 0;
};

la_ssize_t write_callback(archive* a, void* client, const void* buffer, size_t length) {
  auto* sink = static_cast<WriteSink*>(client);
  const char* p = static_cast<const char*>(buffer);
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::write(sink->fd, p + done, length - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      archive_set_error(a, errno, "write: %s", std::strerror(errno));
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  sink->sha.update(buffer, length);
  sink->bytes += length;
  return static_cast<la_ssize_t>(length);
}

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

Result<BackupSummary> write_backup_to(const BackupOptions& options, const fs::path& partial,
                                      TempFile& snapshot) {
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

  Fd out(::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (out.get() < 0) return fail(ErrorCode::kIo, "cannot create " + partial.string() + ": " + errno_text());
  WriteSink sink;
  sink.fd = out.get();
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
    if (!entry) return fail(entry.error());
    manifest.total_size += entry->size;
    manifest.files.push_back(std::move(*entry));
  }
  if (auto st = add_bytes(a.get(), kManifestEntry, canonical_json(manifest)); !st) return fail(st.error());
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return fail(ErrorCode::kIo, std::string("cannot finish archive: ") + archive_error_string(a.get()));
  }
  if (::fsync(out.get()) != 0) return fail(ErrorCode::kIo, "fsync " + partial.string() + ": " + errno_text());
  summary.archive = options.out;
  summary.checksum_file = checksum_path(options.out);
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
  auto summary = write_backup_to(options, partial, snapshot);
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

// ---- reading ----

namespace {

struct ReadSource {
  int fd = -1;
  Sha256 sha;
  uint64_t bytes = 0;
  std::vector<char> buffer = std::vector<char>(kBufferSize);
};

la_ssize_t read_callback(archive* a, void* client, const void** out) {
  auto* src = static_cast<ReadSource*>(client);
  while (true) {
    ssize_t n = ::read(src->fd, src->buffer.data(), src->buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(a, errno, "read: %s", std::strerror(errno));
      return -1;
    }
    src->sha.update(src->buffer.data(), static_cast<size_t>(n));
    src->bytes += static_cast<uint64_t>(n);
    *out = src->buffer.data();
    return n;
  }
}

EntryType type_of(archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return EntryType::kHardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return EntryType::kRegular;
    case AE_IFDIR: return EntryType::kDirectory;
    case AE_IFLNK: return EntryType::kSymlink;
    default: return EntryType::kOther;
  }
}

// Shared loop over an opened reader.
Result<uint64_t> visit_entries(archive* a, ArchiveVisitor& visitor) {
  std::vector<char> buffer(kBufferSize);
  uint64_t entries = 0;
  while (true) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return fail(ErrorCode::kIntegrity, std::string("corrupt or truncated archive: ") +
                                             (archive_error_string(a) ? archive_error_string(a) : "unknown error"));
    }
    ++entries;
    ArchiveEntry entry;
    const char* name = archive_entry_pathname(e);
    entry.path = name ? name : "";
    entry.type = type_of(e);
    entry.size = archive_entry_size(e);
    entry.mode = static_cast<uint32_t>(archive_entry_perm(e)) & 07777;
    const char* target = entry.type == EntryType::kHardlink ? archive_entry_hardlink(e) : archive_entry_symlink(e);
    entry.link_target = target ? target : "";
    if (auto st = visitor.on_entry(entry); !st) return fail(st.error());
    while (true) {
      la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
      if (n < 0) {
        return fail(ErrorCode::kIntegrity, std::string("corrupt or truncated archive in ") + entry.path + ": " +
                                               (archive_error_string(a) ? archive_error_string(a) : "unknown error"));
      }
      if (n == 0) break;
      if (auto st = visitor.on_data(buffer.data(), static_cast<size_t>(n)); !st) return fail(st.error());
    }
    if (auto st = visitor.on_entry_end(); !st) return fail(st.error());
  }
  return entries;
}

std::unique_ptr<archive, ReadArchiveDeleter> new_reader() {
  std::unique_ptr<archive, ReadArchiveDeleter> a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  return a;
}

}  // namespace

Result<ArchiveReadSummary> read_archive(const fs::path& path, ArchiveVisitor& visitor) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                "cannot open " + path.string() + ": " + errno_text());
  }
  ReadSource src;
  src.fd = fd.get();
  auto a = new_reader();
  if (archive_read_open(a.get(), &src, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
    return fail(ErrorCode::kIntegrity, std::string("not a readable archive: ") +
                                           (archive_error_string(a.get()) ? archive_error_string(a.get()) : ""));
  }
  auto entries = visit_entries(a.get(), visitor);
  if (!entries) return fail(entries.error());
  // Bytes after the end-of-archive marker still belong to the file's checksum.
  const void* ignored = nullptr;
  while (read_callback(a.get(), &src, &ignored) > 0) {
  }
  return ArchiveReadSummary{src.sha.hex_digest(), src.bytes, *entries};
}

Result<ArchiveReadSummary> read_archive_memory(const void* data, size_t size, ArchiveVisitor& visitor) {
  auto a = new_reader();
  if (archive_read_open_memory(a.get(), data, size) != ARCHIVE_OK) {
    return fail(ErrorCode::kIntegrity, std::string("not a readable archive: ") +
                                           (archive_error_string(a.get()) ? archive_error_string(a.get()) : ""));
  }
  auto entries = visit_entries(a.get(), visitor);
  if (!entries) return fail(entries.error());
  Sha256 sha;
  sha.update(data, size);
  return ArchiveReadSummary{sha.hex_digest(), size, *entries};
}

}  // namespace okami::backup
