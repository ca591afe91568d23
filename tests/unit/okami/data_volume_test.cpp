// The data on disk decides (review #3): a Chroma volume the operator did not mark is never
// treated as fresh; it is read by name, not trusted from the label-filtered cache; its format is
// read from the data by a probe Job with no API token, reporting through its termination message;
// and the guard is told what the volume holds and the one migration allowed.
#include <gtest/gtest.h>

#include <variant>

#include "common/clock.h"
#include "kube/resource.h"
#include "kube/store.h"
#include "okami/children/desired_state.h"
#include "okami/children/job_objects.h"
#include "okami/chroma/format_probe.h"
#include "okami/controllers/stack_observation.h"
#include "okami/names.h"
#include "okami/upgrade/plan.h"
#include "unit/kube/fake_client.h"
#include "unit/okami/api_test_support.h"
#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami {
namespace {

using kube::Json;

const gate::CompatMatrix& matrix() {
  static const gate::CompatMatrix m = gate::CompatMatrix::builtin().value();
  return m;
}

v1alpha1::OkamiStack stack() {
  Json in = v1alpha1::testing::sample_stack();
  in["metadata"]["uid"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  auto s = v1alpha1::OkamiStack::load(in);
  EXPECT_TRUE(s.has_value());
  return s ? *s : v1alpha1::OkamiStack{};
}

// A new stack asking for Chroma 1.0.15 over a volume that already exists.
upgrade::PlanInput new_stack_on_existing_volume() {
  upgrade::PlanInput in;
  in.stack_name = "okami";
  in.stack_namespace = "okami";
  in.desired_chroma = "1.0.15";
  in.compatibility_passed = true;
  in.now = std::chrono::system_clock::now();
  return in;
}

TEST(DataVolumePlan, AnUnmarkedVolumeIsNeverFreshAndNothingRunsOnIt) {
  upgrade::PlanInput in = new_stack_on_existing_volume();
  in.data_format_unknown = true;  // the PVC exists, no okami.io/chroma-data-format
  in.probe_command = "kubectl -n okami logs job/okami-format-probe-1";
  const upgrade::Decision d = upgrade::decide(in, matrix());
  const auto* blocked = std::get_if<upgrade::Blocked>(&d);
  ASSERT_NE(blocked, nullptr) << upgrade::describe(d);
  EXPECT_EQ(std::string(upgrade::to_string(blocked->reason)), "ProbingDataFormat");
  EXPECT_EQ(blocked->next_command, in.probe_command);
  // Even with a running Chroma of the same version and a verified backup: unknown stays unknown.
  in.running_chroma = "1.0.15";
  in.verified_backup_annotation = "b";
  EXPECT_TRUE(std::holds_alternative<upgrade::Blocked>(upgrade::decide(in, matrix())));
}

TEST(DataVolumePlan, AFailedProbeBlocksWithItsReason) {
  upgrade::PlanInput in = new_stack_on_existing_volume();
  in.data_format_unknown = true;
  in.probe_failure = "holds files but no chroma.sqlite3";
  const upgrade::Decision d = upgrade::decide(in, matrix());
  const auto* blocked = std::get_if<upgrade::Blocked>(&d);
  ASSERT_NE(blocked, nullptr);
  EXPECT_EQ(blocked->reason, upgrade::BlockReason::kDataFormatProbeFailed);
  EXPECT_NE(blocked->message.find("no chroma.sqlite3"), std::string::npos);
}

TEST(DataVolumePlan, AProbed05VolumeUnderA1xSpecIsBlockedLikeOneTheOperatorMarked) {
  upgrade::PlanInput in = new_stack_on_existing_volume();
  in.data_format = "chroma-0.5";  // what the probe found, now the mark
  const upgrade::Decision d = upgrade::decide(in, matrix());
  const auto* blocked = std::get_if<upgrade::Blocked>(&d);
  ASSERT_NE(blocked, nullptr) << upgrade::describe(d);
  EXPECT_EQ(blocked->reason, upgrade::BlockReason::kBackupRequired);
  EXPECT_NE(blocked->next_command.find("OkamiBackup"), std::string::npos);
  // And the same data under a 0.5.23 spec runs as it is.
  in.desired_chroma = "0.5.23";
  EXPECT_TRUE(std::holds_alternative<upgrade::RollingUpdate>(upgrade::decide(in, matrix())));
}

Json pvc(const std::string& name, const std::string& uid, const std::string& mark, bool operator_label) {
  Json p = {{"apiVersion", "v1"},
            {"kind", "PersistentVolumeClaim"},
            {"metadata", {{"name", name}, {"namespace", "okami"}, {"uid", uid}}}};
  if (!mark.empty()) p["metadata"]["annotations"][names::kDataFormatAnnotation] = mark;
  if (operator_label) p["metadata"]["labels"][names::kLabelManagedBy] = "okami-operator";
  return p;
}

struct Stores {
  kube::Store stacks, backups, statefulsets, deployments, services, configmaps, secrets, nps, pvcs,
      pods, jobs;
  StackStores view() {
    return {&stacks, &backups, &statefulsets, &deployments, &services, &configmaps, &secrets,
            &nps, &pvcs, &pods, &jobs};
  }
};

TEST(DataVolumeObservation, APvcThatLeftTheCacheIsReadByNameWithItsMark) {
  const auto s = stack();
  const std::string name = desired::active_chroma_data_pvc(s);
  Stores stores;
  // A GitOps tool rewrote app.kubernetes.io/managed-by: the PVC is not in the filtered cache.
  StackObservation obs = observe_stack(stores.view(), s, "1.0.15");
  EXPECT_EQ(obs.chroma_volume, DataVolume::kAbsent);
  kube::testing::FakeClient client;
  client.put(kube::resources::kPersistentVolumeClaim, pvc(name, "uid-1", "chroma-0.5", false));
  ASSERT_TRUE(read_data_volume(client, s, obs));
  EXPECT_TRUE(obs.chroma_pvc_from_api);
  EXPECT_EQ(obs.chroma_volume, DataVolume::kMarked);
  EXPECT_EQ(obs.data_format, "chroma-0.5");
}

TEST(DataVolumeObservation, AnUnmarkedPvcInTheCacheIsReadAgainByName) {
  const auto s = stack();
  const std::string name = desired::active_chroma_data_pvc(s);
  Stores stores;
  auto view = stores.view();
  stores.pvcs.apply(pvc(name, "uid-1", "", true));  // the cache has not seen the mark yet
  StackObservation obs = observe_stack(view, s, "1.0.15");
  EXPECT_EQ(obs.chroma_volume, DataVolume::kUnmarked);
  EXPECT_EQ(obs.data_format, "");
  kube::testing::FakeClient client;
  client.put(kube::resources::kPersistentVolumeClaim, pvc(name, "uid-1", "chroma-0.5", true));
  ASSERT_TRUE(read_data_volume(client, s, obs));
  EXPECT_EQ(obs.data_format, "chroma-0.5");
}

TEST(DataVolumeObservation, OnlyTheEmptyMarkMeansFresh) {
  StackObservation obs;
  observe_data_pvc(pvc("p", "u", "", true), obs);
  EXPECT_EQ(obs.chroma_volume, DataVolume::kUnmarked);
  observe_data_pvc(pvc("p", "u", names::kDataFormatEmpty, true), obs);
  EXPECT_EQ(obs.chroma_volume, DataVolume::kEmpty);
  EXPECT_EQ(obs.data_format, "");
  observe_data_pvc(pvc("p", "u", "migrating:chroma-0.5:chroma-1.0", true), obs);
  EXPECT_EQ(obs.chroma_volume, DataVolume::kMarked);
  EXPECT_EQ(obs.data_format, "migrating:chroma-0.5:chroma-1.0");
}

TEST(DataVolumeObservation, AMarkedPvcInTheCacheCostsNoRequest) {
  const auto s = stack();
  Stores stores;
  auto view = stores.view();
  stores.pvcs.apply(pvc(desired::active_chroma_data_pvc(s), "uid-1", "chroma-1.0", true));
  StackObservation obs = observe_stack(view, s, "1.0.15");
  kube::testing::FakeClient client;
  client.fail_always("get", common::make_error(common::ErrorCode::kUnavailable, "no API"));
  ASSERT_TRUE(read_data_volume(client, s, obs));
  EXPECT_FALSE(obs.chroma_pvc_from_api);
  EXPECT_EQ(obs.data_format, "chroma-1.0");
}

TEST(DataFormatProbe, ReportsWhatTheDataSaysThroughOneParsableLine) {
  okami::testing::ScratchDir dir;
  okami::testing::write_chroma_db(dir / "present");
  auto present = chroma::parse_probe_message(
      chroma::to_message(chroma::probe_report(chroma::detect_data_format(dir / "present"))));
  ASSERT_TRUE(present);
  EXPECT_EQ(present->outcome, chroma::ProbeReport::Outcome::kPresent);
  EXPECT_EQ(present->format, "chroma-0.5");
  std::filesystem::create_directories(dir / "fresh" / "lost+found");
  auto empty = chroma::parse_probe_message(
      chroma::to_message(chroma::probe_report(chroma::detect_data_format(dir / "fresh"))));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->outcome, chroma::ProbeReport::Outcome::kEmpty);
  okami::testing::write_segment_files(dir / "lost", "seg", 10, 1);
  const std::string lost =
      chroma::to_message(chroma::probe_report(chroma::detect_data_format(dir / "lost")));
  EXPECT_LT(lost.size(), 4096u);
  auto unreadable = chroma::parse_probe_message(lost);
  ASSERT_TRUE(unreadable);
  EXPECT_EQ(unreadable->outcome, chroma::ProbeReport::Outcome::kUnreadable);
  // Anything else in a termination message is not a report.
  EXPECT_FALSE(chroma::parse_probe_message(""));
  EXPECT_FALSE(chroma::parse_probe_message("chroma-0.5"));
  EXPECT_FALSE(chroma::parse_probe_message(R"({"kind":"okami-data-format-probe","outcome":"present"})"));
  EXPECT_FALSE(chroma::parse_probe_message(R"({"kind":"okami-data-format-probe","outcome":"fresh"})"));
}

TEST(DataFormatProbe, TheJobReadsTheVolumeReadOnlyWithNoApiIdentity) {
  jobs::JobSettings settings;
  settings.operator_image = "registry.example/okami-operator:1.2.3";
  const auto s = stack();
  const Json job = jobs::data_format_probe_job(s, "okami-chroma-data", "uid-1", settings);
  EXPECT_EQ(job["metadata"]["name"], jobs::data_format_probe_job_name(s.metadata.name, "uid-1"));
  EXPECT_NE(jobs::data_format_probe_job_name(s.metadata.name, "uid-1"),
            jobs::data_format_probe_job_name(s.metadata.name, "uid-2"));
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["uid"], s.metadata.uid);
  EXPECT_GT(job["spec"]["activeDeadlineSeconds"].get<int64_t>(), 0);
  EXPECT_LE(job["spec"]["activeDeadlineSeconds"].get<int64_t>(), 3600);
  const Json& pod = job["spec"]["template"]["spec"];
  EXPECT_EQ(pod["automountServiceAccountToken"], false);
  EXPECT_FALSE(pod.contains("serviceAccountName"));
  EXPECT_EQ(pod["securityContext"]["runAsUser"], 1000);
  EXPECT_EQ(pod["securityContext"]["runAsGroup"], 1000);
  EXPECT_EQ(pod["securityContext"]["fsGroup"], 1000);
  bool data_read_only = false;
  for (const auto& v : pod["volumes"]) {
    if (v.contains("persistentVolumeClaim")) {
      EXPECT_EQ(v["persistentVolumeClaim"]["claimName"], "okami-chroma-data");
      data_read_only = v["persistentVolumeClaim"]["readOnly"] == true;
    }
  }
  EXPECT_TRUE(data_read_only);
  const Json& c = pod["containers"][0];
  EXPECT_EQ(c["args"][0], "probe-format");
  EXPECT_EQ(c["terminationMessagePath"], "/dev/termination-log");
  for (const auto& m : c["volumeMounts"]) {
    if (m["name"] == "chroma-data") {
      EXPECT_EQ(m["readOnly"], true);
    }
  }
}

Json guard_args(const desired::Inputs& inputs) {
  auto objects = desired::desired_objects(stack(), inputs);
  EXPECT_TRUE(objects.has_value());
  for (const auto& o : *objects) {
    if (o["kind"] == "StatefulSet") return o["spec"]["template"]["spec"]["initContainers"][0]["args"];
  }
  return Json::array();
}

std::string arg_after(const Json& args, const std::string& flag) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) return args[i + 1].get<std::string>();
  }
  return "<absent>";
}

TEST(DataVolumeGuard, TheGuardIsToldTheMarkAndTheOneAllowedMigration) {
  desired::Inputs inputs = desired::steady_state_inputs(stack(), "okami-operator:test");
  inputs.chroma_version = "1.0.15";
  Json plain = guard_args(inputs);
  EXPECT_EQ(arg_after(plain, "--expect-format"), "<absent>");
  EXPECT_EQ(arg_after(plain, "--allow-migration-to"), "<absent>");
  inputs.expected_data_format = "migrating:chroma-0.5:chroma-1.0";
  inputs.allow_migration_to = "chroma-1.0";
  Json migrating = guard_args(inputs);
  EXPECT_EQ(arg_after(migrating, "--expect-format"), "migrating:chroma-0.5:chroma-1.0");
  EXPECT_EQ(arg_after(migrating, "--allow-migration-to"), "chroma-1.0");
  EXPECT_EQ(arg_after(migrating, "--server-version"), "1.0.15");
}

}  // namespace
}  // namespace okami
