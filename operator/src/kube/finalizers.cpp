#include "kube/finalizers.h"

namespace okami::kube {

using common::ErrorCode;
using common::fail;

namespace {

Json finalizer_list(const Json& object) {
  if (object.is_object() && object.contains("metadata") && object["metadata"].is_object()) {
    const Json& meta = object["metadata"];
    if (auto f = meta.find("finalizers"); f != meta.end() && f->is_array()) return *f;
  }
  return Json::array();
}

std::string meta(const Json& object, const char* key) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    return "";
  }
  return object["metadata"].value(key, "");
}

common::Result<Json> write_finalizers(Client& client, const ResourceType& type, const Json& object,
                                      Json finalizers) {
  const std::string name = meta(object, "name");
  const std::string rv = meta(object, "resourceVersion");
  if (name.empty() || rv.empty()) {
    return fail(
        ErrorCode::kInvalidArgument,
        "finalizers of " + type.kind + ": the object needs metadata.name and resourceVersion");
  }
  Json patch = {{"metadata", {{"finalizers", std::move(finalizers)}, {"resourceVersion", rv}}}};
  return client.patch(type, meta(object, "namespace"), name, PatchType::kMerge, patch);
}

}  // namespace

bool has_finalizer(const Json& object, const std::string& finalizer) {
  for (const auto& f : finalizer_list(object)) {
    if (f.is_string() && f.get<std::string>() == finalizer) return true;
  }
  return false;
}

common::Result<Json> add_finalizer(Client& client, const ResourceType& type, const Json& object,
                                   const std::string& finalizer) {
  if (has_finalizer(object, finalizer)) return object;
  Json list = finalizer_list(object);
  list.push_back(finalizer);
  return write_finalizers(client, type, object, std::move(list));
}

common::Result<Json> remove_finalizer(Client& client, const ResourceType& type, const Json& object,
                                      const std::string& finalizer) {
  if (!has_finalizer(object, finalizer)) return object;
  Json kept = Json::array();
  for (const auto& f : finalizer_list(object)) {
    if (!(f.is_string() && f.get<std::string>() == finalizer)) kept.push_back(f);
  }
  return write_finalizers(client, type, object, std::move(kept));
}

}  // namespace okami::kube
