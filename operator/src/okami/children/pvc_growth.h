// What becomes of an existing volume of the stack when its desired form changes. A bound claim's
// spec is immutable but for growing requests.storage, so the operator never re-applies a PVC:
// it patches the labels it sets and a larger size, and refuses (and reports) a smaller one or
// another StorageClass.
// Pure: the stack reconciler (stack_apply.cpp) sends the patch and reports what it decided.
#pragma once

#include <optional>
#include <string>

#include "kube/client.h"

namespace okami::desired {

struct PvcChange {
  // A JSON merge patch for the live claim: metadata.uid (a precondition: never a claim recreated
  // meanwhile), the labels that differ, and spec.resources.requests.storage when it grows.
  std::optional<kube::Json> patch;
  bool grows = false;    // the patch raises requests.storage
  std::string from, to;  // the live and desired requests.storage, as written
  // Non-empty when the desired size is smaller than the claim's: why it is not applied.
  std::string refused;
  // Non-empty when the desired storageClassName differs from the claim's, which Kubernetes never
  // changes on an existing claim: what the volume keeps and how to move the data instead.
  std::string class_kept;
};

// Compares `live` (the cached claim) with `desired` (the rendered one). A request either side
// does not state as a quantity is left alone.
PvcChange pvc_change(const kube::Json& live, const kube::Json& desired);

}  // namespace okami::desired
