// OkamiStack (okami.io/v1alpha1): the C++ mirror of crds/okamistacks.okami.io.yaml. The
// reconciler decodes every watched object with OkamiStack::from_json (unknown or mistyped fields
// become a Stalled condition, not a crash), applies the CRD's defaults and validates, then hands
// the spec to the desired-state builders and writes `status` back through to_json.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "okami/api/api_types.h"
#include "okami/api/pod_scheduling.h"

namespace okami::v1alpha1 {

inline constexpr const char* kOkamiStackKind = "OkamiStack";

// The defaults the CRD schema declares; a unit test checks them against the YAML.
namespace defaults {
inline constexpr const char* kChromaImage = "chromadb/chroma";
inline constexpr const char* kChromaStorageSize = "10Gi";
inline constexpr bool kChromaAuthEnabled = true;
inline constexpr const char* kOllamaImage = "ollama/ollama";
inline constexpr const char* kOllamaStorageSize = "20Gi";
inline constexpr int64_t kGpuCount = 0;
inline constexpr const char* kGpuResourceName = "nvidia.com/gpu";
inline constexpr const char* kOllamaKeepAlive = "5m";
inline constexpr int64_t kClientReplicas = 1;
inline constexpr const char* kClientStorageSize = "1Gi";
inline constexpr const char* kMaxBackupAge = "24h";
inline constexpr bool kFinalBackup = false;
inline constexpr const char* kBackupStorageSize = "20Gi";
inline constexpr int64_t kBackupRetain = 7;
inline constexpr bool kBackupSuspend = false;
inline constexpr bool kPaused = false;
inline constexpr bool kAllowForeignStack = false;
inline constexpr const char* kObjectStoreRegion = "us-east-1";
inline constexpr const char* kAccessKeyIdKey = "accessKeyId";
inline constexpr const char* kSecretAccessKeyKey = "secretAccessKey";
inline constexpr const char* kCaBundleKey = "ca.crt";
}  // namespace defaults

// Environment variables the operator derives for the client from the stack itself; spec.client.env
// may not set them (they would drift from the servers they point at).
inline constexpr std::array<const char*, 13> kReservedClientEnv = {
    "OLLAMA_HOST",
    "OLLAMA_API_BASE",
    "OLLAMA_BASE_URL",
    "OLLAMA_API_BASE_URL",
    "CHROMA_HOST",
    "CHROMA_PORT",
    "CHROMA_SERVER_AUTHN_CREDENTIALS",
    "CHROMA_AUTH_TOKEN",
    "CHROMA_CLIENT_AUTH_PROVIDER",
    "CHROMA_CLIENT_AUTH_CREDENTIALS",
    "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER",
    "EMBEDDING_MODEL",
    "CREWAI_STORAGE_DIR",
};

// status.phase values.
namespace phase {
inline constexpr const char* kPending = "Pending";
inline constexpr const char* kProgressing = "Progressing";
inline constexpr const char* kReady = "Ready";
inline constexpr const char* kUpgradeBlocked = "UpgradeBlocked";
inline constexpr const char* kMigrating = "Migrating";
inline constexpr const char* kDegraded = "Degraded";
inline constexpr const char* kRestoring = "Restoring";
}  // namespace phase
inline constexpr std::array<const char*, 7> kStackPhases = {
    phase::kPending,   phase::kProgressing, phase::kReady,    phase::kUpgradeBlocked,
    phase::kMigrating, phase::kDegraded,    phase::kRestoring};

// status.conditions types.
namespace condition {
inline constexpr const char* kReady = "Ready";
inline constexpr const char* kReconciling = "Reconciling";
inline constexpr const char* kStalled = "Stalled";
inline constexpr const char* kCompatibilityGate = "CompatibilityGate";
inline constexpr const char* kBackupVerified = "BackupVerified";
inline constexpr const char* kUpgradeBlocked = "UpgradeBlocked";
inline constexpr const char* kDegraded = "Degraded";
inline constexpr const char* kModelsReady = "ModelsReady";
// Present (True) only while a spec'd volume size is not applied: a shrink, which the operator
// never does, or an expansion the apiserver refused.
inline constexpr const char* kVolumeResizeBlocked = "VolumeResizeBlocked";
}  // namespace condition

// --- spec -------------------------------------------------------------------------------------
struct ChromaAuthSpec {
  std::optional<bool> enabled;  // token auth on 0.x servers; 1.x is protected by NetworkPolicy
};

struct ChromaSpec {
  std::string version;               // required semver, also the image tag
  std::optional<std::string> image;  // repository without tag
  StorageSpec storage;
  ResourceRequirements resources;
  ChromaAuthSpec auth;
  PodScheduling scheduling;  // also for the guard, the backup/verify/restore/reset Jobs
};

struct GpuSpec {
  std::optional<int64_t> count;
  std::optional<std::string> resource_name;
};

struct OllamaSpec {
  std::string version;  // required semver, also the image tag
  std::optional<std::string> image;
  std::optional<std::vector<std::string>> models;
  std::string embedding_model;  // required
  StorageSpec storage;
  GpuSpec gpu;
  std::optional<std::string> keep_alive;
  ResourceRequirements resources;
  PodScheduling scheduling;

  // models plus the embedding model, without duplicates, in spec order.
  std::vector<std::string> models_to_pull() const;
};

// PEP 440 specifiers of the Python packages baked into the client image ("==0.5.23").
struct ClientPackages {
  std::optional<std::string> chromadb;
  std::optional<std::string> crewai;
  std::optional<std::string> crewai_tools;  // JSON key "crewai-tools"
  std::optional<std::string> ollama;

  bool empty() const { return !chromadb && !crewai && !crewai_tools && !ollama; }
};

struct ClientSpec {
  std::string image;    // required repository without tag
  std::string version;  // required image tag
  std::optional<int64_t> replicas;
  ClientPackages packages;
  StorageSpec storage;
  std::vector<EnvVar> env;
  ResourceRequirements resources;
  PodScheduling scheduling;
  std::optional<HealthCheck> health_check;  // the readinessProbe; none when unset
};

struct UpgradeSpec {
  std::optional<std::string> max_backup_age;  // Go duration text
  std::optional<bool> final_backup;
};

// The Secret with the object store's keys. It is mounted into the backup Jobs only; the operator
// itself never reads it.
struct ObjectStoreCredentials {
  std::string secret_name;                           // required, same namespace
  std::optional<std::string> access_key_id_key;      // default "accessKeyId"
  std::optional<std::string> secret_access_key_key;  // default "secretAccessKey"
  bool operator==(const ObjectStoreCredentials&) const = default;
};

// A Secret key holding the PEM bundle that verifies an https endpoint.
struct ObjectStoreCA {
  std::string secret_name;         // required, same namespace
  std::optional<std::string> key;  // default "ca.crt"
  bool operator==(const ObjectStoreCA&) const = default;
};

// spec.backup.objectStore: an S3-compatible bucket the archives go to instead of the backups
// volume. The same shape is recorded in an OkamiBackup's status.archive (without defaults).
struct ObjectStoreSpec {
  std::string endpoint;  // required: http(s)://host[:port], no path
  std::string bucket;    // required
  std::optional<std::string> prefix;
  std::optional<std::string> region;  // default "us-east-1"
  ObjectStoreCredentials credentials;
  std::optional<ObjectStoreCA> ca_bundle;

  bool operator==(const ObjectStoreSpec&) const = default;

  std::string region_or_default() const;
  std::string access_key_id_key_or_default() const;
  std::string secret_access_key_key_or_default() const;
  std::string ca_key_or_default() const;  // "ca.crt" also when there is no caBundle

  // Strict decoding of the object alone (paths in errors are relative to it). Errors:
  // kInvalidArgument with one FieldCause per unknown, mistyped or missing required field.
  static common::Result<ObjectStoreSpec> from_json(const Json& object);
  Json to_json() const;
  // Decoding inside an enclosing object (errors carry the reader's path).
  void read(ObjectReader& r);
  // Fills region, the credential keys and the CA key as the stack's schema defaults them.
  void apply_defaults();
  // The schema's patterns and lengths; path names this object ("spec.backup.objectStore").
  void validate(const std::string& path, FieldErrors& errors) const;
};

struct BackupSpec {
  StorageSpec storage;
  std::optional<std::string> schedule;   // cron: five fields or an @ macro (okami/schedule/cron.h)
  std::optional<std::string> time_zone;  // IANA name the schedule is read in; UTC when unset
  std::optional<bool> suspend;           // true: the schedule creates no backup
  // A run missed by more than this many seconds (the operator was down) is skipped; unset: the
  // most recent missed run is made up once, however late.
  std::optional<int64_t> starting_deadline_seconds;
  std::optional<int64_t> retain;  // Verified scheduled backups kept
  // Unset: archives stay on the backups volume.
  std::optional<ObjectStoreSpec> object_store;
};

struct RestoreSpec {
  std::string from_backup;  // OkamiBackup name in the same namespace
  // True: the backup may come from another stack (another UID), such as one imported from the
  // object store into a new namespace or cluster. Default false.
  std::optional<bool> allow_foreign_stack;
};

struct OkamiStackSpec {
  ChromaSpec chroma;
  OllamaSpec ollama;
  ClientSpec client;
  UpgradeSpec upgrade;
  BackupSpec backup;
  std::optional<RestoreSpec> restore;
  std::optional<bool> paused;
  // Added to every pod the operator creates for the stack (Chroma, Ollama, client, Jobs).
  std::vector<LocalObjectReference> image_pull_secrets;
};

// --- status -----------------------------------------------------------------------------------
struct ChromaStatus {
  std::optional<std::string> running_version;
  std::optional<std::string> data_format;
  std::optional<std::string> endpoint;
  std::optional<std::string> auth_mode;  // "Token", "NetworkPolicy", "None"
};

// A spec model that is not on the Ollama server yet: its pull runs or failed (and is retried).
struct ModelPull {
  std::string name;
  std::string state;  // "Pulling" or "Failed"
  std::optional<std::string> message;
  std::optional<std::string> last_attempt;  // RFC 3339
};

struct OllamaStatus {
  std::optional<std::string> running_version;
  std::vector<std::string> models;  // the spec's models present on the server (/api/tags)
  std::vector<ModelPull> model_pulls;
  std::optional<int64_t> embedding_dimension;
};

struct ClientStatus {
  std::optional<std::string> running_version;
};

struct MigrationStatus {
  std::optional<std::string> step;
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::optional<std::string> backup_ref;
  std::optional<std::string> attempt_id;  // operator-chosen id the signed verification names
  std::optional<std::string> started_at;
  std::optional<std::string> finished_at;
  std::optional<std::string> message;
  // The signed MigrationResult the post-migration verify Job reported (migration_verify.h): the
  // Verify step passes only when its signature checks out under the operator's key.
  std::optional<std::string> verification;
};

struct VerifiedBackupRef {
  std::string name;
  std::optional<std::string> finished_at;
  std::optional<std::string> sha256;
};

struct BackupRunRef {
  std::string name;
  std::optional<std::string> time;    // RFC 3339: when it became Verified, or Failed
  std::optional<std::string> reason;  // lastFailure only
};

// status.backup: the schedule's record.
struct BackupScheduleStatus {
  std::optional<std::string> last_schedule_time;  // RFC 3339 of the last scheduled run created
  std::optional<std::string> next_schedule_time;
  std::optional<BackupRunRef> last_successful_backup;
  std::optional<BackupRunRef> last_failure;
};

struct OkamiStackStatus {
  std::optional<int64_t> observed_generation;
  std::optional<std::string> phase;
  std::optional<ChromaStatus> chroma;
  std::optional<OllamaStatus> ollama;
  std::optional<ClientStatus> client;
  std::optional<MigrationStatus> migration;
  std::optional<VerifiedBackupRef> last_verified_backup;
  std::optional<BackupScheduleStatus> backup;
  std::vector<Condition> conditions;

  Json to_json() const;
};

struct OkamiStack {
  ObjectMeta metadata;
  OkamiStackSpec spec;
  OkamiStackStatus status;

  // Strict decoding. Errors: kInvalidArgument with one FieldCause per unknown, mistyped or
  // missing required field (paths like "spec.chroma.storage.size"); never throws.
  static common::Result<OkamiStack> from_json(const Json& object);
  // from_json + apply_defaults + validate: what a file given to `render`/`check` needs.
  static common::Result<OkamiStack> load(const Json& object);

  // The whole object (apiVersion, kind, metadata, spec, status when set).
  Json to_json() const;
  Json spec_to_json() const;

  // Fills every field the CRD schema defaults, with the same values (idempotent).
  void apply_defaults();
  // The schema's rules (patterns, ranges, CEL) plus the reserved client env names.
  // Errors: kInvalidArgument with one FieldCause per violated rule. Call after apply_defaults.
  common::Status validate() const;

  // Typed views of defaulted fields (call after apply_defaults).
  std::chrono::nanoseconds max_backup_age() const;
  bool paused() const { return spec.paused.value_or(defaults::kPaused); }
};

}  // namespace okami::v1alpha1
