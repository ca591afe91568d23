// A Client that refuses every write while a fence is down: the leader's guard against acting
// after its Lease lapsed. Reads and watches pass through; create, update, patch, apply and delete
// ask the fence first, so a process that lost (or never held) the Lease makes no write, however
// late its workers wake. Sits between the API client and everything that acts in the operator;
// the leader elector itself writes the Lease through the unfenced client.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "kube/client.h"

namespace okami::kube {

class FencedClient final : public Client {
 public:
  // may_write is asked before every write, from any thread; it must be cheap and never block.
  FencedClient(Client& inner, std::function<bool()> may_write);

  common::Result<Json> get(const ResourceType& type, const std::string& ns, const std::string& name) override;
  common::Result<Json> list(const ResourceType& type, const std::string& ns, const ListOptions& options) override;
  common::Result<Json> list_all(const ResourceType& type, const std::string& ns,
                                const ListOptions& options) override;
  // The writes. Each returns kUnavailable without sending anything while the fence is down.
  common::Result<Json> create(const ResourceType& type, const std::string& ns, const Json& object) override;
  common::Result<Json> update(const ResourceType& type, const std::string& ns, const Json& object) override;
  common::Result<Json> update_status(const ResourceType& type, const std::string& ns, const Json& object) override;
  common::Result<Json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                             PatchType patch_type, const Json& patch, const std::string& subresource = "") override;
  common::Result<Json> apply(const ResourceType& type, const std::string& ns, const Json& object,
                             const ApplyOptions& options, const std::string& subresource = "") override;
  common::Status remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {}) override;
  common::Status watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
                       const WatchHandler& on_event, std::stop_token stop) override;

  // Writes refused so far (for logs and tests).
  long refused() const { return refused_.load(); }

 private:
  common::Status admit(const char* verb, const ResourceType& type, const std::string& ns,
                       const std::string& name);

  Client& inner_;
  std::function<bool()> may_write_;
  std::atomic<long> refused_{0};
};

}  // namespace okami::kube
