// Feeds arbitrary bytes to the kubeconfig parser: it must return a value or an error, never crash,
// hang or let a yaml-cpp exception escape. Relative file references resolve under a directory
// that does not exist, so no input can make the parser read real files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = okami::kube::parse_kubeconfig(text, "/nonexistent/okami-fuzz");
  if (cfg) {
    // A loaded config always names an http(s) server.
    if (cfg->server.rfind("http", 0) != 0) __builtin_trap();
  }
  (void)okami::kube::base64_decode(text);
  return 0;
}
