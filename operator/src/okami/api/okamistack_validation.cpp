// OkamiStack::apply_defaults and OkamiStack::validate: the CRD schema's defaults and rules,
// restated in C++ so that objects from files (render, check) and from older apiservers get the
// same treatment as objects the apiserver admitted.
#include <algorithm>
#include <set>

#include "okami/api/duration.h"
#include "okami/api/okamistack.h"
#include "okami/api/patterns.h"

namespace okami::v1alpha1 {
namespace {

constexpr size_t kMaxImageLength = 255;
constexpr size_t kMaxModelLength = 200;
constexpr size_t kMaxModels = 32;
constexpr size_t kMaxEnv = 100;
constexpr size_t kMaxSpecifierLength = 100;
constexpr int64_t kMaxGpuCount = 16;
constexpr int64_t kMaxClientReplicas = 1;
constexpr int64_t kMaxRetain = 100;
constexpr int64_t kMaxStartingDeadline = 31622400;  // a leap year
constexpr const char* kResourceNamePattern =
    "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/"
    ")?[A-Za-z0-9]([-A-Za-z0-9_.]*"
    "[A-Za-z0-9])?$";

void check_required(const std::string& path, const std::string& value, FieldErrors& errors) {
  if (value.empty()) errors.required(path);
}

void check_version(const std::string& path, const std::string& version, FieldErrors& errors) {
  if (version.empty()) {
    errors.required(path);
    return;
  }
  check_max_length(path, version, kMaxVersionLength, errors);
  check_pattern(path, version, patterns::kSemver, "a semantic version such as 0.5.23", errors);
}

void check_image(const std::string& path, const std::optional<std::string>& image,
                 FieldErrors& errors) {
  if (!image) return;
  check_max_length(path, *image, kMaxImageLength, errors);
  check_pattern(path, *image, patterns::kImageRepository,
                "an image repository without tag or digest (the tag is the version field)", errors);
}

void check_range(const std::string& path, int64_t v, int64_t min, int64_t max,
                 FieldErrors& errors) {
  if (v < min) {
    errors.invalid(path,
                   std::to_string(v) + ": must be greater than or equal to " + std::to_string(min));
  } else if (v > max) {
    errors.invalid(path,
                   std::to_string(v) + ": must be less than or equal to " + std::to_string(max));
  }
}

void validate_chroma(const ChromaSpec& c, FieldErrors& errors) {
  check_version("spec.chroma.version", c.version, errors);
  check_image("spec.chroma.image", c.image, errors);
  c.storage.validate("spec.chroma.storage", errors);
  c.resources.validate("spec.chroma.resources", errors);
  c.scheduling.validate("spec.chroma", errors);
}

void validate_ollama(const OllamaSpec& o, FieldErrors& errors) {
  check_version("spec.ollama.version", o.version, errors);
  check_image("spec.ollama.image", o.image, errors);
  if (o.models) {
    if (o.models->size() > kMaxModels) {
      errors.add(kReasonTooLong, "spec.ollama.models",
                 "Too many: " + std::to_string(o.models->size()) + ": must have at most " +
                     std::to_string(kMaxModels) + " items");
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < o.models->size(); ++i) {
      const std::string path = "spec.ollama.models[" + std::to_string(i) + "]";
      const auto& m = (*o.models)[i];
      check_max_length(path, m, kMaxModelLength, errors);
      check_pattern(path, m, patterns::kModelName, "an Ollama model name such as mxbai-embed-large",
                    errors);
      if (!seen.insert(m).second)
        errors.add(kReasonDuplicate, path, "Duplicate value: \"" + m + "\"");
    }
  }
  if (o.embedding_model.empty()) {
    errors.required("spec.ollama.embeddingModel");
  } else {
    check_max_length("spec.ollama.embeddingModel", o.embedding_model, kMaxModelLength, errors);
    check_pattern("spec.ollama.embeddingModel", o.embedding_model, patterns::kModelName,
                  "an Ollama model name such as mxbai-embed-large", errors);
  }
  o.storage.validate("spec.ollama.storage", errors);
  if (o.gpu.count) check_range("spec.ollama.gpu.count", *o.gpu.count, 0, kMaxGpuCount, errors);
  if (o.gpu.resource_name) {
    check_max_length("spec.ollama.gpu.resourceName", *o.gpu.resource_name, 253, errors);
    check_pattern("spec.ollama.gpu.resourceName", *o.gpu.resource_name, kResourceNamePattern,
                  "an extended resource name such as nvidia.com/gpu", errors);
  }
  if (o.keep_alive) {
    check_max_length("spec.ollama.keepAlive", *o.keep_alive, 32, errors);
    check_pattern("spec.ollama.keepAlive", *o.keep_alive, patterns::kKeepAlive,
                  "a duration such as 5m or 1h, a negative duration to keep models loaded, or "
                  "whole seconds",
                  errors);
  }
  o.resources.validate("spec.ollama.resources", errors);
  o.scheduling.validate("spec.ollama", errors);
}

void validate_env(const std::vector<EnvVar>& env, FieldErrors& errors) {
  if (env.size() > kMaxEnv) {
    errors.add(kReasonTooLong, "spec.client.env",
               "Too many: " + std::to_string(env.size()) + ": must have at most " +
                   std::to_string(kMaxEnv) + " items");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < env.size(); ++i) {
    const auto& e = env[i];
    const std::string path = "spec.client.env[" + std::to_string(i) + "]";
    if (e.name.empty()) {
      errors.required(path + ".name");
      continue;
    }
    check_max_length(path + ".name", e.name, 256, errors);
    check_pattern(path + ".name", e.name, patterns::kEnvVarName,
                  "a valid environment variable name", errors);
    if (!seen.insert(e.name).second) {
      errors.add(kReasonDuplicate, path + ".name", "Duplicate value: \"" + e.name + "\"");
    }
    if (std::find_if(kReservedClientEnv.begin(), kReservedClientEnv.end(),
                     [&e](const char* r) { return e.name == r; }) != kReservedClientEnv.end()) {
      errors.add(kReasonForbidden, path + ".name",
                 "Forbidden: " + e.name +
                     " is set by the operator from the stack (server addresses, credentials, "
                     "embedding model, storage) and cannot be overridden");
    }
    if (e.value && e.value_from) {
      errors.invalid(path, "value and valueFrom are mutually exclusive");
    }
    if (e.value_from) {
      const auto& vf = *e.value_from;
      const int sources =
          (vf.secret_key_ref ? 1 : 0) + (vf.config_map_key_ref ? 1 : 0) + (vf.field_path ? 1 : 0);
      if (sources != 1) {
        errors.invalid(path + ".valueFrom",
                       "must name exactly one of secretKeyRef, configMapKeyRef, fieldRef");
      }
    }
  }
}

void validate_client(const ClientSpec& c, FieldErrors& errors) {
  if (c.image.empty()) {
    errors.required("spec.client.image");
  } else {
    check_image("spec.client.image", c.image, errors);
  }
  if (c.version.empty()) {
    errors.required("spec.client.version");
  } else {
    check_max_length("spec.client.version", c.version, kMaxVersionLength, errors);
    check_pattern("spec.client.version", c.version, patterns::kImageTag,
                  "an image tag that is also a label value (letters, digits, '_', '.', '-'; "
                  "starting and ending with a letter or digit)",
                  errors);
  }
  if (c.replicas) check_range("spec.client.replicas", *c.replicas, 0, kMaxClientReplicas, errors);
  const std::pair<const char*, const std::optional<std::string>*> pins[] = {
      {"chromadb", &c.packages.chromadb},
      {"crewai", &c.packages.crewai},
      {"crewai-tools", &c.packages.crewai_tools},
      {"ollama", &c.packages.ollama}};
  for (const auto& [name, pin] : pins) {
    if (!*pin) continue;
    const std::string path = std::string("spec.client.packages.") + name;
    check_max_length(path, **pin, kMaxSpecifierLength, errors);
    check_pattern(path, **pin, patterns::kPep440Specifier,
                  "a PEP 440 version specifier such as ==0.5.23", errors);
  }
  c.storage.validate("spec.client.storage", errors);
  validate_env(c.env, errors);
  c.resources.validate("spec.client.resources", errors);
  c.scheduling.validate("spec.client", errors);
  if (c.health_check) c.health_check->validate("spec.client.healthCheck", errors);
}

}  // namespace

void OkamiStack::apply_defaults() {
  auto& c = spec.chroma;
  if (!c.image) c.image = defaults::kChromaImage;
  c.storage.apply_defaults(defaults::kChromaStorageSize);
  if (!c.auth.enabled) c.auth.enabled = defaults::kChromaAuthEnabled;

  auto& o = spec.ollama;
  if (!o.image) o.image = defaults::kOllamaImage;
  if (!o.models) o.models.emplace();
  o.storage.apply_defaults(defaults::kOllamaStorageSize);
  if (!o.gpu.count) o.gpu.count = defaults::kGpuCount;
  if (!o.gpu.resource_name) o.gpu.resource_name = defaults::kGpuResourceName;
  if (!o.keep_alive) o.keep_alive = defaults::kOllamaKeepAlive;

  auto& cl = spec.client;
  if (!cl.replicas) cl.replicas = defaults::kClientReplicas;
  cl.storage.apply_defaults(defaults::kClientStorageSize);

  if (!spec.upgrade.max_backup_age) spec.upgrade.max_backup_age = defaults::kMaxBackupAge;
  if (!spec.upgrade.final_backup) spec.upgrade.final_backup = defaults::kFinalBackup;
  spec.backup.storage.apply_defaults(defaults::kBackupStorageSize);
  if (!spec.backup.retain) spec.backup.retain = defaults::kBackupRetain;
  if (!spec.backup.suspend) spec.backup.suspend = defaults::kBackupSuspend;
  if (spec.backup.object_store) spec.backup.object_store->apply_defaults();
  if (spec.restore && !spec.restore->allow_foreign_stack) {
    spec.restore->allow_foreign_stack = defaults::kAllowForeignStack;
  }
  if (!spec.paused) spec.paused = defaults::kPaused;
}

common::Status OkamiStack::validate() const {
  FieldErrors errors;
  validate_object_name(metadata, errors);
  validate_chroma(spec.chroma, errors);
  validate_ollama(spec.ollama, errors);
  validate_client(spec.client, errors);
  if (spec.upgrade.max_backup_age) {
    const std::string path = "spec.upgrade.maxBackupAge";
    const auto& text = *spec.upgrade.max_backup_age;
    check_max_length(path, text, 32, errors);
    if (!patterns::matches(patterns::kDuration, text)) {
      errors.invalid(path, "'" + text + "' must be a duration such as 24h, 90m or 1h30m");
    } else if (auto d = parse_duration(text); !d || d->count() <= 0) {
      errors.invalid(path, "must be a positive duration");
    }
  }
  spec.backup.storage.validate("spec.backup.storage", errors);
  if (spec.backup.schedule) {
    check_max_length("spec.backup.schedule", *spec.backup.schedule, 100, errors);
    check_pattern("spec.backup.schedule", *spec.backup.schedule, patterns::kCron,
                  "a cron schedule (five fields, or @daily/@hourly/...)", errors);
  }
  if (spec.backup.time_zone) {
    // The zone itself is looked up in the tz database when the schedule runs (a condition
    // names an unknown one); here only its shape.
    check_max_length("spec.backup.timeZone", *spec.backup.time_zone, 64, errors);
    check_pattern("spec.backup.timeZone", *spec.backup.time_zone, patterns::kTimeZone,
                  "an IANA time zone name such as Europe/Berlin", errors);
  }
  if (spec.backup.starting_deadline_seconds) {
    check_range("spec.backup.startingDeadlineSeconds", *spec.backup.starting_deadline_seconds, 1,
                kMaxStartingDeadline, errors);
  }
  if (spec.backup.retain)
    check_range("spec.backup.retain", *spec.backup.retain, 1, kMaxRetain, errors);
  if (spec.backup.object_store) {
    spec.backup.object_store->validate("spec.backup.objectStore", errors);
  }
  if (spec.restore) {
    const auto& from = spec.restore->from_backup;
    check_required("spec.restore.fromBackup", from, errors);
    if (!from.empty()) {
      check_max_length("spec.restore.fromBackup", from, 253, errors);
      check_pattern("spec.restore.fromBackup", from, patterns::kDns1123Subdomain,
                    "the name of an OkamiBackup", errors);
    }
  }
  validate_image_pull_secrets(spec.image_pull_secrets, "spec.imagePullSecrets", errors);
  if (status.phase && std::find_if(kStackPhases.begin(), kStackPhases.end(), [this](const char* p) {
                        return *status.phase == p;
                      }) == kStackPhases.end()) {
    errors.add(kReasonNotSupported, "status.phase", "Unsupported value: \"" + *status.phase + "\"");
  }
  if (!errors.empty()) {
    return common::fail(errors.to_error("OkamiStack " + metadata.name));
  }
  return common::ok();
}

}  // namespace okami::v1alpha1
