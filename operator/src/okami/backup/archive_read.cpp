// Reading archives: one streaming pass through libarchive over a file, a ByteSource or memory,
// hashing every byte the reader is handed. Split from archive.cpp (writing).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "okami/backup/archive.h"

namespace okami::backup {
namespace fs = std::filesystem;
using common::ErrorCode;
using common::fail;
using common::Result;
using common::Status;

namespace {

constexpr size_t kBufferSize = 1 << 20;

struct ReadArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Reads a file descriptor it owns.
class FdSource final : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  ~FdSource() override {
    if (fd_ >= 0) ::close(fd_);
  }
  FdSource(const FdSource&) = delete;
  FdSource& operator=(const FdSource&) = delete;
  Result<size_t> read(void* buffer, size_t capacity) override {
    while (true) {
      ssize_t n = ::read(fd_, buffer, capacity);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(ErrorCode::kIo, std::string("read: ") + std::strerror(errno));
      return static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
};

struct ReadSource {
  ByteSource* source = nullptr;
  Sha256 sha;
  uint64_t bytes = 0;
  std::optional<common::Error> error;  // the source's own failure, returned as it is
  std::vector<char> buffer = std::vector<char>(kBufferSize);
};

la_ssize_t read_callback(archive* a, void* client, const void** out) {
  auto* src = static_cast<ReadSource*>(client);
  auto n = src->source->read(src->buffer.data(), src->buffer.size());
  if (!n) {
    if (!src->error) src->error = n.error();
    archive_set_error(a, EIO, "%s", n.error().message.c_str());
    return -1;
  }
  src->sha.update(src->buffer.data(), *n);
  src->bytes += *n;
  *out = src->buffer.data();
  return static_cast<la_ssize_t>(*n);
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

Result<ArchiveReadSummary> read_archive(ByteSource& source, ArchiveVisitor& visitor) {
  ReadSource src;
  src.source = &source;
  auto a = new_reader();
  if (archive_read_open(a.get(), &src, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
    if (src.error) return tl::unexpected(*src.error);
    return fail(ErrorCode::kIntegrity, std::string("not a readable archive: ") +
                                           (archive_error_string(a.get()) ? archive_error_string(a.get()) : ""));
  }
  auto entries = visit_entries(a.get(), visitor);
  // A failing source (a network read that broke off for good) is its own error, not corruption.
  if (src.error) return tl::unexpected(*src.error);
  if (!entries) return fail(entries.error());
  // Bytes after the end-of-archive marker still belong to the archive's checksum.
  const void* ignored = nullptr;
  while (read_callback(a.get(), &src, &ignored) > 0) {
  }
  if (src.error) return tl::unexpected(*src.error);
  return ArchiveReadSummary{src.sha.hex_digest(), src.bytes, *entries};
}

Result<ArchiveReadSummary> read_archive(const fs::path& path, ArchiveVisitor& visitor) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  FdSource source(fd);
  return read_archive(source, visitor);
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
