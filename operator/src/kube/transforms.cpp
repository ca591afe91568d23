#include "kube/transforms.h"

namespace okami::kube {

void keep_metadata_and_status(Json& object) {
  if (!object.is_object()) return;
  for (auto it = object.begin(); it != object.end();) {
    const std::string& key = it.key();
    if (key == "kind" || key == "apiVersion" || key == "metadata" || key == "status") {
      ++it;
    } else {
      it = object.erase(it);
    }
  }
}

}  // namespace okami::kube
