// Integration-test access to the real control plane started by hack/cluster.sh: a Client built
// from $KUBECONFIG through the production code path, a fresh namespace per test (deleted after),
// and kubectl for cross-checking what the client did. A missing or unreachable cluster fails the
// test with instructions; nothing is skipped.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/metrics.h"

namespace okami::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

class TestCluster {
 public:
  static constexpr const char* kHowToStart =
      "run hack/cluster.sh up and export KUBECONFIG "
      "(eval \"$(hack/cluster.sh env)\")";

  // Loads $KUBECONFIG, builds a client and checks the apiserver answers. Errors say how to start
  // the control plane.
  static common::Result<std::unique_ptr<TestCluster>> connect();

  kube::Client& client() { return *client_; }
  kube::MetricsRegistry& metrics() { return metrics_; }
  common::Clock& clock() { return clock_; }
  const kube::ClusterConfig& config() const { return config_; }
  const std::string& kubeconfig_path() const { return kubeconfig_; }

  // A client for the same server authenticated only by `token` (no client certificate).
  common::Result<std::unique_ptr<kube::Client>> client_with_token(const std::string& token);

  // Creates a namespace named <prefix>-<random suffix>, labelled okami.io/test=true.
  common::Result<std::string> create_namespace(const std::string& prefix);
  // Deletes it (the namespace controller removes its content in the background).
  common::Status delete_namespace(const std::string& name);

  // Runs `kubectl --kubeconfig <path> args...`; `stdin_text`, when given, is piped in.
  CommandResult kubectl(const std::vector<std::string>& args,
                        const std::string& stdin_text = "") const;
  // The kubectl binary: $OKAMI_KUBECTL, else the one hack/build-tools.sh built, else PATH.
  static std::string kubectl_binary();

 private:
  TestCluster() = default;

  common::SystemClock clock_;
  kube::MetricsRegistry metrics_;
  kube::ClusterConfig config_;
  std::string kubeconfig_;
  std::unique_ptr<kube::Client> client_;
};

// Fixture: connects (FAIL with instructions when it cannot) and gives each test its own namespace.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::unique_ptr<TestCluster> cluster_;
  std::string ns_;
};

}  // namespace okami::testing
