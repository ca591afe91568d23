#include "okami/api/okamibackup.h"

#include <algorithm>

#include "okami/api/patterns.h"
#include "okami/names.h"

namespace okami::v1alpha1 {
namespace {

// The key segment a backup is stored under (backup::validate_backup_name's rule).
constexpr size_t kMaxStoredNameLength = 200;

void check_stored_name(const std::string& path, const std::string& name, FieldErrors& errors) {
  if (name.empty()) {
    errors.required(path);
    return;
  }
  check_max_length(path, name, kMaxStoredNameLength, errors);
  check_pattern(path, name, patterns::kStoredBackupName,
                "a stored backup name: 1-200 of [A-Za-z0-9._-], not '.' or '..'", errors);
}

void read_status(ObjectReader& r, OkamiBackupStatus& st) {
  r.string("phase", st.phase);
  r.object("archive", [&st](ObjectReader& a) {
    auto& v = st.archive.emplace();
    a.string("pvc", v.pvc);
    a.string("path", v.path);
    a.integer("sizeBytes", v.size_bytes);
    a.string("sha256", v.sha256);
    a.object("objectStore", [&v](ObjectReader& o) { v.object_store.emplace().read(o); });
    a.string("storedName", v.stored_name);
  });
  r.object("source", [&st](ObjectReader& s) {
    auto& v = st.source.emplace();
    s.string("chromaVersion", v.chroma_version);
    s.string("dataFormat", v.data_format);
    s.int_map("migrations", v.migrations);
    s.object_list("collections", [&v](ObjectReader& c) {
      auto& col = v.collections.emplace_back();
      c.string("name", col.name, true);
      c.string("id", col.id, true);
      c.integer("dimension", col.dimension);
      c.integer("count", col.count, true);
    });
  });
  r.object("verification", [&st](ObjectReader& s) {
    auto& v = st.verification.emplace();
    s.string("checkedAt", v.checked_at);
    s.string("checksum", v.checksum);
    s.boolean("sqliteIntegrity", v.sqlite_integrity);
    s.boolean("collectionsMatch", v.collections_match);
    s.string("signature", v.signature);
    s.string("signedResult", v.signed_result);
  });
  r.string("message", st.message);
  r.string("startedAt", st.started_at);
  r.string("finishedAt", st.finished_at);
  read_conditions(r, st.conditions);
}

}  // namespace

common::Result<OkamiBackup> OkamiBackup::from_json(const Json& object) {
  OkamiBackup out;
  FieldErrors errors;
  ObjectReader root(object, "", errors);
  if (root.ok()) {
    read_type_meta(root, kOkamiBackupKind, errors);
    if (const Json* meta = root.field("metadata")) out.metadata.read(*meta, "metadata", errors);
    if (!root.object("spec", [&out](ObjectReader& s) {
          s.string("stackRef", out.spec.stack_ref, true);
          s.boolean("quiesce", out.spec.quiesce);
          s.object("fromObjectStore", [&out](ObjectReader& f) {
            f.string("backupName", out.spec.from_object_store.emplace().backup_name, true);
          });
        })) {
      errors.required("spec");
    }
    root.object("status", [&out](ObjectReader& s) { read_status(s, out.status); });
    root.finish();
  }
  if (!errors.empty()) {
    return common::fail(errors.to_error(out.metadata.name.empty()
                                            ? std::string("OkamiBackup")
                                            : "OkamiBackup " + out.metadata.name));
  }
  return out;
}

common::Result<OkamiBackup> OkamiBackup::load(const Json& object) {
  auto backup = from_json(object);
  if (!backup) return backup;
  backup->apply_defaults();
  if (auto st = backup->validate(); !st) return common::fail(st.error());
  return backup;
}

void OkamiBackup::apply_defaults() {
  if (!spec.quiesce) spec.quiesce = defaults::kBackupQuiesce;
}

common::Status OkamiBackup::validate() const {
  FieldErrors errors;
  if (metadata.name.empty()) {
    errors.required("metadata.name");
  } else {
    check_max_length("metadata.name", metadata.name, 253, errors);
    check_pattern("metadata.name", metadata.name, patterns::kDns1123Subdomain,
                  "a DNS-1123 subdomain", errors);
  }
  if (spec.stack_ref.empty()) {
    errors.required("spec.stackRef");
  } else {
    check_max_length("spec.stackRef", spec.stack_ref, kMaxStackNameLength, errors);
    check_pattern("spec.stackRef", spec.stack_ref, patterns::kDns1035Label,
                  "the name of an OkamiStack in the same namespace", errors);
  }
  if (spec.from_object_store) {
    check_stored_name("spec.fromObjectStore.backupName", spec.from_object_store->backup_name,
                      errors);
  }
  if (status.archive) {
    if (status.archive->object_store) {
      status.archive->object_store->validate("status.archive.objectStore", errors);
    }
    if (status.archive->stored_name) {
      check_stored_name("status.archive.storedName", *status.archive->stored_name, errors);
    }
  }
  if (status.phase &&
      std::find_if(kBackupPhases.begin(), kBackupPhases.end(),
                   [this](const char* p) { return *status.phase == p; }) == kBackupPhases.end()) {
    errors.add(kReasonNotSupported, "status.phase", "Unsupported value: \"" + *status.phase + "\"");
  }
  if (!errors.empty()) return common::fail(errors.to_error("OkamiBackup " + metadata.name));
  return common::ok();
}

common::Status OkamiBackup::validate_update(const OkamiBackup& old) const {
  FieldErrors errors;
  if (spec.stack_ref != old.spec.stack_ref) {
    errors.add(kReasonInvalid, "spec.stackRef", "Invalid value: stackRef is immutable");
  }
  if (spec.from_object_store != old.spec.from_object_store) {
    errors.add(kReasonInvalid, "spec.fromObjectStore",
               "Invalid value: fromObjectStore is fixed when the backup is created (it cannot be "
               "added, removed or changed)");
  }
  if (!errors.empty()) return common::fail(errors.to_error("OkamiBackup " + metadata.name));
  return common::ok();
}

Json OkamiBackupStatus::to_json() const {
  Json j = Json::object();
  put(j, "phase", phase);
  if (archive) {
    Json a = Json::object();
    put(a, "pvc", archive->pvc);
    put(a, "path", archive->path);
    put(a, "sizeBytes", archive->size_bytes);
    put(a, "sha256", archive->sha256);
    if (archive->object_store) a["objectStore"] = archive->object_store->to_json();
    put(a, "storedName", archive->stored_name);
    j["archive"] = a;
  }
  if (source) {
    Json s = Json::object();
    put(s, "chromaVersion", source->chroma_version);
    put(s, "dataFormat", source->data_format);
    if (!source->migrations.empty()) s["migrations"] = source->migrations;
    if (!source->collections.empty()) {
      Json cols = Json::array();
      for (const auto& c : source->collections) {
        Json cj = {{"name", c.name}, {"id", c.id}, {"count", c.count}};
        put(cj, "dimension", c.dimension);
        cols.push_back(cj);
      }
      s["collections"] = cols;
    }
    j["source"] = s;
  }
  if (verification) {
    Json v = Json::object();
    put(v, "checkedAt", verification->checked_at);
    put(v, "checksum", verification->checksum);
    put(v, "sqliteIntegrity", verification->sqlite_integrity);
    put(v, "collectionsMatch", verification->collections_match);
    put(v, "signature", verification->signature);
    put(v, "signedResult", verification->signed_result);
    j["verification"] = v;
  }
  put(j, "message", message);
  put(j, "startedAt", started_at);
  put(j, "finishedAt", finished_at);
  if (!conditions.empty()) j["conditions"] = conditions_to_json(conditions);
  return j;
}

Json OkamiBackup::to_json() const {
  Json spec_json = {{"stackRef", spec.stack_ref}};
  put(spec_json, "quiesce", spec.quiesce);
  if (spec.from_object_store) {
    spec_json["fromObjectStore"] = {{"backupName", spec.from_object_store->backup_name}};
  }
  Json j = {{"apiVersion", names::kApiVersion},
            {"kind", kOkamiBackupKind},
            {"metadata", metadata.to_json()},
            {"spec", spec_json}};
  Json st = status.to_json();
  if (!st.empty()) j["status"] = st;
  return j;
}

}  // namespace okami::v1alpha1
