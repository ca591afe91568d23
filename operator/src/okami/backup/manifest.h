// The backup manifest: what an archive holds (files with size, SHA-256 and mode), where it came
// from (stack, Chroma version, data format) and what the data means (collections with dimension
// and count). Written by backup_archive as the archive's last entry, re-derived by backup_verify,
// digested (SHA-256 of the canonical JSON) into the signed VerificationResult.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "okami/chroma/data_format.h"

namespace okami::backup {

inline constexpr const char* kManifestEntry = "okami-backup-manifest.json";
inline constexpr const char* kChromaPrefix = "chroma/";  // the Chroma persist dir
inline constexpr const char* kMemoryPrefix = "memory/";  // the client's CREWAI_STORAGE_DIR

// Streaming SHA-256 (OpenSSL EVP) for files and archives of any size; constant memory.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  std::string hex_digest();  // finishes the hash; call once
 private:
  struct State;
  State* state_;
};
std::string sha256_hex(const std::string& bytes);
std::string to_hex(const unsigned char* data, size_t size);

struct StackRef {
  std::string namespace_;
  std::string name;
  std::string uid;
  bool operator==(const StackRef&) const = default;
};

struct FileEntry {
  std::string path;    // archive path, e.g. "chroma/chroma.sqlite3"
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
  uint32_t mode = 0;   // permission bits (07777)
  bool operator==(const FileEntry&) const = default;
};

struct CollectionEntry {
  std::string id;
  std::string name;
  std::string database;  // "<tenant>/<database>"
  int64_t dimension = -1;  // -1: no vector inserted yet (NULL in the collections table)
  int64_t count = 0;       // embeddings in the collection's metadata segment
  bool operator==(const CollectionEntry&) const = default;
};

struct DataFormatRecord {
  std::string name;
  std::map<std::string, int> migrations;
  std::string seq_id_type;
  bool opened_by_1x = false;
  bool operator==(const DataFormatRecord&) const = default;
};
DataFormatRecord to_record(const chroma::DataFormat& format);

struct Manifest {
  int format_version = 1;
  StackRef stack;
  std::string taken_at;  // RFC 3339
  std::string chroma_version;
  DataFormatRecord data_format;
  std::vector<FileEntry> files;              // sorted by path
  std::vector<CollectionEntry> collections;  // sorted by id
  uint64_t total_size = 0;                   // sum of file sizes
  bool operator==(const Manifest&) const = default;
};

// Canonical JSON: sorted keys, no whitespace, files sorted by path, collections by id. The same
// manifest always serialises to the same bytes, so its digest can be signed.
std::string canonical_json(const Manifest& manifest);
// Lowercase hex SHA-256 of canonical_json(manifest).
std::string manifest_digest(const Manifest& manifest);
// Strict parser for untrusted bytes. Errors: kParse for malformed JSON or a wrong field type,
// kIntegrity for unsafe or duplicate paths, bad digests or a total that does not add up.
common::Result<Manifest> parse_manifest(const std::string& text);

// Collections of a Chroma database (0.5.x and 1.x schemas): id, name, tenant/database, dimension,
// and the number of embeddings in the collection's METADATA segment. Sorted by id.
// Errors: kIo when the database cannot be read.
common::Result<std::vector<CollectionEntry>> read_collections(const std::filesystem::path& sqlite_file);

// True when `path` is a relative archive path without "..", "." or empty components, without
// backslashes or NUL, under one of the prefixes above (or the manifest entry itself).
bool is_safe_archive_path(const std::string& path);

}  // namespace okami::backup
