#include "integration/support/s3_server.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

namespace okami::testing {
namespace {

namespace fs = std::filesystem;

std::string script() {
  return std::string(OKAMI_SOURCE_DIR) + "/hack/s3.sh";
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a shell command, appends its stdout to *out and returns its exit code.
int run(const std::string& cmd, std::string* out) {
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out->append(buf, n);
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The NAME=VALUE pairs of `export NAME=VALUE` lines.
std::map<std::string, std::string> exports(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("export ", 0) != 0) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[line.substr(7, eq - 7)] = line.substr(eq + 1);
  }
  return out;
}

common::Status fill(backup::ObjectStoreConfig& config,
                    const std::map<std::string, std::string>& env, bool tls) {
  auto get = [&](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  config.endpoint = get("OKAMI_S3_ENDPOINT");
  config.bucket = get("OKAMI_S3_BUCKET");
  config.region = get("OKAMI_S3_REGION");
  config.access_key = get("OKAMI_S3_ACCESS_KEY");
  config.secret_key = get("OKAMI_S3_SECRET_KEY");
  if (tls) config.ca_file = get("OKAMI_S3_CA_FILE");
  if (config.endpoint.empty() || config.bucket.empty() || config.access_key.empty() ||
      config.secret_key.empty() || (tls && config.ca_file.empty())) {
    return common::fail(common::ErrorCode::kInvalidArgument,
                        "hack/s3.sh printed an incomplete environment");
  }
  return common::ok();
}

}  // namespace

common::Result<std::unique_ptr<S3Server>> S3Server::start(bool tls) {
  std::unique_ptr<S3Server> server(new S3Server());
  const char* endpoint = std::getenv("OKAMI_S3_ENDPOINT");
  if (!tls && endpoint != nullptr && *endpoint != '\0' &&
      std::string(endpoint).rfind("http://", 0) == 0) {
    std::map<std::string, std::string> env;
    for (const char* name : {"OKAMI_S3_ENDPOINT", "OKAMI_S3_BUCKET", "OKAMI_S3_REGION",
                             "OKAMI_S3_ACCESS_KEY", "OKAMI_S3_SECRET_KEY"}) {
      if (const char* v = std::getenv(name)) env[name] = v;
    }
    if (auto st = fill(server->config_, env, false); !st) return tl::unexpected(st.error());
    return server;
  }
  server->state_dir_ = (fs::temp_directory_path() / unique_prefix("okami-s3-test")).string();
  std::string out;
  std::string log = server->state_dir_ + ".log";
  int rc = run("OKAMI_S3_DIR=" + quote(server->state_dir_) + " bash " + quote(script()) + " start" +
                   (tls ? " --tls" : "") + " 2>" + quote(log),
               &out);
  if (rc != 0) {
    std::string err;
    run("cat " + quote(log), &err);
    return common::fail(common::ErrorCode::kUnavailable,
                        "hack/s3.sh start failed (exit " + std::to_string(rc) + "): " + err +
                            " (MinIO comes from hack/build-tools.sh)");
  }
  std::error_code ec;
  fs::remove(log, ec);
  if (auto st = fill(server->config_, exports(out), tls); !st) return tl::unexpected(st.error());
  return server;
}

S3Server::~S3Server() {
  if (state_dir_.empty()) return;
  std::string out;
  run("OKAMI_S3_DIR=" + quote(state_dir_) + " bash " + quote(script()) + " stop 2>&1", &out);
}

std::string unique_prefix(const std::string& name) {
  std::random_device rd;
  std::ostringstream s;
  s << name << "-" << std::hex << rd() << rd();
  return s.str();
}

}  // namespace okami::testing
