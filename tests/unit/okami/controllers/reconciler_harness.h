// A cluster in a test for the stack and backup reconcilers: the fake apiserver, the caches its
// watches would fill (mirrored from it by sync(), with the operator's label filters), a fake
// clock, and the reconcilers built the way app/operator_wiring.cpp builds them. Helpers play the
// other actors: the workload controllers and kubelet (run_workloads) and the Job controller
// (finish_job, which leaves the pod's termination report).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kube/conditions.h"
#include "kube/events.h"
#include "kube/resource.h"
#include "kube/store.h"
#include "okami/api/resource_types.h"
#include "okami/backup/acceptance.h"
#include "okami/children/desired_state.h"
#include "okami/controllers/backup_reconciler.h"
#include "okami/controllers/stack_reconciler.h"
#include "okami/gate/compat_matrix.h"
#include "okami/names.h"
#include "unit/kube/fake_client.h"

namespace okami::testing {

using kube::Json;
namespace res = kube::resources;

inline const std::string kSigningKey = "0123456789abcdef0123456789abcdef";
inline const std::string kNs = "okami";
inline const std::string kStack = "okami";

inline const gate::CompatMatrix& builtin_matrix() {
  static const gate::CompatMatrix m = gate::CompatMatrix::builtin().value();
  return m;
}

// Only the required fields, Chroma 0.5.23 without auth, no schedule.
inline Json new_stack(const std::string& chroma = "0.5.23") {
  return Json{{"apiVersion", names::kApiVersion},
              {"kind", "OkamiStack"},
              {"metadata", {{"name", kStack}, {"namespace", kNs}, {"generation", 1}}},
              {"spec",
               {{"chroma", {{"version", chroma}}},
                {"ollama", {{"version", "0.4.7"}, {"embeddingModel", "mxbai-embed-large"}}},
                {"client", {{"image", "ghcr.io/okami/okami-client"}, {"version", "1.0.0"}}}}}};
}

inline std::optional<kube::Condition> condition_of(const Json& object, const std::string& type) {
  return kube::find_condition(
      object.value("status", Json::object()).value("conditions", Json::array()), type);
}

// What a verify Job reports in its termination message about an archive of `stack_uid`.
inline std::string verify_report(const std::string& stack_uid, const std::string& sha256,
                                 const std::string& data_format = "chroma-0.5") {
  backup::VerificationResult r;
  r.checked_at = "2020-01-01T00:00:00Z";  // the operator stamps its own time when it signs
  r.archive_sha256 = sha256;
  r.sqlite_integrity = "ok";
  r.collections_match = true;
  r.manifest_digest = std::string(64, 'b');
  r.stack_uid = stack_uid;
  r.data_format = data_format;
  r.verified = true;
  return backup::to_json(r);
}
inline const std::string kArchiveSha = std::string(64, 'a');

// An OkamiBackup of `stack` as the operator leaves it once verified: its result sealed with
// `key` at `checked_at` (the harness key unless a test forges one).
inline Json verified_backup(const Json& stack, const std::string& name,
                            common::Clock::WallPoint checked_at,
                            const std::string& key = kSigningKey,
                            const std::string& data_format = "chroma-0.5") {
  const std::string uid = "uid-backup-" + name;
  const std::string path = jobs::archive_path(name, uid);
  const std::string at = common::format_rfc3339(checked_at);
  BackupBinding binding{kNs, name, uid, path, kArchiveSha, stack["metadata"]["uid"]};
  auto sealed = seal_backup_result(verify_report(binding.stack_uid, kArchiveSha, data_format),
                                   binding, at, key);
  EXPECT_TRUE(sealed) << sealed.error().describe();
  Json conditions =
      Json::array({{{"type", "Complete"}, {"status", "True"}, {"reason", "Verified"}},
                   {{"type", "Verified"}, {"status", "True"}, {"reason", "Verified"}}});
  return Json{{"apiVersion", names::kApiVersion},
              {"kind", "OkamiBackup"},
              {"metadata", {{"name", name}, {"namespace", kNs}, {"uid", uid}}},
              {"spec", {{"stackRef", stack["metadata"]["name"]}}},
              {"status",
               {{"phase", "Verified"},
                {"finishedAt", at},
                {"archive", {{"path", path}, {"sha256", kArchiveSha}, {"sizeBytes", 4096}}},
                {"verification",
                 {{"checksum", kArchiveSha},
                  {"signature", sealed->signature},
                  {"signedResult", backup::to_json(*sealed)}}},
                {"conditions", conditions}}}};
}

class ReconcilerHarness {
 public:
  ReconcilerHarness() {
    stack_options.signing_key = kSigningKey;
    stack_options.job_settings.operator_image = stack_options.operator_image;
    backup_options.signing_key = kSigningKey;
    backup_options.job_settings = stack_options.job_settings;
    sync();
  }

  kube::testing::FakeClient client;
  common::FakeClock clock;
  kube::EventRecorder events{client, clock, kube::EventRecorderOptions{}};
  StackReconcilerOptions stack_options;
  BackupReconcilerOptions backup_options;
  // One store per watch of the stack controller, and the backup controller's own two.
  kube::Store stacks, backups, statefulsets, deployments, services, configmaps, secrets,
      network_policies, pvcs, pods, jobs, backup_primary, backup_jobs;

  StackStores stack_stores() {
    StackStores s;
    s.stacks = &stacks;
    s.backups = &backups;
    s.statefulsets = &statefulsets;
    s.deployments = &deployments;
    s.services = &services;
    s.configmaps = &configmaps;
    s.secrets = &secrets;
    s.network_policies = &network_policies;
    s.pvcs = &pvcs;
    s.pods = &pods;
    s.jobs = &jobs;
    return s;
  }

  // What the watches deliver: every store holds what the apiserver holds now (children only
  // with the operator's managed-by label, as the label-filtered watches see them).
  void sync() {
    mirror(kOkamiStackType, stacks, false);
    mirror(kOkamiBackupType, backups, false);
    mirror(kOkamiBackupType, backup_primary, false);
    mirror(res::kStatefulSet, statefulsets, true);
    mirror(res::kDeployment, deployments, true);
    mirror(res::kService, services, true);
    mirror(res::kConfigMap, configmaps, true);
    mirror(res::kSecret, secrets, true);
    mirror(res::kNetworkPolicy, network_policies, true);
    mirror(res::kPersistentVolumeClaim, pvcs, true);
    mirror(res::kPod, pods, true);
    mirror(res::kJob, jobs, true);
    mirror(res::kJob, backup_jobs, true);
  }

  // The reconcilers as the operator holds them; restart() drops them, as a crash would.
  StackReconciler& stack_reconciler() {
    if (!stack_) {
      const std::string key = stack_options.signing_key;
      BackupSignatureCheck check = [key](const Json& b) { return accept_backup(b, key); };
      stack_ = std::make_unique<StackReconciler>(client, stack_stores(), events, clock,
                                                 builtin_matrix(), check, stack_options);
    }
    return *stack_;
  }
  BackupReconciler& backup_reconciler() {
    if (!backup_) {
      BackupStores b;
      b.backups = &backup_primary;
      b.jobs = &backup_jobs;
      b.stack = stack_stores();
      backup_ = std::make_unique<BackupReconciler>(client, b, events, clock, backup_options);
    }
    return *backup_;
  }
  void restart() {
    stack_.reset();
    backup_.reset();
  }

  // One reconcile of the stack over caches that have caught up, then the caches catch up again.
  kube::ReconcileResult reconcile_stack() {
    sync();
    auto r = stack_reconciler().reconcile(kube::ObjectRef{kNs, kStack}, {});
    sync();
    return r;
  }
  kube::ReconcileResult reconcile_backup(const std::string& name) {
    sync();
    auto r = backup_reconciler().reconcile(kube::ObjectRef{kNs, name}, {});
    sync();
    return r;
  }
  // Reconciles while the reconciler asks to be called again at once (a step recorded, an effect
  // taken: a requeue of at most 100ms); returns the first other result. At most `limit` passes.
  kube::ReconcileResult settle_stack(int limit = 20) {
    kube::ReconcileResult r = kube::Action::await_change();
    for (int i = 0; i < limit; ++i) {
      r = reconcile_stack();
      if (!r || !r->requeue_after() || *r->requeue_after() > std::chrono::milliseconds(100))
        return r;
    }
    ADD_FAILURE() << "the stack did not settle within " << limit << " reconciles";
    return r;
  }

  // The apiserver stamps creationTimestamp; the fake does not know the time, so the harness does.
  Json create_stack(Json stack) {
    stack["metadata"]["creationTimestamp"] = common::format_rfc3339(clock.wall_now());
    return client.put(kOkamiStackType, std::move(stack));
  }
  Json stack() const { return *client.object(kOkamiStackType, kNs, kStack); }
  // The user edits the stack: `patch` merged into it, generation bumped as the apiserver does.
  void edit_stack(const Json& patch) {
    Json s = stack();
    s.merge_patch(patch);
    s["metadata"]["generation"] = s["metadata"].value("generation", 1) + 1;
    client.put(kOkamiStackType, s);
  }
  std::optional<Json> get(const kube::ResourceType& type, const std::string& name) const {
    return client.object(type, kNs, name);
  }

  // The workload controllers and the kubelet at once: each StatefulSet and Deployment runs
  // spec.replicas Ready pods of its template and reports itself rolled out.
  void run_workloads() {
    for (const auto* type : {&res::kStatefulSet, &res::kDeployment}) {
      for (Json w : client.objects(*type)) {
        const std::string name = w["metadata"].value("name", "");
        for (const auto& p : client.objects(res::kPod)) {
          const std::string pname = p["metadata"].value("name", "");
          if (pname.rfind(name + "-pod-", 0) == 0) client.erase(res::kPod, kNs, pname);
        }
        const int replicas = w["spec"].value("replicas", 1);
        for (int i = 0; i < replicas; ++i) {
          Json pod = {{"metadata",
                       {{"namespace", kNs},
                        {"name", name + "-pod-" + std::to_string(i)},
                        {"labels", w["spec"]["template"]["metadata"]["labels"]}}},
                      {"spec", w["spec"]["template"]["spec"]},
                      {"status", {{"phase", "Running"}}}};
          client.put(res::kPod, pod);
        }
        w["status"] = {{"observedGeneration", w["metadata"].value("generation", 0)},
                       {"replicas", replicas},
                       {"updatedReplicas", replicas},
                       {"readyReplicas", replicas},
                       {"availableReplicas", replicas}};
        client.put(*type, w);
      }
    }
  }

  // The Job controller: `name` finished (Complete or Failed at the clock's time) and its pod
  // terminated with `report` as termination message.
  void finish_job(const std::string& name, bool succeeded, const std::string& report,
                  int exit_code = -1, const std::string& failed_reason = "BackoffLimitExceeded") {
    Json job = *get(res::kJob, name);
    const std::string now = common::format_rfc3339(clock.wall_now());
    job["status"] = {{"conditions", Json::array({{{"type", succeeded ? "Complete" : "Failed"},
                                                  {"status", "True"},
                                                  {"reason", succeeded ? "" : failed_reason},
                                                  {"message", succeeded ? "" : "the Job failed"},
                                                  {"lastTransitionTime", now}}})},
                     {succeeded ? "succeeded" : "failed", 1}};
    client.put(res::kJob, job);
    if (report.empty() && exit_code < 0) return;  // a pod that left nothing behind
    Json labels = job["spec"]["template"]["metadata"].value("labels", Json::object());
    labels["job-name"] = name;
    labels["batch.kubernetes.io/job-name"] = name;
    Json pod = {{"metadata",
                 {{"namespace", kNs},
                  {"name", name + "-run"},
                  {"labels", labels},
                  {"ownerReferences", Json::array({{{"apiVersion", "batch/v1"},
                                                    {"kind", "Job"},
                                                    {"name", name},
                                                    {"uid", job["metadata"]["uid"]},
                                                    {"controller", true}}})}}},
                {"spec", job["spec"]["template"]["spec"]}};
    Json terminated = {{"exitCode", exit_code < 0 ? (succeeded ? 0 : 1) : exit_code},
                       {"message", report}};
    Json container = {{"name", "main"}, {"state", {{"terminated", terminated}}}};
    pod["status"] = {{"phase", succeeded ? "Succeeded" : "Failed"},
                     {"containerStatuses", Json::array({container})}};
    client.put(res::kPod, pod);
  }

  // The write requests since the last clear_writes(), but Events.
  std::vector<kube::testing::FakeClient::Write> object_writes() const {
    std::vector<kube::testing::FakeClient::Write> out;
    for (const auto& w : client.writes()) {
      if (w.kind != "Event") out.push_back(w);
    }
    return out;
  }
  // The reasons of the Events recorded so far, in order.
  std::vector<std::string> event_reasons() const {
    std::vector<std::string> out;
    for (const auto& e : client.objects(res::kEvent)) out.push_back(e.value("reason", ""));
    return out;
  }

 private:
  void mirror(const kube::ResourceType& type, kube::Store& store, bool managed_only) {
    std::vector<Json> items;
    for (auto& obj : client.objects(type)) {
      const Json labels = obj["metadata"].value("labels", Json::object());
      if (managed_only && labels.value(names::kLabelManagedBy, "") != desired::kOperatorName)
        continue;
      items.push_back(std::move(obj));
    }
    store.replace(std::move(items));
  }

  std::unique_ptr<StackReconciler> stack_;
  std::unique_ptr<BackupReconciler> backup_;
};

}  // namespace okami::testing
