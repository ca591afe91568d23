#include "okami/api/yaml_io.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <iterator>
#include <regex>

namespace okami::v1alpha1 {
namespace {

bool is_int(const std::string& s) {
  static const std::regex re("^[-+]?[0-9]+$");
  return std::regex_match(s, re);
}
bool is_float(const std::string& s) {
  static const std::regex re("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
  return std::regex_match(s, re);
}

Json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text.size() <= 18 && is_int(text)) return std::stoll(text);
  if (text.size() <= 64 && is_float(text)) return std::stod(text);
  return text;
}

Json node_to_json(const YAML::Node& node, int depth) {
  if (depth > 64) throw YAML::Exception(node.Mark(), "nesting deeper than 64 levels");
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : node)
        o[kv.first.as<std::string>()] = node_to_json(kv.second, depth + 1);
      return o;
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& item : node) a.push_back(node_to_json(item, depth + 1));
      return a;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    default:
      return nullptr;
  }
}

bool needs_quotes(const std::string& s) {
  static const std::regex number_like(
      "^[-+]?(\\.[0-9]+|[0-9][0-9_]*(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
  static const std::regex special(
      "^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|"
      "OFF|y|Y|n|N|\\.inf|\\.nan|0x[0-9a-fA-F]+|0o[0-7]+)$");
  return s.empty() || std::regex_match(s, number_like) || std::regex_match(s, special);
}

void emit(YAML::Emitter& out, const Json& v) {
  if (v.is_object()) {
    static const char* const kFirst[] = {"apiVersion", "kind", "metadata", "name", "namespace"};
    out << YAML::BeginMap;
    for (const char* key : kFirst) {
      if (v.contains(key)) {
        out << YAML::Key << key << YAML::Value;
        emit(out, v[key]);
      }
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (std::find(std::begin(kFirst), std::end(kFirst), it.key()) != std::end(kFirst)) continue;
      out << YAML::Key << it.key() << YAML::Value;
      emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : v) emit(out, item);
    out << YAML::EndSeq;
  } else if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.find('\n') != std::string::npos) {
      out << YAML::Literal << s;
    } else if (needs_quotes(s)) {
      out << YAML::DoubleQuoted << s;
    } else {
      out << s;
    }
  } else if (v.is_boolean()) {
    out << (v.get<bool>() ? "true" : "false");
  } else if (v.is_number_integer()) {
    out << v.get<int64_t>();
  } else if (v.is_number_unsigned()) {
    out << v.get<uint64_t>();
  } else if (v.is_number_float()) {
    out << v.dump();
  } else {
    out << YAML::Null;
  }
}

}  // namespace

common::Result<std::vector<Json>> parse_yaml_documents(const std::string& text) {
  try {
    std::vector<Json> docs;
    for (const auto& node : YAML::LoadAll(text)) {
      if (node.IsNull()) continue;
      docs.push_back(node_to_json(node, 0));
    }
    return docs;
  } catch (const YAML::Exception& e) {
    return common::fail(common::ErrorCode::kParse, std::string("invalid YAML: ") + e.what());
  } catch (const std::exception& e) {
    return common::fail(common::ErrorCode::kParse, std::string("invalid YAML: ") + e.what());
  }
}

std::string to_yaml(const Json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, value);
  return out.c_str();
}

}  // namespace okami::v1alpha1
