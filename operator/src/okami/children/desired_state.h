// Desired state: pure functions from a (defaulted, validated) OkamiStack plus a few values decided
// upstream (which Chroma version to run now, the token Secret, the operator image, quiesce
// replicas) to the child objects, ready for server-side apply. No I/O, no clock: the same input
// always gives byte-identical JSON, so a stack in steady state causes no writes.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "kube/client.h"
#include "okami/api/okamistack.h"
#include "okami/children/layout.h"

namespace okami::desired {

// Every child object, in a fixed order: PVCs, ConfigMap, Services, NetworkPolicy, StatefulSet,
// Deployments. Not included: the 0.x token Secret, whose value is generated once by the
// reconciler (build it with chroma_token_secret, create it if absent; it is obsolete once the
// stack runs 1.x). Any other labelled child not in the list is obsolete, except PVCs, which the
// operator never deletes. The stack is defaulted internally (apply_defaults).
// Errors: kInvalidArgument when the stack has no name/namespace, chroma_version is not semver, the
// operator image is empty, or 0.x token auth is on without a Secret name.
common::Result<std::vector<Json>> desired_objects(const v1alpha1::OkamiStack& stack,
                                                  const Inputs& inputs);

// The 0.x token Secret, owned by the stack; `token` is generated once by the reconciler.
Json chroma_token_secret(const v1alpha1::OkamiStack& stack, const std::string& secret_name,
                         const std::string& token);

}  // namespace okami::desired
