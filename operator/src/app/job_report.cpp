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

}  // namespace okami::app
