// The Chroma data volume's format, never assumed: a volume the operator creates is marked empty
// at creation; a volume it did not mark (pre-created, restored from a snapshot, its mark removed)
// is read by the data-format probe Job before any Chroma runs on it, and marked with what the
// data says. Only an empty volume is fresh.
#include <spdlog/spdlog.h>

#include "kube/json_fields.h"
#include "okami/chroma/format_probe.h"
#include "okami/controllers/stack_reconciler.h"
#include "okami/controllers/stack_reconciler_detail.h"
#include "okami/names.h"

namespace okami {

using common::ErrorCode;
using common::Result;
using common::Status;
using kube::Json;
namespace res = kube::resources;

using namespace stack_detail;

namespace {

// The termination message of the probe container of `job`'s pod, from the pod cache; nullopt
// while no finished pod of that Job (and no other) is there.
std::optional<std::string> probe_message(kube::Store& pods, const std::string& ns,
                                         const std::string& job_name, const std::string& job_uid) {
  for (const auto& pod : pods.by_index(kube::kIndexLabel, kube::label_index_value("job-name", job_name))) {
    const Json& meta = (*pod)["metadata"];
    if (meta.value("namespace", "") != ns) continue;
    bool owned = false;
    for (const auto& o : meta.value("ownerReferences", Json::array())) {
      if (o.value("kind", "") == "Job" && o.value("uid", "") == job_uid) owned = true;
    }
    if (!owned) continue;
    for (const auto& cs : (*pod).value("status", Json::object()).value("containerStatuses", Json::array())) {
      const Json terminated = cs.value("state", Json::object()).value("terminated", Json::object());
      if (terminated.empty()) continue;
      return terminated.value("message", "");
    }
  }
  return std::nullopt;
}

}  // namespace

Status StackReconciler::create_data_volume(const v1alpha1::OkamiStack& stack,
                                           const desired::Inputs& inputs, StackObservation& obs) {
  auto objects = desired::desired_objects(stack, inputs);
  // A spec that builds no child creates no volume either; apply_desired reports it (InvalidSpec).
  if (!objects) return common::ok();
  const std::string name = desired::active_chroma_data_pvc(stack);
  for (Json pvc : *objects) {
    if (pvc.value("kind", "") != "PersistentVolumeClaim" || str(pvc["metadata"], "name") != name) continue;
    // Created by the operator, so known to hold nothing: the only fresh volume there is.
    pvc["metadata"]["annotations"][names::kDataFormatAnnotation] = names::kDataFormatEmpty;
    auto r = client_.create(res::kPersistentVolumeClaim, stack.metadata.namespace_, pvc);
    if (!r) {
      // Someone else created it meanwhile: it is not known to be empty; the next pass reads it.
      return common::fail(r.error());
    }
    observe_data_pvc(*r, obs);
    return common::ok();
  }
  return common::fail(ErrorCode::kInternal, "the desired children hold no Chroma data PVC " + name);
}

Result<bool> StackReconciler::learn_data_format(const Json& raw, const v1alpha1::OkamiStack& stack,
                                                StackObservation& obs, upgrade::PlanInput& pi) {
  const std::string& ns = stack.metadata.namespace_;
  const std::string pvc = desired::active_chroma_data_pvc(stack);
  const std::string job_name = jobs::data_format_probe_job_name(stack.metadata.name, obs.chroma_pvc_uid);
  const std::string kubectl = "kubectl -n " + ns + " ";
  pi.data_format_unknown = true;
  pi.probe_command = kubectl + "logs job/" + job_name;
  auto job = stores_.jobs->get(ns, job_name);
  if (!job) {
    auto r = client_.create(res::kJob, ns,
                            jobs::data_format_probe_job(stack, pvc, obs.chroma_pvc_uid, options_.job_settings));
    if (!r && r.error().code != ErrorCode::kAlreadyExists) return common::fail(r.error());
    event(raw, kube::EventType::kNormal, "ProbingDataFormat",
          "Volume " + pvc + " has no " + names::kDataFormatAnnotation +
              " mark: Job " + job_name + " reads its data format before any Chroma runs on it");
    return false;
  }
  const jobs::JobState js = jobs::job_state(*job);
  if (js.phase == jobs::JobState::Phase::kRunning) return false;
  const std::string retry = kubectl + "logs job/" + job_name + "; " + kubectl + "delete job " +
                            job_name + "   # to probe again";
  auto message = probe_message(*stores_.pods, ns, job_name, str((*job)["metadata"], "uid"));
  if (!message && js.phase == jobs::JobState::Phase::kSucceeded) return false;  // pod not seen yet
  auto report = message ? chroma::parse_probe_message(*message)
                        : Result<chroma::ProbeReport>(common::fail(ErrorCode::kNotFound, "no report"));
  if (js.phase == jobs::JobState::Phase::kFailed || !report ||
      report->outcome == chroma::ProbeReport::Outcome::kUnreadable) {
    pi.probe_failure = report ? report->detail
                              : "the probe Job " + job_name + " " +
                                    (js.phase == jobs::JobState::Phase::kFailed ? "failed (" + js.message + ")"
                                                                                : "reported nothing") +
                                    (message ? ": " + report.error().message : std::string());
    pi.probe_command = retry;
    return false;
  }
  const std::string mark =
      report->outcome == chroma::ProbeReport::Outcome::kEmpty ? names::kDataFormatEmpty : report->format;
  // The uid makes the patch a precondition: the mark lands on the claim the probe read, or nowhere.
  Json patch = {{"metadata",
                 {{"uid", obs.chroma_pvc_uid}, {"annotations", {{names::kDataFormatAnnotation, mark}}}}}};
  auto r = client_.patch(res::kPersistentVolumeClaim, ns, pvc, kube::PatchType::kMerge, patch);
  if (!r) return common::fail(r.error());
  spdlog::info("OkamiStack {}/{}: volume {} holds {}: marked {}", ns, stack.metadata.name, pvc,
               report->detail, mark);
  event(raw, kube::EventType::kNormal, "DataFormatProbed",
        "Volume " + pvc + " holds " + report->detail + ": marked " + names::kDataFormatAnnotation +
            "=" + mark);
  kube::DeleteOptions opts;
  opts.precondition_uid = str((*job)["metadata"], "uid");
  opts.propagation_policy = "Background";
  if (auto d = client_.remove(res::kJob, ns, job_name, opts); !d && d.error().code != ErrorCode::kNotFound) {
    spdlog::warn("OkamiStack {}/{}: probe Job {} not deleted: {}", ns, stack.metadata.name, job_name,
                 d.error().describe());
  }
  observe_data_pvc(*r, obs);
  pi.data_format_unknown = false;
  return true;
}

}  // namespace okami
