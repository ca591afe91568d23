#include "okami/gate/compatibility_gate.h"

#include "okami/gate/evaluator.h"

#include <algorithm>
#include <set>

namespace okami::gate {
using detail::Evaluator;
using versions::SemVer;


const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "PASS";
    case Outcome::kFail:
      return "FAIL";
    case Outcome::kWarn:
      return "WARN";
    case Outcome::kSkip:
      return "SKIP";
  }
  return "?";
}

std::string GateResult::condition_reason() const {
  return passed || violations.empty() ? "Compatible" : violations.front().reason;
}

std::string GateResult::summary() const {
  if (violations.empty()) {
    return "all compatibility rules pass" +
           (warnings.empty() ? std::string()
                             : " (" + std::to_string(warnings.size()) + " warning(s))");
  }
  std::string out;
  for (const auto& v : violations)
    out += (out.empty() ? "" : "; ") + ("[" + v.rule_id + "] " + v.message);
  return out;
}

GateResult evaluate(const CompatInput& input, const CompatMatrix& matrix) {
  return Evaluator(input, matrix).run();
}

bool crosses_format_boundary(const CompatMatrix& matrix, const SemVer& from, const SemVer& to) {
  const DataFormat* a = matrix.format_for_server(from);
  const DataFormat* b = matrix.format_for_server(to);
  return !a || !b || a != b;
}

bool is_downgrade_across_boundary(const CompatMatrix& matrix, const SemVer& from,
                                  const SemVer& to) {
  const DataFormat* a = matrix.format_for_server(from);
  if (!a) return true;
  return is_downgrade_across_boundary(matrix, a->name, to);
}

bool is_downgrade_across_boundary(const CompatMatrix& matrix, std::string_view on_disk_format,
                                  const SemVer& to) {
  const DataFormat* target = matrix.format_for_server(to);
  if (!target) return true;
  auto mark = DataFormatMark::parse(on_disk_format);
  if (!mark) return true;
  auto rank = matrix.format_rank(mark->format);
  if (mark->migrating_to) {
    auto to_rank = matrix.format_rank(*mark->migrating_to);
    if (!to_rank) return true;
    if (rank) rank = std::max(*rank, *to_rank);
  }
  if (!rank) return true;
  return *matrix.format_rank(target->name) < *rank;
}

}  // namespace okami::gate
