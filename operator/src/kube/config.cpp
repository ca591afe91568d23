#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace okami::kube {

using common::ErrorCode;
using common::fail;
using common::Result;
namespace fs = std::filesystem;

namespace {

// Credentials and kubeconfigs are small regular files; anything else (a device, a FIFO, a huge
// file) is refused instead of blocking or exhausting memory.
constexpr std::uintmax_t kMaxFileBytes = 16 * 1024 * 1024;

Result<std::string> read_file(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return fail(ErrorCode::kIo,
                "cannot read " + what + " " + path.string() +
                    (fs::exists(path, ec) ? ": not a regular file" : ": no such file"));
  }
  if (fs::file_size(path, ec) > kMaxFileBytes) {
    return fail(ErrorCode::kIo, what + " " + path.string() + " is larger than 16 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "cannot read " + what + " " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(ErrorCode::kIo, "error reading " + what + " " + path.string());
  return ss.str();
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(s.find_last_not_of(ws) + 1);
  s.erase(0, s.find_first_not_of(ws));
  return s;
}

// A named entry of clusters/users/contexts: the map under `field` of the item named `name`.
Result<YAML::Node> find_named(const YAML::Node& root, const std::string& list,
                              const std::string& field, const std::string& name,
                              const std::string& source) {
  const YAML::Node items = root[list];
  if (items && !items.IsSequence()) {
    return fail(ErrorCode::kParse, source + ": \"" + list + "\" is not a list");
  }
  if (items) {
    for (const auto& item : items) {
      if (!item.IsMap()) continue;
      const YAML::Node n = item["name"];
      if (n && n.IsScalar() && n.Scalar() == name) {
        const YAML::Node body = item[field];
        if (!body || body.IsNull()) return YAML::Node(YAML::NodeType::Map);
        if (!body.IsMap()) {
          return fail(ErrorCode::kParse, source + ": " + list + " entry \"" + name +
                                             "\" has no \"" + field + "\" map");
        }
        return body;
      }
    }
  }
  return fail(ErrorCode::kInvalidArgument,
              source + ": no " + field + " named \"" + name + "\" in \"" + list + "\"");
}

// A scalar string field, "" when absent. kParse when present but not a scalar.
Result<std::string> scalar(const YAML::Node& map, const std::string& key,
                           const std::string& where) {
  const YAML::Node n = map[key];
  if (!n || n.IsNull()) return std::string();
  if (!n.IsScalar()) return fail(ErrorCode::kParse, where + ": \"" + key + "\" is not a string");
  return n.Scalar();
}

// Inline base64 data (`<key>-data`) or a file (`<key>`), decoded/read; "" when neither is set.
Result<std::string> data_or_file(const YAML::Node& map, const std::string& key,
                                 const fs::path& base_dir, const std::string& where) {
  auto data = scalar(map, key + "-data", where);
  if (!data) return fail(data.error());
  if (!data->empty()) {
    auto decoded = base64_decode(*data);
    if (!decoded) {
      return fail(ErrorCode::kParse, where + ": \"" + key + "-data\" is not valid base64");
    }
    return decoded;
  }
  auto file = scalar(map, key, where);
  if (!file) return fail(file.error());
  if (file->empty()) return std::string();
  fs::path p(*file);
  if (p.is_relative()) p = base_dir / p;
  auto content = read_file(p, where + " " + key);
  if (!content) return fail(content.error());
  return content;
}

Result<ClusterConfig> parse_document(const YAML::Node& root, const fs::path& base_dir,
                                     const std::string& wanted_context, const std::string& source) {
  if (!root.IsMap()) return fail(ErrorCode::kParse, source + ": not a kubeconfig (not a map)");
  std::string context_name = wanted_context;
  if (context_name.empty()) {
    auto current = scalar(root, "current-context", source);
    if (!current) return fail(current.error());
    context_name = *current;
  }
  if (context_name.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                source + ": no context given and \"current-context\" is not set");
  }
  auto context = find_named(root, "contexts", "context", context_name, source);
  if (!context) return fail(context.error());
  const std::string cwhere = source + " context \"" + context_name + "\"";
  auto cluster_name = scalar(*context, "cluster", cwhere);
  if (!cluster_name) return fail(cluster_name.error());
  auto user_name = scalar(*context, "user", cwhere);
  if (!user_name) return fail(user_name.error());
  auto ns = scalar(*context, "namespace", cwhere);
  if (!ns) return fail(ns.error());
  if (cluster_name->empty()) {
    return fail(ErrorCode::kInvalidArgument, cwhere + " names no cluster");
  }

  ClusterConfig cfg;
  cfg.source = source + " (context " + context_name + ")";
  if (!ns->empty()) cfg.default_namespace = *ns;

  auto cluster = find_named(root, "clusters", "cluster", *cluster_name, source);
  if (!cluster) return fail(cluster.error());
  const std::string kwhere = source + " cluster \"" + *cluster_name + "\"";
  auto server = scalar(*cluster, "server", kwhere);
  if (!server) return fail(server.error());
  if (server->empty()) return fail(ErrorCode::kInvalidArgument, kwhere + " has no \"server\"");
  if (server->rfind("https://", 0) != 0 && server->rfind("http://", 0) != 0) {
    return fail(ErrorCode::kInvalidArgument,
                kwhere + ": server \"" + *server + "\" is not an http(s) URL");
  }
  cfg.server = *server;
  while (cfg.server.size() > 8 && cfg.server.back() == '/') cfg.server.pop_back();
  auto ca = data_or_file(*cluster, "certificate-authority", base_dir, kwhere);
  if (!ca) return fail(ca.error());
  cfg.ca_pem = *ca;
  auto insecure = scalar(*cluster, "insecure-skip-tls-verify", kwhere);
  if (!insecure) return fail(insecure.error());
  cfg.insecure_skip_tls_verify = (*insecure == "true" || *insecure == "True");

  if (!user_name->empty()) {
    auto user = find_named(root, "users", "user", *user_name, source);
    if (!user) return fail(user.error());
    const std::string uwhere = source + " user \"" + *user_name + "\"";
    if ((*user)["exec"] || (*user)["auth-provider"]) {
      return fail(ErrorCode::kInvalidArgument,
                  uwhere +
                      " uses exec or auth-provider credentials, which are not supported; "
                      "use a token, a token file or a client certificate");
    }
    auto cert = data_or_file(*user, "client-certificate", base_dir, uwhere);
    if (!cert) return fail(cert.error());
    auto key = data_or_file(*user, "client-key", base_dir, uwhere);
    if (!key) return fail(key.error());
    if (cert->empty() != key->empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  uwhere + " has a client certificate without a key (or a key without one)");
    }
    cfg.client_cert_pem = *cert;
    cfg.client_key_pem = *key;
    auto token = scalar(*user, "token", uwhere);
    if (!token) return fail(token.error());
    cfg.token = *token;
    auto token_file = scalar(*user, "tokenFile", uwhere);
    if (!token_file) return fail(token_file.error());
    if (!token_file->empty()) {
      fs::path p(*token_file);
      if (p.is_relative()) p = base_dir / p;
      auto content = read_file(p, uwhere + " tokenFile");
      if (!content) return fail(content.error());
      cfg.token_file = p.string();
      if (cfg.token.empty()) cfg.token = trim(*content);
    }
  }
  return cfg;
}

}  // namespace

Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      padding = true;
      continue;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    } else {
      return fail(ErrorCode::kParse, "invalid base64 character");
    }
    if (padding) return fail(ErrorCode::kParse, "base64 data after padding");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return fail(ErrorCode::kParse, "truncated base64 data");
  return out;
}

Result<ClusterConfig> parse_kubeconfig(const std::string& yaml, const fs::path& base_dir,
                                       const std::string& context, const std::string& source) {
  try {
    YAML::Node root = YAML::Load(yaml);
    return parse_document(root, base_dir, context, source);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kParse, source + ": malformed YAML: " + e.what());
  } catch (const std::exception& e) {
    return fail(ErrorCode::kParse, source + ": " + e.what());
  }
}

Result<ClusterConfig> load_kubeconfig(const fs::path& path, const std::string& context) {
  auto text = read_file(path, "kubeconfig");
  if (!text) return fail(text.error());
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  return parse_kubeconfig(*text, dir, context, "kubeconfig " + path.string());
}

Result<ClusterConfig> load_in_cluster(const fs::path& sa_dir, const EnvLookup& env) {
  auto host = env("KUBERNETES_SERVICE_HOST");
  auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return fail(ErrorCode::kNotFound,
                "not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  ClusterConfig cfg;
  const bool ipv6 = host->find(':') != std::string::npos;
  cfg.server = "https://" + (ipv6 ? "[" + *host + "]" : *host) + ":" + *port;
  const fs::path token_path = sa_dir / "token";
  auto token = read_file(token_path, "service account token");
  if (!token) return fail(token.error());
  cfg.token = trim(*token);
  cfg.token_file = token_path.string();
  auto ca = read_file(sa_dir / "ca.crt", "service account CA");
  if (!ca) return fail(ca.error());
  cfg.ca_pem = *ca;
  if (auto ns = read_file(sa_dir / "namespace", "namespace"); ns && !trim(*ns).empty()) {
    cfg.default_namespace = trim(*ns);
  }
  cfg.source = "in-cluster service account";
  return cfg;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<ClusterConfig> load_default(const EnvLookup& env, const fs::path& sa_dir) {
  std::string tried;
  if (auto kc = env("KUBECONFIG"); kc && !kc->empty()) {
    const std::string first = kc->substr(0, kc->find(':'));
    if (!first.empty()) return load_kubeconfig(first);
  }
  if (auto home = env("HOME"); home && !home->empty()) {
    const fs::path p = fs::path(*home) / ".kube" / "config";
    std::error_code ec;
    if (fs::exists(p, ec)) return load_kubeconfig(p);
    tried += p.string() + " (absent), ";
  }
  auto in_cluster = load_in_cluster(sa_dir, env);
  if (in_cluster || in_cluster.error().code != ErrorCode::kNotFound) return in_cluster;
  return fail(ErrorCode::kNotFound, "no cluster configuration: tried $KUBECONFIG (unset), " +
                                        tried + "in-cluster (" + in_cluster.error().message + ")");
}

TokenSource::TokenSource(std::string token, std::string token_file)
    : token_(std::move(token)), token_file_(std::move(token_file)) {}

std::string TokenSource::current() {
  std::lock_guard lock(mu_);
  if (token_file_.empty()) return token_;
  std::error_code ec;
  const auto mtime = fs::last_write_time(token_file_, ec);
  if (ec) return token_;
  const auto size = fs::file_size(token_file_, ec);
  if (ec) return token_;
  if (seen_mtime_ && *seen_mtime_ == mtime && seen_size_ == size) return token_;
  auto content = read_file(token_file_, "token file");
  if (!content) return token_;
  const std::string fresh = trim(*content);
  if (!fresh.empty()) token_ = fresh;
  seen_mtime_ = mtime;
  seen_size_ = size;
  return token_;
}

}  // namespace okami::kube
