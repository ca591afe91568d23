#include "okami/chroma/format_probe.h"

#include <nlohmann/json.hpp>

namespace okami::chroma {

using common::ErrorCode;
using common::fail;
using Json = nlohmann::json;

namespace {

constexpr std::size_t kMaxDetail = 1500;

const char* outcome_name(ProbeReport::Outcome o) {
  switch (o) {
    case ProbeReport::Outcome::kEmpty:
      return "empty";
    case ProbeReport::Outcome::kPresent:
      return "present";
    case ProbeReport::Outcome::kUnreadable:
      return "unreadable";
  }
  return "unreadable";
}

}  // namespace

ProbeReport probe_report(const common::Result<DataFormat>& detected) {
  ProbeReport r;
  if (!detected) {
    r.outcome = ProbeReport::Outcome::kUnreadable;
    r.detail = detected.error().describe();
  } else if (!detected->has_data()) {
    r.outcome = ProbeReport::Outcome::kEmpty;
    r.detail = detected->describe();
  } else {
    r.outcome = ProbeReport::Outcome::kPresent;
    r.format = detected->name;
    r.detail = detected->describe();
  }
  if (r.detail.size() > kMaxDetail) r.detail = r.detail.substr(0, kMaxDetail) + "...";
  return r;
}

std::string to_message(const ProbeReport& report) {
  Json j = {{"kind", "okami-data-format-probe"},
            {"outcome", outcome_name(report.outcome)},
            {"format", report.format},
            {"detail", report.detail}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

common::Result<ProbeReport> parse_probe_message(const std::string& message) {
  Json j = Json::parse(message, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("kind", "") != "okami-data-format-probe" ||
      !j.contains("outcome") || !j["outcome"].is_string()) {
    return fail(ErrorCode::kParse, "not a data format probe report: '" + message.substr(0, 200) + "'");
  }
  ProbeReport r;
  const std::string outcome = j["outcome"].get<std::string>();
  if (outcome == "empty") {
    r.outcome = ProbeReport::Outcome::kEmpty;
  } else if (outcome == "present") {
    r.outcome = ProbeReport::Outcome::kPresent;
  } else if (outcome == "unreadable") {
    r.outcome = ProbeReport::Outcome::kUnreadable;
  } else {
    return fail(ErrorCode::kParse, "unknown probe outcome '" + outcome + "'");
  }
  if (j.contains("format") && j["format"].is_string()) r.format = j["format"].get<std::string>();
  if (j.contains("detail") && j["detail"].is_string()) r.detail = j["detail"].get<std::string>();
  if (r.outcome == ProbeReport::Outcome::kPresent && r.format.empty()) {
    return fail(ErrorCode::kInvalidArgument, "the probe found data but reported no format");
  }
  return r;
}

}  // namespace okami::chroma
