#include "okami/api/okamistack.h"

#include <algorithm>

#include "okami/api/duration.h"
#include "okami/names.h"

namespace okami::v1alpha1 {
namespace {

void read_chroma(ObjectReader& r, ChromaSpec& c) {
  r.string("version", c.version, true);
  r.string("image", c.image);
  r.object("storage", [&c](ObjectReader& s) { c.storage.read(s); });
  r.object("resources", [&c](ObjectReader& s) { c.resources.read(s); });
  r.object("auth", [&c](ObjectReader& a) { a.boolean("enabled", c.auth.enabled); });
  c.scheduling.read(r);
}

void read_ollama(ObjectReader& r, OllamaSpec& o) {
  r.string("version", o.version, true);
  r.string("image", o.image);
  if (r.field("models") != nullptr) r.string_list("models", o.models.emplace());
  r.string("embeddingModel", o.embedding_model, true);
  r.object("storage", [&o](ObjectReader& s) { o.storage.read(s); });
  r.object("gpu", [&o](ObjectReader& g) {
    g.integer("count", o.gpu.count);
    g.string("resourceName", o.gpu.resource_name);
  });
  r.string("keepAlive", o.keep_alive);
  r.object("resources", [&o](ObjectReader& s) { o.resources.read(s); });
  o.scheduling.read(r);
}

void read_client(ObjectReader& r, ClientSpec& c) {
  r.string("image", c.image, true);
  r.string("version", c.version, true);
  r.integer("replicas", c.replicas);
  r.object("packages", [&c](ObjectReader& p) {
    p.string("chromadb", c.packages.chromadb);
    p.string("crewai", c.packages.crewai);
    p.string("crewai-tools", c.packages.crewai_tools);
    p.string("ollama", c.packages.ollama);
  });
  r.object("storage", [&c](ObjectReader& s) { c.storage.read(s); });
  r.object_list("env", [&c](ObjectReader& e) { c.env.emplace_back().read(e); });
  r.object("resources", [&c](ObjectReader& s) { c.resources.read(s); });
  c.scheduling.read(r);
  r.object("healthCheck", [&c](ObjectReader& h) { c.health_check.emplace().read(h); });
}

void read_spec(ObjectReader& r, OkamiStackSpec& s) {
  if (!r.object("chroma", [&s](ObjectReader& c) { read_chroma(c, s.chroma); })) {
    r.errors().required(r.path_of("chroma"));
  }
  if (!r.object("ollama", [&s](ObjectReader& o) { read_ollama(o, s.ollama); })) {
    r.errors().required(r.path_of("ollama"));
  }
  if (!r.object("client", [&s](ObjectReader& c) { read_client(c, s.client); })) {
    r.errors().required(r.path_of("client"));
  }
  r.object("upgrade", [&s](ObjectReader& u) {
    u.string("maxBackupAge", s.upgrade.max_backup_age);
    u.boolean("finalBackup", s.upgrade.final_backup);
  });
  r.object("backup", [&s](ObjectReader& b) {
    b.object("storage", [&s](ObjectReader& st) { s.backup.storage.read(st); });
    b.string("schedule", s.backup.schedule);
    b.string("timeZone", s.backup.time_zone);
    b.boolean("suspend", s.backup.suspend);
    b.integer("startingDeadlineSeconds", s.backup.starting_deadline_seconds);
    b.integer("retain", s.backup.retain);
    b.object("objectStore", [&s](ObjectReader& o) { s.backup.object_store.emplace().read(o); });
  });
  r.object("restore", [&s](ObjectReader& rs) {
    auto& restore = s.restore.emplace();
    rs.string("fromBackup", restore.from_backup, true);
    rs.boolean("allowForeignStack", restore.allow_foreign_stack);
  });
  r.boolean("paused", s.paused);
  r.object_list("imagePullSecrets", [&s](ObjectReader& p) {
    p.string("name", s.image_pull_secrets.emplace_back().name, true);
  });
}

void read_status(ObjectReader& r, OkamiStackStatus& st) {
  r.integer("observedGeneration", st.observed_generation);
  r.string("phase", st.phase);
  r.object("chroma", [&st](ObjectReader& c) {
    auto& v = st.chroma.emplace();
    c.string("runningVersion", v.running_version);
    c.string("dataFormat", v.data_format);
    c.string("endpoint", v.endpoint);
    c.string("authMode", v.auth_mode);
  });
  r.object("ollama", [&st](ObjectReader& o) {
    auto& v = st.ollama.emplace();
    o.string("runningVersion", v.running_version);
    o.string_list("models", v.models);
    o.object_list("modelPulls", [&v](ObjectReader& m) {
      auto& pull = v.model_pulls.emplace_back();
      m.string("name", pull.name, true);
      m.string("state", pull.state, true);
      m.string("message", pull.message);
      m.string("lastAttempt", pull.last_attempt);
    });
    o.integer("embeddingDimension", v.embedding_dimension);
  });
  r.object("client", [&st](ObjectReader& c) {
    c.string("runningVersion", st.client.emplace().running_version);
  });
  r.object("migration", [&st](ObjectReader& m) {
    auto& v = st.migration.emplace();
    m.string("step", v.step);
    m.string("from", v.from);
    m.string("to", v.to);
    m.string("backupRef", v.backup_ref);
    m.string("attemptId", v.attempt_id);
    m.string("startedAt", v.started_at);
    m.string("finishedAt", v.finished_at);
    m.string("message", v.message);
    m.string("verification", v.verification);
  });
  r.object("lastVerifiedBackup", [&st](ObjectReader& b) {
    auto& v = st.last_verified_backup.emplace();
    b.string("name", v.name, true);
    b.string("finishedAt", v.finished_at);
    b.string("sha256", v.sha256);
  });
  r.object("backup", [&st](ObjectReader& b) {
    auto& v = st.backup.emplace();
    b.string("lastScheduleTime", v.last_schedule_time);
    b.string("nextScheduleTime", v.next_schedule_time);
    const auto run = [](ObjectReader& o, std::optional<BackupRunRef>& out) {
      auto& ref = out.emplace();
      o.string("name", ref.name, true);
      o.string("time", ref.time);
      o.string("reason", ref.reason);
    };
    b.object("lastSuccessfulBackup", [&](ObjectReader& o) { run(o, v.last_successful_backup); });
    b.object("lastFailure", [&](ObjectReader& o) { run(o, v.last_failure); });
  });
  read_conditions(r, st.conditions);
}

Json storage_json(const StorageSpec& s) {
  return s.to_json();
}

void put_object(Json& j, const char* key, const Json& o) {
  if (!o.empty()) j[key] = o;
}

}  // namespace

common::Result<OkamiStack> OkamiStack::from_json(const Json& object) {
  OkamiStack out;
  FieldErrors errors;
  ObjectReader root(object, "", errors);
  if (root.ok()) {
    read_type_meta(root, kOkamiStackKind, errors);
    if (const Json* meta = root.field("metadata")) {
      out.metadata.read(*meta, "metadata", errors);
    }
    if (!root.object("spec", [&out](ObjectReader& s) { read_spec(s, out.spec); })) {
      errors.required("spec");
    }
    root.object("status", [&out](ObjectReader& s) { read_status(s, out.status); });
    root.finish();
  }
  if (!errors.empty()) {
    const std::string what = out.metadata.name.empty()
                                 ? std::string("OkamiStack")
                                 : "OkamiStack " + out.metadata.namespace_ +
                                       (out.metadata.namespace_.empty() ? "" : "/") +
                                       out.metadata.name;
    return common::fail(errors.to_error(what));
  }
  return out;
}

common::Result<OkamiStack> OkamiStack::load(const Json& object) {
  auto stack = from_json(object);
  if (!stack) return stack;
  stack->apply_defaults();
  if (auto st = stack->validate(); !st) return common::fail(st.error());
  return stack;
}

Json OkamiStack::spec_to_json() const {
  Json chroma = {{"version", spec.chroma.version}};
  put(chroma, "image", spec.chroma.image);
  put_object(chroma, "storage", storage_json(spec.chroma.storage));
  put_object(chroma, "resources", spec.chroma.resources.to_json());
  if (spec.chroma.auth.enabled) chroma["auth"] = {{"enabled", *spec.chroma.auth.enabled}};
  spec.chroma.scheduling.write(chroma);

  const auto& o = spec.ollama;
  Json ollama = {{"version", o.version}, {"embeddingModel", o.embedding_model}};
  put(ollama, "image", o.image);
  if (o.models) ollama["models"] = *o.models;
  put_object(ollama, "storage", storage_json(o.storage));
  Json gpu = Json::object();
  put(gpu, "count", o.gpu.count);
  put(gpu, "resourceName", o.gpu.resource_name);
  put_object(ollama, "gpu", gpu);
  put(ollama, "keepAlive", o.keep_alive);
  put_object(ollama, "resources", o.resources.to_json());
  o.scheduling.write(ollama);

  const auto& c = spec.client;
  Json client = {{"image", c.image}, {"version", c.version}};
  put(client, "replicas", c.replicas);
  Json packages = Json::object();
  put(packages, "chromadb", c.packages.chromadb);
  put(packages, "crewai", c.packages.crewai);
  put(packages, "crewai-tools", c.packages.crewai_tools);
  put(packages, "ollama", c.packages.ollama);
  put_object(client, "packages", packages);
  put_object(client, "storage", storage_json(c.storage));
  if (!c.env.empty()) {
    Json env = Json::array();
    for (const auto& e : c.env) env.push_back(e.to_json());
    client["env"] = env;
  }
  put_object(client, "resources", c.resources.to_json());
  c.scheduling.write(client);
  if (c.health_check) client["healthCheck"] = c.health_check->to_json();

  Json j = {{"chroma", chroma}, {"ollama", ollama}, {"client", client}};
  Json upgrade = Json::object();
  put(upgrade, "maxBackupAge", spec.upgrade.max_backup_age);
  put(upgrade, "finalBackup", spec.upgrade.final_backup);
  put_object(j, "upgrade", upgrade);
  Json backup = Json::object();
  put_object(backup, "storage", storage_json(spec.backup.storage));
  put(backup, "schedule", spec.backup.schedule);
  put(backup, "timeZone", spec.backup.time_zone);
  put(backup, "suspend", spec.backup.suspend);
  put(backup, "startingDeadlineSeconds", spec.backup.starting_deadline_seconds);
  put(backup, "retain", spec.backup.retain);
  if (spec.backup.object_store) backup["objectStore"] = spec.backup.object_store->to_json();
  put_object(j, "backup", backup);
  if (spec.restore) {
    Json restore = {{"fromBackup", spec.restore->from_backup}};
    put(restore, "allowForeignStack", spec.restore->allow_foreign_stack);
    j["restore"] = restore;
  }
  put(j, "paused", spec.paused);
  if (!spec.image_pull_secrets.empty()) {
    Json secrets = Json::array();
    for (const auto& s : spec.image_pull_secrets) secrets.push_back({{"name", s.name}});
    j["imagePullSecrets"] = secrets;
  }
  return j;
}

Json OkamiStackStatus::to_json() const {
  Json j = Json::object();
  put(j, "observedGeneration", observed_generation);
  put(j, "phase", phase);
  if (chroma) {
    Json c = Json::object();
    put(c, "runningVersion", chroma->running_version);
    put(c, "dataFormat", chroma->data_format);
    put(c, "endpoint", chroma->endpoint);
    put(c, "authMode", chroma->auth_mode);
    j["chroma"] = c;
  }
  if (ollama) {
    Json o = Json::object();
    put(o, "runningVersion", ollama->running_version);
    if (!ollama->models.empty()) o["models"] = ollama->models;
    if (!ollama->model_pulls.empty()) {
      Json pulls = Json::array();
      for (const auto& m : ollama->model_pulls) {
        Json p = {{"name", m.name}, {"state", m.state}};
        put(p, "message", m.message);
        put(p, "lastAttempt", m.last_attempt);
        pulls.push_back(p);
      }
      o["modelPulls"] = pulls;
    }
    put(o, "embeddingDimension", ollama->embedding_dimension);
    j["ollama"] = o;
  }
  if (client) {
    Json c = Json::object();
    put(c, "runningVersion", client->running_version);
    j["client"] = c;
  }
  if (migration) {
    Json m = Json::object();
    put(m, "step", migration->step);
    put(m, "from", migration->from);
    put(m, "to", migration->to);
    put(m, "backupRef", migration->backup_ref);
    put(m, "attemptId", migration->attempt_id);
    put(m, "startedAt", migration->started_at);
    put(m, "finishedAt", migration->finished_at);
    put(m, "message", migration->message);
    put(m, "verification", migration->verification);
    j["migration"] = m;
  }
  if (last_verified_backup) {
    Json b = {{"name", last_verified_backup->name}};
    put(b, "finishedAt", last_verified_backup->finished_at);
    put(b, "sha256", last_verified_backup->sha256);
    j["lastVerifiedBackup"] = b;
  }
  if (backup) {
    Json b = Json::object();
    put(b, "lastScheduleTime", backup->last_schedule_time);
    put(b, "nextScheduleTime", backup->next_schedule_time);
    const auto run = [](const BackupRunRef& ref) {
      Json r = {{"name", ref.name}};
      put(r, "time", ref.time);
      put(r, "reason", ref.reason);
      return r;
    };
    if (backup->last_successful_backup) b["lastSuccessfulBackup"] = run(*backup->last_successful_backup);
    if (backup->last_failure) b["lastFailure"] = run(*backup->last_failure);
    j["backup"] = b;
  }
  if (!conditions.empty()) j["conditions"] = conditions_to_json(conditions);
  return j;
}

Json OkamiStack::to_json() const {
  Json j = {{"apiVersion", names::kApiVersion},
            {"kind", kOkamiStackKind},
            {"metadata", metadata.to_json()},
            {"spec", spec_to_json()}};
  Json st = status.to_json();
  if (!st.empty()) j["status"] = st;
  return j;
}

std::vector<std::string> OllamaSpec::models_to_pull() const {
  std::vector<std::string> out;
  if (models) {
    for (const auto& m : *models) {
      if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
    }
  }
  if (!embedding_model.empty() && std::find(out.begin(), out.end(), embedding_model) == out.end()) {
    out.push_back(embedding_model);
  }
  return out;
}

std::chrono::nanoseconds OkamiStack::max_backup_age() const {
  auto d = parse_duration(spec.upgrade.max_backup_age.value_or(defaults::kMaxBackupAge));
  if (d) return *d;
  return *parse_duration(defaults::kMaxBackupAge);
}

}  // namespace okami::v1alpha1
