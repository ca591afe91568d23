#include "okami/children/apply_diff.h"

#include <cctype>
#include <optional>

#include "okami/api/quantity.h"
#include "okami/children/object_builders.h"

namespace okami {
namespace {

using nlohmann::json;

bool looks_like_number_text(const std::string& s) {
  return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.' ||
                        s[0] == '-' || s[0] == '+');
}

// Where a value sits: only resource quantities (a container's resources.requests/limits, an
// emptyDir's sizeLimit, a PVC's requested storage) compare by value, because the apiserver
// returns them in its canonical text ("1" for 1, "500m" for "0.5").
enum class Slot { kPlain, kResources, kResourceList, kQuantity };

Slot child_slot(Slot parent, const std::string& key) {
  if (key == "sizeLimit") return Slot::kQuantity;
  switch (parent) {
    case Slot::kResources:
      return key == "requests" || key == "limits" ? Slot::kResourceList : Slot::kPlain;
    case Slot::kResourceList:
      return Slot::kQuantity;
    case Slot::kPlain:
    case Slot::kQuantity:
      break;
  }
  return key == "resources" ? Slot::kResources : Slot::kPlain;
}

// A quantity written as a JSON number or as text, parsed; nullopt when it is neither.
std::optional<v1alpha1::Quantity> quantity_of(const json& v) {
  std::string text;
  if (v.is_string()) {
    text = v.get<std::string>();
  } else if (v.is_number_integer()) {
    text = v.dump();
  } else {
    return std::nullopt;
  }
  if (!looks_like_number_text(text)) return std::nullopt;
  auto q = v1alpha1::parse_quantity(text);
  if (!q) return std::nullopt;
  return *q;
}

bool scalars_equal(const json& live, const json& desired, Slot slot) {
  if (live == desired) return true;
  if (live.is_number() && desired.is_number()) return live.get<double>() == desired.get<double>();
  // Elsewhere text is text: "1" and "1.0" in a label or a ConfigMap are different values.
  if (slot != Slot::kQuantity) return false;
  auto qa = quantity_of(live);
  auto qb = quantity_of(desired);
  return qa && qb && *qa == *qb;
}

// Returns the path of the first difference, or nullopt when `live` contains `desired`.
std::optional<std::string> diff(const json& live, const json& desired, const std::string& path,
                                Slot slot) {
  if (desired.is_object()) {
    if (!live.is_object()) return path.empty() ? "." : path;
    for (auto it = desired.begin(); it != desired.end(); ++it) {
      const std::string child = path.empty() ? it.key() : path + "." + it.key();
      auto found = live.find(it.key());
      if (found == live.end()) {
        // An empty desired container or null is satisfied by absence.
        if (it->is_null() || (it->is_object() && it->empty()) || (it->is_array() && it->empty())) continue;
        return child;
      }
      if (auto d = diff(*found, *it, child, child_slot(slot, it.key()))) return d;
    }
    return std::nullopt;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) return path;
    for (std::size_t i = 0; i < desired.size(); ++i) {
      const std::string element = path + "[" + std::to_string(i) + "]";
      if (auto d = diff(live[i], desired[i], element, Slot::kPlain)) return d;
    }
    return std::nullopt;
  }
  if (!scalars_equal(live, desired, slot)) return path;
  return std::nullopt;
}

json comparable(const json& object) {
  json out = object;
  out.erase("status");
  if (auto m = object.find("metadata"); m != object.end() && m->is_object()) {
    json meta = json::object();
    for (const char* key : {"labels", "annotations", "ownerReferences"}) {
      if (m->contains(key)) meta[key] = (*m)[key];
    }
    out["metadata"] = meta;
  }
  return out;
}

}  // namespace

json with_applied_hash(json desired) {
  json basis = desired;
  basis.erase("status");
  if (auto m = basis.find("metadata"); m != basis.end() && m->is_object()) {
    if (auto a = m->find("annotations"); a != m->end() && a->is_object()) {
      a->erase(kAppliedHashAnnotation);
      if (a->empty()) m->erase("annotations");
    }
  }
  desired["metadata"]["annotations"][kAppliedHashAnnotation] = desired::config_hash(basis);
  return desired;
}

bool live_contains_desired(const json& live, const json& desired) {
  return !diff(comparable(live), comparable(desired), "", Slot::kPlain).has_value();
}

std::string first_difference(const json& live, const json& desired) {
  return diff(comparable(live), comparable(desired), "", Slot::kPlain).value_or("");
}

}  // namespace okami
