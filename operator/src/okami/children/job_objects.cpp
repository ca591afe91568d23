#include "okami/children/job_objects.h"

#include <algorithm>
#include <cctype>

#include "okami/backup/manifest.h"
#include "okami/backup/store/s3_protocol.h"
#include "okami/backup/stored_backup.h"
#include "okami/children/desired_state.h"
#include "okami/children/object_builders.h"
#include "okami/names.h"

namespace okami::jobs {

namespace {

constexpr std::size_t kMaxName = 63;
constexpr int64_t kMiB = 1024 * 1024;
// /tmp of the Jobs that keep nothing there.
constexpr int64_t kDefaultScratchBytes = 64 * kMiB;

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
         const JobSettings& settings, int64_t scratch_bytes = kDefaultScratchBytes) {
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
      {"terminationMessagePath", kTerminationLog},
      {"terminationMessagePolicy", "File"},
      {"securityContext", desired::container_security_context(true)}};
  container["securityContext"]["readOnlyRootFilesystem"] = true;
  container["args"].push_back("--termination-log");
  container["args"].push_back(kTerminationLog);
  container["volumeMounts"].push_back(mount("tmp", "/tmp", false));
  Json scratch = {{"sizeLimit", std::to_string(scratch_bytes)}};
  volumes.push_back({{"name", "tmp"}, {"emptyDir", scratch}});
  const std::string eph = std::to_string(scratch_bytes);
  container["resources"]["requests"]["ephemeral-storage"] = eph;
  container["resources"]["limits"]["ephemeral-storage"] = eph;
  Json pod_meta = {{"labels", labels}};
  if (!settings.pod_annotations.empty()) {
    Json a = Json::object();
    for (const auto& [k, v] : settings.pod_annotations) a[k] = v;
    pod_meta["annotations"] = a;
  }
  // Chroma and the client run as uid/gid 1000 with fsGroup 1000, and so does every Job: the data
  // it reads and writes (archives, restored files, moved memories) stays theirs, and fsGroup
  // makes a fresh volume readable. Every capability is dropped. No API token and no key: a Job
  // reports through its termination message and the operator signs what it reports.
  Json pod_spec = {{"automountServiceAccountToken", false},
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

std::string text_or(const Json& j, const char* key, const char* fallback) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) return fallback;
  return it->get<std::string>();
}

// The client's view of an objectStore object (no keys: the Job reads them from its Secret).
backup::ObjectStoreConfig store_config(const Json& object_store) {
  backup::ObjectStoreConfig c;
  c.endpoint = text_or(object_store, "endpoint", "");
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  c.bucket = text_or(object_store, "bucket", "");
  c.prefix = text_or(object_store, "prefix", "");
  c.region = text_or(object_store, "region", "us-east-1");
  return c;
}

// Points a Job's command at the stored backup: the --object-store-* flags and --backup-name, the
// credentials Secret (and the CA bundle's) mounted read-only, readable by the Job's group only.
// The operator never reads these Secrets; the kubelet mounts them for the pod.
void use_store(const StoredLocation& stored, Json& args, Json& mounts, Json& volumes) {
  const backup::ObjectStoreConfig c = store_config(stored.object_store);
  const Json creds = stored.object_store.value("credentials", Json::object());
  const std::string access = text_or(creds, "accessKeyIdKey", "accessKeyId");
  const std::string secret = text_or(creds, "secretAccessKeyKey", "secretAccessKey");
  const std::string dir = kObjectStoreCredentialsMount;
  for (const std::string& a : {std::string("--object-store-endpoint"), c.endpoint, std::string("--object-store-bucket"),
                               c.bucket, std::string("--object-store-region"), c.region,
                               std::string("--object-store-access-key-file"), dir + "/" + access,
                               std::string("--object-store-secret-key-file"), dir + "/" + secret}) {
    args.push_back(a);
  }
  if (!c.prefix.empty()) {
    args.push_back("--object-store-prefix");
    args.push_back(c.prefix);
  }
  Json items = Json::array({{{"key", access}, {"path", access}}});
  if (secret != access) items.push_back({{"key", secret}, {"path", secret}});
  volumes.push_back({{"name", "object-store-credentials"},
                     {"secret", {{"secretName", text_or(creds, "secretName", "")}, {"defaultMode", 0440}, {"items", items}}}});
  mounts.push_back(mount("object-store-credentials", kObjectStoreCredentialsMount, true));
  const Json ca = stored.object_store.value("caBundle", Json());
  if (ca.is_object()) {
    const std::string key = text_or(ca, "key", "ca.crt");
    volumes.push_back({{"name", "object-store-ca"},
                       {"secret", {{"secretName", text_or(ca, "secretName", "")},
                                   {"defaultMode", 0444},
                                   {"items", Json::array({{{"key", key}, {"path", key}}})}}}});
    mounts.push_back(mount("object-store-ca", kObjectStoreCaMount, true));
    args.push_back("--object-store-ca-file");
    args.push_back(std::string(kObjectStoreCaMount) + "/" + key);
  }
  args.push_back("--backup-name");
  args.push_back(stored.name);
}

// Points a Job that reads `backup` at its archive: the stored backup, or --archive with the
// backups volume mounted read-only.
void read_archive(const BackupRef& backup, const desired::ChildNames& names, Json& args, Json& mounts,
                  Json& volumes) {
  if (backup.stored) {
    use_store(*backup.stored, args, mounts, volumes);
    return;
  }
  args.push_back("--archive");
  args.push_back(archive_path(backup.name, backup.uid));
  mounts.push_back(mount("backups", kBackupsMount, true));
  volumes.push_back(volume_for_claim("backups", names.backup_pvc, true));
}

}  // namespace

std::string stored_backup_name(const std::string& backup_name, const std::string& backup_uid) {
  return backup_name + "-" + backup_uid.substr(0, 8);
}

std::string archive_location(const BackupRef& backup) {
  if (!backup.stored) return archive_path(backup.name, backup.uid);
  return backup::display_url(store_config(backup.stored->object_store),
                             backup::stored_archive_key(backup.stored->name, backup::Compression::kNone));
}

std::string job_name(const std::string& base, const std::string& suffix) {
  std::string name = base + "-" + suffix;
  if (name.size() <= kMaxName) return name;
  const std::string hash = backup::sha256_hex(name).substr(0, 8);
  const std::size_t keep = kMaxName - suffix.size() - hash.size() - 2;
  std::string head = base.substr(0, keep);
  while (!head.empty() && (head.back() == '-' || head.back() == '.')) head.pop_back();
  return head + "-" + hash + "-" + suffix;
}

int64_t verify_scratch_bytes(int64_t archive_bytes) {
  const int64_t wanted = archive_bytes + archive_bytes / 10 + 64 * kMiB;
  return std::max<int64_t>(wanted, 256 * kMiB);
}

std::string archive_path(const std::string& backup_name, const std::string& backup_uid) {
  return std::string(kBackupsMount) + "/" + backup_name + "-" + backup_uid.substr(0, 8) + ".tar";
}

Json archive_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                 const std::string& chroma_version, const JobSettings& settings,
                 bool beside_running_chroma) {
  const desired::ChildNames names(stack.metadata.name);
  Json labels = job_labels(stack, kArchiveComponent);
  labels[kLabelBackup] = backup.name;
  Json args = Json::array({"backup", "--data", kChromaSourceMount, "--memory", kMemorySourceMount,
                           "--stack-namespace", stack.metadata.namespace_, "--stack-name",
                           stack.metadata.name, "--stack-uid", stack.metadata.uid, "--chroma-version",
                           chroma_version});
  Json mounts = Json::array({mount("chroma-data", kChromaSourceMount, true),
                             mount("client-storage", kMemorySourceMount, true),
                             mount("backups", kBackupsMount, false)});
  Json volumes = Json::array({volume_for_claim("chroma-data", desired::active_chroma_data_pvc(stack), true),
                              volume_for_claim("client-storage", names.client_storage_pvc, true),
                              volume_for_claim("backups", names.backup_pvc, false)});
  if (backup.stored) {
    // The archive streams into the store; only the database snapshot touches a disk, on the
    // backups volume (sized for archives), never in the pod's small scratch space.
    use_store(*backup.stored, args, mounts, volumes);
    args.push_back("--temp-dir");
    args.push_back(kBackupsMount);
  } else {
    args.push_back("--out");
    args.push_back(archive_path(backup.name, backup.uid));
  }
  Json j = job(job_name(backup.name, "archive"), stack, labels,
               owner_ref("OkamiBackup", backup.name, backup.uid), std::move(args), std::move(mounts),
               std::move(volumes), kArchiveDeadlineSeconds, settings);
  if (beside_running_chroma) {
    Json& pod_affinity = j["spec"]["template"]["spec"]["affinity"]["podAffinity"];
    pod_affinity["requiredDuringSchedulingIgnoredDuringExecution"].push_back(
        {{"labelSelector", {{"matchLabels", desired::selector_labels(stack, desired::kChromaComponent)}}},
         {"topologyKey", "kubernetes.io/hostname"}});
  }
  return j;
}

Json verify_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                const JobSettings& settings) {
  const desired::ChildNames names(stack.metadata.name);
  Json labels = job_labels(stack, kVerifyComponent);
  labels[kLabelBackup] = backup.name;
  Json args = Json::array({"verify-backup"});
  Json mounts = Json::array();
  Json volumes = Json::array();
  read_archive(backup, names, args, mounts, volumes);
  // An imported backup has no checksum yet and is another stack's: the Job reports both.
  if (!backup.archive_sha256.empty()) {
    args.push_back("--expect-sha256");
    args.push_back(backup.archive_sha256);
  }
  if (!backup.any_stack) {
    args.push_back("--expect-stack-uid");
    args.push_back(stack.metadata.uid);
  }
  return job(job_name(backup.name, "verify"), stack, labels,
             owner_ref("OkamiBackup", backup.name, backup.uid), std::move(args), std::move(mounts),
             std::move(volumes), kVerifyDeadlineSeconds, settings,
             verify_scratch_bytes(backup.archive_bytes));
}

Json archive_removal_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                         const JobSettings& settings) {
  const desired::ChildNames names(stack.metadata.name);
  Json labels = job_labels(stack, kArchiveRemovalComponent);
  labels[kLabelBackup] = backup.name;
  Json args = Json::array({"remove-archive"});
  Json mounts = Json::array();
  Json volumes = Json::array();
  if (backup.stored) {
    use_store(*backup.stored, args, mounts, volumes);
  } else {
    for (const std::string& a : {std::string("--backups"), std::string(kBackupsMount), std::string("--archive"),
                                 archive_path(backup.name, backup.uid)}) {
      args.push_back(a);
    }
    mounts.push_back(mount("backups", kBackupsMount, false));
    volumes.push_back(volume_for_claim("backups", names.backup_pvc, false));
  }
  return job(job_name(backup.name, "remove"), stack, labels,
             owner_ref("OkamiBackup", backup.name, backup.uid), std::move(args), std::move(mounts),
             std::move(volumes), kArchiveRemovalDeadlineSeconds, settings);
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
                           "--expect-sha256", backup.archive_sha256, "--expect-stack-uid",
                           stack.metadata.uid, "--chroma-version", to_version});
  Json mounts = Json::array();
  Json volumes = Json::array();
  read_archive(backup, names, args, mounts, volumes);
  return job(migration_verify_job_name(stack.metadata.name, to_version), stack, labels,
             owner_ref(v1alpha1::kOkamiStackKind, stack.metadata.name, stack.metadata.uid),
             std::move(args), std::move(mounts), std::move(volumes),
             kMigrationVerifyDeadlineSeconds, settings, verify_scratch_bytes(backup.archive_bytes));
}

std::string restore_job_name(const std::string& stack, const std::string& backup) {
  return job_name(stack + "-restore", backup);
}

Json restore_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                 const JobSettings& settings) {
  const desired::ChildNames names(stack.metadata.name);
  Json labels = job_labels(stack, kRestoreComponent);
  labels[kLabelBackup] = backup.name;
  Json args = Json::array({"restore", "--target", kRestoreTargetMount, "--expect-sha256",
                           backup.archive_sha256, "--expect-stack-uid", backup.stack_uid,
                           "--expect-format", backup.data_format});
  Json mounts = Json::array({mount("target", kRestoreTargetMount, false)});
  Json volumes = Json::array({volume_for_claim("target", desired::active_chroma_data_pvc(stack), false)});
  read_archive(backup, names, args, mounts, volumes);
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

namespace {

bool controlled_by(const Json& pod, const std::string& job_uid) {
  for (const auto& o : pod["metadata"].value("ownerReferences", Json::array())) {
    if (o.value("kind", "") == "Job" && o.value("uid", "") == job_uid && o.value("controller", false)) return true;
  }
  return false;
}

// The pod runs what the Job's template says: same image, command and args, same volumes.
bool runs_template(const Json& pod, const Json& job) {
  const Json want = job["spec"]["template"]["spec"];
  const Json have = pod.value("spec", Json::object());
  const Json wc = want.value("containers", Json::array());
  const Json hc = have.value("containers", Json::array());
  if (wc.size() != 1 || hc.size() != 1) return false;
  if (have.value("initContainers", Json::array()).size() != want.value("initContainers", Json::array()).size()) {
    return false;
  }
  for (const char* field : {"image", "command", "args", "volumeMounts"}) {
    if (wc[0].value(field, Json()) != hc[0].value(field, Json())) return false;
  }
  if (hc[0].value("terminationMessagePath", "") != kTerminationLog) return false;
  // Volumes: every volume the template names, with the same source (the API server may add
  // defaults to other fields, never other volumes).
  const Json wv = want.value("volumes", Json::array());
  const Json hv = have.value("volumes", Json::array());
  if (wv.size() != hv.size()) return false;
  for (std::size_t i = 0; i < wv.size(); ++i) {
    if (wv[i].value("name", "") != hv[i].value("name", "")) return false;
    if (wv[i].contains("persistentVolumeClaim") &&
        wv[i]["persistentVolumeClaim"] != hv[i].value("persistentVolumeClaim", Json())) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<JobReport> job_report(const Json& job, const std::vector<std::shared_ptr<const Json>>& pods) {
  const std::string uid = job["metadata"].value("uid", "");
  if (uid.empty()) return std::nullopt;
  for (const auto& pod : pods) {
    if (!pod || !controlled_by(*pod, uid) || !runs_template(*pod, job)) continue;
    for (const auto& c : pod->value("status", Json::object()).value("containerStatuses", Json::array())) {
      const Json t = c.value("state", Json::object()).value("terminated", Json());
      if (!t.is_object()) continue;
      JobReport r;
      r.exit_code = t.value("exitCode", -1);
      r.message = t.value("message", "");
      return r;
    }
  }
  return std::nullopt;
}

}  // namespace okami::jobs
