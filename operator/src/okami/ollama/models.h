// Which of a stack's models are on its Ollama server and what to do about the others: a pure
// decider over the names /api/tags lists and the pulls already tried. The model manager
// (ollama_model_manager.h) feeds it and carries out the pulls; stack_status.cpp turns its result
// into status.ollama.models, status.ollama.modelPulls and the ModelsReady condition.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace okami::ollama {

// The name as Ollama lists it in /api/tags (model.Name.DisplayShortest in v0.4.7), lower-cased:
// the default registry and "library/" namespace dropped, ":latest" added when no tag is given.
// "mxbai-embed-large", "library/mxbai-embed-large:latest" and
// "registry.ollama.ai/library/mxbai-embed-large" all give "mxbai-embed-large:latest".
std::string canonical_model_name(std::string_view name);

// What the manager remembers about the pulls of one model.
struct PullRecord {
  bool running = false;  // a pull is queued or in flight
  int64_t completed_bytes = 0;
  int64_t total_bytes = 0;
  unsigned failures = 0;       // consecutive failed attempts
  std::string last_error;      // of the last failed attempt
  std::optional<common::Clock::WallPoint> last_attempt;
  common::Clock::SteadyPoint retry_at{};  // after a failure, no new attempt before this
};

inline constexpr const char* kModelPulling = "Pulling";
inline constexpr const char* kModelFailed = "Failed";

// One spec model that is not on the server.
struct MissingModel {
  std::string name;   // as the spec writes it
  std::string state;  // kModelPulling or kModelFailed
  std::string message;
  std::optional<common::Clock::WallPoint> last_attempt;
  bool operator==(const MissingModel&) const = default;
};

struct ModelsDecision {
  std::vector<std::string> present;   // spec models on the server, in spec order
  std::vector<MissingModel> missing;  // the others, in spec order
  std::vector<std::string> start;     // pulls to start now (spec names)
  bool embedding_present = false;
  bool all_present() const { return missing.empty(); }
};

// `wanted` in spec order (the embedding model among them); `installed` as /api/tags lists it;
// `pulls` keyed by spec name. A model on the server is never pulled again (a moving tag such as
// :latest does not drift under stored vectors); a missing one is pulled unless a pull runs or a
// failed one waits for its retry time. A pull about to start is reported as Pulling, with
// `now_wall` as its last attempt.
ModelsDecision decide_models(const std::vector<std::string>& wanted,
                             const std::string& embedding_model,
                             const std::vector<std::string>& installed,
                             const std::map<std::string, PullRecord>& pulls,
                             common::Clock::SteadyPoint now, common::Clock::WallPoint now_wall);

// How far the operator got in checking the models of one stack.
enum class ModelsCheck {
  kNotChecked,        // the operator does not talk to this Ollama (see --ollama-networks)
  kWaitingForOllama,  // no Ollama pod at the spec's version is ready yet
  kUnreachable,       // /api/tags did not answer
  kChecked,           // `decision` holds the answer
};

struct ModelsReport {
  ModelsCheck check = ModelsCheck::kNotChecked;
  std::string message;  // why not checked, or the unreachable server's error
  ModelsDecision decision;
};

}  // namespace okami::ollama
