// Every Job the operator builds runs `okami-operator <command> <args>` in its pod: the command must
// accept exactly those arguments. A flag one builder adds to every Job (--termination-log) that a
// command does not know fails that Job on every cluster, so each builder's arguments are parsed here
// by the real command (with --help: parsed, nothing run).
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include "app/subcommands.h"
#include "okami/api/okamistack.h"
#include "okami/children/job_objects.h"

namespace okami::app {
namespace {

using kube::Json;

TEST(JobCommands, EveryJobsArgumentsAreAcceptedByTheCommandItRuns) {
  auto stack = v1alpha1::OkamiStack::load(Json::parse(R"({
    "apiVersion": "okami.io/v1alpha1", "kind": "OkamiStack",
    "metadata": {"name": "okami", "namespace": "ns", "uid": "7c9e6679-7425-40de-944b-e07fc1f90ae7"},
    "spec": {
      "chroma": {"version": "0.5.23"},
      "ollama": {"version": "0.4.7", "embeddingModel": "mxbai-embed-large"},
      "client": {"image": "example/okami-client", "version": "1.0.0",
                 "packages": {"chromadb": "==0.5.23"}}}})"));
  ASSERT_TRUE(stack);
  jobs::JobSettings settings;
  settings.operator_image = "okami-operator:test";
  jobs::BackupRef backup{"b", "0123456789ab", std::string(64, 'a'), 1 << 20, "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                         "chroma-0.5"};
  // The same Jobs for a backup in an object store: the --object-store-* flags and --backup-name.
  jobs::BackupRef stored = backup;
  stored.stored = jobs::StoredLocation{
      Json{{"endpoint", "https://s3.example.com"}, {"bucket", "okami-backups"}, {"prefix", "prod"},
           {"credentials", {{"secretName", "okami-s3"}}}, {"caBundle", {{"secretName", "s3-ca"}}}},
      "b-01234567"};
  const std::vector<std::pair<std::string, Json>> built = {
      {"stored archive", jobs::archive_job(stored, *stack, "0.5.23", settings)},
      {"stored verify", jobs::verify_job(stored, *stack, settings)},
      {"stored removal", jobs::archive_removal_job(stored, *stack, settings)},
      {"stored migration verify", jobs::migration_verify_job(stored, *stack, "1.0.15", settings)},
      {"stored restore", jobs::restore_job(stored, *stack, settings)},
      {"archive", jobs::archive_job(backup, *stack, "0.5.23", settings)},
      {"verify", jobs::verify_job(backup, *stack, settings)},
      {"removal", jobs::archive_removal_job(backup, *stack, settings)},
      {"migration verify", jobs::migration_verify_job(backup, *stack, "1.0.15", settings)},
      {"restore", jobs::restore_job(backup, *stack, settings)},
      {"memory reset", jobs::memory_reset_job(*stack, "approved", settings)},
      {"data format probe", jobs::data_format_probe_job(*stack, "okami-chroma-data", "pvc-uid", settings)},
  };
  const auto commands = all_subcommands();
  for (const auto& [what, job] : built) {
    const Json args = job["spec"]["template"]["spec"]["containers"][0]["args"];
    ASSERT_TRUE(args.is_array() && !args.empty()) << what;
    const std::string name = args[0].get<std::string>();
    auto it = commands.find(name);
    ASSERT_NE(it, commands.end()) << what << " Job runs an unknown command " << name;
    std::vector<std::string> rest;
    for (std::size_t i = 1; i < args.size(); ++i) rest.push_back(args[i].get<std::string>());
    rest.push_back("--help");
    std::ostringstream out;
    auto* old = std::cout.rdbuf(out.rdbuf());
    int code = -1;
    std::string error;
    try {
      code = it->second.run(rest);
    } catch (const std::exception& e) {
      error = e.what();
    }
    std::cout.rdbuf(old);
    EXPECT_EQ(error, "") << what << " Job: okami-operator " << name << " refuses its arguments";
    EXPECT_EQ(code, 0) << what << " Job";
  }
}

}  // namespace
}  // namespace okami::app
