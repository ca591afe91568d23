#include "okami/gate/compatibility_gate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace okami::gate {
namespace {

const CompatMatrix& matrix() {
  static const CompatMatrix m = CompatMatrix::builtin().value();
  return m;
}

// The stack the seed upgrade guide settles on: everything at 0.5.23, Ollama 0.3.3.
CompatInput seed_stack() {
  CompatInput in;
  in.desired_chroma = "0.5.23";
  in.running_chroma = "0.5.23";
  in.desired_ollama = "0.3.3";
  in.running_ollama = "0.3.3";
  in.client_packages = {
      {"chromadb", "==0.5.23"}, {"crewai", "==0.165.1"}, {"crewai-tools", "==0.62.1"}};
  in.embedding_model = "mxbai-embed-large";
  in.collections = std::vector<CollectionInfo>{{"short_term", 1024}, {"entities", 1024}};
  in.data_format = "chroma-0.5";
  return in;
}

// The newest stack the facts describe: Chroma 1.1.0 with crewai 0.201.0.
CompatInput modern_stack() {
  CompatInput in;
  in.desired_chroma = "1.1.0";
  in.running_chroma = "1.1.0";
  in.desired_ollama = "0.9.0";
  in.running_ollama = "0.9.0";
  in.client_packages = {{"chromadb", "==1.1.0"},
                        {"crewai", "==0.201.0"},
                        {"crewai-tools", "==0.74.0"},
                        {"ollama", "==0.5.0"}};
  in.embedding_model = "mxbai-embed-large";
  in.collections = std::vector<CollectionInfo>{{"short_term", 1024}};
  in.data_format = "chroma-1.0";
  return in;
}

const RuleOutcome* outcome(const GateResult& r, const std::string& id) {
  for (const auto& o : r.outcomes) {
    if (o.rule_id == id) return &o;
  }
  return nullptr;
}

std::string dump(const GateResult& r) {
  std::string out;
  for (const auto& o : r.outcomes)
    out += std::string(to_string(o.outcome)) + " " + o.rule_id + ": " + o.message + "\n";
  return out;
}

void expect_outcome(const GateResult& r, const std::string& id, Outcome expected,
                    const std::string& reason = "") {
  const RuleOutcome* o = outcome(r, id);
  ASSERT_NE(o, nullptr) << id << "\n" << dump(r);
  EXPECT_EQ(o->outcome, expected) << id << ": " << o->message << "\n" << dump(r);
  if (!reason.empty()) {
    EXPECT_EQ(o->reason, reason) << id;
  }
}

bool mentions(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& p : parts) {
    if (text.find(p) == std::string::npos) return false;
  }
  return true;
}

TEST(CompatibilityGate, PassesTheSeedGuidesStackPinnedAt0523) {
  const GateResult r = evaluate(seed_stack(), matrix());
  EXPECT_TRUE(r.passed) << dump(r);
  EXPECT_TRUE(r.violations.empty());
  EXPECT_EQ(r.condition_reason(), "Compatible");
  expect_outcome(r, "crewai-tools-0.62-pins-chromadb-0.5.23", Outcome::kPass);
  expect_outcome(r, "chroma-client-equals-server-before-1.0", Outcome::kPass);
  expect_outcome(r, "chroma-data-format", Outcome::kPass, "SameDataFormat");
  expect_outcome(r, "embedding-dimension", Outcome::kPass);
}

TEST(CompatibilityGate, PassesTheModernStack) {
  const GateResult r = evaluate(modern_stack(), matrix());
  EXPECT_TRUE(r.passed) << dump(r);
  expect_outcome(r, "crewai-0.201-needs-chromadb-1.1", Outcome::kPass);
  expect_outcome(r, "crewai-tools-0.74-needs-chromadb-1.1", Outcome::kPass);
  expect_outcome(r, "chromadb-1x-embeds-with-ollama-package", Outcome::kPass);
}

TEST(CompatibilityGate, EveryMatrixRuleIsReported) {
  const GateResult r = evaluate(seed_stack(), matrix());
  for (const auto& rule : matrix().rules()) EXPECT_NE(outcome(r, rule.id), nullptr) << rule.id;
  EXPECT_NE(outcome(r, matrix().vector_scale()->id), nullptr);
  for (const auto& p : matrix().upgrade_paths()) EXPECT_NE(outcome(r, p.id), nullptr) << p.id;
  for (const auto& s : matrix().series_steps()) EXPECT_NE(outcome(r, s.id), nullptr) << s.id;
}

TEST(CompatibilityGate, FailsChroma106ServerWithA0523ClientNamingBothSidesAndTheFix) {
  CompatInput in = seed_stack();
  in.desired_chroma = "1.0.6";
  const GateResult r = evaluate(in, matrix());
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.violations.size(), 1u) << dump(r);
  EXPECT_EQ(r.violations[0].rule_id, "chroma-0x-client-breaks-on-server-1.0.6");
  EXPECT_EQ(r.violations[0].reason, "ChromaClientTooOld");
  EXPECT_TRUE(mentions(r.violations[0].message, {"Chroma server 1.0.6", "client chromadb 0.5.23",
                                                 "Fix:", "chromadb~=1.1.0"}))
      << r.violations[0].message;
  EXPECT_EQ(r.condition_reason(), "ChromaClientTooOld");
  EXPECT_NE(r.summary().find("[chroma-0x-client-breaks-on-server-1.0.6]"), std::string::npos);
}

TEST(CompatibilityGate, WarnsThatAnOldClientOnChroma100To105WorksForCollectionCallsOnly) {
  CompatInput in = seed_stack();
  in.desired_chroma = "1.0.5";
  const GateResult r = evaluate(in, matrix());
  EXPECT_TRUE(r.passed) << dump(r);
  expect_outcome(r, "chroma-0x-client-limited-on-server-1.0.0-1.0.5", Outcome::kWarn,
                 "ChromaClientLegacyApi");
  expect_outcome(r, "chroma-data-format", Outcome::kWarn, "IrreversibleMigration");
}

TEST(CompatibilityGate, RequiresTheClientToEqualTheServerBefore1_0) {
  CompatInput in = seed_stack();
  in.desired_chroma = "0.6.3";
  const GateResult r = evaluate(in, matrix());
  EXPECT_FALSE(r.passed);
  expect_outcome(r, "chroma-client-equals-server-before-1.0", Outcome::kFail,
                 "ChromaClientServerMismatch");
  EXPECT_TRUE(mentions(outcome(r, "chroma-client-equals-server-before-1.0")->message,
                       {"==0.6.3", "0.5.23"}));
}

TEST(CompatibilityGate, FailsCrewaiToolsThatPinChromadb0523NextToAChromadb1Client) {
  CompatInput in = seed_stack();
  in.client_packages["chromadb"] = "==1.1.0";
  in.desired_chroma = in.running_chroma = "1.1.0";
  in.data_format = "chroma-1.0";
  in.client_packages["ollama"] = "==0.3.0";
  const GateResult r = evaluate(in, matrix());
  EXPECT_FALSE(r.passed);
  expect_outcome(r, "crewai-tools-0.62-pins-chromadb-0.5.23", Outcome::kFail,
                 "CrewaiToolsPinsChromadb");
  expect_outcome(r, "crewai-0.165-needs-chromadb-0.5.23", Outcome::kPass);
}

TEST(CompatibilityGate, ResolvesALooseChromadbPinToItsNewestReleaseAndFindsTheSeedsConflict) {
  CompatInput in = seed_stack();
  in.client_packages["chromadb"] = ">=0.5.23";  // what crewai 0.165.1 alone asks for
  const GateResult r = evaluate(in, matrix());
  EXPECT_FALSE(r.passed);
  expect_outcome(r, "client-pin.chromadb", Outcome::kWarn, "ClientPinNotExact");
  const std::string newest = matrix().known_releases("chromadb").back().str();
  EXPECT_NE(outcome(r, "client-pin.chromadb")->message.find(newest), std::string::npos);
  expect_outcome(r, "crewai-tools-0.62-pins-chromadb-0.5.23", Outcome::kFail);
  EXPECT_NE(outcome(r, "crewai-tools-0.62-pins-chromadb-0.5.23")
                ->message.find("newest known release admitted by pin"),
            std::string::npos);
}

TEST(CompatibilityGate, ALoosePinNeverResolvesToAPreRelease) {
  CompatMatrix m =
      CompatMatrix::parse("extends: builtin\nknownReleases: {chromadb: ['0.5.23', '1.0.0rc1']}\n",
                          &matrix())
          .value();
  CompatInput in = seed_stack();
  in.client_packages["chromadb"] = ">=0.5.23";
  const GateResult r = evaluate(in, m);
  EXPECT_NE(outcome(r, "client-pin.chromadb")->message.find("evaluated as 0.5.23"),
            std::string::npos);
  EXPECT_TRUE(r.passed) << dump(r);
}

TEST(CompatibilityGate, FailsCrewai0201WithAChromadb05Pin) {
  CompatInput in = seed_stack();
  in.client_packages["crewai"] = "==0.201.0";
  in.client_packages.erase("crewai-tools");
  const GateResult r = evaluate(in, matrix());
  expect_outcome(r, "crewai-0.201-needs-chromadb-1.1", Outcome::kFail, "CrewaiNeedsChromadb");
  expect_outcome(r, "crewai-tools-0.62-pins-chromadb-0.5.23", Outcome::kSkip);
}

TEST(CompatibilityGate, ChecksTheOllamaPythonPackageAgainstTheOllamaServer) {
  struct Row {
    const char* package;
    const char* server;
    const char* rule;
    Outcome expected;
  };
  const Row rows[] = {
      {"==0.3.0", "0.2.5", "ollama-python-0.3-needs-api-embed", Outcome::kFail},
      {"==0.3.0", "0.2.6", "ollama-python-0.3-needs-api-embed", Outcome::kPass},
      {"==0.4.5", "0.3.3", "ollama-python-0.3-needs-api-embed", Outcome::kPass},
      {"==0.4.6", "0.5.5", "ollama-python-0.4.6-needs-server-0.5.6", Outcome::kFail},
      {"==0.4.6", "0.5.6", "ollama-python-0.4.6-needs-server-0.5.6", Outcome::kPass},
      {"==0.5.0", "0.8.9", "ollama-python-0.5-needs-server-0.9", Outcome::kFail},
      {"==0.5.0", "0.9.0", "ollama-python-0.5-needs-server-0.9", Outcome::kPass},
      {"==0.2.1", "0.1.0", "ollama-python-0.3-needs-api-embed", Outcome::kSkip},
  };
  for (const auto& row : rows) {
    CompatInput in = seed_stack();
    in.client_packages["ollama"] = row.package;
    in.desired_ollama = row.server;
    in.running_ollama.clear();
    const GateResult r = evaluate(in, matrix());
    SCOPED_TRACE(std::string(row.package) + " vs Ollama " + row.server);
    expect_outcome(r, row.rule, row.expected,
                   row.expected == Outcome::kFail ? "OllamaServerTooOld" : "");
    EXPECT_EQ(r.passed, row.expected != Outcome::kFail) << dump(r);
  }
}

TEST(CompatibilityGate, Chromadb1xClientNeedsTheOllamaPackageDeclared) {
  CompatInput in = modern_stack();
  in.client_packages.erase("ollama");
  const GateResult r = evaluate(in, matrix());
  EXPECT_FALSE(r.passed);
  expect_outcome(r, "chromadb-1x-embeds-with-ollama-package", Outcome::kFail,
                 "OllamaPackageRequired");
  EXPECT_NE(outcome(r, "chromadb-1x-embeds-with-ollama-package")
                ->message.find("client ollama is not declared"),
            std::string::npos);
}

TEST(CompatibilityGate, AnUndeclaredChromadbPinIsAWarningNotASilentPass) {
  CompatInput in = seed_stack();
  in.client_packages.clear();
  const GateResult r = evaluate(in, matrix());
  EXPECT_TRUE(r.passed) << dump(r);
  expect_outcome(r, "chroma-client-equals-server-before-1.0", Outcome::kWarn);
}

TEST(CompatibilityGate, FailsAnEmbeddingModelWhoseDimensionDiffersFromExistingCollections) {
  CompatInput in = seed_stack();
  in.embedding_model = "nomic-embed-text";
  const GateResult r = evaluate(in, matrix());
  EXPECT_FALSE(r.passed);
  expect_outcome(r, "embedding-dimension", Outcome::kFail, "EmbeddingDimensionMismatch");
  EXPECT_TRUE(mentions(outcome(r, "embedding-dimension")->message,
                       {"Embedding dimension mismatch", "768", "'short_term' has 1024",
                        "mxbai-embed-large (1024)", "okami.io/reset-memories"}))
      << outcome(r, "embedding-dimension")->message;
}

TEST(CompatibilityGate, AnApprovedMemoryResetTurnsADimensionMismatchIntoAWarning) {
  CompatInput in = seed_stack();
  in.embedding_model = "all-minilm";
  in.memory_reset_approved = true;
  const GateResult r = evaluate(in, matrix());
  EXPECT_TRUE(r.passed) << dump(r);
  expect_outcome(r, "embedding-dimension", Outcome::kWarn, "EmbeddingDimensionMismatch");
  EXPECT_TRUE(r.memory_reset_required);
  in.embedding_model = "mxbai-embed-large";
  EXPECT_FALSE(evaluate(in, matrix()).memory_reset_required) << "nothing to reset";
}

TEST(CompatibilityGate, PrefersTheDimensionOllamaReportsOverTheMatrix) {
  CompatInput in = seed_stack();
  in.embedding_model = "bge-m3";
  expect_outcome(evaluate(in, matrix()), "embedding-dimension", Outcome::kWarn,
                 "UnknownEmbeddingModel");
  in.observed_model_dimension = 1024;
  expect_outcome(evaluate(in, matrix()), "embedding-dimension", Outcome::kPass);
  in.embedding_model = "mxbai-embed-large";
  in.observed_model_dimension = 768;
  const GateResult r = evaluate(in, matrix());
  expect_outcome(r, "embedding-dimension.matrix", Outcome::kWarn, "EmbeddingDimensionDiffers");
  expect_outcome(r, "embedding-dimension", Outcome::kFail);
}

TEST(CompatibilityGate, SkipsTheDimensionCheckUntilCollectionsAreKnown) {
  CompatInput in = seed_stack();
  in.collections.reset();
  expect_outcome(evaluate(in, matrix()), "embedding-dimension", Outcome::kSkip);
}

TEST(CompatibilityGate, BlocksTheVectorScaleChangeWhenTheClientMovesToChromadb1) {
  CompatInput in = modern_stack();
  in.running_chroma = "1.0.21";
  in.running_client_packages = {{"chromadb", "==0.5.23"}};
  GateResult r = evaluate(in, matrix());
  EXPECT_FALSE(r.passed);
  expect_outcome(r, "embedding-vector-scale-change", Outcome::kFail, "EmbeddingVectorScaleChange");
  EXPECT_TRUE(mentions(outcome(r, "embedding-vector-scale-change")->message,
                       {"0.5.23", "1.1.0", "/api/embed"}));

  in.memory_reset_approved = true;
  r = evaluate(in, matrix());
  EXPECT_TRUE(r.passed) << dump(r);
  expect_outcome(r, "embedding-vector-scale-change", Outcome::kWarn);
  EXPECT_TRUE(r.memory_reset_required);

  in.memory_reset_approved = false;
  in.collections = std::vector<CollectionInfo>{};
  expect_outcome(evaluate(in, matrix()), "embedding-vector-scale-change", Outcome::kPass);
}

TEST(CompatibilityGate, InfersTheOldClientFromARunning0xServer) {
  CompatInput in = modern_stack();
  in.running_chroma = "0.5.23";
  in.data_format = "chroma-0.5";
  in.desired_chroma = "1.1.0";
  in.collections.reset();
  const GateResult r = evaluate(in, matrix());
  expect_outcome(r, "embedding-vector-scale-change", Outcome::kFail);
  EXPECT_NE(outcome(r, "embedding-vector-scale-change")->message.find("running 0.x server"),
            std::string::npos);
}

TEST(CompatibilityGate, Chroma1xOnlyFromTheLatest05xOr06x) {
  struct Row {
    const char* from;
    const char* to;
    Outcome expected;
  };
  const Row rows[] = {{"0.5.20", "1.0.21", Outcome::kFail}, {"0.5.23", "1.0.21", Outcome::kPass},
                      {"0.6.3", "1.0.21", Outcome::kPass},  {"0.6.2", "1.3.0", Outcome::kFail},
                      {"0.5.20", "0.5.23", Outcome::kSkip}, {"1.0.0", "1.0.21", Outcome::kSkip}};
  for (const auto& row : rows) {
    CompatInput in = seed_stack();
    in.running_chroma = row.from;
    in.desired_chroma = row.to;
    in.data_format.clear();
    const GateResult r = evaluate(in, matrix());
    SCOPED_TRACE(std::string(row.from) + " -> " + row.to);
    expect_outcome(r, "chroma-1x-only-from-latest-0x", row.expected);
    if (row.expected == Outcome::kFail) {
      EXPECT_TRUE(mentions(outcome(r, "chroma-1x-only-from-latest-0x")->message,
                           {row.from, row.to, "0.5.23"}));
    }
  }
}

TEST(CompatibilityGate, OllamaAdvancesOneMinorSeriesPerStep) {
  struct Row {
    const char* from;
    const char* to;
    Outcome expected;
  };
  const Row rows[] = {{"0.3.3", "0.4.7", Outcome::kPass},  {"0.3.3", "0.3.14", Outcome::kPass},
                      {"0.3.3", "0.5.0", Outcome::kFail},  {"0.5.1", "0.4.0", Outcome::kSkip},
                      {"0.12.3", "1.0.0", Outcome::kPass}, {"0.12.3", "1.1.0", Outcome::kFail}};
  for (const auto& row : rows) {
    CompatInput in = seed_stack();
    in.running_ollama = row.from;
    in.desired_ollama = row.to;
    const GateResult r = evaluate(in, matrix());
    SCOPED_TRACE(std::string(row.from) + " -> " + row.to);
    expect_outcome(r, "ollama-one-minor-series-per-step", row.expected);
  }
  CompatInput in = seed_stack();
  in.desired_ollama = "0.5.0";
  EXPECT_NE(
      outcome(evaluate(in, matrix()), "ollama-one-minor-series-per-step")->message.find("0.4.x"),
      std::string::npos);
}

TEST(CompatibilityGate, RefusesAServerOlderThanTheDataOnDisk) {
  const std::pair<const char*, const char*> rows[] = {{"chroma-1.0", "0.5.23"},
                                                      {"migrating:chroma-0.5:chroma-1.0", "0.5.23"},
                                                      {"chroma-1.5", "1.4.0"}};
  for (const auto& [format, version] : rows) {
    CompatInput in = seed_stack();
    in.data_format = format;
    in.desired_chroma = version;
    in.client_packages = {{"chromadb", std::string("==") + version}};
    const GateResult r = evaluate(in, matrix());
    SCOPED_TRACE(format);
    EXPECT_FALSE(r.passed);
    expect_outcome(r, "chroma-data-format", Outcome::kFail, "DowngradeRefused");
    EXPECT_NE(outcome(r, "chroma-data-format")->message.find("spec.restore.fromBackup"),
              std::string::npos);
  }
}

TEST(CompatibilityGate, RefusesDataInAFormatTheMatrixDoesNotKnow) {
  CompatInput in = seed_stack();
  in.data_format = "chroma-newer-than-known";
  expect_outcome(evaluate(in, matrix()), "chroma-data-format", Outcome::kFail, "UnknownDataFormat");
  in.data_format = "migrating:chroma-0.5:";
  expect_outcome(evaluate(in, matrix()), "chroma-data-format", Outcome::kFail, "UnknownDataFormat");
}

TEST(CompatibilityGate, DescribesTheDataFormatFromTheRunningServerOrAFreshVolume) {
  CompatInput in = seed_stack();
  in.data_format.clear();
  in.desired_chroma = "1.0.5";
  GateResult r = evaluate(in, matrix());
  expect_outcome(r, "chroma-data-format", Outcome::kWarn, "IrreversibleMigration");
  EXPECT_NE(outcome(r, "chroma-data-format")->message.find("running Chroma 0.5.23"),
            std::string::npos);
  in.running_chroma.clear();
  expect_outcome(evaluate(in, matrix()), "chroma-data-format", Outcome::kPass, "FreshVolume");
  in.data_format = "migrating:chroma-0.5:chroma-1.0";
  expect_outcome(evaluate(in, matrix()), "chroma-data-format", Outcome::kWarn,
                 "MigrationInProgress");
}

TEST(CompatibilityGate, ReportsUnreadableVersionsAndPins) {
  CompatInput in = seed_stack();
  in.desired_chroma = "latest";
  in.client_packages["crewai"] = "=0.165.1";
  in.desired_ollama = "0.3";
  const GateResult r = evaluate(in, matrix());
  EXPECT_FALSE(r.passed);
  expect_outcome(r, "input.server.chroma", Outcome::kFail, "InvalidVersion");
  expect_outcome(r, "input.server.ollama", Outcome::kFail, "InvalidVersion");
  expect_outcome(r, "client-pin.crewai", Outcome::kFail, "InvalidPin");
  in = seed_stack();
  in.desired_chroma.clear();
  expect_outcome(evaluate(in, matrix()), "input.server.chroma", Outcome::kFail, "InvalidVersion");
}

TEST(CompatibilityGate, SummaryCountsWarningsWhenItPasses) {
  CompatInput in = seed_stack();
  in.desired_chroma = "1.0.5";
  const GateResult r = evaluate(in, matrix());
  ASSERT_TRUE(r.passed);
  EXPECT_NE(r.summary().find("warning"), std::string::npos) << r.summary();
  EXPECT_EQ(r.warnings.size(), 2u) << dump(r);
}

TEST(FormatBoundary, CrossingIsComputedFromTheMatrixFormats) {
  auto sv = [](const char* t) { return versions::SemVer::parse(t).value(); };
  EXPECT_TRUE(crosses_format_boundary(matrix(), sv("0.5.23"), sv("1.0.0")));
  EXPECT_TRUE(crosses_format_boundary(matrix(), sv("1.0.21"), sv("0.6.3")));
  EXPECT_TRUE(crosses_format_boundary(matrix(), sv("1.2.0"), sv("1.3.0")));
  EXPECT_TRUE(crosses_format_boundary(matrix(), sv("0.5.5"), sv("0.5.23")));
  EXPECT_FALSE(crosses_format_boundary(matrix(), sv("0.5.23"), sv("0.6.3")));
  EXPECT_FALSE(crosses_format_boundary(matrix(), sv("1.0.0"), sv("1.2.9")));
  EXPECT_FALSE(crosses_format_boundary(matrix(), sv("1.0.6"), sv("1.0.5")));

  EXPECT_TRUE(is_downgrade_across_boundary(matrix(), sv("1.0.0"), sv("0.6.3")));
  EXPECT_TRUE(is_downgrade_across_boundary(matrix(), sv("1.5.0"), sv("1.4.9")));
  EXPECT_FALSE(is_downgrade_across_boundary(matrix(), sv("0.6.3"), sv("1.0.0")));
  EXPECT_FALSE(is_downgrade_across_boundary(matrix(), sv("1.0.21"), sv("1.0.5")));

  EXPECT_TRUE(is_downgrade_across_boundary(matrix(), "chroma-1.0", sv("0.5.23")));
  EXPECT_TRUE(
      is_downgrade_across_boundary(matrix(), "migrating:chroma-0.5:chroma-1.0", sv("0.5.23")));
  EXPECT_TRUE(is_downgrade_across_boundary(matrix(), "chroma-newer-than-known", sv("1.5.0")));
  EXPECT_TRUE(is_downgrade_across_boundary(matrix(), "", sv("1.5.0")));
  EXPECT_FALSE(
      is_downgrade_across_boundary(matrix(), "migrating:chroma-0.5:chroma-1.0", sv("1.0.21")));
  EXPECT_FALSE(is_downgrade_across_boundary(matrix(), "chroma-0.5", sv("1.0.0")));
}

}  // namespace
}  // namespace okami::gate
