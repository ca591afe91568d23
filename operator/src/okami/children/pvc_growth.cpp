#include "okami/children/pvc_growth.h"

#include "okami/api/quantity.h"

namespace okami::desired {

using kube::Json;

namespace {

std::string requested_storage(const Json& pvc) {
  const Json requests = pvc.value("spec", Json::object())
                            .value("resources", Json::object())
                            .value("requests", Json::object());
  auto it = requests.find("storage");
  if (it == requests.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->is_number_integer() ? it->dump() : "";
}

}  // namespace

PvcChange pvc_change(const Json& live, const Json& desired) {
  PvcChange change;
  const Json live_meta = live.value("metadata", Json::object());
  const Json live_labels = live_meta.value("labels", Json::object());
  Json patch = Json::object();
  const Json desired_labels =
      desired.value("metadata", Json::object()).value("labels", Json::object());
  for (const auto& [key, value] : desired_labels.items()) {
    if (live_labels.value(key, Json()) != value) patch["metadata"]["labels"][key] = value;
  }

  change.from = requested_storage(live);
  change.to = requested_storage(desired);
  auto have = v1alpha1::parse_quantity(change.from);
  auto want = v1alpha1::parse_quantity(change.to);
  if (have && want) {
    if (*have < *want) {
      patch["spec"]["resources"]["requests"]["storage"] = change.to;
      change.grows = true;
    } else if (*want < *have) {
      const std::string name = live_meta.value("name", "");
      change.refused = "PersistentVolumeClaim " + name + " requests " + change.from +
                       " and the spec asks for " + change.to +
                       ": a volume is never shrunk (Kubernetes cannot, and the data would not "
                       "fit); set the size back to at least " + change.from;
    }
  }
  const Json desired_spec = desired.value("spec", Json::object());
  if (auto wanted = desired_spec.find("storageClassName");
      wanted != desired_spec.end() && wanted->is_string()) {
    const Json live_spec = live.value("spec", Json::object());
    const std::string have_class = live_spec.value("storageClassName", "");
    if (have_class != wanted->get<std::string>()) {
      const std::string name = live_meta.value("name", "");
      change.class_kept =
          "PersistentVolumeClaim " + name + " has StorageClass \"" + have_class +
          "\" and the spec asks for \"" + wanted->get<std::string>() +
          "\": a claim's class never changes, so the data stays where it is; to move it, back "
          "it up and restore it into a new stack with the new class, or set the class back";
    }
  }
  if (!patch.empty()) {
    const std::string uid = live_meta.value("uid", "");
    if (!uid.empty()) patch["metadata"]["uid"] = uid;
    change.patch = std::move(patch);
  }
  return change;
}

}  // namespace okami::desired
