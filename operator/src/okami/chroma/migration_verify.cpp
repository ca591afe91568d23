#include "okami/chroma/migration_verify.h"

#include <openssl/crypto.h>

#include <cctype>

#include <map>

#include "kube/cpprest_transport.h"
#include "kube/json_fields.h"
#include "okami/backup/verify.h"

namespace okami::migration {

using common::ErrorCode;
using common::Result;
using common::Status;
using kube::Json;

namespace {

constexpr std::size_t kMinKeyBytes = 16;
constexpr const char* kV2Collections = "/api/v2/tenants/default_tenant/databases/default_database/collections";
constexpr const char* kV1Collections = "/api/v1/collections";

Json payload_json(const MigrationResult& r) {
  return {{"checkedAt", r.checked_at},         {"stackUid", r.stack_uid},
          {"chromaVersion", r.chroma_version}, {"manifestDigest", r.manifest_digest},
          {"collectionsMatch", r.collections_match}, {"roundTrip", r.round_trip},
          {"verified", r.verified},            {"message", r.message},
          {"attemptId", r.attempt_id}};
}

std::string url_escape(const std::string& s) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

Result<ChromaApi> ChromaApi::connect(const std::string& base_url, const std::string& token) {
  kube::ClusterConfig config;
  config.server = base_url;
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  config.source = "chroma " + base_url;
  auto transport = kube::make_cpprest_transport(config);
  if (!transport) return common::fail(transport.error());
  return ChromaApi(*transport, token);
}

ChromaApi::ChromaApi(std::shared_ptr<kube::HttpTransport> transport, std::string token)
    : transport_(std::move(transport)), token_(std::move(token)) {}

Result<Json> ChromaApi::call(const std::string& method, const std::string& path, const Json& body) {
  kube::HttpRequest req;
  req.method = method;
  req.path = path;
  req.headers["Accept"] = "application/json";
  if (!token_.empty()) req.headers["Authorization"] = "Bearer " + token_;
  if (!body.is_null()) {
    req.headers["Content-Type"] = "application/json";
    req.body = body.dump();
  }
  auto resp = transport_->send(req);
  if (!resp) return common::fail(resp.error());
  if (resp->status < 200 || resp->status >= 300) {
    return common::fail(resp->status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                        method + " " + path + ": HTTP " + std::to_string(resp->status) + " " +
                            resp->body.substr(0, 300));
  }
  if (resp->body.empty()) return Json(nullptr);
  Json j = Json::parse(resp->body, nullptr, false);
  if (j.is_discarded()) return common::fail(ErrorCode::kParse, method + " " + path + ": not JSON");
  return j;
}

std::string ChromaApi::collections_path() const { return v2_ ? kV2Collections : kV1Collections; }

Status ChromaApi::heartbeat() {
  if (call("GET", "/api/v2/heartbeat")) {
    v2_ = true;
    return common::ok();
  }
  auto v1 = call("GET", "/api/v1/heartbeat");
  if (!v1) return common::fail(ErrorCode::kUnavailable, "Chroma does not answer its heartbeat: " + v1.error().message);
  v2_ = false;
  return common::ok();
}

Result<std::vector<ServedCollection>> ChromaApi::collections() {
  auto list = call("GET", collections_path());
  if (!list) return common::fail(list.error());
  if (!list->is_array()) return common::fail(ErrorCode::kParse, "the collection list is not an array");
  std::vector<ServedCollection> out;
  for (const auto& c : *list) {
    ServedCollection s;
    s.id = kube::string_field(c, "id");
    s.name = kube::string_field(c, "name");
    if (s.id.empty()) return common::fail(ErrorCode::kParse, "a collection in the list has no string id");
    auto count = call("GET", collections_path() + "/" + url_escape(s.id) + "/count");
    if (!count) return common::fail(count.error());
    if (!count->is_number_integer()) return common::fail(ErrorCode::kParse, "count of " + s.name + " is not an integer");
    s.count = count->get<int64_t>();
    out.push_back(std::move(s));
  }
  return out;
}

Status ChromaApi::round_trip(int dimension, const std::string& scratch_name) {
  if (dimension <= 0) dimension = 8;
  // A scratch collection left behind by an interrupted run is removed first.
  (void)call("DELETE", collections_path() + "/" + url_escape(scratch_name));
  auto created = call("POST", collections_path(), Json{{"name", scratch_name}, {"get_or_create", true}});
  if (!created) return common::fail(created.error());
  const std::string id = created->value("id", "");
  if (id.empty()) return common::fail(ErrorCode::kParse, "the scratch collection has no id");
  Json a = Json::array(), b = Json::array();
  for (int i = 0; i < dimension; ++i) {
    a.push_back(i % 2 == 0 ? 1.0 : 0.0);
    b.push_back(i % 2 == 0 ? 0.0 : 1.0);
  }
  const std::string base = collections_path() + "/" + url_escape(id);
  Status result = common::ok();
  auto added = call("POST", base + "/add",
                    Json{{"ids", Json::array({"okami-probe-a", "okami-probe-b"})},
                         {"embeddings", Json::array({a, b})}});
  if (!added) {
    result = common::fail(added.error());
  } else {
    auto found = call("POST", base + "/query",
                      Json{{"query_embeddings", Json::array({a})}, {"n_results", 1}, {"include", Json::array({"distances"})}});
    if (!found) {
      result = common::fail(found.error());
    } else {
      const Json ids = found->value("ids", Json::array());
      const bool ok = ids.is_array() && !ids.empty() && ids[0].is_array() && !ids[0].empty() &&
                      ids[0][0] == "okami-probe-a";
      if (!ok) result = common::fail(ErrorCode::kIntegrity, "the vector written did not come back as its own nearest neighbour: " + found->dump());
    }
  }
  auto removed = call("DELETE", collections_path() + "/" + url_escape(scratch_name));
  if (result && !removed) return common::fail(removed.error());
  return result;
}

std::string compare_collections(const std::vector<backup::CollectionEntry>& expected,
                                const std::vector<ServedCollection>& served) {
  std::map<std::string, const ServedCollection*> by_name;
  for (const auto& s : served) by_name[s.name] = &s;
  for (const auto& e : expected) {
    auto it = by_name.find(e.name);
    if (it == by_name.end()) return "collection '" + e.name + "' of the backup is not served";
    if (it->second->id != e.id) {
      return "collection '" + e.name + "' has id " + it->second->id + ", the backup has " + e.id;
    }
    if (it->second->count != e.count) {
      return "collection '" + e.name + "' holds " + std::to_string(it->second->count) +
             " embeddings, the backup " + std::to_string(e.count);
    }
  }
  return "";
}

std::string signing_payload(const MigrationResult& r) { return payload_json(r).dump(-1, ' ', true); }

std::string to_json(const MigrationResult& r) {
  Json j = payload_json(r);
  j["signature"] = r.signature;
  return j.dump(-1, ' ', true);
}

Result<MigrationResult> parse_result(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return common::fail(ErrorCode::kParse, "migration result is not a JSON object");
  MigrationResult r;
  for (auto [key, out] : {std::pair{"checkedAt", &r.checked_at}, std::pair{"stackUid", &r.stack_uid},
                          std::pair{"chromaVersion", &r.chroma_version},
                          std::pair{"manifestDigest", &r.manifest_digest},
                          std::pair{"message", &r.message}, std::pair{"signature", &r.signature}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return common::fail(ErrorCode::kParse, std::string("migration result: ") + key);
    *out = it->get<std::string>();
  }
  if (auto it = j.find("attemptId"); it != j.end()) {
    if (!it->is_string()) return common::fail(ErrorCode::kParse, "migration result: attemptId");
    r.attempt_id = it->get<std::string>();
  }
  for (auto [key, out] : {std::pair{"collectionsMatch", &r.collections_match},
                          std::pair{"roundTrip", &r.round_trip}, std::pair{"verified", &r.verified}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_boolean()) return common::fail(ErrorCode::kParse, std::string("migration result: ") + key);
    *out = it->get<bool>();
  }
  return r;
}

Status sign(MigrationResult& r, const std::string& key) {
  if (key.size() < kMinKeyBytes) return common::fail(ErrorCode::kInvalidArgument, "signing key shorter than 16 bytes");
  r.signature = backup::hmac_hex(key, signing_payload(r));
  return common::ok();
}

bool verify_signature(const MigrationResult& r, const std::string& key) {
  if (key.size() < kMinKeyBytes || r.signature.empty()) return false;
  const std::string expected = backup::hmac_hex(key, signing_payload(r));
  return expected.size() == r.signature.size() &&
         CRYPTO_memcmp(expected.data(), r.signature.data(), expected.size()) == 0;
}

}  // namespace okami::migration
