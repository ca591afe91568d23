#include "okami/chroma/memory_reset.h"

#include <cctype>
#include <vector>

namespace okami::memory {

namespace fs = std::filesystem;
using common::ErrorCode;

namespace {
constexpr const char* kPrefix = ".okami-reset-";

bool valid_token(const std::string& t) {
  if (t.empty() || t.size() > 63) return false;
  for (unsigned char c : t) {
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return t != "." && t != "..";
}
}  // namespace

std::string aside_dir_name(const std::string& token) { return kPrefix + token; }

common::Result<int> move_memories_aside(const fs::path& storage, const std::string& token) {
  if (!valid_token(token)) {
    return common::fail(ErrorCode::kInvalidArgument,
                        "reset token '" + token + "' must be 1-63 characters of [A-Za-z0-9._-]");
  }
  std::error_code ec;
  if (!fs::is_directory(storage, ec)) {
    return common::fail(ErrorCode::kInvalidArgument, storage.string() + " is not a directory");
  }
  const fs::path aside = storage / aside_dir_name(token);
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(storage, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kPrefix, 0) == 0 || name == "lost+found") continue;
    entries.push_back(e.path());
  }
  if (ec) return common::fail(ErrorCode::kIo, "cannot list " + storage.string() + ": " + ec.message());
  fs::create_directories(aside, ec);
  if (ec) return common::fail(ErrorCode::kIo, "cannot create " + aside.string() + ": " + ec.message());
  int moved = 0;
  for (const auto& p : entries) {
    fs::rename(p, aside / p.filename(), ec);
    if (ec) return common::fail(ErrorCode::kIo, "cannot move " + p.string() + " aside: " + ec.message());
    ++moved;
  }
  return moved;
}

}  // namespace okami::memory
