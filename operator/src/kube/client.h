// The Kubernetes API client: typed verbs over HttpTransport, objects as JSON documents
// (nlohmann::json, like client-go's unstructured). Failures are typed common::Error values
// (see api_error.h). Thread-safe: one Client is shared by every worker, watch and elector.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>

#include "common/result.h"
#include "kube/http_transport.h"
#include "kube/resource.h"

namespace okami::kube {

using Json = nlohmann::json;

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // "" = most recent (quorum read)
  int limit = 500;               // page size; 0 = no limit
  std::string continue_token;
  // Ask for PartialObjectMetadata: the items carry metadata only (never a Secret's data).
  bool metadata_only = false;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // start after this version
  int timeout_seconds = 300;     // server-side timeout; the stream then ends cleanly
  bool allow_bookmarks = true;
  bool metadata_only = false;    // events carry PartialObjectMetadata: metadata only
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  Json object;
};
// Receives each event of a watch; returns false to end it. It may take the event's object (move
// from it): the client does not read an event after handing it over.
using WatchHandler = std::function<bool(WatchEvent&)>;

enum class PatchType { kMerge, kJson, kStrategicMerge };

struct DeleteOptions {
  std::string propagation_policy;  // "", Foreground, Background, Orphan
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
};

struct ApplyOptions {
  std::string field_manager = "okami-operator";
  bool force = true;
};

struct ClientOptions {
  double qps = 20.0;  // client-side token bucket; <= 0 disables it
  int burst = 40;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::string user_agent = "okami-operator";
};

class Client {
 public:
  virtual ~Client() = default;

  // All verbs block until the response arrives (or the rate limiter admits the request).
  // Errors: kNotFound, kAlreadyExists, kConflict, kGone, kInvalid (with causes), kForbidden,
  // kUnauthorized, kTooManyRequests (retry_after set), kUnavailable/kTimeout on transport failure.
  virtual common::Result<Json> get(const ResourceType& type, const std::string& ns,
                                   const std::string& name) = 0;
  // One page; the result's metadata.continue names the next.
  virtual common::Result<Json> list(const ResourceType& type, const std::string& ns,
                                    const ListOptions& options) = 0;
  // Every page, concatenated: items[] plus the last page's metadata.resourceVersion.
  virtual common::Result<Json> list_all(const ResourceType& type, const std::string& ns,
                                        const ListOptions& options) = 0;
  virtual common::Result<Json> create(const ResourceType& type, const std::string& ns,
                                      const Json& object) = 0;
  // PUT; the object's metadata.resourceVersion is the precondition (kConflict when stale).
  virtual common::Result<Json> update(const ResourceType& type, const std::string& ns,
                                      const Json& object) = 0;
  virtual common::Result<Json> update_status(const ResourceType& type, const std::string& ns,
                                             const Json& object) = 0;
  virtual common::Result<Json> patch(const ResourceType& type, const std::string& ns,
                                     const std::string& name, PatchType patch_type,
                                     const Json& patch, const std::string& subresource = "") = 0;
  // Server-side apply (application/apply-patch+yaml with a JSON body).
  virtual common::Result<Json> apply(const ResourceType& type, const std::string& ns,
                                     const Json& object, const ApplyOptions& options,
                                     const std::string& subresource = "") = 0;
  virtual common::Status remove(const ResourceType& type, const std::string& ns,
                                const std::string& name, const DeleteOptions& options = {}) = 0;
  // Streams watch events to on_event until the server ends the stream, on_event returns false,
  // or stop is requested. An ERROR event carrying a 410 Status is returned as kGone.
  virtual common::Status watch(const ResourceType& type, const std::string& ns,
                               const WatchOptions& options,
                               const WatchHandler& on_event,
                               std::stop_token stop) = 0;
};

}  // namespace okami::kube
