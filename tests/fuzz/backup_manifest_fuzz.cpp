// Fuzz target: the backup manifest parser reads bytes from an archive anyone could have written.
// Invariants: never crashes; whatever it accepts serialises canonically and parses back equal.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "okami/backup/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto manifest = okami::backup::parse_manifest(text);
  if (!manifest) return 0;
  const std::string canonical = okami::backup::canonical_json(*manifest);
  auto again = okami::backup::parse_manifest(canonical);
  if (!again || !(*again == *manifest) || okami::backup::canonical_json(*again) != canonical) std::abort();
  for (const auto& f : manifest->files) {
    if (!okami::backup::is_safe_archive_path(f.path)) std::abort();
  }
  return 0;
}
