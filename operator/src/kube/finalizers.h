// Finalizer helpers: an operator adds its finalizer before creating anything it must clean up,
// and removes it when the cleanup is done. Writes are merge patches carrying the object's
// resourceVersion, so a concurrent change makes them fail with kConflict instead of losing data.
#pragma once

#include <string>

#include "common/result.h"
#include "kube/client.h"

namespace okami::kube {

bool has_finalizer(const Json& object, const std::string& finalizer);

// Adds `finalizer` to `object` (as last read) on the server; returns the updated object. When the
// finalizer is already present nothing is sent and `object` is returned. Errors: the client's,
// notably kConflict when the object changed since it was read (re-read and retry).
common::Result<Json> add_finalizer(Client& client, const ResourceType& type, const Json& object,
                                   const std::string& finalizer);

// Removes `finalizer`; nothing is sent when it is absent. Same errors as add_finalizer. kNotFound
// means the object is already gone (the caller's cleanup is complete).
common::Result<Json> remove_finalizer(Client& client, const ResourceType& type, const Json& object,
                                      const std::string& finalizer);

}  // namespace okami::kube
