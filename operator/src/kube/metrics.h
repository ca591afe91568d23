// A small Prometheus registry for the operator's own metrics (REST client, work queue,
// reconciles). Counters, gauges and histograms with labels, thread-safe, rendered in the text
// exposition format served on /metrics by kube/http_server.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace okami::kube {

using LabelValues = std::vector<std::string>;

// One metric name with its HELP text, label names and one child per label-value tuple.
class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~MetricFamily() = default;
  const std::string& name() const { return name_; }
  virtual const char* type() const = 0;
  // Appends HELP, TYPE and one line per sample.
  virtual void render(std::string& out) const = 0;

 protected:
  // `{a="x",b="y"}` with values escaped (backslash, quote, newline); "" when there are no labels.
  // `extra` adds one more pair (histogram `le`).
  std::string label_text(const LabelValues& values, const std::string& extra_name = "",
                         const std::string& extra_value = "") const;
  void render_header(std::string& out) const;
  // Label tuples of the wrong length are padded or cut, so a caller mistake never crashes.
  LabelValues normalize(LabelValues values) const;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mu_;
};

class CounterFamily final : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;
  const char* type() const override { return "counter"; }
  // Negative increments are ignored: counters only go up.
  void inc(const LabelValues& labels, double by = 1.0);
  double value(const LabelValues& labels) const;
  bool has(const LabelValues& labels) const;
  // Drops every series whose leading label values equal `prefix` (an object that went away).
  void remove_matching(const LabelValues& prefix);
  void render(std::string& out) const override;

 private:
  std::map<LabelValues, double> values_;
};

class GaugeFamily final : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;
  const char* type() const override { return "gauge"; }
  void set(const LabelValues& labels, double value);
  void add(const LabelValues& labels, double by);
  double value(const LabelValues& labels) const;
  bool has(const LabelValues& labels) const;
  // Drops every series whose leading label values equal `prefix` (an object that went away).
  void remove_matching(const LabelValues& prefix);
  void render(std::string& out) const override;

 private:
  std::map<LabelValues, double> values_;
};

class HistogramFamily final : public MetricFamily {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> buckets);
  const char* type() const override { return "histogram"; }
  void observe(const LabelValues& labels, double value);
  // Creates the series with no observations, so that it is rendered (at 0) before the first.
  void touch(const LabelValues& labels);
  std::uint64_t count(const LabelValues& labels) const;
  double sum(const LabelValues& labels) const;
  void render(std::string& out) const override;

 private:
  struct Series {
    std::vector<std::uint64_t> bucket_counts;  // per upper bound, not cumulative
    std::uint64_t count = 0;
    double sum = 0.0;
  };
  std::vector<double> buckets_;  // sorted upper bounds, +Inf implied
  std::map<LabelValues, Series> series_;
};

// Owns the families. Asking twice for the same name returns the same family (the first
// registration's help and labels win); asking for a name registered with another type returns a
// detached family whose samples are never rendered, so a naming clash cannot corrupt output.
class MetricsRegistry {
 public:
  CounterFamily& counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names,
                             std::vector<double> buckets = default_buckets());

  // Text exposition format (version 0.0.4), families sorted by name.
  std::string render() const;

  static std::vector<double> default_buckets();

 private:
  template <typename F, typename... Args>
  F& get_or_create(const std::string& name, Args&&... args);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>> families_;
  std::vector<std::unique_ptr<MetricFamily>> detached_;
};

// Registers the controller_runtime_* families the controller named `controller` reports to (see
// kube/controller.cpp), with every series at 0: an alert on their rate sees a fresh operator.
void register_controller_metrics(MetricsRegistry& registry, const std::string& controller);

// Formats a sample value the way Prometheus expects: integers without a fraction, +Inf/-Inf/NaN.
std::string format_metric_value(double value);

}  // namespace okami::kube
