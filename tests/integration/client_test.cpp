// The Kubernetes client against a real kube-apiserver (hack/cluster.sh): CRUD and server-side
// apply, pagination, watch ordering, optimistic concurrency, RBAC errors, events and metrics.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "integration/support/test_cluster.h"
#include "kube/client_factory.h"
#include "kube/events.h"
#include "kube/http_server.h"

namespace okami::testing {
namespace {

using common::ErrorCode;
using kube::Json;
namespace resources = kube::resources;

Json config_map(const std::string& name, const Json& data, const Json& labels = Json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"data", data}};
}

// Polls `check` every 100 ms for up to `limit`; true as soon as it holds.
template <typename F>
bool eventually(F&& check, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return check();
}

using ClientIntegration = ClusterTest;

TEST_F(ClientIntegration, ConfigMapGoesThroughCreateGetUpdatePatchApplyAndDelete) {
  auto& c = cluster_->client();
  auto created = c.create(resources::kConfigMap, ns_, config_map("settings", {{"a", "1"}}));
  ASSERT_TRUE(created) << created.error().describe();
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());

  auto got = c.get(resources::kConfigMap, ns_, "settings");
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ((*got)["data"]["a"], "1");

  Json changed = *got;
  changed["data"]["b"] = "2";
  auto updated = c.update(resources::kConfigMap, ns_, changed);
  ASSERT_TRUE(updated) << updated.error().describe();
  EXPECT_NE((*updated)["metadata"]["resourceVersion"], (*got)["metadata"]["resourceVersion"]);

  auto merged = c.patch(resources::kConfigMap, ns_, "settings", kube::PatchType::kMerge,
                        Json{{"data", {{"a", nullptr}, {"c", "3"}}}});
  ASSERT_TRUE(merged) << merged.error().describe();
  EXPECT_FALSE((*merged)["data"].contains("a"));
  EXPECT_EQ((*merged)["data"]["c"], "3");

  auto json_patched =
      c.patch(resources::kConfigMap, ns_, "settings", kube::PatchType::kJson,
              Json::array({{{"op", "replace"}, {"path", "/data/c"}, {"value", "4"}}}));
  ASSERT_TRUE(json_patched) << json_patched.error().describe();
  EXPECT_EQ((*json_patched)["data"]["c"], "4");

  kube::ApplyOptions apply;
  apply.field_manager = "okami-it";
  auto applied =
      c.apply(resources::kConfigMap, ns_, config_map("settings", {{"owned", "yes"}}), apply);
  ASSERT_TRUE(applied) << applied.error().describe();
  EXPECT_EQ((*applied)["data"]["owned"], "yes");
  // The client never parses managedFields (nothing in the operator reads it); the server kept
  // the apply under our field manager.
  EXPECT_FALSE((*applied)["metadata"].contains("managedFields"));
  const auto managers = cluster_->kubectl(
      {"get", "configmap", "settings", "-n", ns_, "-o",
       "jsonpath={.metadata.managedFields[?(@.manager==\"okami-it\")].operation}"});
  EXPECT_EQ(managers.exit_code, 0) << managers.output;
  EXPECT_EQ(managers.output, "Apply");

  const auto shown = cluster_->kubectl(
      {"get", "configmap", "settings", "-n", ns_, "-o", "jsonpath={.data.owned}"});
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_EQ(shown.output, "yes");

  kube::DeleteOptions del;
  del.precondition_uid = (*created)["metadata"]["uid"].get<std::string>();
  ASSERT_TRUE(c.remove(resources::kConfigMap, ns_, "settings", del));
  auto gone = c.get(resources::kConfigMap, ns_, "settings");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(ClientIntegration, CreatingTwiceReportsAlreadyExists) {
  auto& c = cluster_->client();
  ASSERT_TRUE(c.create(resources::kConfigMap, ns_, config_map("twice", {})));
  auto again = c.create(resources::kConfigMap, ns_, config_map("twice", {}));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(ClientIntegration, AStaleUpdateIsAConflict) {
  auto& c = cluster_->client();
  auto first = c.create(resources::kConfigMap, ns_, config_map("contended", {{"v", "0"}}));
  ASSERT_TRUE(first);
  Json winner = *first;
  winner["data"]["v"] = "winner";
  ASSERT_TRUE(c.update(resources::kConfigMap, ns_, winner));
  Json loser = *first;  // still carries the old resourceVersion
  loser["data"]["v"] = "loser";
  auto lost = c.update(resources::kConfigMap, ns_, loser);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kConflict);
  EXPECT_EQ(lost.error().http_status, 409);
  EXPECT_EQ((*c.get(resources::kConfigMap, ns_, "contended"))["data"]["v"], "winner");
}

TEST_F(ClientIntegration, DeleteWithAStalePreconditionIsAConflict) {
  auto& c = cluster_->client();
  auto cm = c.create(resources::kConfigMap, ns_, config_map("guarded", {}));
  ASSERT_TRUE(cm);
  kube::DeleteOptions del;
  del.precondition_resource_version = "1";
  auto st = c.remove(resources::kConfigMap, ns_, "guarded", del);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);
}

TEST_F(ClientIntegration, ListPaginatesWithLimitTwo) {
  auto& c = cluster_->client();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.create(resources::kConfigMap, ns_,
                         config_map("page-" + std::to_string(i), {}, {{"okami.io/page", "yes"}})));
  }
  kube::ListOptions options;
  options.limit = 2;
  options.label_selector = "okami.io/page=yes";
  auto first = c.list(resources::kConfigMap, ns_, options);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ((*first)["items"].size(), 2u);
  EXPECT_FALSE((*first)["metadata"].value("continue", "").empty());

  auto all = c.list_all(resources::kConfigMap, ns_, options);
  ASSERT_TRUE(all) << all.error().describe();
  std::set<std::string> names;
  for (const auto& item : (*all)["items"])
    names.insert(item["metadata"]["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"page-0", "page-1", "page-2", "page-3", "page-4"}));
  EXPECT_FALSE((*all)["metadata"]["resourceVersion"].get<std::string>().empty());
}

TEST_F(ClientIntegration, WatchSeesAddedModifiedDeletedInOrder) {
  auto& c = cluster_->client();
  auto listed = c.list(resources::kConfigMap, ns_, {});
  ASSERT_TRUE(listed);
  kube::WatchOptions options;
  options.resource_version = (*listed)["metadata"]["resourceVersion"].get<std::string>();
  options.field_selector = "metadata.name=watched";
  options.timeout_seconds = 60;
  std::vector<std::string> seen;
  std::mutex mu;
  common::Status result;
  std::stop_source stop;
  std::jthread watcher([&] {
    result = c.watch(
        resources::kConfigMap, ns_, options,
        [&](const kube::WatchEvent& e) {
          if (e.type == "BOOKMARK") return true;
          std::lock_guard lock(mu);
          seen.push_back(e.type + ":" + e.object["data"].value("v", ""));
          return e.type != "DELETED";
        },
        stop.get_token());
  });
  auto created = c.create(resources::kConfigMap, ns_, config_map("watched", {{"v", "1"}}));
  ASSERT_TRUE(created);
  ASSERT_TRUE(c.patch(resources::kConfigMap, ns_, "watched", kube::PatchType::kMerge,
                      Json{{"data", {{"v", "2"}}}}));
  ASSERT_TRUE(c.remove(resources::kConfigMap, ns_, "watched"));
  const bool finished = eventually([&] {
    std::lock_guard lock(mu);
    return seen.size() >= 3;
  });
  if (!finished) stop.request_stop();
  watcher.join();
  EXPECT_TRUE(result) << result.error().describe();
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED:1", "MODIFIED:2", "DELETED:2"}));
}

TEST_F(ClientIntegration, WatchCanBeStoppedWhileTheStreamIsQuiet) {
  auto& c = cluster_->client();
  std::stop_source stop;
  common::Status result;
  std::atomic<bool> returned{false};
  std::jthread watcher([&] {
    kube::WatchOptions options;
    options.timeout_seconds = 300;
    result = c.watch(
        resources::kConfigMap, ns_, options, [](const kube::WatchEvent&) { return true; },
        stop.get_token());
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto asked = std::chrono::steady_clock::now();
  stop.request_stop();
  ASSERT_TRUE(eventually([&] { return returned.load(); }, std::chrono::seconds(10)));
  watcher.join();
  EXPECT_TRUE(result) << result.error().describe();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(5));
}

TEST_F(ClientIntegration, CustomResourceSupportsCrudApplyAndTheStatusSubresource) {
  auto& c = cluster_->client();
  const std::string group = ns_ + ".it.okami.io";
  const kube::ResourceType widgets{group, "v1", "Widget", "widgets", true};
  Json crd = {
      {"metadata", {{"name", "widgets." + group}}},
      {"spec",
       {{"group", group},
        {"scope", "Namespaced"},
        {"names",
         {{"plural", "widgets"},
          {"singular", "widget"},
          {"kind", "Widget"},
          {"listKind", "WidgetList"}}},
        {"versions",
         Json::array(
             {{{"name", "v1"},
               {"served", true},
               {"storage", true},
               {"subresources", {{"status", Json::object()}}},
               {"schema",
                {{"openAPIV3Schema",
                  {{"type", "object"},
                   {"properties",
                    {{"spec",
                      {{"type", "object"},
                       {"properties",
                        {{"size", {{"type", "integer"}}}, {"color", {{"type", "string"}}}}}}},
                     {"status",
                      {{"type", "object"},
                       {"properties", {{"phase", {{"type", "string"}}}}}}}}}}}}}}})}}}};
  auto created_crd = c.create(resources::kCustomResourceDefinition, "", crd);
  ASSERT_TRUE(created_crd) << created_crd.error().describe();
  struct CrdCleanup {
    kube::Client& c;
    std::string name;
    ~CrdCleanup() { (void)c.remove(resources::kCustomResourceDefinition, "", name); }
  } cleanup{c, "widgets." + group};

  ASSERT_TRUE(eventually([&] {
    auto got = c.get(resources::kCustomResourceDefinition, "", "widgets." + group);
    if (!got) return false;
    for (const auto& cond : (*got)["status"].value("conditions", Json::array())) {
      if (cond.value("type", "") == "Established" && cond.value("status", "") == "True")
        return true;
    }
    return false;
  }));

  Json widget = {{"metadata", {{"name", "w1"}}}, {"spec", {{"size", 3}, {"color", "red"}}}};
  common::Result<Json> created;
  ASSERT_TRUE(eventually([&] {
    created = c.create(widgets, ns_, widget);
    return created.has_value() || created.error().code != ErrorCode::kNotFound;
  }));
  ASSERT_TRUE(created) << created.error().describe();
  EXPECT_EQ((*created)["apiVersion"], group + "/v1");

  kube::ApplyOptions apply;
  apply.field_manager = "okami-it";
  auto applied =
      c.apply(widgets, ns_, Json{{"metadata", {{"name", "w1"}}}, {"spec", {{"size", 5}}}}, apply);
  ASSERT_TRUE(applied) << applied.error().describe();
  EXPECT_EQ((*applied)["spec"]["size"], 5);

  Json with_status = *applied;
  with_status["status"] = {{"phase", "Ready"}};
  with_status["spec"]["size"] = 99;  // ignored by the status subresource
  auto status_written = c.update_status(widgets, ns_, with_status);
  ASSERT_TRUE(status_written) << status_written.error().describe();
  EXPECT_EQ((*status_written)["status"]["phase"], "Ready");
  EXPECT_EQ((*status_written)["spec"]["size"], 5);

  auto status_applied = c.apply(
      widgets, ns_, Json{{"metadata", {{"name", "w1"}}}, {"status", {{"phase", "Applied"}}}}, apply,
      "status");
  ASSERT_TRUE(status_applied) << status_applied.error().describe();
  EXPECT_EQ((*status_applied)["status"]["phase"], "Applied");

  auto listed = c.list_all(widgets, ns_, {});
  ASSERT_TRUE(listed);
  EXPECT_EQ((*listed)["items"].size(), 1u);

  ASSERT_TRUE(c.remove(widgets, ns_, "w1"));
  auto gone = c.get(widgets, ns_, "w1");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(ClientIntegration, AFreshServiceAccountIsForbiddenAndTheErrorNamesTheVerb) {
  auto& c = cluster_->client();
  ASSERT_TRUE(c.create(resources::kServiceAccount, ns_, Json{{"metadata", {{"name", "nobody"}}}}));
  const auto token =
      cluster_->kubectl({"create", "token", "nobody", "-n", ns_, "--duration", "10m"});
  ASSERT_EQ(token.exit_code, 0) << token.output;
  std::string jwt = token.output;
  while (!jwt.empty() && std::isspace(static_cast<unsigned char>(jwt.back()))) jwt.pop_back();
  auto restricted = cluster_->client_with_token(jwt);
  ASSERT_TRUE(restricted) << restricted.error().describe();

  auto listed = (*restricted)->list(resources::kConfigMap, ns_, {});
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code, ErrorCode::kForbidden);
  EXPECT_NE(listed.error().message.find("cannot list"), std::string::npos)
      << listed.error().message;
  EXPECT_NE(listed.error().message.find("system:serviceaccount:" + ns_ + ":nobody"),
            std::string::npos);

  auto created = (*restricted)->create(resources::kConfigMap, ns_, config_map("x", {}));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kForbidden);
  EXPECT_NE(created.error().message.find("cannot create"), std::string::npos)
      << created.error().message;
}

TEST_F(ClientIntegration, ABadTokenIsUnauthorized) {
  auto bad = cluster_->client_with_token("not-a-token");
  ASSERT_TRUE(bad);
  auto listed = (*bad)->list(resources::kConfigMap, ns_, {});
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code, ErrorCode::kUnauthorized);
}

TEST_F(ClientIntegration, AWrongCertificateAuthorityFailsTheHandshake) {
  kube::ClusterConfig cfg = cluster_->config();
  cfg.ca_pem = cfg.client_cert_pem;  // a real certificate, but not the one that signed the server
  auto client = kube::make_client(cfg, {}, cluster_->clock());
  ASSERT_TRUE(client) << client.error().describe();
  auto listed = (*client)->list(resources::kConfigMap, ns_, {});
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code, ErrorCode::kUnavailable) << listed.error().describe();
}

TEST_F(ClientIntegration, RecordedEventsShowUpInKubectlGetEvents) {
  auto& c = cluster_->client();
  auto cm = c.create(resources::kConfigMap, ns_, config_map("observed", {}));
  ASSERT_TRUE(cm);
  kube::EventRecorder recorder(
      c, cluster_->clock(),
      kube::EventRecorderOptions{"okami.io/okami-operator", "it-pod", std::chrono::minutes(5)});
  ASSERT_TRUE(recorder.record(*cm, kube::EventType::kWarning, "BackupRequired", "Upgrade",
                              "annotate okami.io/verified-backup first"));
  ASSERT_TRUE(recorder.record(*cm, kube::EventType::kWarning, "BackupRequired", "Upgrade",
                              "annotate okami.io/verified-backup first"));
  const auto out = cluster_->kubectl({"get", "events", "-n", ns_, "-o", "json"});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  const Json events = Json::parse(out.output, nullptr, false);
  ASSERT_TRUE(events.is_object()) << out.output;
  int matching = 0;
  for (const auto& e : events["items"]) {
    if (e.value("reason", "") != "BackupRequired") continue;
    ++matching;
    EXPECT_EQ(e["involvedObject"]["name"], "observed");
    EXPECT_EQ(e["type"], "Warning");
    EXPECT_EQ(e["series"]["count"], 2) << e.dump();
  }
  EXPECT_EQ(matching, 1) << out.output;
  const auto table = cluster_->kubectl({"get", "events", "-n", ns_});
  EXPECT_NE(table.output.find("BackupRequired"), std::string::npos) << table.output;
}

// Parses the Prometheus text format strictly enough to catch malformed output: every sample
// belongs to a family announced by # TYPE, label sets are well-formed, values are numbers.
std::map<std::string, double> parse_prometheus(const std::string& text, std::string* problem) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)?\})? (\S+)$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::map<std::string, double> samples;
  std::set<std::string> families;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (std::regex_match(line, m, kType)) {
      families.insert(m[1]);
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      *problem = "malformed line: " + line;
      return {};
    }
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (!families.count(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0) {
        family = family.substr(0, family.size() - s.size());
      }
    }
    if (!families.count(family)) {
      *problem = "sample before its # TYPE: " + line;
      return {};
    }
    const std::string value = m[7];
    char* end = nullptr;
    const double v = value == "+Inf" ? HUGE_VAL : std::strtod(value.c_str(), &end);
    if (value.empty() || (value != "+Inf" && (end == nullptr || *end != '\0'))) {
      *problem = "bad value: " + line;
      return {};
    }
    samples[line.substr(0, line.rfind(' '))] = v;
  }
  return samples;
}

TEST_F(ClientIntegration, MetricsEndpointServesParseableRequestCounts) {
  auto& c = cluster_->client();
  ASSERT_TRUE(c.list(resources::kConfigMap, ns_, {}));
  (void)c.get(resources::kConfigMap, ns_, "absent");
  kube::HttpServer server(&cluster_->metrics(), {});
  ASSERT_TRUE(server.start("127.0.0.1:0"));

  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect(
      {boost::asio::ip::address_v4::loopback(), static_cast<unsigned short>(server.port())});
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  char buf[8192];
  for (;;) {
    const std::size_t n = socket.read_some(boost::asio::buffer(buf), ec);
    response.append(buf, n);
    if (ec) break;
  }
  ASSERT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  const std::string body = response.substr(response.find("\r\n\r\n") + 4);
  std::string problem;
  const auto samples = parse_prometheus(body, &problem);
  ASSERT_TRUE(problem.empty()) << problem << "\n" << body;
  const auto ok = samples.find(R"(rest_client_requests_total{code="200",method="GET"})");
  ASSERT_NE(ok, samples.end()) << body;
  EXPECT_GE(ok->second, 2);  // the connection probe and the list
  const auto missing = samples.find(R"(rest_client_requests_total{code="404",method="GET"})");
  ASSERT_NE(missing, samples.end()) << body;
  EXPECT_GE(missing->second, 1);
  EXPECT_NE(samples.find(R"(rest_client_request_duration_seconds_bucket{method="GET",le="+Inf"})"),
            samples.end());
}

}  // namespace
}  // namespace okami::testing
