#include "kube/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace okami::kube {
namespace {

TEST(Metrics, CountersRenderWithHelpTypeAndLabels) {
  MetricsRegistry registry;
  auto& c = registry.counter("rest_client_requests_total", "Requests.", {"code", "method"});
  c.inc({"200", "GET"});
  c.inc({"200", "GET"}, 2);
  c.inc({"404", "GET"});
  EXPECT_EQ(registry.render(),
            "# HELP rest_client_requests_total Requests.\n"
            "# TYPE rest_client_requests_total counter\n"
            "rest_client_requests_total{code=\"200\",method=\"GET\"} 3\n"
            "rest_client_requests_total{code=\"404\",method=\"GET\"} 1\n");
}

TEST(Metrics, CountersIgnoreNegativeIncrements) {
  MetricsRegistry registry;
  auto& c = registry.counter("x_total", "x");
  c.inc({}, 5);
  c.inc({}, -3);
  EXPECT_EQ(c.value({}), 5);
}

TEST(Metrics, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.gauge("g", "a \\ help\nline", {"path"}).set({"a\"b\\c\nd"}, 1.5);
  EXPECT_EQ(registry.render(),
            "# HELP g a \\\\ help\\nline\n"
            "# TYPE g gauge\n"
            "g{path=\"a\\\"b\\\\c\\nd\"} 1.5\n");
}

TEST(Metrics, GaugesGoUpAndDown) {
  MetricsRegistry registry;
  auto& g = registry.gauge("workqueue_depth", "Depth.", {"name"});
  g.add({"q"}, 3);
  g.add({"q"}, -1);
  EXPECT_EQ(g.value({"q"}), 2);
  g.set({"q"}, 0);
  EXPECT_NE(registry.render().find("workqueue_depth{name=\"q\"} 0\n"), std::string::npos);
}

TEST(Metrics, HistogramsRenderCumulativeBucketsSumAndCount) {
  MetricsRegistry registry;
  auto& h = registry.histogram("latency_seconds", "Latency.", {"op"}, {1, 0.5});
  h.observe({"get"}, 0.25);
  h.observe({"get"}, 0.5);  // on the boundary: counts in le="0.5"
  h.observe({"get"}, 0.75);
  h.observe({"get"}, 7);
  EXPECT_EQ(registry.render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{op=\"get\",le=\"0.5\"} 2\n"
            "latency_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
            "latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{op=\"get\"} 8.5\n"
            "latency_seconds_count{op=\"get\"} 4\n");
  EXPECT_EQ(h.count({"get"}), 4u);
}

TEST(Metrics, HistogramWithoutLabelsStillNamesLe) {
  MetricsRegistry registry;
  registry.histogram("h", "h", {}, {0.005}).observe({}, 0.001);
  EXPECT_NE(registry.render().find("h_bucket{le=\"0.005\"} 1\n"), std::string::npos);
}

TEST(Metrics, AskingTwiceReturnsTheSameFamily) {
  MetricsRegistry registry;
  registry.counter("c_total", "c", {"a"}).inc({"x"});
  registry.counter("c_total", "other help", {"a"}).inc({"x"});
  EXPECT_EQ(registry.counter("c_total", "", {"a"}).value({"x"}), 2);
}

TEST(Metrics, ATypeClashNeverCorruptsTheOutput) {
  MetricsRegistry registry;
  registry.counter("m", "m").inc({});
  registry.gauge("m", "m").set({}, 42);
  const std::string text = registry.render();
  EXPECT_EQ(text.find("gauge"), std::string::npos);
  EXPECT_NE(text.find("m 1\n"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry registry;
  auto& c = registry.counter("n_total", "n", {"t"});
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.inc({"x"});
    });
  }
  threads.clear();
  EXPECT_EQ(c.value({"x"}), 40000);
}

TEST(Metrics, ValuesFormatLikePrometheus) {
  EXPECT_EQ(format_metric_value(3), "3");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
  EXPECT_EQ(format_metric_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_metric_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_metric_value(0.0 / 0.0), "NaN");
}

}  // namespace
}  // namespace okami::kube
