#include "integration/support/test_cluster.h"

#include <sys/wait.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "kube/client_factory.h"

namespace okami::testing {

namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string random_suffix() {
  static const char* kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 8; ++i) s += kAlphabet[rd() % 36];
  return s;
}

}  // namespace

common::Result<std::unique_ptr<TestCluster>> TestCluster::connect() {
  const char* env = std::getenv("KUBECONFIG");
  if (env == nullptr || *env == '\0') {
    return common::fail(common::ErrorCode::kNotFound,
                        std::string("KUBECONFIG is not set: ") + kHowToStart);
  }
  std::string path = env;
  path = path.substr(0, path.find(':'));
  auto config = kube::load_kubeconfig(path);
  if (!config) {
    return common::fail(config.error().code, config.error().describe() + " — " + kHowToStart);
  }
  std::unique_ptr<TestCluster> cluster(new TestCluster());
  cluster->config_ = *config;
  cluster->kubeconfig_ = path;
  kube::ClientOptions options;
  options.qps = 50;
  options.burst = 100;
  options.request_timeout = std::chrono::seconds(20);
  auto client = kube::make_client(*config, options, cluster->clock_, &cluster->metrics_);
  if (!client) return common::fail(client.error());
  cluster->client_ = std::move(*client);
  auto probe =
      cluster->client_->list(kube::resources::kNamespace, "", kube::ListOptions{"", "", "", 1, ""});
  if (!probe) {
    return common::fail(probe.error().code, "the apiserver at " + config->server +
                                                " does not answer (" + probe.error().describe() +
                                                "): " + kHowToStart);
  }
  return cluster;
}

common::Result<std::unique_ptr<kube::Client>> TestCluster::client_with_token(
    const std::string& token) {
  kube::ClusterConfig cfg = config_;
  cfg.client_cert_pem.clear();
  cfg.client_key_pem.clear();
  cfg.token = token;
  cfg.token_file.clear();
  kube::ClientOptions options;
  options.request_timeout = std::chrono::seconds(20);
  return kube::make_client(cfg, options, clock_, nullptr);
}

common::Result<std::string> TestCluster::create_namespace(const std::string& prefix) {
  const std::string name = prefix + "-" + random_suffix();
  kube::Json ns = {{"metadata", {{"name", name}, {"labels", {{"okami.io/test", "true"}}}}}};
  auto created = client_->create(kube::resources::kNamespace, "", ns);
  if (!created) return common::fail(created.error());
  return name;
}

common::Status TestCluster::delete_namespace(const std::string& name) {
  kube::DeleteOptions options;
  options.propagation_policy = "Background";
  auto st = client_->remove(kube::resources::kNamespace, "", name, options);
  if (!st && st.error().code == common::ErrorCode::kNotFound) return common::ok();
  return st;
}

std::string TestCluster::kubectl_binary() {
  if (const char* env = std::getenv("OKAMI_KUBECTL"); env != nullptr && *env != '\0') return env;
  fs::path cache;
  if (const char* c = std::getenv("OKAMI_CACHE"); c != nullptr && *c != '\0') {
    cache = c;
  } else if (const char* home = std::getenv("HOME"); home != nullptr) {
    cache = fs::path(home) / ".cache" / "okami";
  }
  std::error_code ec;
  if (!cache.empty() && fs::is_directory(cache / "bin", ec)) {
    for (const auto& entry : fs::directory_iterator(cache / "bin", ec)) {
      const fs::path candidate = entry.path() / "kubectl";
      if (entry.path().filename().string().rfind("kubernetes-", 0) == 0 &&
          fs::exists(candidate, ec)) {
        return candidate.string();
      }
    }
  }
  return "kubectl";
}

CommandResult TestCluster::kubectl(const std::vector<std::string>& args,
                                   const std::string& stdin_text) const {
  std::string cmd = shell_quote(kubectl_binary()) + " --kubeconfig " + shell_quote(kubeconfig_);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  fs::path input;
  if (!stdin_text.empty()) {
    input = fs::temp_directory_path() / ("okami-kubectl-" + random_suffix());
    std::ofstream(input) << stdin_text;
    cmd += " < " + shell_quote(input.string());
  }
  cmd += " 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    result.output = "cannot run " + cmd;
    return result;
  }
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (!input.empty()) {
    std::error_code ec;
    fs::remove(input, ec);
  }
  return result;
}

void ClusterTest::SetUp() {
  auto cluster = TestCluster::connect();
  ASSERT_TRUE(cluster) << "no control plane for integration tests: " << cluster.error().describe();
  cluster_ = std::move(*cluster);
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string prefix = "it-" + std::string(info->name()).substr(0, 30);
  for (auto& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ns = cluster_->create_namespace(prefix);
  ASSERT_TRUE(ns) << ns.error().describe();
  ns_ = *ns;
}

void ClusterTest::TearDown() {
  if (cluster_ && !ns_.empty()) {
    auto st = cluster_->delete_namespace(ns_);
    EXPECT_TRUE(st) << "could not delete test namespace " << ns_ << ": " << st.error().describe();
  }
}

}  // namespace okami::testing
