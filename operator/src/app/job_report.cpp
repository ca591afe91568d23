#include "app/job_report.h"

#include <fstream>

namespace okami::app {

common::Status write_report(const std::string& path, const std::string& text) {
  if (path.empty()) return common::ok();
  if (text.size() > kMaxReportBytes) {
    return common::fail(common::ErrorCode::kInvalidArgument,
                        "report of " + std::to_string(text.size()) + " bytes exceeds the termination message limit");
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return common::fail(common::ErrorCode::kIo, "cannot write the report to " + path);
  return common::ok();
}

nlohmann::json source_report(const backup::Manifest& manifest) {
  nlohmann::json collections = nlohmann::json::array();
  for (const auto& c : manifest.collections) {
    nlohmann::json cj = {{"name", c.name}, {"id", c.id}, {"count", c.count}};
    if (c.dimension >= 0) cj["dimension"] = c.dimension;
    collections.push_back(std::move(cj));
  }
  return {{"chromaVersion", manifest.chroma_version},
          {"dataFormat", manifest.data_format.name},
          {"migrations", manifest.data_format.migrations},
          {"collections", std::move(collections)}};
}

void fit_source(nlohmann::json& report) {
  if (!report.is_object() || !report.contains("source")) return;
  for (const char* list : {"collections", "migrations"}) {
    // Measured with every non-ASCII character escaped: never shorter than the text written.
    if (report.dump(-1, ' ', true).size() <= kMaxReportBytes) return;
    report["source"].erase(list);
  }
}

}  // namespace okami::app
