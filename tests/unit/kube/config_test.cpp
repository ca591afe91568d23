#include "kube/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

namespace okami::kube {
namespace {

using common::ErrorCode;
namespace fs = std::filesystem;

// A scratch directory removed at the end of each test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("okami-config-test-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path write(const std::string& name, const std::string& content) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// base64("CA PEM\n") etc.
const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: Q0EgUEVNCg==
- name: other
  cluster:
    server: https://10.0.0.1
    certificate-authority: certs/ca.crt
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    client-certificate-data: Q0VSVAo=
    client-key-data: S0VZCg==
- name: robot
  user:
    tokenFile: robot-token
- name: static
  user:
    token: abc.def
contexts:
- name: dev
  context:
    cluster: local
    user: admin
    namespace: team-a
- name: prod
  context:
    cluster: other
    user: robot
- name: tokened
  context:
    cluster: local
    user: static
- name: broken
  context:
    cluster: nowhere
    user: admin
)";

TEST(Kubeconfig, LoadsTheCurrentContextWithInlineData) {
  TempDir dir;
  auto cfg = load_kubeconfig(dir.write("config", kKubeconfig));
  ASSERT_TRUE(cfg) << cfg.error().describe();
  EXPECT_EQ(cfg->server, "https://127.0.0.1:6443");
  EXPECT_EQ(cfg->ca_pem, "CA PEM\n");
  EXPECT_EQ(cfg->client_cert_pem, "CERT\n");
  EXPECT_EQ(cfg->client_key_pem, "KEY\n");
  EXPECT_EQ(cfg->default_namespace, "team-a");
  EXPECT_FALSE(cfg->insecure_skip_tls_verify);
  EXPECT_NE(cfg->source.find("context dev"), std::string::npos);
}

TEST(Kubeconfig, ResolvesRelativeFilesAgainstTheKubeconfigDirectory) {
  TempDir dir;
  dir.write("kube/certs/ca.crt", "FILE CA\n");
  dir.write("kube/robot-token", "  tok-1\n");
  auto cfg = load_kubeconfig(dir.write("kube/config", kKubeconfig), "prod");
  ASSERT_TRUE(cfg) << cfg.error().describe();
  EXPECT_EQ(cfg->ca_pem, "FILE CA\n");
  EXPECT_EQ(cfg->token, "tok-1");
  EXPECT_EQ(fs::path(cfg->token_file), dir.path() / "kube" / "robot-token");
  EXPECT_TRUE(cfg->insecure_skip_tls_verify);
  EXPECT_EQ(cfg->default_namespace, "default");
}

TEST(Kubeconfig, ReadsAStaticToken) {
  TempDir dir;
  auto cfg = load_kubeconfig(dir.write("config", kKubeconfig), "tokened");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->token, "abc.def");
  EXPECT_TRUE(cfg->token_file.empty());
}

TEST(Kubeconfig, NamesAMissingClusterInItsError) {
  TempDir dir;
  auto cfg = load_kubeconfig(dir.write("config", kKubeconfig), "broken");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(cfg.error().message.find("nowhere"), std::string::npos);
}

TEST(Kubeconfig, NamesAnUnknownContext) {
  TempDir dir;
  auto cfg = load_kubeconfig(dir.write("config", kKubeconfig), "staging");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find("staging"), std::string::npos);
}

TEST(Kubeconfig, ReportsAMissingReferencedFile) {
  TempDir dir;
  auto cfg = load_kubeconfig(dir.write("config", kKubeconfig), "prod");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code, ErrorCode::kIo);
  EXPECT_NE(cfg.error().message.find("ca.crt"), std::string::npos);
}

TEST(Kubeconfig, ReportsAMissingFile) {
  auto cfg = load_kubeconfig("/nonexistent/okami/kubeconfig");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code, ErrorCode::kIo);
}

TEST(Kubeconfig, MalformedInputIsAnErrorNotAnException) {
  const char* inputs[] = {
      "",
      "just a string",
      "[1, 2]",
      "current-context: x\ncontexts: {a: b}",
      "current-context: [x]",
      "current-context: x\ncontexts:\n- name: x\n  context: [1]",
      "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  "
      "cluster: {}",
      "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  "
      "cluster: {server: ftp://x}",
      "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  "
      "cluster: {server: 'https://x', certificate-authority-data: '!!!'}",
      "key: [unclosed",
      "a: &x\n  b: *x\n  c: *y",
  };
  for (const char* input : inputs) {
    auto cfg = parse_kubeconfig(input, ".");
    EXPECT_FALSE(cfg) << input;
  }
}

TEST(Kubeconfig, RefusesExecCredentialsWithAClearMessage) {
  const std::string yaml = R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://h"}}]
users: [{name: u, user: {exec: {command: gke-gcloud-auth-plugin}}}]
)";
  auto cfg = parse_kubeconfig(yaml, ".");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find("exec"), std::string::npos);
}

TEST(Kubeconfig, RefusesACertificateWithoutItsKey) {
  const std::string yaml = R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://h"}}]
users: [{name: u, user: {client-certificate-data: Q0VSVAo=}}]
)";
  auto cfg = parse_kubeconfig(yaml, ".");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code, ErrorCode::kInvalidArgument);
}

TEST(InCluster, ReadsTheServiceAccountFiles) {
  TempDir dir;
  dir.write("token", "sa-token\n");
  dir.write("ca.crt", "SA CA\n");
  dir.write("namespace", "okami-system\n");
  auto env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "KUBERNETES_SERVICE_HOST") return "10.96.0.1";
    if (n == "KUBERNETES_SERVICE_PORT") return "443";
    return std::nullopt;
  };
  auto cfg = load_in_cluster(dir.path(), env);
  ASSERT_TRUE(cfg) << cfg.error().describe();
  EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
  EXPECT_EQ(cfg->token, "sa-token");
  EXPECT_EQ(fs::path(cfg->token_file), dir.path() / "token");
  EXPECT_EQ(cfg->ca_pem, "SA CA\n");
  EXPECT_EQ(cfg->default_namespace, "okami-system");
}

TEST(InCluster, BracketsAnIpv6ServiceHost) {
  TempDir dir;
  dir.write("token", "t");
  dir.write("ca.crt", "c");
  auto env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "KUBERNETES_SERVICE_HOST") return "fd00::1";
    if (n == "KUBERNETES_SERVICE_PORT") return "443";
    return std::nullopt;
  };
  auto cfg = load_in_cluster(dir.path(), env);
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->server, "https://[fd00::1]:443");
}

TEST(InCluster, OutsideAPodIsNotFound) {
  auto cfg = load_in_cluster("/nonexistent", [](const std::string&) { return std::nullopt; });
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code, ErrorCode::kNotFound);
}

TEST(InCluster, AMissingTokenIsAnIoError) {
  TempDir dir;
  auto env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "KUBERNETES_SERVICE_HOST") return "10.0.0.1";
    if (n == "KUBERNETES_SERVICE_PORT") return "443";
    return std::nullopt;
  };
  auto cfg = load_in_cluster(dir.path(), env);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code, ErrorCode::kIo);
}

TEST(DefaultConfig, PrefersTheFirstKubeconfigPath) {
  TempDir dir;
  const auto first = dir.write("first", kKubeconfig);
  auto env = [&](const std::string& n) -> std::optional<std::string> {
    if (n == "KUBECONFIG") return first.string() + ":/other/path";
    if (n == "HOME") return dir.path().string();
    return std::nullopt;
  };
  auto cfg = load_default(env, "/nonexistent");
  ASSERT_TRUE(cfg) << cfg.error().describe();
  EXPECT_NE(cfg->source.find(first.string()), std::string::npos);
}

TEST(DefaultConfig, FallsBackToTheHomeKubeconfig) {
  TempDir dir;
  dir.write(".kube/config", kKubeconfig);
  auto env = [&](const std::string& n) -> std::optional<std::string> {
    if (n == "HOME") return dir.path().string();
    return std::nullopt;
  };
  auto cfg = load_default(env, "/nonexistent");
  ASSERT_TRUE(cfg) << cfg.error().describe();
  EXPECT_EQ(cfg->server, "https://127.0.0.1:6443");
}

TEST(DefaultConfig, ThenToInClusterAndSaysWhatItTriedWhenNothingApplies) {
  TempDir dir;
  auto env = [&](const std::string& n) -> std::optional<std::string> {
    if (n == "HOME") return dir.path().string();
    return std::nullopt;
  };
  auto cfg = load_default(env, "/nonexistent");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code, ErrorCode::kNotFound);
  EXPECT_NE(cfg.error().message.find(".kube/config"), std::string::npos);
  EXPECT_NE(cfg.error().message.find("in-cluster"), std::string::npos);
}

TEST(Base64, DecodesWithAndWithoutPaddingAndRejectsJunk) {
  EXPECT_EQ(*base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(*base64_decode("aGVsbG8"), "hello");
  EXPECT_EQ(*base64_decode("aGVs\nbG8=\n"), "hello");
  EXPECT_FALSE(base64_decode("aGVsbG8=x"));
  EXPECT_FALSE(base64_decode("a*b"));
  EXPECT_FALSE(base64_decode("a"));
}

TEST(TokenSource, PicksUpARotatedTokenFile) {
  TempDir dir;
  const auto file = dir.write("token", "first\n");
  TokenSource tokens("first", file.string());
  EXPECT_EQ(tokens.current(), "first");
  dir.write("token", "second-token\n");
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(5));
  EXPECT_EQ(tokens.current(), "second-token");
}

TEST(TokenSource, KeepsTheLastTokenWhileTheFileIsMissing) {
  TempDir dir;
  const auto file = dir.write("token", "good\n");
  TokenSource tokens("", file.string());
  EXPECT_EQ(tokens.current(), "good");
  fs::remove(file);
  EXPECT_EQ(tokens.current(), "good");
}

TEST(TokenSource, AStaticTokenNeverChanges) {
  TokenSource tokens("fixed", "");
  EXPECT_EQ(tokens.current(), "fixed");
}

}  // namespace
}  // namespace okami::kube
