#include "kube/fenced_client.h"

#include <spdlog/spdlog.h>

namespace okami::kube {

FencedClient::FencedClient(Client& inner, std::function<bool()> may_write)
    : inner_(inner), may_write_(std::move(may_write)) {}

common::Status FencedClient::admit(const char* verb, const ResourceType& type, const std::string& ns,
                                   const std::string& name) {
  if (may_write_()) return common::ok();
  ++refused_;
  const std::string what = type.kind + " " + (ns.empty() ? name : ns + "/" + name);
  spdlog::warn("write refused: {} {}: this process does not hold the leader Lease", verb, what);
  return common::fail(common::ErrorCode::kUnavailable,
                      std::string(verb) + " " + what + " refused: this process does not hold the leader Lease");
}

namespace {
std::string name_of(const Json& object) { return object.value("metadata", Json::object()).value("name", ""); }
}  // namespace

common::Result<Json> FencedClient::get(const ResourceType& type, const std::string& ns, const std::string& name) {
  return inner_.get(type, ns, name);
}

common::Result<Json> FencedClient::list(const ResourceType& type, const std::string& ns,
                                        const ListOptions& options) {
  return inner_.list(type, ns, options);
}

common::Result<Json> FencedClient::list_all(const ResourceType& type, const std::string& ns,
                                            const ListOptions& options) {
  return inner_.list_all(type, ns, options);
}

common::Result<Json> FencedClient::create(const ResourceType& type, const std::string& ns, const Json& object) {
  if (auto s = admit("create", type, ns, name_of(object)); !s) return common::fail(s.error());
  return inner_.create(type, ns, object);
}

common::Result<Json> FencedClient::update(const ResourceType& type, const std::string& ns, const Json& object) {
  if (auto s = admit("update", type, ns, name_of(object)); !s) return common::fail(s.error());
  return inner_.update(type, ns, object);
}

common::Result<Json> FencedClient::update_status(const ResourceType& type, const std::string& ns,
                                                 const Json& object) {
  if (auto s = admit("update status of", type, ns, name_of(object)); !s) return common::fail(s.error());
  return inner_.update_status(type, ns, object);
}

common::Result<Json> FencedClient::patch(const ResourceType& type, const std::string& ns, const std::string& name,
                                         PatchType patch_type, const Json& patch, const std::string& subresource) {
  if (auto s = admit("patch", type, ns, name); !s) return common::fail(s.error());
  return inner_.patch(type, ns, name, patch_type, patch, subresource);
}

common::Result<Json> FencedClient::apply(const ResourceType& type, const std::string& ns, const Json& object,
                                         const ApplyOptions& options, const std::string& subresource) {
  if (auto s = admit("apply", type, ns, name_of(object)); !s) return common::fail(s.error());
  return inner_.apply(type, ns, object, options, subresource);
}

common::Status FencedClient::remove(const ResourceType& type, const std::string& ns, const std::string& name,
                                    const DeleteOptions& options) {
  if (auto s = admit("delete", type, ns, name); !s) return s;
  return inner_.remove(type, ns, name, options);
}

common::Status FencedClient::watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
                                   const WatchHandler& on_event, std::stop_token stop) {
  return inner_.watch(type, ns, options, on_event, stop);
}

}  // namespace okami::kube
