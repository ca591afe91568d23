#include "kube/api_json.h"

#include <vector>

namespace okami::kube {

using nlohmann::json;

json parse_api_json(std::string_view text) {
  // under_metadata[d]: the object whose keys are reported at depth d + 1 is the value of a
  // "metadata" key. The parser reports a key at the depth of its object plus one, and an object
  // (or array) start at the depth of the key that holds it; a key at depth d ends every deeper
  // level, so an array element never inherits a sibling's or a cousin's key.
  std::vector<bool> under_metadata;
  auto keep = [&under_metadata](int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key) return true;
    const auto d = static_cast<std::size_t>(depth);
    const auto& key = parsed.get_ref<const std::string&>();
    if (key == "managedFields" && d >= 1 && d - 1 < under_metadata.size() &&
        under_metadata[d - 1]) {
      return false;  // the member and its whole value are skipped
    }
    under_metadata.resize(d + 1);
    under_metadata[d] = key == "metadata";
    return true;
  };
  return json::parse(text.begin(), text.end(), keep, /*allow_exceptions=*/false);
}

}  // namespace okami::kube
