#include "okami/ollama/models.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace okami::ollama {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string megabytes(int64_t bytes) { return std::to_string(bytes / (1000 * 1000)) + " MB"; }

}  // namespace

std::string canonical_model_name(std::string_view name) {
  std::string s = lower(name);
  std::string tag = "latest";
  const auto slash = s.rfind('/');
  const auto colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    tag = s.substr(colon + 1);
    s.resize(colon);
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto next = s.find('/', start);
    parts.push_back(s.substr(start, next == std::string::npos ? std::string::npos : next - start));
    if (next == std::string::npos) break;
    start = next + 1;
  }
  std::string host = "registry.ollama.ai";
  std::string ns = "library";
  const std::string model = parts.back();
  if (parts.size() >= 2) ns = parts[parts.size() - 2];
  if (parts.size() >= 3) {
    host.clear();
    for (std::size_t i = 0; i + 2 < parts.size(); ++i) host += (i ? "/" : "") + parts[i];
  }
  std::string out;
  if (host != "registry.ollama.ai") {
    out = host + "/" + ns + "/";
  } else if (ns != "library") {
    out = ns + "/";
  }
  return out + model + ":" + tag;
}

ModelsDecision decide_models(const std::vector<std::string>& wanted,
                             const std::string& embedding_model,
                             const std::vector<std::string>& installed,
                             const std::map<std::string, PullRecord>& pulls,
                             common::Clock::SteadyPoint now, common::Clock::WallPoint now_wall) {
  std::set<std::string> on_server;
  for (const auto& n : installed) on_server.insert(canonical_model_name(n));
  ModelsDecision d;
  for (const auto& name : wanted) {
    if (on_server.count(canonical_model_name(name))) {
      d.present.push_back(name);
      if (canonical_model_name(name) == canonical_model_name(embedding_model)) {
        d.embedding_present = true;
      }
      continue;
    }
    MissingModel m;
    m.name = name;
    auto it = pulls.find(name);
    const PullRecord* r = it == pulls.end() ? nullptr : &it->second;
    if (r != nullptr && r->running) {
      m.state = kModelPulling;
      m.last_attempt = r->last_attempt;
      if (r->total_bytes > 0) {
        // Whole tens of percent, so that a download does not rewrite the status at every poll.
        const int64_t pct = std::min<int64_t>(100, r->completed_bytes * 100 / r->total_bytes);
        m.message = "downloaded " + std::to_string(pct / 10 * 10) + "% of " +
                    megabytes(r->total_bytes);
      } else {
        m.message = "pull started";
      }
    } else if (r != nullptr && r->failures > 0 && now < r->retry_at) {
      m.state = kModelFailed;
      m.last_attempt = r->last_attempt;
      m.message = r->last_error + " (attempt " + std::to_string(r->failures) +
                  "; the operator tries again with backoff, Ollama keeps running)";
    } else {
      m.state = kModelPulling;
      m.last_attempt = now_wall;
      m.message = "pull started";
      d.start.push_back(name);
    }
    d.missing.push_back(std::move(m));
  }
  return d;
}

}  // namespace okami::ollama
