// The OkamiStack reconciler in steady state, driven as the operator runs it (fake apiserver,
// caches filled from it, fake clock): a new stack gets its children and conditions, a converged
// stack costs no write, and an apiserver that refuses a write gets an error or a condition, never
// a crash, and a retry.
#include <gtest/gtest.h>

#include <algorithm>

#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::testing {
namespace {

using common::ErrorCode;

bool has_write(const std::vector<kube::testing::FakeClient::Write>& writes, const std::string& verb,
               const std::string& kind, const std::string& name) {
  return std::any_of(writes.begin(), writes.end(), [&](const auto& w) {
    return w.verb == verb && w.kind == kind && w.name == name;
  });
}

std::string describe(const std::vector<kube::testing::FakeClient::Write>& writes) {
  std::string out;
  for (const auto& w : writes)
    out += w.verb + " " + w.kind + " " + w.name + (w.ok ? "" : " (refused)") + "; ";
  return out;
}

// Review #25: an older operator version left a Job ServiceAccount, Role, RoleBinding and a copy of
// the master signing key in each stack's namespace. They go with the first reconcile of a stack
// there, whether or not a Job ever runs in it again; objects of the same name without the
// operator's labels are someone else's and stay.
TEST(StackReconciler, WhatAnOlderVersionLeftInTheNamespaceGoesWithoutAJobAndOnlyIfItIsOurs) {
  ReconcilerHarness h;
  const Json legacy_labels = {{names::kLabelName, jobs::kLegacyJobIdentity},
                              {names::kLabelManagedBy, desired::kOperatorName}};
  auto leave = [&](const kube::ResourceType& type, const std::string& name, const Json& labels) {
    h.client.put(type, Json{{"apiVersion", type.api_version()},
                            {"kind", type.kind},
                            {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", labels}}}});
  };
  leave(res::kServiceAccount, jobs::kLegacyJobIdentity, legacy_labels);
  leave(res::kRole, jobs::kLegacyJobIdentity, legacy_labels);
  leave(res::kRoleBinding, jobs::kLegacyJobIdentity, legacy_labels);
  leave(res::kSecret, jobs::kLegacySigningKeySecret, legacy_labels);
  h.create_stack(new_stack());
  ASSERT_TRUE(h.settle_stack());
  EXPECT_FALSE(h.get(res::kServiceAccount, jobs::kLegacyJobIdentity));
  EXPECT_FALSE(h.get(res::kRole, jobs::kLegacyJobIdentity));
  EXPECT_FALSE(h.get(res::kRoleBinding, jobs::kLegacyJobIdentity));
  EXPECT_FALSE(h.get(res::kSecret, jobs::kLegacySigningKeySecret)) << "the key copy stayed";
  EXPECT_TRUE(h.client.objects(res::kJob).empty()) << "no Job was needed for the sweep";

  // An object of that name without the operator's labels is someone else's: it stays.
  ReconcilerHarness other;
  other.client.put(res::kServiceAccount,
                   Json{{"apiVersion", "v1"},
                        {"kind", "ServiceAccount"},
                        {"metadata", {{"name", jobs::kLegacyJobIdentity}, {"namespace", kNs}}}});
  other.create_stack(new_stack());
  ASSERT_TRUE(other.settle_stack());
  EXPECT_TRUE(other.get(res::kServiceAccount, jobs::kLegacyJobIdentity)) << "a user's object was deleted";
}

TEST(StackReconciler, ANewStackGetsItsWorkloadsServicesAndAnEmptyMarkedVolume) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();

  auto sts = h.get(res::kStatefulSet, "okami-chroma");
  ASSERT_TRUE(sts);
  EXPECT_EQ((*sts)["spec"]["template"]["metadata"]["labels"][names::kLabelVersion], "0.5.23");
  EXPECT_TRUE(h.get(res::kDeployment, "okami-ollama"));
  EXPECT_TRUE(h.get(res::kDeployment, "okami-client"));
  EXPECT_TRUE(h.get(res::kService, "okami-chroma"));
  EXPECT_TRUE(h.get(res::kService, "okami-ollama"));
  // Every child is owned by the stack, so it goes with it.
  const std::string uid = h.stack()["metadata"]["uid"];
  EXPECT_EQ((*sts)["metadata"]["ownerReferences"][0]["uid"], uid);
  // The data volume is created by the operator, so it is known to hold nothing, and marked with
  // the format the server about to run writes before that server runs.
  auto pvc = h.get(res::kPersistentVolumeClaim, "okami-chroma-data");
  ASSERT_TRUE(pvc);
  EXPECT_EQ((*pvc)["metadata"]["annotations"][names::kDataFormatAnnotation], "chroma-0.5");
}

TEST(StackReconciler, ANewStackIsReconcilingAndNotReadyUntilItsWorkloadsAre) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  auto ready = condition_of(h.stack(), "Ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, "False");
  auto reconciling = condition_of(h.stack(), "Reconciling");
  ASSERT_TRUE(reconciling);
  EXPECT_EQ(reconciling->status, "True");
  // Waiting for rollouts is polled.
  ASSERT_TRUE(r->requeue_after());
  EXPECT_EQ(*r->requeue_after(), h.stack_options.progress_poll);
}

TEST(StackReconciler, AStackWhoseWorkloadsRunBecomesReadyWithAnEvent) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  auto ready = condition_of(h.stack(), "Ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, "True") << ready->message;
  EXPECT_EQ(condition_of(h.stack(), "Reconciling")->status, "False");
  const auto reasons = h.event_reasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "Ready"), reasons.end());
  // A converged stack is looked at again only on the resync period.
  ASSERT_TRUE(r->requeue_after());
  EXPECT_EQ(*r->requeue_after(), h.stack_options.resync);
}

TEST(StackReconciler, AConvergedStackCostsNoWriteOnTheNextReconcile) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  h.client.clear_writes();
  const Json before = h.stack();
  auto r = h.reconcile_stack();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(h.client.writes().empty()) << describe(h.client.writes());
  EXPECT_EQ(h.stack(), before);
}

TEST(StackReconciler, AStackWaitingForItsWorkloadsCostsNoWriteOnceItsChildrenAreCached) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  ASSERT_TRUE(h.settle_stack());
  ASSERT_TRUE(h.reconcile_stack());  // sees its children in the caches: phase Progressing
  EXPECT_EQ(h.stack()["status"]["phase"], "Progressing");
  h.client.clear_writes();
  const Json before = h.stack();
  ASSERT_TRUE(h.reconcile_stack());
  EXPECT_TRUE(h.client.writes().empty()) << describe(h.client.writes());
  EXPECT_EQ(h.stack()["status"], before["status"]);
}

TEST(StackReconciler, AChromaThatStopsBeingReadyLosesItsRunningVersionAndCostsOneWrite) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  ASSERT_EQ(h.stack()["status"]["chroma"]["runningVersion"], "0.5.23");
  // The Chroma pod goes unready.
  Json sts = *h.get(res::kStatefulSet, "okami-chroma");
  sts["status"]["readyReplicas"] = 0;
  h.client.put(res::kStatefulSet, sts);
  ASSERT_TRUE(h.reconcile_stack());
  EXPECT_FALSE(h.stack()["status"]["chroma"].contains("runningVersion"))
      << "status must not claim a Chroma runs: " << h.stack()["status"]["chroma"].dump();
  // And once written, the status is not written again while nothing changes.
  h.client.clear_writes();
  ASSERT_TRUE(h.reconcile_stack());
  EXPECT_TRUE(h.client.writes().empty()) << describe(h.client.writes());
}

TEST(StackReconciler, AChildChangedByHandIsAppliedBackAndOnlyThatOne) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  Json client_deploy = *h.get(res::kDeployment, "okami-client");
  client_deploy["spec"]["template"]["spec"]["containers"][0]["image"] = "evil/client:latest";
  h.client.put(res::kDeployment, client_deploy);
  h.client.clear_writes();
  ASSERT_TRUE(h.reconcile_stack());
  const auto writes = h.object_writes();
  EXPECT_TRUE(has_write(writes, "apply", "Deployment", "okami-client")) << describe(writes);
  EXPECT_FALSE(has_write(writes, "apply", "StatefulSet", "okami-chroma")) << describe(writes);
  EXPECT_EQ((*h.get(res::kDeployment,
                    "okami-client"))["spec"]["template"]["spec"]["containers"][0]["image"],
            "ghcr.io/okami/okami-client:1.0.0");
}

TEST(StackReconciler, AChildAppliedWithAFieldTheOperatorNoLongerSendsIsAppliedOnceAgain) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  // The Service as an older operator left it: a label it sent then and sends no more, and no
  // record of what it applied. Every field sent now is still there.
  Json svc = *h.get(res::kService, "okami-chroma");
  svc["metadata"]["labels"]["okami.io/legacy"] = "x";
  svc["metadata"]["annotations"] = Json::object();
  h.client.put(res::kService, svc);
  h.client.clear_writes();
  ASSERT_TRUE(h.reconcile_stack());
  auto writes = h.object_writes();
  EXPECT_TRUE(has_write(writes, "apply", "Service", "okami-chroma")) << describe(writes);
  EXPECT_FALSE(has_write(writes, "apply", "Service", "okami-ollama")) << describe(writes);
  // Applied once, it is steady again.
  h.client.clear_writes();
  ASSERT_TRUE(h.reconcile_stack());
  EXPECT_TRUE(h.client.writes().empty()) << describe(h.client.writes());
}

TEST(StackReconciler, ASpecChangeWithinAFormatRollsChromaInPlace) {
  ReconcilerHarness h;
  h.create_stack(new_stack("0.5.20"));
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  h.edit_stack({{"spec", {{"chroma", {{"version", "0.5.23"}}}}}});
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(
      (*h.get(res::kStatefulSet,
              "okami-chroma"))["spec"]["template"]["metadata"]["labels"][names::kLabelVersion],
      "0.5.23");
  EXPECT_FALSE(h.stack()["status"].contains("migration")) << h.stack()["status"].dump();
}

TEST(StackReconciler, ADeletedStackIsLeftAloneWithoutAWrite) {
  ReconcilerHarness h;
  h.client.clear_writes();
  auto r = h.reconcile_stack();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->requeue_after());
  EXPECT_TRUE(h.client.writes().empty());
}

TEST(StackReconciler, ASpecNoChildCanBeBuiltFromStallsWithInvalidSpec) {
  ReconcilerHarness h;
  Json s = new_stack();
  s["spec"]["chroma"]["version"] = "not-a-version";
  h.create_stack(s);
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->requeue_after());  // retried when the spec changes
  auto stalled = condition_of(h.stack(), "Stalled");
  ASSERT_TRUE(stalled) << h.stack()["status"].dump();
  EXPECT_EQ(stalled->status, "True");
  EXPECT_EQ(stalled->reason, "InvalidSpec");
  EXPECT_FALSE(h.get(res::kStatefulSet, "okami-chroma"));
}

// --- refused writes -------------------------------------------------------------------------

TEST(StackReconciler, AForbiddenApplyStallsWithTheRefusalAndRetriesOnItsPeriod) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  h.client.fail_always("apply",
                       common::make_error(ErrorCode::kForbidden,
                                          "statefulsets.apps is forbidden: User cannot create"));
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << "a refusal is reported, not returned: " << r.error().describe();
  ASSERT_TRUE(r->requeue_after());
  EXPECT_EQ(*r->requeue_after(), h.stack_options.forbidden_retry);
  auto stalled = condition_of(h.stack(), "Stalled");
  ASSERT_TRUE(stalled) << h.stack()["status"].dump();
  EXPECT_EQ(stalled->status, "True");
  EXPECT_EQ(stalled->reason, "Forbidden");
  EXPECT_NE(stalled->message.find("statefulsets.apps is forbidden"), std::string::npos);
  const auto reasons = h.event_reasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "Forbidden"), reasons.end());

  // Once the permission is granted the stack converges on its own.
  h.client.fail_always("apply", std::nullopt);
  ASSERT_TRUE(h.settle_stack());
  EXPECT_TRUE(h.get(res::kStatefulSet, "okami-chroma"));
  EXPECT_NE(condition_of(h.stack(), "Stalled")->status, "True");
}

TEST(StackReconciler, AnApplyTheApiserverFindsInvalidStallsWithInvalidSpec) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  h.client.fail_always("apply", common::make_error(ErrorCode::kInvalid,
                                                   "StatefulSet.apps \"okami-chroma\" is invalid"));
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->requeue_after());
  auto stalled = condition_of(h.stack(), "Stalled");
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->reason, "InvalidSpec");
  EXPECT_NE(stalled->message.find("is invalid"), std::string::npos);
}

TEST(StackReconciler, AConflictOnTheStatusWriteIsReturnedForARetryAndTheNextPassSucceeds) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  h.client.fail_next("patch",
                     common::make_error(ErrorCode::kConflict, "the object has been modified"));
  kube::ReconcileResult first = kube::Action::await_change();
  // The first patch is the PVC's format mark or the status: either way an error comes back.
  for (int i = 0; i < 5 && first; ++i) first = h.reconcile_stack();
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(first.error().retryable());
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(condition_of(h.stack(), "Ready"));
}

TEST(StackReconciler, ARefusedDataVolumeCreateLeavesNoWorkloadBehind) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  h.client.fail_next("create", common::make_error(ErrorCode::kInvalid, "storage class unknown"));
  auto r = h.reconcile_stack();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalid);
  // Nothing may run before the volume it runs on is known.
  EXPECT_FALSE(h.get(res::kStatefulSet, "okami-chroma"));
  ASSERT_TRUE(h.settle_stack());
  EXPECT_TRUE(h.get(res::kStatefulSet, "okami-chroma"));
}

TEST(StackReconciler, ANamespaceBeingDeletedIsNotReportedAsAMissingPermission) {
  ReconcilerHarness h;
  h.create_stack(new_stack());
  h.client.fail_always("create",
                       common::make_error(ErrorCode::kForbidden,
                                          "unable to create new content in namespace okami "
                                          "because it is being terminated"));
  auto r = h.reconcile_stack();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->requeue_after());
  EXPECT_FALSE(condition_of(h.stack(), "Stalled"));
}

}  // namespace
}  // namespace okami::testing
