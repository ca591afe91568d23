// Where the cluster is and how to authenticate: loaded from a kubeconfig file, from the
// in-cluster service account, or by the usual search order. The result feeds client_factory,
// which builds the transport; nothing here opens a connection.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace okami::kube {

struct ClusterConfig {
  std::string server;           // "https://10.0.0.1:443", no trailing slash
  std::string ca_pem;           // cluster CA bundle (PEM); empty = system trust store
  std::string client_cert_pem;  // client certificate chain (PEM), with client_key_pem
  std::string client_key_pem;
  std::string token;       // bearer token (static, or the token file's content at load time)
  std::string token_file;  // re-read when it changes (projected, rotating tokens)
  bool insecure_skip_tls_verify = false;  // only when the kubeconfig asks for it
  std::string default_namespace = "default";
  std::string source;  // "kubeconfig /path (context x)" or "in-cluster", for logs
};

// Errors (all kInvalidArgument, kParse or kIo, with the file and the field named): unreadable file,
// YAML that is not a kubeconfig, unknown or missing context/cluster/user, server missing, bad
// base64 in *-data, referenced files missing, exec/auth-provider users (not supported).
// Relative file paths resolve against the kubeconfig's directory. `context` "" = current-context.
common::Result<ClusterConfig> load_kubeconfig(const std::filesystem::path& path,
                                              const std::string& context = "");
// The same, from YAML text; `base_dir` resolves relative file paths.
common::Result<ClusterConfig> parse_kubeconfig(const std::string& yaml,
                                               const std::filesystem::path& base_dir,
                                               const std::string& context = "",
                                               const std::string& source = "kubeconfig");

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// In-cluster: KUBERNETES_SERVICE_HOST/PORT plus token, ca.crt and namespace under `sa_dir`.
// Errors: kNotFound when the environment variables are not set (not running in a pod), kIo when
// the token or CA cannot be read.
common::Result<ClusterConfig> load_in_cluster(
    const std::filesystem::path& sa_dir = kServiceAccountDir, const EnvLookup& env = process_env());

// $KUBECONFIG (its first path), then ~/.kube/config, then in-cluster. Errors: those of the source
// chosen; kNotFound with every place tried when none applies.
common::Result<ClusterConfig> load_default(
    const EnvLookup& env = process_env(), const std::filesystem::path& sa_dir = kServiceAccountDir);

// Standard base64 (padding optional, whitespace ignored). kParse on any other character.
common::Result<std::string> base64_decode(std::string_view text);

// The bearer token to send: a fixed token, or a token file re-read whenever its modification time
// or size changes (kubelet rotates projected service-account tokens in place). Thread-safe.
class TokenSource {
 public:
  TokenSource(std::string token, std::string token_file);
  // The current token; "" when there is none. When the file cannot be read the last good token
  // is kept (a rotation in progress must not drop authentication).
  std::string current();

 private:
  std::mutex mu_;
  std::string token_;
  std::string token_file_;
  std::optional<std::filesystem::file_time_type> seen_mtime_;
  std::uintmax_t seen_size_ = 0;
};

}  // namespace okami::kube
