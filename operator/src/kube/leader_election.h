// Leader election beside the pipeline: only the replica holding the coordination.k8s.io/v1
// Lease runs its controllers. Acquire/renew use optimistic concurrency (resourceVersion); a
// leader that cannot renew within the renew deadline stops acting at once; a clean stop releases
// the Lease (holder cleared, duration 1 s) so a standby takes over quickly. Expiry is judged
// from when *this* process last saw the record change (its own monotonic clock), never from the
// other holder's timestamps, so clock skew between nodes does not matter (as in client-go).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"
#include "kube/client.h"
#include "kube/events.h"  // format_micro_time
#include "kube/metrics.h"

namespace okami::kube {

// The parts of a Lease's spec that election reads and writes.
struct LeaseRecord {
  std::string holder_identity;
  int lease_duration_seconds = 0;
  std::string acquire_time;  // MicroTime text, as stored
  std::string renew_time;
  int lease_transitions = 0;
  std::string resource_version;

  static LeaseRecord from_lease(const Json& lease);
  // True when the election-relevant fields match (resourceVersion is ignored).
  bool same_record(const LeaseRecord& other) const;
};

enum class LeaseAction {
  kCreate,   // there is no Lease: create it holding it
  kRenew,    // we hold it: renew
  kAcquire,  // it is free or expired: take it over
  kWait,     // someone else holds a live lease
};
const char* to_string(LeaseAction action);

// The pure decision. `observed_at` is when this process last saw the record change; the record
// is expired once its own leaseDurationSeconds have passed since then.
LeaseAction decide_lease_action(const std::optional<LeaseRecord>& observed,
                                const std::string& identity, common::Clock::SteadyPoint now,
                                common::Clock::SteadyPoint observed_at);

struct LeaderElectionOptions {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per process, e.g. "<pod name>_<random>"
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
  bool release_on_cancel = true;
};

struct LeaderCallbacks {
  std::function<void()> on_started_leading = nullptr;  // called on the elector's thread
  // Called once when leadership ends (lost or released), possibly from the watchdog thread.
  // Stop acting here: leadership is already gone.
  std::function<void()> on_stopped_leading = nullptr;
  std::function<void(const std::string&)> on_new_leader = nullptr;  // a different holder was observed
};

class LeaderElector {
 public:
  LeaderElector(Client& client, LeaderElectionOptions options, LeaderCallbacks callbacks,
                common::Clock& clock, common::Random& random, MetricsRegistry* metrics = nullptr);
  ~LeaderElector();  // stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // One attempt: read the Lease, decide, create or update it. Blocks on the API calls. True when
  // this process holds the Lease afterwards (conflicts and API errors count as false).
  bool try_acquire_or_renew();

  // Runs the election on its own thread: retry acquiring every retry period (jittered), then
  // renew every retry period until stopped or lost. After losing leadership the thread ends
  // (the process should exit and start afresh, as controller-runtime does).
  void start();
  // Stops the election; a leader releases the Lease first when release_on_cancel is set. Joins.
  void stop();

  bool is_leader() const { return leader_.load(); }
  // True while this process leads and its last successful renewal is younger than the renew
  // deadline. Turns false the instant the deadline passes, before the watchdog wakes (a process
  // paused past it, or a worker racing the watchdog, sees false at once). The write fence.
  bool holds_lease() const;
  std::string observed_holder() const;

 private:
  void run(std::stop_token stop);
  void become_leader();
  void lose_leadership(const char* why);
  void release();
  void set_gauge(bool leading);

  Client& client_;
  LeaderElectionOptions options_;
  LeaderCallbacks callbacks_;
  common::Clock& clock_;
  common::Random& random_;
  MetricsRegistry* metrics_;

  mutable std::mutex mu_;
  std::optional<LeaseRecord> observed_;
  common::Clock::SteadyPoint observed_at_{};
  common::Clock::SteadyPoint last_renew_{};
  std::atomic<bool> leader_{false};
  std::atomic<bool> stopped_leading_{false};
  std::jthread thread_;
  std::jthread watchdog_;
};

}  // namespace okami::kube
