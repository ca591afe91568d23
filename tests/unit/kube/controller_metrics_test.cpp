// register_controller_metrics against what the controller itself reports: the families exist at 0
// before the first reconcile, and once reconciles run, the output is the one a registry without
// the pre-registration renders (same HELP, TYPE and labels), plus only the zero series.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <sstream>

#include "kube/controller.h"
#include "kube/metrics.h"
#include "unit/kube/fake_client.h"

namespace okami::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;
using testing::make_object;

class CountingReconciler final : public Reconciler {
 public:
  ReconcileResult reconcile(const ObjectRef&, std::stop_token) override {
    ++calls;
    return Action::await_change();
  }
  std::atomic<int> calls{0};
};

std::vector<std::string> lines_of(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

std::string run_one_reconcile(MetricsRegistry& metrics) {
  FakeClient client;
  client.put(resources::kConfigMap, make_object("ns", "cm"));
  testing::ObservedClock clock;
  testing::ScriptedRandom random{{0.0}};
  ControllerOptions options;
  options.name = "okamistack";
  Controller controller(options, client, clock, random, &metrics);
  controller.watch_primary(resources::kConfigMap);
  CountingReconciler r;
  controller.start(r);
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (r.calls.load() < 1 && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
  // The counter is bumped right after the reconcile returns. Read it from the rendered text: asking
  // the registry for the family would register it first, with this test's help text, if the
  // controller had not reported yet.
  while (metrics.render().find("controller_runtime_reconcile_total{controller=\"okamistack\",result=\"success\"} 1") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < limit) {
    std::this_thread::yield();
  }
  controller.stop();
  return metrics.render();
}

TEST(ControllerMetrics, EveryControllerAndResultIsAtZeroBeforeTheFirstReconcile) {
  MetricsRegistry metrics;
  register_controller_metrics(metrics, "okamistack");
  const std::string text = metrics.render();
  for (const char* result : {"success", "requeue_after", "error"}) {
    EXPECT_NE(text.find(std::string("controller_runtime_reconcile_total{controller=\"okamistack\",result=\"") +
                        result + "\"} 0\n"),
              std::string::npos)
        << text;
  }
  EXPECT_NE(text.find("controller_runtime_reconcile_errors_total{controller=\"okamistack\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("controller_runtime_reconcile_time_seconds_count{controller=\"okamistack\"} 0\n"),
            std::string::npos)
      << text;
}

TEST(ControllerMetrics, PreRegistrationAgreesWithWhatTheControllerReports) {
  MetricsRegistry plain;
  MetricsRegistry pre;
  register_controller_metrics(pre, "okamistack");
  const std::string a = run_one_reconcile(plain);
  const std::string b = run_one_reconcile(pre);
  // Every family the controller reported on its own has the same HELP and TYPE when it was
  // registered first (the error families exist only in `b`: a success creates none).
  const auto b_lines = lines_of(b, "# ");
  for (const auto& line : lines_of(a, "# ")) {
    if (line.find("controller_runtime") == std::string::npos) continue;
    EXPECT_NE(std::find(b_lines.begin(), b_lines.end(), line), b_lines.end()) << line;
  }
  EXPECT_EQ(lines_of(b, "# TYPE controller_runtime").size(), 4u);
  const std::string success = "controller_runtime_reconcile_total{controller=\"okamistack\",result=\"success\"} 1";
  EXPECT_NE(a.find(success), std::string::npos) << a;
  EXPECT_NE(b.find(success), std::string::npos) << b;
}

}  // namespace
}  // namespace okami::kube
