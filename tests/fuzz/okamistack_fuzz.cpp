// libFuzzer target: arbitrary bytes as an OkamiStack document. Decoding, defaulting, validation and
// the desired-state builders must never crash or throw on anything the apiserver (or a file given
// to `render`) could hand the operator; they may only return errors.
#include <cstddef>
#include <cstdint>
#include <string>

#include "okami/api/okamibackup.h"
#include "okami/api/okamistack.h"
#include "okami/children/desired_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;

  auto stack = okami::v1alpha1::OkamiStack::from_json(json);
  if (stack) {
    stack->apply_defaults();
    if (stack->validate()) {
      // A valid stack always builds, and its JSON decodes back to the same value.
      auto again = okami::v1alpha1::OkamiStack::from_json(stack->to_json());
      if (!again || again->to_json() != stack->to_json()) __builtin_trap();
      if (!stack->metadata.namespace_.empty()) {
        auto inputs = okami::desired::steady_state_inputs(*stack, "okami-operator:fuzz");
        if (!okami::desired::desired_objects(*stack, inputs)) __builtin_trap();
      }
    }
  }
  auto backup = okami::v1alpha1::OkamiBackup::from_json(json);
  if (backup) {
    backup->apply_defaults();
    (void)backup->validate();
  }
  return 0;
}
