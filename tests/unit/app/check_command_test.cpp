#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app/subcommands.h"

namespace okami::app {
namespace {

// Runs `okami-operator check` in-process, with stdout and stderr captured.
struct CheckRun {
  int code = -1;
  std::string out;
  std::string err;
};

class CheckCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("okami-check-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  CheckRun run(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    CheckRun r;
    r.code = check_command().run(args);
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  std::filesystem::path dir_;
};

// The stack the seed upgrade guide settles on: everything pinned at 0.5.23.
const char* kSeedStack = R"(apiVersion: okami.io/v1alpha1
kind: OkamiStack
metadata:
  name: okami
  namespace: okami
spec:
  chroma:
    version: "0.5.23"
  ollama:
    version: "0.3.3"
    embeddingModel: mxbai-embed-large
  client:
    image: ghcr.io/example/okami
    version: "1.4.0"
    packages:
      chromadb: "==0.5.23"
      crewai: "==0.165.1"
      crewai-tools: "==0.62.1"
status:
  chroma:
    runningVersion: "0.5.23"
    dataFormat: chroma-0.5
)";

std::string with(const std::string& from, const std::string& to) {
  std::string s = kSeedStack;
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST_F(CheckCommand, PassesTheSeedStackAndPrintsEveryRule) {
  const CheckRun r = run({"-f", write("stack.yaml", kSeedStack)});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("OkamiStack okami/okami against the built-in matrix"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("PASS  crewai-tools-0.62-pins-chromadb-0.5.23: "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("PASS  chroma-data-format: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SKIP  crewai-0.201-needs-chromadb-1.1: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nPASS: 0 violation(s)"), std::string::npos) << r.out;
}

TEST_F(CheckCommand, FailsWhenTheServerMovesTo1_0_6UnderA0523Client) {
  const CheckRun r =
      run({"-f", write("stack.yaml", with("version: \"0.5.23\"", "version: \"1.0.6\""))});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL  chroma-0x-client-breaks-on-server-1.0.6: "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("WARN  chroma-data-format: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nFAIL: 1 violation(s)"), std::string::npos) << r.out;
}

TEST_F(CheckCommand, RefusesADowngradeBelowTheDataOnDisk) {
  const CheckRun r =
      run({"-f", write("stack.yaml", with("dataFormat: chroma-0.5", "dataFormat: chroma-1.0"))});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL  chroma-data-format: "), std::string::npos) << r.out;
}

TEST_F(CheckCommand, AMatrixFileCanWaiveARule) {
  const std::string stack = write("stack.yaml", with("version: \"0.5.23\"", "version: \"1.0.6\""));
  const std::string matrix = write(
      "matrix.yaml", "extends: builtin\ndisable: [chroma-0x-client-breaks-on-server-1.0.6]\n");
  const CheckRun r = run({"-f", stack, "--matrix", matrix});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("against the matrix " + matrix), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("chroma-0x-client-breaks-on-server-1.0.6"), std::string::npos) << r.out;
}

TEST_F(CheckCommand, PicksTheOkamiStackOutOfAMultiDocumentFile) {
  const CheckRun r = run(
      {"-f", write("all.yaml",
                   std::string("apiVersion: v1\nkind: Namespace\nmetadata: {name: okami}\n---\n") +
                       kSeedStack)});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(CheckCommand, ReadsTheMemoryResetApprovalAnnotation) {
  // Moving the client to chromadb 1.x changes the vector scale of stored memories.
  std::string stack = with("version: \"0.5.23\"", "version: \"1.1.0\"");
  stack = stack.replace(stack.find("chromadb: \"==0.5.23\""), 20, "chromadb: \"==1.1.0\"");
  stack = stack.replace(stack.find("crewai: \"==0.165.1\""), 19, "crewai: \"==0.201.0\"");
  stack = stack.replace(stack.find("crewai-tools: \"==0.62.1\""), 24,
                        "crewai-tools: \"==0.74.0\"\n      ollama: \"==0.4.0\"");
  CheckRun r = run({"-f", write("stack.yaml", stack)});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL  embedding-vector-scale-change: "), std::string::npos) << r.out;

  stack = stack.replace(
      stack.find("  namespace: okami\n"), 19,
      "  namespace: okami\n  annotations:\n    okami.io/reset-memories: \"2026-11-26\"\n");
  r = run({"-f", write("approved.yaml", stack)});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("WARN  embedding-vector-scale-change: "), std::string::npos) << r.out;
}

TEST_F(CheckCommand, ExitsTwoForUnreadableInput) {
  struct Row {
    const char* name;
    std::vector<std::string> args;
    const char* error_part;
  };
  const std::vector<Row> rows = {
      {"missing file", {"-f", (dir_ / "nope.yaml").string()}, "cannot read"},
      {"yaml syntax",
       {"-f", write("bad.yaml", "kind: OkamiStack\nspec: [unclosed\n")},
       "YAML error at line"},
      {"no stack", {"-f", write("ns.yaml", "kind: Namespace\n")}, "no OkamiStack"},
      {"no spec", {"-f", write("nospec.yaml", "kind: OkamiStack\n")}, "has no spec"},
      {"packages list",
       {"-f", write("list.yaml", "kind: OkamiStack\nspec:\n  client:\n    packages: [a]\n")},
       "spec.client.packages"},
      {"bad matrix",
       {"-f", write("ok.yaml", kSeedStack), "--matrix", write("m.yaml", "rules: [")},
       "YAML error"},
      {"missing matrix",
       {"-f", write("ok2.yaml", kSeedStack), "--matrix", (dir_ / "none").string()},
       "cannot read"},
      {"no -f", {}, "-f stack.yaml is required"},
      {"unknown flag", {"--bogus"}, "bogus"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    const CheckRun r = run(row.args);
    EXPECT_EQ(r.code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(row.error_part), std::string::npos) << r.err;
  }
}

TEST_F(CheckCommand, AMissingChromaVersionIsAGateFailureNotAReadError) {
  const CheckRun r = run({"-f", write("stack.yaml", with("    version: \"0.5.23\"\n", ""))});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL  input.server.chroma: spec.chroma.version is required"),
            std::string::npos)
      << r.out;
}

TEST_F(CheckCommand, IsRegisteredAsASubcommand) {
  EXPECT_EQ(all_subcommands().count("check"), 1u);
}

}  // namespace
}  // namespace okami::app
