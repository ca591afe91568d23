#include "common/failpoint.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

namespace okami::common {

namespace {

const std::set<std::string, std::less<>>& enabled() {
  static const std::set<std::string, std::less<>> points = [] {
    std::set<std::string, std::less<>> out;
    const char* env = std::getenv("OKAMI_FAILPOINTS");
    if (env == nullptr) return out;
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.insert(item);
    }
    return out;
  }();
  return points;
}

}  // namespace

void failpoint(std::string_view name) {
  if (enabled().empty() || enabled().find(name) == enabled().end()) return;
  spdlog::warn("failpoint {}: exiting now", name);
  spdlog::default_logger()->flush();
  std::_Exit(86);
}

}  // namespace okami::common
