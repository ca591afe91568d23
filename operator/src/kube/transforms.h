// Transforms for watched types (WatcherOptions::transform): each keeps of an object only what
// the readers of its cache use, so the cache does not hold the rest for the life of the process.
#pragma once

#include "kube/client.h"

namespace okami::kube {

// Keeps kind, apiVersion, metadata and status. For Pods: the reconcilers read their labels,
// owners, phase, conditions, IP and container states, never their spec, which is most of a
// Pod's size (containers, env, volumes, probes, tolerations).
void keep_metadata_and_status(Json& object);

}  // namespace okami::kube
