// The product's own resource types, for the client, the watches and the reconcilers.
#pragma once

#include "kube/resource.h"

namespace okami {

inline const kube::ResourceType kOkamiStackType{"okami.io", "v1alpha1", "OkamiStack", "okamistacks",
                                                true};
inline const kube::ResourceType kOkamiBackupType{"okami.io", "v1alpha1", "OkamiBackup",
                                                 "okamibackups", true};

}  // namespace okami
