// How a Job reports its result: a merge patch of the status subresource of one OkamiBackup or
// OkamiStack, made with the pod's own identity (its ServiceAccount token in a cluster, $KUBECONFIG
// elsewhere). The Job's Role allows exactly this and nothing more.
#pragma once

#include <string>

#include "common/result.h"
#include "kube/client.h"
#include "kube/resource.h"

namespace okami::app {

// `target` is "NAMESPACE/NAME". Errors: kInvalidArgument for a malformed target, the client's
// errors otherwise (the message names the object).
common::Status report_status(const kube::ResourceType& type, const std::string& target,
                             const kube::Json& status);

}  // namespace okami::app
