// Post-migration verification (DESIGN.md "The irreversible upgrade", step 6; the seed guide's
// post-upgrade checklist): the new Chroma answers its heartbeat, every collection of the backup
// manifest is served with the same name, id and count, and a vector written into a scratch
// collection comes back as the nearest neighbour of itself. The result is signed with the same
// HMAC key as backup verification, so the operator believes only what a verify Job reported.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "kube/client.h"
#include "kube/http_transport.h"
#include "okami/backup/manifest.h"

namespace okami::migration {

// The collections a running Chroma serves, over its HTTP API (v2 for 1.x, v1 for 0.x).
struct ServedCollection {
  std::string id;
  std::string name;
  int64_t count = 0;
};

class ChromaApi {
 public:
  // `base_url` like "http://okami-chroma.ns.svc:8000"; `token` is sent as a Bearer token (0.x auth).
  static common::Result<ChromaApi> connect(const std::string& base_url, const std::string& token = "");
  explicit ChromaApi(std::shared_ptr<kube::HttpTransport> transport, std::string token = "");

  // Errors: kUnavailable when neither /api/v2/heartbeat nor /api/v1/heartbeat answers 200.
  common::Status heartbeat();
  common::Result<std::vector<ServedCollection>> collections();
  // Creates a scratch collection, adds one vector of `dimension`, queries it back, deletes the
  // collection. Errors: kIntegrity when the nearest neighbour is not the vector written.
  common::Status round_trip(int dimension, const std::string& scratch_name);

 private:
  common::Result<kube::Json> call(const std::string& method, const std::string& path,
                                  const kube::Json& body = nullptr);
  std::string collections_path() const;
  std::shared_ptr<kube::HttpTransport> transport_;
  std::string token_;
  bool v2_ = true;
};

struct MigrationResult {
  std::string checked_at;       // RFC 3339
  std::string stack_uid;
  std::string chroma_version;   // the server verified
  std::string manifest_digest;  // of the backup compared against
  bool collections_match = false;
  bool round_trip = false;
  bool verified = false;        // every check passed
  std::string message;          // what failed, or a one-line summary
  // The migration attempt (status.migration.attemptId) the operator bound this result to when it
  // signed it; empty in a verify Job's unsigned report.
  std::string attempt_id;
  std::string signature;        // hex HMAC-SHA256 over signing_payload
  bool operator==(const MigrationResult&) const = default;
};

std::string signing_payload(const MigrationResult& result);
std::string to_json(const MigrationResult& result);
common::Result<MigrationResult> parse_result(const std::string& text);
common::Status sign(MigrationResult& result, const std::string& key);
bool verify_signature(const MigrationResult& result, const std::string& key);

// Compares served collections with the manifest: every manifest collection present with the same
// id and count; scratch collections left by an interrupted verification are ignored. Empty string
// when they match, else the first difference.
std::string compare_collections(const std::vector<backup::CollectionEntry>& expected,
                                const std::vector<ServedCollection>& served);

}  // namespace okami::migration
