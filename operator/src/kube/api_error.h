// Maps Kubernetes API failure responses (a metav1.Status body and an HTTP status) onto typed
// common::Error values: NotFound, Conflict, Gone, Invalid with field causes, Forbidden, ...
#pragma once

#include <map>
#include <string>

#include "common/error.h"

namespace okami::kube {

// Builds the Error for a non-2xx response. `body` is usually a metav1.Status JSON document; when it
// is not, the raw text becomes the message. A Retry-After header (seconds) fills retry_after.
common::Error api_error(int http_status, const std::string& body,
                        const std::map<std::string, std::string>& headers = {});

}  // namespace okami::kube
