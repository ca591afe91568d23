#include "okami/children/job_objects.h"

#include <cctype>

#include "okami/backup/manifest.h"
#include "okami/children/desired_state.h"
#include "okami/children/object_builders.h"
#include "okami/names.h"

namespace okami::jobs {

namespace {

constexpr std::size_t kMaxName = 63;

Json identity_labels() {
  return {{names::kLabelName, kJobServiceAccount},
          {names::kLabelManagedBy, desired::kOperatorName},
          {names::kLabelPartOf, desired::kPartOf}};
}

Json owner_ref(const char* kind, const std::string& name, const std::string& uid) {
  return Json::array({{{"apiVersion", names::kApiVersion},
                       {"kind", kind},
                       {"name", name},
                       {"uid", uid},
                       {"controller", true},
                       {"blockOwnerDeletion", true}}});
}

Json volume_for_claim(const char* name, const std::string& claim, bool read_only) {
  return {{"name", name},
          {"persistentVolumeClaim", {{"claimName", claim}, {"readOnly", read_only}}}};
}

Json mount(const char* name, const char* path, bool read_only) {
  return {{"name", name}, {"mountPath", path}, {"readOnly", read_only}};
}

// A Job around one container running `okami-operator <args>`. Never retried by the Job
// controller: the operator decides what a failure means (a backup is retaken, a migration step
// is retried only when the admin asks).
Json job(const std::string& name, const v1alpha1::OkamiStack& stack, const Json& labels,
         const Json& owner, Json args, Json mounts, Json volumes, int64_t deadline_seconds,
         const JobSettings& settings) {
  Json container = {
      {"name", "okami-operator"},
      {"image", settings.operator_image},
      {"imagePullPolicy", "IfNotPresent"},
      {"command", Json::array({desired::kOperatorBinary})},
      {"args", std::move(args)},
      {"env", Json::array({{{"name", "TMPDIR"}, {"value", "/tmp"}}})},
      {"volumeMounts", std::move(mounts)},
      {"resources",
       {{"requests", {{"cpu", "100m"}, {"memory", "64Mi"}}}, {"limits", {{"memory", "512Mi"}}}}},
      {"securityContext", desired::container_security_context(true)}};
  container["securityContext"]["readOnlyRootFilesystem"] = true;
  container["volumeMounts"].push_back(mount("tmp", "/tmp", false));
  volumes.push_back({{"name", "tmp"}, {"emptyDir", Json::object()}});
  Json pod_meta = {{"labels", labels}};
  if (!settings.pod_annotations.empty()) {
    Json a = Json::object();
    for (const auto& [k, v] : settings.pod_annotations) a[k] = v;
    pod_meta["annotations"] = a;
  }
  // Chroma and the client run as uid/gid 1000 with fsGroup 1000, and so does every Job: the data
  // it reads and writes (archives, restored files, moved memories) stays theirs, and fsGroup
  // makes a fresh volume and the 0440 signing key readable. Every capability is dropped.
  Json pod_spec = {{"serviceAccountName", kJobServiceAccount},
                   {"restartPolicy", "Never"},
                   {"enableServiceLinks", false},
                   {"securityContext", desired::pod_security_context(true)},
                   {"containers", Json::array({container})},
                   {"volumes", std::move(volumes)}};
  Json pod_template = {{"metadata", pod_meta}, {"spec", pod_spec}};
  // Job pods mount the Chroma volume (or the volumes that go with it): they go where Chroma goes.
  desired::apply_pod_placement(pod_template, stack.spec.chroma.scheduling,
                               desired::pull_secret_names(stack, settings.image_pull_secrets));
  Json j = {{"apiVersion", "batch/v1"},
            {"kind", "Job"},
            {"metadata",
             {{"name", name}, {"namespace", stack.metadata.namespace_}, {"labels", labels}}},
            {"spec",
             {{"backoffLimit", 0},
              {"activeDeadlineSeconds", deadline_seconds},
              {"ttlSecondsAfterFinished", 7 * 24 * 3600},
              {"template", pod_template}}}};
  if (!owner.is_null()) j["metadata"]["ownerReferences"] = owner;
  return j;
}

Json job_labels(const v1alpha1::OkamiStack& stack, const char* component) {
  Json l = {{names::kLabelName, "okami-backup"},
            {names::kLabelInstance, stack.metadata.name},
            {names::kLabelComponent, component},
            {names::kLabelManagedBy, desired::kOperatorName},
            {names::kLabelPartOf, desired::kPartOf},
            {names::kLabelStack, stack.metadata.name}};
  return l;
}

}  // namespace

std::string job_name(const std::string& base, const std::string& suffix) {
  std::string name = base + "-" + suffix;
  if (name.size() <= kMaxName) return name;
  const std::string hash = backup::sha256_hex(name).substr(0, 8);
  const std::size_t keep = kMaxName - suffix.size() - hash.size() - 2;
  std::string head = base.substr(0, keep);
  while (!head.empty() && (head.back() == '-' || head.back() == '.')) head.pop_back();
  return head + "-" + hash + "-" + suffix;
}

std::vector<Json> job_identity(const std::string& ns) {
  Json sa = {{"apiVersion", "v1"},
             {"kind", "ServiceAccount"},
             {"metadata", {{"name", kJobServiceAccount}, {"namespace", ns}, {"labels", identity_labels()}}},
             {"automountServiceAccountToken", true}};
  Json role = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "Role"},
               {"metadata", {{"name", kJobServiceAccount}, {"namespace", ns}, {"labels", identity_labels()}}},
               {"rules",
                Json::array({{{"apiGroups", Json::array({names::kGroup})},
                              {"resources", Json::array({"okamibackups/status", "okamistacks/status"})},
                              {"verbs", Json::array({"get", "patch"})}}})}};
  Json binding = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                  {"kind", "RoleBinding"},
                  {"metadata", {{"name", kJobServiceAccount}, {"namespace", ns}, {"labels", identity_labels()}}},
                  {"roleRef",
                   {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", kJobServiceAccount}}},
                  {"subjects",
                   Json::array({{{"kind", "ServiceAccount"}, {"name", kJobServiceAccount}, {"namespace", ns}}})}};
  return {sa, role, binding};
}

Json signing_key_secret(const std::string& ns, const std::string& key) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", kSigningKeySecret}, {"namespace", ns}, {"labels", identity_labels()}}},
          {"type", "Opaque"},
          {"data", {{kSigningKeyItem, desired::base64(key)}}}};
}

std::string archive_path(const std::string& backup_name, const std::string& backup_uid) {
  return std::string(kBackupsMount) + "/" + backup_name + "-" + backup_uid.substr(0, 8) + ".tar";
}

Json archive_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                 const std::string& chroma_version, const JobSettings& settings) {
  const desired::ChildNames names(stack.metadata.name);
  Json labels = job_labels(stack, kArchiveComponent);
  labels[kLabelBackup] = backup.name;
  Json args = Json::array({"backup", "--data", kChromaSourceMount, "--memory", kMemorySourceMount,
                           "--out", archive_path(backup.name, backup.uid), "--stack-namespace",
                           stack.metadata.namespace_, "--stack-name", stack.metadata.name,
                           "--stack-uid", stack.metadata.uid, "--chroma-version", chroma_version,
                           "--report-backup", stack.metadata.namespace_ + "/" + backup.name});
  Json mounts = Json::array({mount("chroma-data", kChromaSourceMount, true),
                             mount("client-storage", kMemorySourceMount, true),
                             mount("backups", kBackupsMount, false)});
  Json volumes = Json::array({volume_for_claim("chroma-data", desired::active_chroma_data_pvc(stack), true),
                              volume_for_claim("client-storage", names.client_storage_pvc, true),
                              volume_for_claim("backups", names.backup_pvc, false)});
  return job(job_name(backup.name, "archive"), stack, labels,
             owner_ref("OkamiBackup", backup.name, backup.uid), std::move(args), std::move(mounts),
             std::move(volumes), kArchiveDeadlineSeconds, settings);
}

namespace {
Json key_volume() {
  return {{"name", "signing-key"},
          {"secret",
           {{"secretName", kSigningKeySecret},
            // Group-readable: the pod's fsGroup (1000) owns the file, the process runs in it.
            {"defaultMode", 0440},
            {"items", Json::array({{{"key", kSigningKeyItem}, {"path", kSigningKeyItem}}})}}}};
}
std::string key_file() { return std::string(kSigningKeyMount) + "/" + kSigningKeyItem; }
}  // namespace

Json verify_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                const JobSettings& settings) {
  const desired::ChildNames names(stack.metadata.name);
  Json labels = job_labels(stack, kVerifyComponent);
  labels[kLabelBackup] = backup.name;
  Json args = Json::array({"verify-backup", "--archive", archive_path(backup.name, backup.uid),
                           "--key-file", key_file(), "--expect-stack-uid", stack.metadata.uid,
                           "--report-backup", stack.metadata.namespace_ + "/" + backup.name});
  Json mounts = Json::array({mount("backups", kBackupsMount, true),
                             mount("signing-key", kSigningKeyMount, true)});
  Json volumes = Json::array({volume_for_claim("backups", names.backup_pvc, true), key_volume()});
  return job(job_name(backup.name, "verify"), stack, labels,
             owner_ref("OkamiBackup", backup.name, backup.uid), std::move(args), std::move(mounts),
             std::move(volumes), kVerifyDeadlineSeconds, settings);
}

std::string migration_verify_job_name(const std::string& stack, const std::string& to_version) {
  std::string v;
  for (char c : to_version) v += (std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
  return job_name(stack, "verify-" + v);
}

Json migration_verify_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                          const std::string& to_version, const JobSettings& settings) {
  const desired::ChildNames names(stack.metadata.name);
  Json labels = job_labels(stack, kMigrationVerifyComponent);
  labels[kLabelBackup] = backup.name;
  labels[names::kLabelVersion] = to_version;
  Json args = Json::array({"verify-migration", "--chroma-url", desired::chroma_endpoint(stack),
                           "--archive", archive_path(backup.name, backup.uid), "--key-file",
                           key_file(), "--expect-stack-uid", stack.metadata.uid,
                           "--chroma-version", to_version, "--report-stack",
                           stack.metadata.namespace_ + "/" + stack.metadata.name});
  Json mounts = Json::array({mount("backups", kBackupsMount, true),
                             mount("signing-key", kSigningKeyMount, true)});
  Json volumes = Json::array({volume_for_claim("backups", names.backup_pvc, true), key_volume()});
  return job(migration_verify_job_name(stack.metadata.name, to_version), stack, labels,
             owner_ref(v1alpha1::kOkamiStackKind, stack.metadata.name, stack.metadata.uid),
             std::move(args), std::move(mounts), std::move(volumes),
             kMigrationVerifyDeadlineSeconds, settings);
}

std::string restore_job_name(const std::string& stack, const std::string& backup) {
  return job_name(stack + "-restore", backup);
}

Json restore_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                 const JobSettings& settings) {
  const desired::ChildNames names(stack.metadata.name);
  Json labels = job_labels(stack, kRestoreComponent);
  labels[kLabelBackup] = backup.name;
  Json args = Json::array({"restore", "--archive", archive_path(backup.name, backup.uid),
                           "--target", kRestoreTargetMount});
  Json mounts = Json::array({mount("backups", kBackupsMount, true),
                             mount("target", kRestoreTargetMount, false)});
  Json volumes = Json::array({volume_for_claim("backups", names.backup_pvc, true),
                              volume_for_claim("target", desired::active_chroma_data_pvc(stack), false)});
  return job(restore_job_name(stack.metadata.name, backup.name), stack, labels,
             owner_ref(v1alpha1::kOkamiStackKind, stack.metadata.name, stack.metadata.uid),
             std::move(args), std::move(mounts), std::move(volumes), kRestoreDeadlineSeconds,
             settings);
}

std::string memory_reset_job_name(const std::string& stack, const std::string& token) {
  return job_name(stack, "reset-memories-" + backup::sha256_hex(token).substr(0, 8));
}

Json memory_reset_job(const v1alpha1::OkamiStack& stack, const std::string& token,
                      const JobSettings& settings) {
  const desired::ChildNames names(stack.metadata.name);
  Json labels = job_labels(stack, kMemoryResetComponent);
  Json args = Json::array({"reset-memories", "--storage", kMemorySourceMount, "--token", token});
  Json mounts = Json::array({mount("client-storage", kMemorySourceMount, false)});
  Json volumes = Json::array({volume_for_claim("client-storage", names.client_storage_pvc, false)});
  return job(memory_reset_job_name(stack.metadata.name, token), stack, labels,
             owner_ref(v1alpha1::kOkamiStackKind, stack.metadata.name, stack.metadata.uid),
             std::move(args), std::move(mounts), std::move(volumes), kMemoryResetDeadlineSeconds,
             settings);
}

std::string data_format_probe_job_name(const std::string& stack, const std::string& pvc_uid) {
  return job_name(stack, std::string("format-probe-") + backup::sha256_hex(pvc_uid).substr(0, 8));
}

Json data_format_probe_job(const v1alpha1::OkamiStack& stack, const std::string& pvc,
                           const std::string& pvc_uid, const JobSettings& settings) {
  Json labels = job_labels(stack, kDataFormatProbeComponent);
  Json args = Json::array({"probe-format", "--data", kChromaSourceMount});
  Json mounts = Json::array({mount("chroma-data", kChromaSourceMount, true)});
  Json volumes = Json::array({volume_for_claim("chroma-data", pvc, true)});
  Json j = job(data_format_probe_job_name(stack.metadata.name, pvc_uid), stack, labels,
               owner_ref(v1alpha1::kOkamiStackKind, stack.metadata.name, stack.metadata.uid),
               std::move(args), std::move(mounts), std::move(volumes),
               kDataFormatProbeDeadlineSeconds, settings);
  // The probe only reads files: no API identity at all. Its result is the termination message.
  Json& pod_spec = j["spec"]["template"]["spec"];
  pod_spec.erase("serviceAccountName");
  pod_spec["automountServiceAccountToken"] = false;
  Json& container = pod_spec["containers"][0];
  container["terminationMessagePath"] = "/dev/termination-log";
  container["terminationMessagePolicy"] = "File";
  j["metadata"]["annotations"] = {{kAnnotationProbedClaim, pvc}, {kAnnotationProbedClaimUid, pvc_uid}};
  return j;
}

JobState job_state(const Json& job) {
  JobState s;
  const Json status = job.value("status", Json::object());
  for (const auto& c : status.value("conditions", Json::array())) {
    if (c.value("status", "") != "True") continue;
    const std::string type = c.value("type", "");
    if (type == "Complete") {
      s.phase = JobState::Phase::kSucceeded;
      return s;
    }
    if (type == "Failed") {
      s.phase = JobState::Phase::kFailed;
      s.reason = c.value("reason", "");
      s.message = s.reason + ": " + c.value("message", "");
      return s;
    }
  }
  return s;
}

}  // namespace okami::jobs
