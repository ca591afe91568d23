// YAML text <-> JSON values for manifests: reading OkamiStack/OkamiBackup files (render, check)
// and printing child objects as a stable multi-document stream. yaml-cpp's exceptions stay inside
// this adapter; callers get Result values.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "okami/api/field_reader.h"

namespace okami::v1alpha1 {

// Every non-empty document of a YAML (or JSON) stream. Plain scalars resolve by the YAML 1.2 core
// schema (null, true/false, integers, floats); quoted scalars stay strings.
// Errors: kParse with yaml-cpp's line/column message.
common::Result<std::vector<Json>> parse_yaml_documents(const std::string& text);

// One document as block YAML. Keys print apiVersion, kind, metadata, name, namespace first, then
// alphabetically; strings that would read back as another type are quoted; multi-line strings
// use literal blocks. Equal values always print the same text.
std::string to_yaml(const Json& value);

}  // namespace okami::v1alpha1
