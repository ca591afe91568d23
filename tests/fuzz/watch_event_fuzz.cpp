// Feeds arbitrary bytes to the watch-line decoder: every input yields an event with a known type
// and an object, or a typed error; nothing throws or crashes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kube/watch_event.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto event = okami::kube::decode_watch_line(line);
  if (event) {
    const auto& t = event->type;
    if (t != "ADDED" && t != "MODIFIED" && t != "DELETED" && t != "BOOKMARK") __builtin_trap();
    if (!event->object.is_object()) __builtin_trap();
  } else if (event.error().message.empty()) {
    __builtin_trap();
  }
  return 0;
}
