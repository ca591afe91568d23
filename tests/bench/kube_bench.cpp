// Throughput and memory of the controller half of the Kubernetes runtime, each next to a
// baseline measured in the same run: watch-line decoding (vs a bare nlohmann::json::parse),
// store memory per Deployment-sized object and index lookups (vs a linear scan), work queue
// add/get/done (vs std::deque + mutex), and controller overhead per key with a no-op reconciler
// (vs calling the reconciler in a loop). Prints a table; never asserts on time.
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "bench/bench_transport.h"
#include "kube/controller.h"
#include "kube/http_client.h"
#include "kube/store.h"
#include "kube/watch_event.h"
#include "kube/work_queue.h"
#include "unit/kube/fake_client.h"

namespace {

using okami::kube::Json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// A Deployment as the apiserver returns it: labels, annotations, managedFields, a pod template
// with two containers, env, probes, resources and a status with conditions (~3 KB of JSON).
Json deployment(int i) {
  const std::string name = "okami-" + std::to_string(i);
  Json container = {
      {"name", "chroma"},
      {"image", "chromadb/chroma:1.0.12"},
      {"ports", Json::array({{{"containerPort", 8000}, {"name", "http"}, {"protocol", "TCP"}}})},
      {"env", Json::array({{{"name", "IS_PERSISTENT"}, {"value", "TRUE"}},
                           {{"name", "PERSIST_DIRECTORY"}, {"value", "/data"}},
                           {{"name", "ANONYMIZED_TELEMETRY"}, {"value", "FALSE"}}})},
      {"resources", {{"requests", {{"cpu", "250m"}, {"memory", "512Mi"}}},
                     {"limits", {{"memory", "2Gi"}}}}},
      {"readinessProbe", {{"httpGet", {{"path", "/api/v2/heartbeat"}, {"port", 8000}}},
                          {"periodSeconds", 10}}},
      {"volumeMounts", Json::array({{{"name", "data"}, {"mountPath", "/data"}}})}};
  Json sidecar = container;
  sidecar["name"] = "ollama";
  sidecar["image"] = "ollama/ollama:0.9.0";
  Json managed = Json::array();
  for (const char* manager : {"okami-operator", "kube-controller-manager"}) {
    managed.push_back({{"manager", manager},
                       {"operation", "Apply"},
                       {"apiVersion", "apps/v1"},
                       {"time", "2026-11-26T01:00:00Z"},
                       {"fieldsType", "FieldsV1"},
                       {"fieldsV1", {{"f:spec", {{"f:replicas", Json::object()},
                                                 {"f:template", {{"f:spec", {{"f:containers",
                                                   {{"k:{\"name\":\"chroma\"}", {{".", Json::object()},
                                                     {"f:image", Json::object()}, {"f:env", Json::object()},
                                                     {"f:ports", Json::object()}, {"f:resources", Json::object()}}}}}}}}}}}}}});
  }
  return {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata",
       {{"name", name},
        {"namespace", "tenant-" + std::to_string(i % 50)},
        {"uid", "6f1c2d3e-0000-4000-8000-" + std::to_string(100000000000 + i)},
        {"resourceVersion", std::to_string(1000 + i)},
        {"generation", 3},
        {"creationTimestamp", "2026-11-26T00:00:00Z"},
        {"labels", {{"app.kubernetes.io/name", "chroma"},
                    {"app.kubernetes.io/instance", name},
                    {"app.kubernetes.io/managed-by", "okami-operator"}}},
        {"annotations", {{"deployment.kubernetes.io/revision", "3"},
                         {"okami.io/verified-backup", "backup-" + std::to_string(i)}}},
        {"ownerReferences", Json::array({{{"apiVersion", "okami.io/v1alpha1"},
                                          {"kind", "OkamiStack"},
                                          {"name", name},
                                          {"uid", "owner-" + std::to_string(i)},
                                          {"controller", true},
                                          {"blockOwnerDeletion", true}}})},
        {"managedFields", managed}}},
      {"spec",
       {{"replicas", 1},
        {"selector", {{"matchLabels", {{"app.kubernetes.io/instance", name}}}}},
        {"strategy", {{"type", "Recreate"}}},
        {"template",
         {{"metadata", {{"labels", {{"app.kubernetes.io/instance", name}}}}},
          {"spec", {{"containers", Json::array({container, sidecar})},
                    {"volumes", Json::array({{{"name", "data"},
                                              {"persistentVolumeClaim",
                                               {{"claimName", name + "-data"}}}}})}}}}}}},
      {"status",
       {{"observedGeneration", 3},
        {"replicas", 1},
        {"readyReplicas", 1},
        {"conditions",
         Json::array({{{"type", "Available"}, {"status", "True"}, {"reason", "MinimumReplicasAvailable"},
                       {"lastTransitionTime", "2026-11-26T00:01:00Z"}},
                      {{"type", "Progressing"}, {"status", "True"}, {"reason", "NewReplicaSetAvailable"},
                       {"lastTransitionTime", "2026-11-26T00:01:00Z"}}})}}}};
}

struct Row {
  std::string what;
  std::string ours;
  std::string baseline;
  std::string ratio;
};

std::string fmt(double v, const char* unit) {
  char buf[64];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2f M%s", v / 1e6, unit);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1f k%s", v / 1e3, unit);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f %s", v, unit);
  }
  return buf;
}

std::string fmt_time(double seconds) {
  char buf[64];
  if (seconds >= 1e-3) {
    std::snprintf(buf, sizeof(buf), "%.2f ms", seconds * 1e3);
  } else if (seconds >= 1e-6) {
    std::snprintf(buf, sizeof(buf), "%.2f us", seconds * 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f ns", seconds * 1e9);
  }
  return buf;
}

std::string ratio(double a, double b) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fx", b == 0 ? 0.0 : a / b);
  return buf;
}

Row bench_decode() {
  std::vector<std::string> lines;
  for (int i = 0; i < 20000; ++i) {
    lines.push_back(Json{{"type", i % 3 == 0 ? "ADDED" : "MODIFIED"}, {"object", deployment(i)}}.dump());
  }
  std::size_t ok = 0;
  auto start = Clock::now();
  for (const auto& l : lines) ok += okami::kube::decode_watch_line(l).has_value();
  const double ours = static_cast<double>(lines.size()) / seconds_since(start);
  std::size_t parsed = 0;
  start = Clock::now();
  for (const auto& l : lines) parsed += nlohmann::json::parse(l).is_object();
  const double base = static_cast<double>(lines.size()) / seconds_since(start);
  if (ok != lines.size() || parsed != lines.size()) std::fprintf(stderr, "decode mismatch\n");
  return {"watch events decoded/s (" + std::to_string(lines[0].size()) + " B each)",
          fmt(ours, "ev/s"), fmt(base, "ev/s") + " json::parse", ratio(ours, base)};
}

std::vector<Row> bench_store() {
  constexpr int kObjects = 10000;
  std::vector<Row> rows;
  std::vector<Json> objects;
  objects.reserve(kObjects);
  for (int i = 0; i < kObjects; ++i) objects.push_back(deployment(i));
  const std::size_t bytes = objects[0].dump().size();

  long before = rss_bytes();
  auto lean = std::make_unique<okami::kube::Store>();
  for (const auto& o : objects) lean->apply(o);
  const double lean_per = static_cast<double>(rss_bytes() - before) / kObjects;

  before = rss_bytes();
  auto full = std::make_unique<okami::kube::Store>(okami::kube::StoreOptions{.strip_managed_fields = false});
  for (const auto& o : objects) full->apply(o);
  const double full_per = static_cast<double>(rss_bytes() - before) / kObjects;
  rows.push_back({"store RSS per Deployment (" + std::to_string(bytes) + " B JSON)",
                  fmt(lean_per, "B") + " stripped", fmt(full_per, "B") + " kept managedFields",
                  ratio(lean_per, full_per)});

  // Owner lookups: the controller-uid index vs scanning a snapshot.
  constexpr int kLookups = 2000;
  std::size_t found = 0;
  auto start = Clock::now();
  for (int i = 0; i < kLookups; ++i) {
    found += lean->by_index(okami::kube::kIndexControllerUid, "owner-" + std::to_string(i * 5)).size();
  }
  const double indexed = seconds_since(start) / kLookups;
  start = Clock::now();
  for (int i = 0; i < kLookups / 20; ++i) {
    const std::string want = "owner-" + std::to_string(i * 5);
    for (const auto& o : lean->list()) {
      for (const auto& ref : (*o)["metadata"]["ownerReferences"]) found += ref["uid"] == want;
    }
  }
  const double scanned = seconds_since(start) / (kLookups / 20);
  if (found == 0) std::fprintf(stderr, "lookup found nothing\n");
  rows.push_back({"owner lookup in 10k objects", fmt_time(indexed) + " by_index",
                  fmt_time(scanned) + " list()+scan", ratio(indexed, scanned)});
  return rows;
}

Row bench_queue() {
  constexpr int kKeys = 200000;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("ns/key-" + std::to_string(i));
  okami::common::SystemClock clock;

  double ours = 0;
  {
    okami::kube::WorkQueue q(clock);
    auto start = Clock::now();
    std::thread consumer([&] {
      int n = 0;
      while (auto k = q.get()) {
        q.done(*k);
        if (++n == kKeys) break;
      }
    });
    for (const auto& k : keys) q.add(k);
    consumer.join();
    ours = kKeys / seconds_since(start);
  }
  double base = 0;
  {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> dq;
    auto start = Clock::now();
    std::thread consumer([&] {
      for (int n = 0; n < kKeys; ++n) {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !dq.empty(); });
        dq.pop_front();
      }
    });
    for (const auto& k : keys) {
      {
        std::lock_guard lock(mu);
        dq.push_back(k);
      }
      cv.notify_one();
    }
    consumer.join();
    base = kKeys / seconds_since(start);
  }
  return {"work queue add+get+done (1 producer, 1 worker)", fmt(ours, "keys/s"),
          fmt(base, "keys/s") + " deque+mutex", ratio(ours, base)};
}

struct CountingReconciler : okami::kube::Reconciler {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  okami::kube::ReconcileResult reconcile(const okami::kube::ObjectRef&, std::stop_token) override {
    std::lock_guard lock(mu);
    ++calls;
    cv.notify_all();
    return okami::kube::Action::await_change();
  }
};

Row bench_controller() {
  constexpr int kObjects = 20000;
  okami::kube::testing::FakeClient client;
  for (int i = 0; i < kObjects; ++i) {
    client.put(okami::kube::resources::kConfigMap,
               okami::kube::testing::make_object("ns", "cm-" + std::to_string(i),
                                                 {{"data", {{"k", std::to_string(i)}}}}));
  }
  okami::common::SystemClock clock;
  okami::common::SeededRandom random(1);
  CountingReconciler r;
  okami::kube::ControllerOptions options;
  options.name = "bench";
  options.workers = 2;
  okami::kube::Controller controller(options, client, clock, random);
  controller.watch_primary(okami::kube::resources::kConfigMap);
  auto start = Clock::now();
  controller.start(r);
  {
    std::unique_lock lock(r.mu);
    r.cv.wait(lock, [&] { return r.calls >= kObjects; });
  }
  const double per_key = seconds_since(start) / kObjects;
  controller.stop();

  CountingReconciler direct;
  start = Clock::now();
  for (int i = 0; i < kObjects; ++i) {
    direct.reconcile({"ns", "cm-" + std::to_string(i)}, {});
  }
  const double direct_per = seconds_since(start) / kObjects;
  return {"controller: list 20k + reconcile each (no-op, 2 workers)",
          fmt_time(per_key) + "/key", fmt_time(direct_per) + "/key direct calls",
          ratio(per_key, direct_per)};
}

// Bytes the allocator has handed out and not had back (the heap in use, mmapped chunks included).
double heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}

// The heap in use while a Watcher lists 1000 Deployments in pages of 100 (HTTP text through the
// real client) into a Store, above what it was before: packing each page as it arrives (the
// Controller's way) against holding the whole list as documents until it is complete (the
// former data flow), and the store's own size once the list is in. Sampled at every event, on
// this thread (mallinfo2 counts the main arena).
std::vector<Row> bench_paged_list() {
  namespace kube = okami::kube;
  constexpr int kObjects = 1000;
  constexpr int kPage = 100;
  const kube::ResourceType& type = kube::resources::kDeployment;
  auto transport = std::make_shared<okami::bench::BenchTransport>();
  std::vector<std::string> items;
  for (int i = 0; i < kObjects; ++i) {
    Json o = deployment(i);
    o.erase("kind");
    o.erase("apiVersion");
    items.push_back(o.dump());
  }
  transport->serve_list(type.collection_path(""), type.kind + "List", type.api_version(),
                        std::move(items), "90000");
  okami::common::SystemClock clock;
  okami::common::SeededRandom random(1);
  kube::ClientOptions client_options;
  client_options.qps = 0;
  kube::HttpClient client(transport, client_options, clock);
  kube::WatcherOptions options;
  options.page_size = kPage;

  struct Result {
    double peak = 0;    // above the heap before the list
    double steady = 0;  // the store once the list is in
  };
  auto run = [&](bool whole_list) {
    malloc_trim(0);
    Result r;
    const double before = heap_in_use();
    auto sample = [&] { r.peak = std::max(r.peak, heap_in_use() - before); };
    auto store = std::make_unique<kube::Store>();
    std::optional<kube::Store::Replacement> staged;
    std::vector<kube::ObjectPtr> held;  // whole_list: every page's documents until the end
    kube::Watcher watcher(client, type, options, clock, random, [&](const kube::WatcherEvent& e) {
      sample();
      switch (e.type) {
        case kube::WatcherEvent::Type::kListBegin: staged.emplace(store->begin_replace()); break;
        case kube::WatcherEvent::Type::kListPage:
          if (whole_list) {
            held.insert(held.end(), e.objects.begin(), e.objects.end());
          } else {
            for (const auto& o : e.objects) staged->add(*o);
          }
          break;
        case kube::WatcherEvent::Type::kListDone:
          for (const auto& o : held) staged->add(*o);
          sample();
          held.clear();
          staged->commit();
          staged.reset();
          break;
        default: break;
      }
      sample();
    });
    watcher.step({});
    if (store->size() != kObjects) std::fprintf(stderr, "paged list: %zu objects\n", store->size());
    r.steady = heap_in_use() - before;
    return r;
  };
  run(false);  // warm-up: the transport renders and caches its pages outside the measure
  const Result ours = run(false);
  const Result base = run(true);
  const std::string what = "list of " + std::to_string(kObjects) + " Deployments in pages of " +
                           std::to_string(kPage);
  return {{"heap peak during a " + what, fmt(ours.peak, "B") + " page by page",
           fmt(base.peak, "B") + " whole list unpacked", ratio(ours.peak, base.peak)},
          {"  peak / store after that list", ratio(ours.peak, ours.steady),
           ratio(base.peak, base.steady) + " (store " + fmt(ours.steady, "B") + ")",
           ratio(ours.peak / ours.steady, base.peak / base.steady)}};
}

}  // namespace

int main() {
  spdlog::set_level(spdlog::level::warn);
  std::vector<Row> rows;
  rows.push_back(bench_decode());
  for (auto& r : bench_store()) rows.push_back(r);
  for (auto& r : bench_paged_list()) rows.push_back(r);
  rows.push_back(bench_queue());
  rows.push_back(bench_controller());
  std::printf("%-58s | %-24s | %-36s | %s\n", "measure", "ours", "baseline (same run)", "ours/base");
  std::printf("%s\n", std::string(136, '-').c_str());
  for (const auto& r : rows) {
    std::printf("%-58s | %-24s | %-36s | %s\n", r.what.c_str(), r.ours.c_str(), r.baseline.c_str(),
                r.ratio.c_str());
  }
  return 0;
}
