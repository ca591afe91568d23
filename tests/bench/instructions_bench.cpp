// Instruction counts of the operator's hot paths, for numbers that do not depend on a noisy
// machine: run under `valgrind --tool=callgrind` (hack/bench-instructions.sh does), every scenario
// zeroes callgrind's counters before its measured region and dumps them after it, under the
// scenario's name, so each dump holds that region only (every thread, summed). Scenarios: watch
// events decoded and applied by a Controller (HTTP text → decode → store → predicate → queue →
// no-op reconcile), a Controller's initial list of 1000 StatefulSets (from JSON text and from
// already-parsed objects), and steady-state reconciles of the sample OkamiStack; baselines in the
// same run: a bare nlohmann::json::parse of the same bytes. Without valgrind it prints wall times.
// Never asserts on a number.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else  // without valgrind's headers the measured regions are simply timed
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(name) ((void)(name))
#define RUNNING_ON_VALGRIND 0
#endif

#include "bench/bench_transport.h"
#include "common/clock.h"
#include "common/random.h"
#include "kube/controller.h"
#include "kube/http_client.h"
#include "kube/watch_event.h"
#include "okami/api/yaml_io.h"
#include "unit/kube/fake_client.h"
#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::bench {
namespace {

using kube::Json;
namespace res = kube::resources;

constexpr int kWatchObjects = 100;   // StatefulSets (and one Pod each) cached before the events
constexpr int kWatchWarmUp = 200;    // events applied before the measured ones
constexpr int kWatchEvents = 1000;   // measured events: half Pod, half StatefulSet
constexpr int kListObjects = 1000;   // StatefulSets in the initial list
constexpr int kReconciles = 20;      // measured steady-state reconciles (after 3 unmeasured)

// ---------------------------------------------------------------------------------------------
// Measurement and report.

struct Row {
  std::string name;
  std::string unit;  // what one op is
  long ops = 0;
  std::string baseline;  // the row this one is compared with ("" for a baseline)
  double wall_s = 0;
  std::string note;
  long items = 0;  // objects one op handles, when that is worth a per-object figure
};

class Report {
 public:
  // Runs `body` as the measured region `name`, which performs `ops` units of work. Outside the
  // regions callgrind may run uninstrumented (--instr-atstart=no), which is much faster.
  template <class F>
  void measure(const std::string& name, const std::string& unit, long ops,
               const std::string& baseline, F&& body, std::string note = "") {
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_ZERO_STATS;
    const auto start = std::chrono::steady_clock::now();
    body();
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
    CALLGRIND_DUMP_STATS_AT(name.c_str());
    CALLGRIND_STOP_INSTRUMENTATION;
    rows_.push_back({name, unit, ops, baseline, wall.count(), std::move(note)});
  }
  void items_last(long items) { rows_.back().items = items; }
  void note_last(const std::string& note) {
    rows_.back().note += (rows_.back().note.empty() ? "" : "; ") + note;
  }

  // A human table (wall times: meaningless under valgrind) and one "@scenario {json}" line per
  // row for hack/bench-instructions.sh, which joins them with the callgrind dumps.
  void print() const {
    std::printf("%-26s %6s %-10s %14s  %s\n", "scenario", "ops", "unit", "wall/op", "note");
    for (const auto& r : rows_) {
      std::printf("%-26s %6ld %-10s %11.2f us  %s\n", r.name.c_str(), r.ops, r.unit.c_str(),
                  r.wall_s / static_cast<double>(r.ops) * 1e6, r.note.c_str());
    }
    for (const auto& r : rows_) {
      Json j = {{"name", r.name}, {"unit", r.unit},     {"ops", r.ops},
                {"baseline", r.baseline}, {"wall_s", r.wall_s}, {"note", r.note}};
      if (r.items > 0) j["items"] = r.items;
      std::printf("@scenario %s\n", j.dump().c_str());
    }
  }

 private:
  std::vector<Row> rows_;
};

// ---------------------------------------------------------------------------------------------
// Objects as the apiserver sends them (tests/bench/data: the operator's rendered chroma
// StatefulSet with the apiserver's defaults, status and managedFields, and its Pod).

struct Fixtures {
  Json statefulset;
  Json pod;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Fixtures load_fixtures() {
  const std::string dir = OKAMI_BENCH_DATA_DIR;
  return {Json::parse(read_file(dir + "/statefulset.json")),
          Json::parse(read_file(dir + "/pod.json"))};
}

std::string uid(char kind, int i) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%c0000000-4d3a-4e8b-a7f1-%012d", kind, i);
  return buf;
}
std::string stack_name(int i) { return "stack-" + std::to_string(i); }
std::string namespace_of(int i) { return "tenant-" + std::to_string(i % 20); }

// The chroma StatefulSet of stack i.
Json statefulset(const Fixtures& f, int i) {
  Json s = f.statefulset;
  auto& m = s["metadata"];
  m["name"] = stack_name(i) + "-chroma";
  m["namespace"] = namespace_of(i);
  m["uid"] = uid('5', i);
  m["resourceVersion"] = std::to_string(1000 + i);
  m["labels"]["app.kubernetes.io/instance"] = stack_name(i);
  m["ownerReferences"][0]["name"] = stack_name(i);
  m["ownerReferences"][0]["uid"] = uid('0', i);
  return s;
}
// Pod 0 of that StatefulSet.
Json pod(const Fixtures& f, int i) {
  Json p = f.pod;
  auto& m = p["metadata"];
  m["name"] = stack_name(i) + "-chroma-0";
  m["namespace"] = namespace_of(i);
  m["uid"] = uid('9', i);
  m["resourceVersion"] = std::to_string(3000 + i);
  m["labels"]["app.kubernetes.io/instance"] = stack_name(i);
  m["ownerReferences"][0]["name"] = stack_name(i) + "-chroma";
  m["ownerReferences"][0]["uid"] = uid('5', i);
  return p;
}
// As a list item: without kind and apiVersion.
std::string list_item(Json object) {
  object.erase("kind");
  object.erase("apiVersion");
  return object.dump();
}
std::string watch_line(const std::string& type, const Json& object) {
  return Json{{"type", type}, {"object", object}}.dump();
}

// ---------------------------------------------------------------------------------------------
// The one place that assembles the Kubernetes runtime for these scenarios: a client (HTTP over
// BenchTransport, or the unit tests' FakeClient), one Controller with a worker, the StatefulSet
// watch as primary and, optionally, the Pod watch as owned. A change of the runtime's API is
// fixed here.

// Counts reconciles; does nothing else.
class CountingReconciler final : public kube::Reconciler {
 public:
  kube::ReconcileResult reconcile(const kube::ObjectRef&, std::stop_token) override {
    std::lock_guard lock(mu_);
    ++calls_;
    cv_.notify_all();
    return kube::Action::await_change();
  }
  void wait_calls(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return calls_ >= n; });
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
};

struct Runtime {
  common::SystemClock clock;
  common::SeededRandom random{1};
  std::unique_ptr<kube::Client> client;
  std::unique_ptr<kube::Controller> controller;
  kube::Store* statefulsets = nullptr;
  kube::Store* pods = nullptr;
  CountingReconciler reconciler;

  Runtime(std::shared_ptr<BenchTransport> transport, bool watch_pods) {
    kube::ClientOptions options;
    options.qps = 0;  // no client-side throttling: the measure is CPU, not the token bucket
    client = std::make_unique<kube::HttpClient>(std::move(transport), options, clock);
    wire(watch_pods);
  }
  Runtime(std::unique_ptr<kube::Client> c, bool watch_pods) : client(std::move(c)) {
    wire(watch_pods);
  }
  ~Runtime() { controller->stop(); }

  void start() { controller->start(reconciler); }
  // Until the work queue is empty and no reconcile has happened for 5 ms (a bounded poll: its
  // cost inside a measured region is a few hundred instructions per 5 ms).
  void wait_idle() {
    int last = -1;
    while (true) {
      const int calls = reconciler.calls();
      if (controller->queue().len() == 0 && calls == last) return;
      last = calls;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  void wire(bool watch_pods) {
    kube::ControllerOptions options;
    options.name = "bench";
    options.workers = 1;
    controller = std::make_unique<kube::Controller>(options, *client, clock, random);
    statefulsets = &controller->watch_primary(res::kStatefulSet);
    if (watch_pods) pods = &controller->watch_owned(res::kPod);
  }
};

void serve(BenchTransport& t, const kube::ResourceType& type, const std::vector<Json>& objects) {
  std::vector<std::string> items;
  for (const auto& o : objects) items.push_back(list_item(o));
  t.serve_list(type.collection_path(""), type.kind + "List", type.api_version(), std::move(items),
               "90000");
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

// Watch lines for events [from, to): even ones a kubelet status update of a Pod (wakes its
// StatefulSet's key), odd ones a status-only update of a StatefulSet (the primary's predicate
// drops it). Returned per collection path.
std::pair<std::vector<std::string>, std::vector<std::string>> watch_lines(const Fixtures& f,
                                                                          int from, int to) {
  std::vector<std::string> pods, statefulsets;
  for (int e = from; e < to; ++e) {
    const int i = (e / 2) % kWatchObjects;
    const std::string rv = std::to_string(100000 + e);
    if (e % 2 == 0) {
      Json p = pod(f, i);
      p["metadata"]["resourceVersion"] = rv;
      p["status"]["containerStatuses"][0]["restartCount"] = e;
      p["status"]["conditions"][2]["lastTransitionTime"] = "2026-11-26T02:00:00Z";
      pods.push_back(watch_line("MODIFIED", p));
    } else {
      Json s = statefulset(f, i);
      s["metadata"]["resourceVersion"] = rv;
      s["status"]["readyReplicas"] = e % 4 == 1 ? 0 : 1;
      statefulsets.push_back(watch_line("MODIFIED", s));
    }
  }
  return {std::move(pods), std::move(statefulsets)};
}

void watch_scenarios(Report& report, const Fixtures& f) {
  auto transport = std::make_shared<BenchTransport>();
  std::vector<Json> sts, pods;
  for (int i = 0; i < kWatchObjects; ++i) {
    sts.push_back(statefulset(f, i));
    pods.push_back(pod(f, i));
  }
  serve(*transport, res::kStatefulSet, sts);
  serve(*transport, res::kPod, pods);
  Runtime rt(transport, /*watch_pods=*/true);
  rt.start();
  rt.reconciler.wait_calls(kWatchObjects);
  rt.wait_idle();

  const std::string pod_path = res::kPod.collection_path("");
  const std::string sts_path = res::kStatefulSet.collection_path("");
  auto [warm_pods, warm_sts] = watch_lines(f, 0, kWatchWarmUp);
  transport->push_lines(pod_path, std::move(warm_pods));
  transport->push_lines(sts_path, std::move(warm_sts));
  transport->wait_delivered(kWatchWarmUp);
  rt.wait_idle();

  auto [measured_pods, measured_sts] = watch_lines(f, kWatchWarmUp, kWatchWarmUp + kWatchEvents);
  std::vector<std::string> all = measured_pods;
  all.insert(all.end(), measured_sts.begin(), measured_sts.end());
  std::size_t bytes = 0;
  for (const auto& l : all) bytes += l.size();
  const int calls_before = rt.reconciler.calls();
  report.measure("watch_event", "event", kWatchEvents, "parse_watch_line", [&] {
    transport->push_lines(pod_path, std::move(measured_pods));
    transport->push_lines(sts_path, std::move(measured_sts));
    transport->wait_delivered(kWatchWarmUp + kWatchEvents);
    rt.wait_idle();
  });
  report.note_last("HTTP line -> decode -> store -> predicate -> queue -> no-op reconcile; " +
                   std::to_string(bytes / all.size()) + " B/line; " +
                   std::to_string(rt.reconciler.calls() - calls_before) + " reconciles");

  // Baselines over the same bytes.
  std::size_t ok = 0;
  report.measure("parse_watch_line", "line", kWatchEvents, "", [&] {
    for (const auto& l : all) ok += Json::parse(l).is_object();
  }, "nlohmann::json::parse of the same lines");
  report.measure("decode_watch_line", "line", kWatchEvents, "parse_watch_line", [&] {
    for (const auto& l : all) ok += kube::decode_watch_line(l).has_value();
  }, "kube::decode_watch_line alone");
  if (ok != 2 * all.size()) report.note_last("WARNING: some lines did not decode");
}

void list_scenarios(Report& report, const Fixtures& f) {
  std::vector<Json> sts;
  for (int i = 0; i < kListObjects; ++i) sts.push_back(statefulset(f, i));
  auto transport = std::make_shared<BenchTransport>();
  serve(*transport, res::kStatefulSet, sts);
  const std::string name = "initial_list_" + std::to_string(kListObjects);

  // From JSON text, as from the apiserver. The first round renders and caches the pages.
  for (int round = 0; round < 2; ++round) {
    Runtime rt(transport, /*watch_pods=*/false);
    // Ends once every key is reconciled and the watch is open: the watcher thread is done
    // with the list (its temporaries freed), so the region ends at a quiet point.
    auto run = [&] {
      rt.start();
      rt.reconciler.wait_calls(kListObjects);
      transport->wait_open_streams(1);
    };
    if (round == 0) {
      run();
      continue;
    }
    report.measure(name + "_http", "list", 1, "parse_list_" + std::to_string(kListObjects), run,
                   "HTTP pages (limit 500) -> parse -> store -> queue -> a no-op reconcile each");
    report.note_last(std::to_string(rt.statefulsets->size()) + " cached");
    report.items_last(kListObjects);
  }

  // From objects the FakeClient already holds parsed (its list copies each one).
  auto fake = std::make_unique<kube::testing::FakeClient>();
  for (const auto& s : sts) fake->put(res::kStatefulSet, s);
  kube::testing::FakeClient& fake_ref = *fake;
  Runtime rt(std::move(fake), /*watch_pods=*/false);
  bool watching = false;
  report.measure(name + "_fake", "list", 1, "parse_list_" + std::to_string(kListObjects), [&] {
    rt.start();
    rt.reconciler.wait_calls(kListObjects);
    watching = fake_ref.wait_for_open_watches(1);
  }, "FakeClient (no text parse; copies each object) -> store -> queue -> a no-op reconcile each");
  report.note_last(std::to_string(fake_ref.list_calls()) + " list call(s)" +
                   (watching ? "" : "; WARNING: the watch did not open within 10 s"));
  report.items_last(kListObjects);

  // Baseline: the same objects as one list text, parsed.
  std::string text = R"({"kind":"StatefulSetList","apiVersion":"apps/v1","metadata":{},"items":[)";
  for (std::size_t i = 0; i < sts.size(); ++i) text += (i ? "," : "") + list_item(sts[i]);
  text += "]}";
  std::size_t items = 0;
  report.measure("parse_list_" + std::to_string(kListObjects), "list", 1, "", [&] {
    items = Json::parse(text)["items"].size();
  }, "nlohmann::json::parse of the list text (" + std::to_string(text.size() / 1024) + " KiB)");
  report.items_last(static_cast<long>(items));
}

void reconcile_scenario(Report& report) {
  testing::ReconcilerHarness h;
  auto docs = v1alpha1::parse_yaml_documents(
      read_file(std::string(OKAMI_SOURCE_DIR) + "/manifests/samples/okamistack.yaml"));
  if (!docs || docs->empty()) throw std::runtime_error("cannot read the sample OkamiStack");
  h.create_stack(docs->front());
  h.settle_stack();
  h.run_workloads();
  h.settle_stack();
  for (int i = 0; i < 3; ++i) h.reconcile_stack();
  h.client.clear_writes();
  auto& reconciler = h.stack_reconciler();
  const kube::ObjectRef ref{testing::kNs, testing::kStack};
  int failed = 0;
  report.measure("steady_reconcile", "reconcile", kReconciles, "parse_watch_line", [&] {
    for (int i = 0; i < kReconciles; ++i) failed += !reconciler.reconcile(ref, {}).has_value();
  }, "StackReconciler on the sample OkamiStack, every child present and ready");
  const auto ready = testing::condition_of(h.stack(), "Ready");
  report.note_last("Ready=" + (ready ? ready->status : std::string("absent")) + ", " +
                   std::to_string(h.client.writes().size()) + " writes, " + std::to_string(failed) +
                   " errors");
}

}  // namespace
}  // namespace okami::bench

// Usage: okami_bench_instructions [watch] [list] [reconcile]   (default: all three groups)
int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::err);
  const std::vector<std::string> groups(argv + 1, argv + argc);
  auto wanted = [&](const std::string& g) {
    return groups.empty() || std::find(groups.begin(), groups.end(), g) != groups.end();
  };
  okami::bench::Report report;
  const auto fixtures = okami::bench::load_fixtures();
  if (wanted("watch")) okami::bench::watch_scenarios(report, fixtures);
  if (wanted("list")) okami::bench::list_scenarios(report, fixtures);
  if (wanted("reconcile")) okami::bench::reconcile_scenario(report);
  std::printf("%s\n", RUNNING_ON_VALGRIND
                         ? "under valgrind: wall times are not the machine's"
                         : "not under valgrind: wall times only (hack/bench-instructions.sh "
                           "counts instructions)");
  report.print();
  return 0;
}
