// `okami-operator run` options: /metrics stays off the network unless asked, the health probes
// get their own address without /metrics, and the liveness limits have safe defaults and bounds.
#include "app/run_flags.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/operator_wiring.h"
#include "unit/kube/loopback_http.h"

namespace okami::app {
namespace {

OperatorFlags parse_ok(const std::vector<std::string>& args) {
  auto parsed = parse_run_flags(args);
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message);
  return parsed ? parsed->flags : OperatorFlags{};
}

std::string parse_error(const std::vector<std::string>& args) {
  auto parsed = parse_run_flags(args);
  if (parsed) return "(accepted)";
  EXPECT_EQ(parsed.error().code, common::ErrorCode::kInvalidArgument);
  return parsed.error().message;
}

TEST(RunFlags, MetricsAreServedOnLoopbackOnlyByDefault) {
  const OperatorFlags flags = parse_ok({});
  EXPECT_EQ(flags.metrics_address, "127.0.0.1:8080");
  EXPECT_EQ(flags.health_address, "") << "no second listener unless asked (a Pod asks for :8081)";
  EXPECT_EQ(OperatorFlags{}.metrics_address, "127.0.0.1:8080") << "the struct's default too";
}

TEST(RunFlags, TheAddressesAreTheOnesGiven) {
  const OperatorFlags flags =
      parse_ok({"--metrics-bind-address", ":8080", "--health-probe-bind-address", ":8081"});
  EXPECT_EQ(flags.metrics_address, ":8080");
  EXPECT_EQ(flags.health_address, ":8081");
  EXPECT_EQ(parse_ok({"--metrics-bind-address", "0"}).metrics_address, "0");
  EXPECT_NE(parse_error({"--metrics-bind-address", ""}).find("--metrics-bind-address"),
            std::string::npos);
}

TEST(RunFlags, LivenessLimitsDefaultToTenAndFifteenMinutes) {
  const OperatorFlags flags = parse_ok({});
  EXPECT_EQ(flags.liveness_reconcile_timeout_s, 600);
  EXPECT_EQ(flags.liveness_watch_timeout_s, 900);
  const OperatorFlags off =
      parse_ok({"--liveness-reconcile-timeout", "0", "--liveness-watch-timeout", "0"});
  EXPECT_EQ(off.liveness_reconcile_timeout_s, 0);
  EXPECT_EQ(off.liveness_watch_timeout_s, 0);
  EXPECT_EQ(parse_ok({"--liveness-watch-timeout", "720"}).liveness_watch_timeout_s, 720);
}

TEST(RunFlags, RefusesLivenessLimitsThatWouldRestartAWorkingOperator) {
  // A working watch may stay silent for 600 s plus the client's 30 s idle margin.
  EXPECT_NE(parse_error({"--liveness-watch-timeout", "600"}).find("at least 720"),
            std::string::npos);
  EXPECT_NE(parse_error({"--liveness-reconcile-timeout", "30"}).find("at least 60"),
            std::string::npos);
  EXPECT_NE(parse_error({"--liveness-watch-timeout", "-1"}).find("--liveness-watch-timeout"),
            std::string::npos);
}

TEST(RunFlags, OtherOptionsKeepTheirMeaning) {
  const OperatorFlags flags =
      parse_ok({"--watch-namespaces", "a,,b", "--job-pod-annotations", "k=v", "--workers", "3"});
  EXPECT_EQ(flags.watch_namespaces, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(flags.job_pod_annotations.at("k"), "v");
  EXPECT_EQ(flags.workers, 3);
  EXPECT_NE(parse_error({"--workers", "0"}).find("--workers"), std::string::npos);
  EXPECT_NE(parse_error({"--job-pod-annotations", "novalue"}).find("KEY=VALUE"), std::string::npos);
  EXPECT_NE(parse_error({"--no-such-flag"}).find("no-such-flag"), std::string::npos);
  auto help = parse_run_flags({"--help"});
  ASSERT_TRUE(help);
  EXPECT_TRUE(help->help);
  EXPECT_NE(help->usage.find("--metrics-bind-address"), std::string::npos);
  EXPECT_NE(help->usage.find("--liveness-watch-timeout"), std::string::npos);
}

// ---- the process wires them: /metrics only on the metrics address ----

std::string get(int port, const std::string& path) {
  return testing::loopback_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(OperatorProcessServers, TheHealthAddressServesProbesButNeverMetrics) {
  const auto dir = std::filesystem::temp_directory_path() / "okami-run-flags-test";
  std::filesystem::create_directories(dir);
  // An apiserver that is not there (nothing listens on port 1 of the loopback): the process is
  // a standby replica competing for a Lease, so no controller starts.
  std::ofstream(dir / "kubeconfig") << R"(apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)";
  auto parsed = parse_run_flags({"--kubeconfig", (dir / "kubeconfig").string(), "--leader-elect",
                                 "--metrics-bind-address", "127.0.0.1:0",
                                 "--health-probe-bind-address", "localhost:0",
                                 "--ollama-networks", "none"});
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto process = OperatorProcess::create(parsed->flags);
  ASSERT_TRUE(process) << process.error().describe();
  ASSERT_TRUE((*process)->start());
  const int metrics = (*process)->metrics_port();
  const int health = (*process)->health_port();
  ASSERT_GT(metrics, 0);
  ASSERT_GT(health, 0);
  EXPECT_EQ(get(metrics, "/metrics").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(get(metrics, "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(get(health, "/metrics").rfind("HTTP/1.1 404", 0), 0u) << "metrics leak to the probe port";
  EXPECT_EQ(get(health, "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(get(health, "/readyz").rfind("HTTP/1.1 200", 0), 0u) << "a standby replica is ready";
  (*process)->stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace okami::app
