#include "okami/backup/manifest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

namespace okami::backup {
using common::ErrorCode;
using common::fail;
using common::Result;
using nlohmann::json;

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : state_(new State) {
  state_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(state_->ctx);
  delete state_;
}

void Sha256::update(const void* data, size_t size) {
  if (size > 0) EVP_DigestUpdate(state_->ctx, data, size);
}

std::string Sha256::hex_digest() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, out, &len);
  return to_hex(out, len);
}

std::string to_hex(const unsigned char* data, size_t size) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

std::string sha256_hex(const std::string& bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex_digest();
}

DataFormatRecord to_record(const chroma::DataFormat& format) {
  return {format.name, format.migrations, format.seq_id_type, format.opened_by_1x};
}

bool is_safe_archive_path(const std::string& path) {
  if (path == kManifestEntry) return true;
  if (path.empty() || path.size() > 4096 || path.front() == '/') return false;
  if (path.find('\\') != std::string::npos || path.find('\0') != std::string::npos) return false;
  if (!path.starts_with(kChromaPrefix) && !path.starts_with(kMemoryPrefix)) return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

namespace {

json to_json(const Manifest& m) {
  json files = json::array();
  auto sorted_files = m.files;
  std::sort(sorted_files.begin(), sorted_files.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  for (const auto& f : sorted_files) {
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}, {"mode", f.mode}});
  }
  auto sorted_collections = m.collections;
  std::sort(sorted_collections.begin(), sorted_collections.end(),
            [](const CollectionEntry& a, const CollectionEntry& b) { return a.id < b.id; });
  json collections = json::array();
  for (const auto& c : sorted_collections) {
    collections.push_back({{"id", c.id},
                           {"name", c.name},
                           {"database", c.database},
                           {"dimension", c.dimension},
                           {"count", c.count}});
  }
  json migrations = json::object();
  for (const auto& [dir, v] : m.data_format.migrations) migrations[dir] = v;
  return {{"formatVersion", m.format_version},
          {"stack", {{"namespace", m.stack.namespace_}, {"name", m.stack.name}, {"uid", m.stack.uid}}},
          {"takenAt", m.taken_at},
          {"chromaVersion", m.chroma_version},
          {"dataFormat",
           {{"name", m.data_format.name},
            {"migrations", migrations},
            {"seqIdType", m.data_format.seq_id_type},
            {"openedBy1x", m.data_format.opened_by_1x}}},
          {"files", files},
          {"collections", collections},
          {"totalSize", m.total_size}};
}

// Field readers that report a precise error instead of throwing on a wrong type.
const json& field(const json& obj, const char* key) {
  static const json kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// SQLite text of an integer column; a non-integer (a tampered database) reads as -2, which never
// matches a manifest written from a real database.
int64_t to_int64(const std::string& s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && ptr == s.data() + s.size()) ? v : -2;
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string canonical_json(const Manifest& manifest) {
  // nlohmann::json objects are std::map-backed: keys come out sorted. ensure_ascii keeps the
  // bytes independent of how a reader re-encodes non-ASCII names.
  return to_json(manifest).dump(-1, ' ', true);
}

std::string manifest_digest(const Manifest& manifest) { return sha256_hex(canonical_json(manifest)); }

Result<Manifest> parse_manifest(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail(ErrorCode::kParse, "manifest is not a JSON object");
  auto bad = [](const std::string& what) { return fail(ErrorCode::kParse, "manifest: " + what); };
  Manifest m;
  const json& version = field(doc, "formatVersion");
  if (!version.is_number_integer() || version.get<int64_t>() != 1) return bad("formatVersion must be 1");
  const json& stack = field(doc, "stack");
  if (!stack.is_object()) return bad("stack must be an object");
  for (auto [key, out] : {std::pair{"namespace", &m.stack.namespace_}, std::pair{"name", &m.stack.name},
                          std::pair{"uid", &m.stack.uid}}) {
    if (!field(stack, key).is_string()) return bad(std::string("stack.") + key + " must be a string");
    *out = field(stack, key).get<std::string>();
  }
  for (auto [key, out] : {std::pair{"takenAt", &m.taken_at}, std::pair{"chromaVersion", &m.chroma_version}}) {
    if (!field(doc, key).is_string()) return bad(std::string(key) + " must be a string");
    *out = field(doc, key).get<std::string>();
  }
  const json& format = field(doc, "dataFormat");
  if (!format.is_object() || !field(format, "name").is_string() ||
      !field(format, "seqIdType").is_string() || !field(format, "openedBy1x").is_boolean() ||
      !field(format, "migrations").is_object()) {
    return bad("dataFormat must hold name, migrations, seqIdType, openedBy1x");
  }
  m.data_format.name = field(format, "name").get<std::string>();
  m.data_format.seq_id_type = field(format, "seqIdType").get<std::string>();
  m.data_format.opened_by_1x = field(format, "openedBy1x").get<bool>();
  for (const auto& [dir, v] : field(format, "migrations").items()) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1000000) {
      return bad("dataFormat.migrations values must be small integers");
    }
    m.data_format.migrations[dir] = static_cast<int>(v.get<int64_t>());
  }
  const json& files = field(doc, "files");
  if (!files.is_array()) return bad("files must be an array");
  std::set<std::string> seen;
  uint64_t total = 0;
  for (const json& f : files) {
    if (!f.is_object() || !field(f, "path").is_string() || !field(f, "size").is_number_unsigned() ||
        !field(f, "sha256").is_string() || !field(f, "mode").is_number_unsigned()) {
      return bad("each file needs path, size, sha256, mode");
    }
    FileEntry e{field(f, "path").get<std::string>(), field(f, "size").get<uint64_t>(),
                field(f, "sha256").get<std::string>(), 0};
    const uint64_t mode = field(f, "mode").get<uint64_t>();
    if (mode > 07777) return bad("mode out of range for " + e.path);
    e.mode = static_cast<uint32_t>(mode);
    if (!is_safe_archive_path(e.path) || e.path == kManifestEntry) {
      return fail(ErrorCode::kIntegrity, "manifest lists an unsafe path: '" + e.path + "'");
    }
    if (!is_hex64(e.sha256)) return fail(ErrorCode::kIntegrity, "bad sha256 for " + e.path);
    if (!seen.insert(e.path).second) return fail(ErrorCode::kIntegrity, "duplicate path " + e.path);
    if (total + e.size < total) return fail(ErrorCode::kIntegrity, "file sizes overflow");
    total += e.size;
    m.files.push_back(std::move(e));
  }
  std::sort(m.files.begin(), m.files.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  const json& collections = field(doc, "collections");
  if (!collections.is_array()) return bad("collections must be an array");
  for (const json& c : collections) {
    if (!c.is_object() || !field(c, "id").is_string() || !field(c, "name").is_string() ||
        !field(c, "database").is_string() || !field(c, "dimension").is_number_integer() ||
        !field(c, "count").is_number_integer()) {
      return bad("each collection needs id, name, database, dimension, count");
    }
    m.collections.push_back({field(c, "id").get<std::string>(), field(c, "name").get<std::string>(),
                             field(c, "database").get<std::string>(),
                             field(c, "dimension").get<int64_t>(), field(c, "count").get<int64_t>()});
  }
  std::sort(m.collections.begin(), m.collections.end(),
            [](const CollectionEntry& a, const CollectionEntry& b) { return a.id < b.id; });
  const json& total_size = field(doc, "totalSize");
  if (!total_size.is_number_unsigned() || total_size.get<uint64_t>() != total) {
    return fail(ErrorCode::kIntegrity, "manifest totalSize does not equal the sum of file sizes");
  }
  m.total_size = total;
  return m;
}

Result<std::vector<CollectionEntry>> read_collections(const std::filesystem::path& sqlite_file) {
  auto db = chroma::ReadOnlyDatabase::open(sqlite_file);
  if (!db) return fail(db.error());
  if (!db->has_table("collections")) return std::vector<CollectionEntry>{};
  // Same tables in 0.5.x and 1.x: collections(id, name, dimension, database_id),
  // databases(id, name, tenant_id), segments(id, scope, collection), embeddings(segment_id).
  auto rows = db->query(
      "SELECT c.id, c.name, COALESCE(d.tenant_id, '') || '/' || COALESCE(d.name, ''), "
      "COALESCE(c.dimension, -1), "
      "(SELECT COUNT(*) FROM embeddings e JOIN segments s ON e.segment_id = s.id "
      " WHERE s.collection = c.id AND s.scope = 'METADATA') "
      "FROM collections c LEFT JOIN databases d ON c.database_id = d.id ORDER BY c.id");
  if (!rows) return fail(rows.error());
  std::vector<CollectionEntry> out;
  for (const auto& r : *rows) {
    out.push_back({r[0], r[1], r[2], to_int64(r[3]), to_int64(r[4])});
  }
  return out;
}

}  // namespace okami::backup
