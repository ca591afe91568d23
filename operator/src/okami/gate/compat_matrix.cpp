#include "okami/gate/compat_matrix.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <set>

namespace okami::gate {

using common::ErrorCode;
using common::fail;
using common::Result;

const char* to_string(Severity s) {
  return s == Severity::kError ? "error" : "warning";
}

bool is_known_subject(std::string_view subject) {
  if (subject == "server.chroma" || subject == "server.ollama") return true;
  return subject.substr(0, 7) == "client." && subject.size() > 7;
}

Result<std::string> substitute(std::string_view spec,
                               const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t i = 0;
  while (i < spec.size()) {
    const auto open = spec.find("${", i);
    if (open == std::string_view::npos) {
      out.append(spec.substr(i));
      break;
    }
    const auto close = spec.find('}', open);
    if (close == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, "unterminated ${ in '" + std::string(spec) + "'");
    }
    out.append(spec.substr(i, open - i));
    const std::string name(spec.substr(open + 2, close - open - 2));
    auto it = values.find(name);
    if (it == values.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  "no value for ${" + name + "} in '" + std::string(spec) + "'");
    }
    out += it->second;
    i = close + 1;
  }
  return out;
}

std::string DataFormatMark::to_annotation() const {
  if (!migrating_to) return format;
  return "migrating:" + format + ":" + *migrating_to;
}

Result<DataFormatMark> DataFormatMark::parse(std::string_view annotation) {
  if (annotation.empty()) return fail(ErrorCode::kParse, "empty data format");
  constexpr std::string_view kPrefix = "migrating:";
  DataFormatMark mark;
  if (annotation.substr(0, kPrefix.size()) != kPrefix) {
    mark.format = std::string(annotation);
    return mark;
  }
  const auto rest = annotation.substr(kPrefix.size());
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find(':', colon + 1) != std::string_view::npos) {
    return fail(ErrorCode::kParse, "data format '" + std::string(annotation) +
                                       "' is not of the form migrating:<from>:<to>");
  }
  mark.format = std::string(rest.substr(0, colon));
  mark.migrating_to = std::string(rest.substr(colon + 1));
  return mark;
}

Result<CompatMatrix> CompatMatrix::builtin() {
  return parse(builtin_document());
}

Result<CompatMatrix> CompatMatrix::load(std::string_view override_text) {
  auto base = builtin();
  if (!base) return base;
  if (override_text.find_first_not_of(" \t\r\n") == std::string_view::npos) return base;
  return parse(override_text, &*base);
}

const DataFormat* CompatMatrix::format_for_server(const versions::SemVer& v) const {
  const versions::SemVer core = v.core();
  for (const auto& f : formats_) {
    if (f.servers.contains(core)) return &f;
  }
  return nullptr;
}

const DataFormat* CompatMatrix::find_format(std::string_view name) const {
  for (const auto& f : formats_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<int> CompatMatrix::format_rank(std::string_view name) const {
  for (std::size_t i = 0; i < formats_.size(); ++i) {
    if (formats_[i].name == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

Result<const DataFormat*> CompatMatrix::identify_format(
    const std::map<std::string, int>& levels) const {
  for (const auto& f : formats_) {
    if (!f.migrations.empty() && f.migrations == levels) return &f;
  }
  std::string text;
  for (const auto& [dir, level] : levels) {
    text += (text.empty() ? "" : ", ") + dir + "=" + std::to_string(level);
  }
  return fail(ErrorCode::kNotFound,
              "no known Chroma data format has migration levels {" + text + "}");
}

const EmbeddingModel* CompatMatrix::find_model(std::string_view name) const {
  const auto colon = name.find(':');
  const std::string_view base = name.substr(0, colon);
  for (const auto& m : models_) {
    if (m.name == base) return &m;
  }
  return nullptr;
}

std::vector<versions::Pep440Version> CompatMatrix::known_releases(std::string_view package) const {
  auto it = known_releases_.find(std::string(package));
  return it == known_releases_.end() ? std::vector<versions::Pep440Version>{} : it->second;
}

}  // namespace okami::gate
