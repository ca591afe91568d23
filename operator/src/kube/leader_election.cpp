#include "kube/leader_election.h"

#include <spdlog/spdlog.h>


namespace okami::kube {

LeaseRecord LeaseRecord::from_lease(const Json& lease) {
  LeaseRecord r;
  const Json empty = Json::object();
  const Json& spec = lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : empty;
  auto str = [&](const char* k) {
    auto it = spec.find(k);
    return it != spec.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto num = [&](const char* k) {
    auto it = spec.find(k);
    return it != spec.end() && it->is_number_integer() ? it->get<int>() : 0;
  };
  r.holder_identity = str("holderIdentity");
  r.lease_duration_seconds = num("leaseDurationSeconds");
  r.acquire_time = str("acquireTime");
  r.renew_time = str("renewTime");
  r.lease_transitions = num("leaseTransitions");
  if (lease.contains("metadata") && lease["metadata"].is_object()) {
    r.resource_version = lease["metadata"].value("resourceVersion", std::string());
  }
  return r;
}

bool LeaseRecord::same_record(const LeaseRecord& o) const {
  return holder_identity == o.holder_identity &&
         lease_duration_seconds == o.lease_duration_seconds && acquire_time == o.acquire_time &&
         renew_time == o.renew_time && lease_transitions == o.lease_transitions;
}

const char* to_string(LeaseAction action) {
  switch (action) {
    case LeaseAction::kCreate: return "Create";
    case LeaseAction::kRenew: return "Renew";
    case LeaseAction::kAcquire: return "Acquire";
    case LeaseAction::kWait: return "Wait";
  }
  return "Unknown";
}

LeaseAction decide_lease_action(const std::optional<LeaseRecord>& observed,
                                const std::string& identity, common::Clock::SteadyPoint now,
                                common::Clock::SteadyPoint observed_at) {
  if (!observed) return LeaseAction::kCreate;
  if (observed->holder_identity == identity) return LeaseAction::kRenew;
  if (observed->holder_identity.empty()) return LeaseAction::kAcquire;
  const auto expires = observed_at + std::chrono::seconds(observed->lease_duration_seconds);
  return now < expires ? LeaseAction::kWait : LeaseAction::kAcquire;
}

LeaderElector::LeaderElector(Client& client, LeaderElectionOptions options,
                             LeaderCallbacks callbacks, common::Clock& clock,
                             common::Random& random, MetricsRegistry* metrics)
    : client_(client),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      clock_(clock),
      random_(random),
      metrics_(metrics) {
  set_gauge(false);
}

LeaderElector::~LeaderElector() { stop(); }

std::string LeaderElector::observed_holder() const {
  std::lock_guard lock(mu_);
  return observed_ ? observed_->holder_identity : std::string();
}

void LeaderElector::set_gauge(bool leading) {
  if (!metrics_) return;
  metrics_->gauge("leader_election_master_status",
                  "1 while this process holds the named Lease, else 0.", {"name"})
      .set({options_.lease_name}, leading ? 1.0 : 0.0);
}

bool LeaderElector::try_acquire_or_renew() {
  const auto now = clock_.now();
  const std::string stamp = format_micro_time(clock_.wall_now());
  const int duration_s = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count());

  auto current = client_.get(resources::kLease, options_.lease_namespace, options_.lease_name);
  if (!current) {
    if (current.error().code != common::ErrorCode::kNotFound) {
      spdlog::warn("leader election {}: reading the Lease failed: {}", options_.lease_name,
                   current.error().describe());
      return false;
    }
    Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.lease_name},
                                {"namespace", options_.lease_namespace}}},
                  {"spec", {{"holderIdentity", options_.identity},
                            {"leaseDurationSeconds", duration_s},
                            {"acquireTime", stamp},
                            {"renewTime", stamp},
                            {"leaseTransitions", 0}}}};
    auto created = client_.create(resources::kLease, options_.lease_namespace, lease);
    if (!created) return false;
    std::lock_guard lock(mu_);
    observed_ = LeaseRecord::from_lease(*created);
    observed_at_ = now;
    last_renew_ = now;
    return true;
  }

  LeaseRecord record = LeaseRecord::from_lease(*current);
  LeaseAction action;
  std::string new_leader;
  {
    std::lock_guard lock(mu_);
    if (!observed_ || !observed_->same_record(record)) {
      if (!observed_ || observed_->holder_identity != record.holder_identity) {
        new_leader = record.holder_identity;
      }
      observed_ = record;
      observed_at_ = now;
    }
    observed_->resource_version = record.resource_version;
    action = decide_lease_action(observed_, options_.identity, now, observed_at_);
  }
  if (!new_leader.empty() && new_leader != options_.identity && callbacks_.on_new_leader) {
    callbacks_.on_new_leader(new_leader);
  }
  if (action == LeaseAction::kWait) return false;

  Json lease = *current;
  Json& spec = lease["spec"];
  if (action != LeaseAction::kRenew) {
    spec["acquireTime"] = stamp;
    spec["leaseTransitions"] = record.holder_identity.empty() && record.lease_transitions == 0
                                   ? record.lease_transitions
                                   : record.lease_transitions + 1;
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = duration_s;
  spec["renewTime"] = stamp;
  // The resourceVersion we read is the precondition: a concurrent writer makes this a kConflict.
  auto updated = client_.update(resources::kLease, options_.lease_namespace, lease);
  if (!updated) {
    if (updated.error().code != common::ErrorCode::kConflict) {
      spdlog::warn("leader election {}: {} failed: {}", options_.lease_name, to_string(action),
                   updated.error().describe());
    }
    return false;
  }
  std::lock_guard lock(mu_);
  observed_ = LeaseRecord::from_lease(*updated);
  observed_at_ = now;
  last_renew_ = now;
  return true;
}

void LeaderElector::become_leader() {
  stopped_leading_ = false;
  leader_ = true;
  set_gauge(true);
  spdlog::info("leader election {}: {} became leader", options_.lease_name, options_.identity);
  // Stop acting the moment the renew deadline passes, even if a renew call is still hanging.
  watchdog_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested() && leader_.load()) {
      common::Clock::SteadyPoint deadline;
      {
        std::lock_guard lock(mu_);
        deadline = last_renew_ + options_.renew_deadline;
      }
      if (!clock_.sleep_until(deadline, stop)) return;
      bool expired;
      {
        std::lock_guard lock(mu_);
        expired = clock_.now() >= last_renew_ + options_.renew_deadline;
      }
      if (expired) {
        lose_leadership("the renew deadline passed without a successful renewal");
        return;
      }
    }
  });
  if (callbacks_.on_started_leading) callbacks_.on_started_leading();
}

bool LeaderElector::holds_lease() const {
  if (!leader_.load()) return false;
  std::lock_guard lock(mu_);
  return clock_.now() < last_renew_ + options_.renew_deadline;
}

void LeaderElector::lose_leadership(const char* why) {
  if (!leader_.exchange(false)) return;
  set_gauge(false);
  spdlog::warn("leader election {}: {} stopped leading: {}", options_.lease_name,
               options_.identity, why);
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

void LeaderElector::release() {
  auto current = client_.get(resources::kLease, options_.lease_namespace, options_.lease_name);
  if (!current) return;
  if (LeaseRecord::from_lease(*current).holder_identity != options_.identity) return;
  Json lease = *current;
  const std::string stamp = format_micro_time(clock_.wall_now());
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["acquireTime"] = stamp;
  lease["spec"]["renewTime"] = stamp;
  auto updated = client_.update(resources::kLease, options_.lease_namespace, lease);
  if (!updated) {
    spdlog::warn("leader election {}: releasing the Lease failed: {}", options_.lease_name,
                 updated.error().describe());
  }
}

void LeaderElector::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    if (try_acquire_or_renew()) break;
    // client-go's JitterUntil(retryPeriod, 1.2): wait in [retry, 2.2 * retry).
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
        options_.retry_period * (1.0 + 1.2 * random_.uniform()));
    if (!clock_.sleep_until(clock_.now() + delay, stop)) return;
  }
  if (stop.stop_requested()) return;
  become_leader();
  while (!stop.stop_requested() && leader_.load()) {
    if (!clock_.sleep_until(clock_.now() + options_.retry_period, stop)) break;
    if (!leader_.load()) break;
    if (try_acquire_or_renew()) continue;
    std::string holder = observed_holder();
    if (!holder.empty() && holder != options_.identity) {
      lose_leadership(("the Lease is held by " + holder).c_str());
    }
  }
  watchdog_.request_stop();
  if (watchdog_.joinable()) watchdog_.join();
  if (stop.stop_requested() && leader_.load() && options_.release_on_cancel) {
    // Stop acting first, then hand the Lease back.
    lose_leadership("stopping");
    release();
  }
  lose_leadership("stopping");
}

void LeaderElector::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void LeaderElector::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

}  // namespace okami::kube
