#include "kube/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace okami::kube {

namespace {

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.0f", value);
    return buf;
  }
  // Shortest representation that reads back as the same double.
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

std::string MetricFamily::label_text(const LabelValues& values, const std::string& extra_name,
                                     const std::string& extra_value) const {
  if (label_names_.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (std::size_t i = 0; i < label_names_.size(); ++i) {
    if (!first) out += ",";
    first = false;
    out += label_names_[i] + "=\"" + escape_label_value(i < values.size() ? values[i] : "") + "\"";
  }
  if (!extra_name.empty()) {
    if (!first) out += ",";
    out += extra_name + "=\"" + escape_label_value(extra_value) + "\"";
  }
  out += "}";
  return out;
}

void MetricFamily::render_header(std::string& out) const {
  out += "# HELP " + name_ + " " + escape_help(help_) + "\n";
  out += "# TYPE " + name_ + " " + type() + "\n";
}

LabelValues MetricFamily::normalize(LabelValues values) const {
  values.resize(label_names_.size());
  return values;
}

void CounterFamily::inc(const LabelValues& labels, double by) {
  if (!(by >= 0.0)) return;
  std::lock_guard lock(mu_);
  values_[normalize(labels)] += by;
}

double CounterFamily::value(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(normalize(labels));
  return it == values_.end() ? 0.0 : it->second;
}

bool CounterFamily::has(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  return values_.count(normalize(labels)) > 0;
}

namespace {
template <typename Map>
void erase_prefix(Map& values, const LabelValues& prefix) {
  for (auto it = values.begin(); it != values.end();) {
    const bool match = prefix.size() <= it->first.size() &&
                       std::equal(prefix.begin(), prefix.end(), it->first.begin());
    it = match ? values.erase(it) : std::next(it);
  }
}
}  // namespace

void CounterFamily::remove_matching(const LabelValues& prefix) {
  std::lock_guard lock(mu_);
  erase_prefix(values_, prefix);
}

void CounterFamily::render(std::string& out) const {
  std::lock_guard lock(mu_);
  render_header(out);
  for (const auto& [labels, v] : values_) {
    out += name_ + label_text(labels) + " " + format_metric_value(v) + "\n";
  }
}

void GaugeFamily::set(const LabelValues& labels, double value) {
  std::lock_guard lock(mu_);
  values_[normalize(labels)] = value;
}

void GaugeFamily::add(const LabelValues& labels, double by) {
  std::lock_guard lock(mu_);
  values_[normalize(labels)] += by;
}

double GaugeFamily::value(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(normalize(labels));
  return it == values_.end() ? 0.0 : it->second;
}

bool GaugeFamily::has(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  return values_.count(normalize(labels)) > 0;
}

void GaugeFamily::remove_matching(const LabelValues& prefix) {
  std::lock_guard lock(mu_);
  erase_prefix(values_, prefix);
}

void GaugeFamily::render(std::string& out) const {
  std::lock_guard lock(mu_);
  render_header(out);
  for (const auto& [labels, v] : values_) {
    out += name_ + label_text(labels) + " " + format_metric_value(v) + "\n";
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> buckets)
    : MetricFamily(std::move(name), std::move(help), std::move(label_names)),
      buckets_(std::move(buckets)) {
  buckets_.erase(std::remove_if(buckets_.begin(), buckets_.end(),
                                [](double b) { return std::isnan(b) || std::isinf(b); }),
                 buckets_.end());
  std::sort(buckets_.begin(), buckets_.end());
  buckets_.erase(std::unique(buckets_.begin(), buckets_.end()), buckets_.end());
}

void HistogramFamily::observe(const LabelValues& labels, double value) {
  if (std::isnan(value)) return;
  std::lock_guard lock(mu_);
  Series& s = series_[normalize(labels)];
  if (s.bucket_counts.empty()) s.bucket_counts.assign(buckets_.size(), 0);
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), value);
  if (it != buckets_.end()) ++s.bucket_counts[static_cast<std::size_t>(it - buckets_.begin())];
  ++s.count;
  s.sum += value;
}

void HistogramFamily::touch(const LabelValues& labels) {
  std::lock_guard lock(mu_);
  Series& s = series_[normalize(labels)];
  if (s.bucket_counts.empty()) s.bucket_counts.assign(buckets_.size(), 0);
}

std::uint64_t HistogramFamily::count(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(normalize(labels));
  return it == series_.end() ? 0 : it->second.count;
}

double HistogramFamily::sum(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(normalize(labels));
  return it == series_.end() ? 0.0 : it->second.sum;
}

void HistogramFamily::render(std::string& out) const {
  std::lock_guard lock(mu_);
  render_header(out);
  for (const auto& [labels, s] : series_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      cumulative += s.bucket_counts[i];
      out += name_ + "_bucket" + label_text(labels, "le", format_metric_value(buckets_[i])) + " " +
             std::to_string(cumulative) + "\n";
    }
    out +=
        name_ + "_bucket" + label_text(labels, "le", "+Inf") + " " + std::to_string(s.count) + "\n";
    out += name_ + "_sum" + label_text(labels) + " " + format_metric_value(s.sum) + "\n";
    out += name_ + "_count" + label_text(labels) + " " + std::to_string(s.count) + "\n";
  }
}

template <typename F, typename... Args>
F& MetricsRegistry::get_or_create(const std::string& name, Args&&... args) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<F>(name, std::forward<Args>(args)...);
    F& ref = *family;
    families_.emplace(name, std::move(family));
    return ref;
  }
  if (auto* typed = dynamic_cast<F*>(it->second.get())) return *typed;
  auto family = std::make_unique<F>(name, std::forward<Args>(args)...);
  F& ref = *family;
  detached_.push_back(std::move(family));
  return ref;
}

CounterFamily& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names) {
  return get_or_create<CounterFamily>(name, help, std::move(label_names));
}

GaugeFamily& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names) {
  return get_or_create<GaugeFamily>(name, help, std::move(label_names));
}

HistogramFamily& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                            std::vector<std::string> label_names,
                                            std::vector<double> buckets) {
  return get_or_create<HistogramFamily>(name, help, std::move(label_names), std::move(buckets));
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) family->render(out);
  return out;
}

std::vector<double> MetricsRegistry::default_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void register_controller_metrics(MetricsRegistry& registry, const std::string& controller) {
  // Names, help and labels exactly as kube/controller.cpp reports them (the first registration
  // of a name wins, so they must agree; a unit test renders both).
  auto& total = registry.counter("controller_runtime_reconcile_total",
                                 "Reconciles per controller and result.", {"controller", "result"});
  for (const char* result : {"success", "requeue_after", "error"}) total.inc({controller, result}, 0);
  registry.histogram("controller_runtime_reconcile_time_seconds", "Seconds per reconcile.", {"controller"})
      .touch({controller});
  registry.counter("controller_runtime_reconcile_errors_total", "Failed reconciles.", {"controller"})
      .inc({controller}, 0);
  registry
      .counter("controller_runtime_terminal_reconcile_errors_total",
               "Reconciles that failed with a terminal error.", {"controller"})
      .inc({controller}, 0);
}

}  // namespace okami::kube
