// Parsing of the apiserver's JSON bodies (responses, list pages, watch lines) into the DOM the
// operator works on, with metadata.managedFields dropped while parsing: no controller reads it,
// it is often the largest part of an object, and skipping it in the parser means it is never
// allocated, rather than allocated, cached and erased afterwards.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace okami::kube {

// The document, or a value for which is_discarded() is true when `text` is not JSON. Every
// "managedFields" member of an object held under a "metadata" key is left out, at any depth
// (an object, a list's items, a watch event's object); a "managedFields" key anywhere else
// (a label, a ConfigMap key, a custom resource's spec) is kept.
nlohmann::json parse_api_json(std::string_view text);

}  // namespace okami::kube
