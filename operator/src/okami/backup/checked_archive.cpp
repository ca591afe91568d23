#include "okami/backup/checked_archive.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

namespace okami::backup {
using common::ErrorCode;
using common::fail;
using common::Result;
using common::Status;

namespace {

constexpr size_t kMaxManifestBytes = 64u << 20;
constexpr size_t kMaxNameBytes = 255;  // NAME_MAX of every Linux filesystem a volume may use

tl::unexpected<common::Error> reject(const std::string& why) { return fail(ErrorCode::kIntegrity, why); }

bool has_overlong_name(const std::string& path) {
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end - start > kMaxNameBytes) return true;
    start = end + 1;
  }
  return false;
}

// "chroma/lost+found/…" or "memory/lost+found/…": the filesystem's own directory on a fresh
// volume, which write_backup skips and restore would collide with when it moves files into place.
bool is_in_lost_and_found(const std::string& path) {
  for (const std::string prefix : {kChromaPrefix, kMemoryPrefix}) {
    if (path == prefix + "lost+found" || path.starts_with(prefix + "lost+found/")) return true;
  }
  return false;
}

}  // namespace

bool CheckedArchiveVisitor::SlashFirst::operator()(const std::string& a, const std::string& b) const {
  auto rank = [](char c) { return c == '/' ? 0 : static_cast<unsigned char>(c); };
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [&](char x, char y) { return rank(x) < rank(y); });
}

// Ordered with '/' below every other byte, the paths under a directory follow it without a gap.
// No file is ever stored together with one under it (that is what this refuses), so a file that is
// a parent of `path` is its predecessor, and a file under `path` its successor.
Status CheckedArchiveVisitor::add_file_path(const std::string& path) {
  auto next = file_paths_.lower_bound(path);
  if (next != file_paths_.end() && next->starts_with(path + "/")) {
    return reject("'" + path + "' is the directory of '" + *next + "', but the archive holds it as a file");
  }
  if (next != file_paths_.begin()) {
    const std::string& previous = *std::prev(next);
    if (path.starts_with(previous + "/")) {
      return reject("'" + path + "' lies under '" + previous + "', which the archive holds as a file");
    }
  }
  file_paths_.insert(next, path);
  return common::ok();
}

Status CheckedArchiveVisitor::check_entry(const ArchiveEntry& entry) {
  const std::string& path = entry.path;
  if (manifest_seen_) return reject("entry '" + path + "' follows the manifest, which must be last");
  if (!is_safe_archive_path(path)) return reject("refusing unsafe path in archive: '" + path + "'");
  if (entry.type != EntryType::kRegular) {
    return reject("refusing '" + path + "': links and special files are never restored");
  }
  if (seen_.count(path)) return reject("'" + path + "' appears twice in the archive");
  if (path == kManifestEntry) {
    if (entry.size > static_cast<int64_t>(kMaxManifestBytes)) return reject("manifest too large");
    return common::ok();
  }
  // What restore could not write, verify must not call restorable.
  if (has_overlong_name(path)) return reject("'" + path + "' has a name longer than 255 bytes");
  if (is_in_lost_and_found(path)) return reject("'" + path + "' lies in a volume's lost+found, never backed up");
  return add_file_path(path);
}

Status CheckedArchiveVisitor::on_entry(const ArchiveEntry& entry) {
  if (auto st = check_entry(entry); !st) return st;
  current_ = FileEntry{entry.path, 0, "", entry.mode};
  sha_ = std::make_unique<Sha256>();
  is_manifest_ = entry.path == kManifestEntry;
  if (is_manifest_) return common::ok();
  return begin_file(entry.path);
}

Status CheckedArchiveVisitor::on_data(const void* data, size_t size) {
  sha_->update(data, size);
  current_.size += size;
  if (!is_manifest_) return file_data(data, size);
  if (manifest_text_.size() + size > kMaxManifestBytes) return reject("manifest too large");
  manifest_text_.append(static_cast<const char*>(data), size);
  return common::ok();
}

Status CheckedArchiveVisitor::on_entry_end() {
  current_.sha256 = sha_->hex_digest();
  seen_.insert({current_.path, current_});
  if (!is_manifest_) return end_file(current_);
  manifest_seen_ = true;
  return common::ok();
}

Status CheckedArchiveVisitor::write_all(int fd, const void* data, size_t size, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, p + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrorCode::kIo, "write " + what + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return common::ok();
}

Result<std::string> expected_archive_sha256(const std::filesystem::path& archive,
                                            const std::optional<std::string>& given, const std::string& purpose) {
  if (given) return *given;
  auto from_file = read_checksum_file(checksum_path(archive));
  if (!from_file) {
    return fail(ErrorCode::kIntegrity, "no archive checksum to " + purpose + " against: " + from_file.error().message);
  }
  return *from_file;
}

Status compare_with_manifest(const Manifest& manifest, const std::map<std::string, FileEntry>& seen) {
  size_t matched = 0;
  for (const auto& f : manifest.files) {
    auto it = seen.find(f.path);
    if (it == seen.end()) return reject("'" + f.path + "' is in the manifest but missing from the archive");
    if (it->second.size != f.size) {
      return reject("'" + f.path + "' has " + std::to_string(it->second.size) + " bytes, manifest says " +
                    std::to_string(f.size));
    }
    if (it->second.sha256 != f.sha256) return reject("'" + f.path + "' does not match its SHA-256 in the manifest");
    if (it->second.mode != f.mode) return reject("'" + f.path + "' has another mode than the manifest says");
    ++matched;
  }
  if (matched + 1 != seen.size()) return reject("the archive holds files the manifest does not list");
  return common::ok();
}

namespace {

Result<CheckedArchive> check_read(Result<ArchiveReadSummary> read, const ArchiveExpectations& expect,
                                  CheckedArchiveVisitor& visitor) {
  if (!read) return fail(read.error());
  if (expect.archive_size && read->bytes != *expect.archive_size) {
    return reject("archive has " + std::to_string(read->bytes) + " bytes, the recorded size is " +
                  std::to_string(*expect.archive_size));
  }
  if (read->sha256 != expect.archive_sha256) {
    return reject("archive SHA-256 " + read->sha256 + " does not match the recorded " + expect.archive_sha256);
  }
  if (!visitor.manifest_seen()) return reject("the archive has no manifest");
  auto manifest = parse_manifest(visitor.manifest_text());
  if (!manifest) return reject("unreadable manifest: " + manifest.error().message);
  if (auto st = compare_with_manifest(*manifest, visitor.seen()); !st) return fail(st.error());
  if (expect.stack_uid && manifest->stack.uid != *expect.stack_uid) {
    return reject("backup of another stack (uid " + manifest->stack.uid + ", expected " + *expect.stack_uid + ")");
  }
  if (expect.format && manifest->data_format.name != *expect.format) {
    return reject("backup taken from data format '" + manifest->data_format.name + "', expected '" + *expect.format +
                  "'");
  }
  return CheckedArchive{std::move(*read), std::move(*manifest)};
}

}  // namespace

Result<CheckedArchive> read_checked_archive(const std::filesystem::path& archive, const ArchiveExpectations& expect,
                                            CheckedArchiveVisitor& visitor) {
  return check_read(read_archive(archive, visitor), expect, visitor);
}

Result<CheckedArchive> read_checked_archive(ByteSource& source, const ArchiveExpectations& expect,
                                            CheckedArchiveVisitor& visitor) {
  return check_read(read_archive(source, visitor), expect, visitor);
}

}  // namespace okami::backup
