#include "okami/gate/compat_matrix.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace okami::gate {
namespace {

CompatMatrix builtin() {
  auto m = CompatMatrix::builtin();
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message);
  return m.value_or(CompatMatrix{});
}

versions::SemVer sv(const std::string& text) {
  return versions::SemVer::parse(text).value();
}

std::string parse_error(const std::string& doc) {
  auto base = builtin();
  auto m = CompatMatrix::parse(doc, &base);
  EXPECT_FALSE(m.has_value()) << "accepted:\n" << doc;
  if (m) return "";
  EXPECT_EQ(m.error().code, common::ErrorCode::kParse);
  return m.error().message;
}

TEST(CompatMatrix, BuiltinDocumentLoadsWithEveryRuleTheDesignNames) {
  const CompatMatrix m = builtin();
  std::set<std::string> ids;
  for (const auto& r : m.rules()) ids.insert(r.id);
  for (const char* id :
       {"chroma-client-equals-server-before-1.0", "chroma-0x-client-breaks-on-server-1.0.6",
        "crewai-tools-0.62-pins-chromadb-0.5.23", "crewai-tools-0.74-needs-chromadb-1.1",
        "crewai-0.165-needs-chromadb-0.5.23", "crewai-0.201-needs-chromadb-1.1",
        "ollama-python-0.3-needs-api-embed", "ollama-python-0.4.6-needs-server-0.5.6",
        "ollama-python-0.5-needs-server-0.9"}) {
    EXPECT_TRUE(ids.count(id)) << id;
  }
  ASSERT_TRUE(m.vector_scale().has_value());
  EXPECT_EQ(m.vector_scale()->boundary.str(), "1.0.0");
  ASSERT_EQ(m.upgrade_paths().size(), 1u);
  EXPECT_TRUE(m.upgrade_paths()[0].require_from.contains(sv("0.5.23")));
  EXPECT_TRUE(m.upgrade_paths()[0].require_from.contains(sv("0.6.3")));
  EXPECT_FALSE(m.upgrade_paths()[0].require_from.contains(sv("0.5.20")));
  ASSERT_EQ(m.series_steps().size(), 1u);
  EXPECT_EQ(m.series_steps()[0].max_minor_series, 1);
}

TEST(CompatMatrix, MapsServerVersionsToTheDataFormatTheyWrite) {
  const CompatMatrix m = builtin();
  const std::pair<const char*, const char*> table[] = {
      {"0.4.24", "chroma-legacy"},  {"0.5.5", "chroma-legacy"}, {"0.5.7", "chroma-0.5"},
      {"0.5.23", "chroma-0.5"},     {"0.6.3", "chroma-0.5"},    {"1.0.0", "chroma-1.0"},
      {"1.0.0-rc.1", "chroma-1.0"}, {"1.0.21", "chroma-1.0"},   {"1.2.9", "chroma-1.0"},
      {"1.3.0", "chroma-1.3"},      {"1.4.1", "chroma-1.3"},    {"1.5.0", "chroma-1.5"},
      {"2.0.0", "chroma-1.5"}};
  for (const auto& [version, format] : table) {
    const DataFormat* f = m.format_for_server(sv(version));
    ASSERT_NE(f, nullptr) << version;
    EXPECT_EQ(f->name, format) << version;
  }
}

TEST(CompatMatrix, RanksFormatsOldestFirst) {
  const CompatMatrix m = builtin();
  EXPECT_LT(*m.format_rank("chroma-legacy"), *m.format_rank("chroma-0.5"));
  EXPECT_LT(*m.format_rank("chroma-0.5"), *m.format_rank("chroma-1.0"));
  EXPECT_LT(*m.format_rank("chroma-1.0"), *m.format_rank("chroma-1.3"));
  EXPECT_LT(*m.format_rank("chroma-1.3"), *m.format_rank("chroma-1.5"));
  EXPECT_FALSE(m.format_rank("chroma-newer-than-known").has_value());
  EXPECT_EQ(m.find_format("chroma-1.0")->name, "chroma-1.0");
  EXPECT_EQ(m.find_format("chroma-9"), nullptr);
}

TEST(CompatMatrix, IdentifiesAFormatFromTheMigrationsTable) {
  const CompatMatrix m = builtin();
  auto f = m.identify_format({{"embeddings_queue", 2}, {"metadb", 4}, {"sysdb", 9}});
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ((*f)->name, "chroma-0.5");
  f = m.identify_format({{"embeddings_queue", 2}, {"metadb", 5}, {"sysdb", 9}});
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ((*f)->name, "chroma-1.0");
  f = m.identify_format({{"embeddings_queue", 2}, {"metadb", 6}, {"sysdb", 10}});
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ((*f)->name, "chroma-1.5");
  f = m.identify_format({{"embeddings_queue", 2}, {"metadb", 7}, {"sysdb", 11}});
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, common::ErrorCode::kNotFound);
  EXPECT_NE(f.error().message.find("metadb=7"), std::string::npos) << f.error().message;
}

TEST(CompatMatrix, KnowsEmbeddingModelDimensionsWithOrWithoutTag) {
  const CompatMatrix m = builtin();
  EXPECT_EQ(m.find_model("mxbai-embed-large")->dimension, 1024);
  EXPECT_EQ(m.find_model("mxbai-embed-large:latest")->dimension, 1024);
  EXPECT_FALSE(m.find_model("mxbai-embed-large")->confirm_at_runtime);
  EXPECT_EQ(m.find_model("nomic-embed-text")->dimension, 768);
  EXPECT_TRUE(m.find_model("nomic-embed-text")->confirm_at_runtime);
  EXPECT_EQ(m.find_model("all-minilm:l6-v2")->dimension, 384);
  EXPECT_EQ(m.find_model("bge-m3"), nullptr);
}

TEST(CompatMatrix, KnownReleasesComeSortedForLoosePinResolution) {
  const CompatMatrix m = builtin();
  const auto releases = m.known_releases("chromadb");
  ASSERT_GE(releases.size(), 3u);
  for (std::size_t i = 1; i < releases.size(); ++i) EXPECT_LT(releases[i - 1], releases[i]);
  EXPECT_TRUE(m.known_releases("left-pad").empty());
}

TEST(CompatMatrix, ExtendingTheBuiltinReplacesAddsAndDisablesRulesById) {
  const CompatMatrix base = builtin();
  auto m = CompatMatrix::parse(R"(
extends: builtin
rules:
  - id: crewai-0.165-needs-chromadb-0.5.23
    reason: CrewaiNeedsChromadb
    severity: warning
    when: {client.crewai: ">=0.165.1,<0.201.0"}
    require: {client.chromadb: "==0.5.23"}
    message: site policy
    fix: pin it
  - id: site-requires-ollama-0.5
    reason: SitePolicy
    when: {server.ollama: "<0.5.0"}
    message: this site runs Ollama 0.5 or later
    fix: upgrade Ollama
disable: [ollama-one-minor-series-per-step]
)",
                               &base);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->rules().size(), base.rules().size() + 1);
  const auto it = std::find_if(m->rules().begin(), m->rules().end(), [](const Rule& r) {
    return r.id == "crewai-0.165-needs-chromadb-0.5.23";
  });
  ASSERT_NE(it, m->rules().end());
  EXPECT_EQ(it->severity, Severity::kWarning);
  EXPECT_EQ(it->message, "site policy");
  EXPECT_TRUE(m->series_steps().empty());
  EXPECT_EQ(m->formats().size(), base.formats().size());
  EXPECT_EQ(m->models().size(), base.models().size());
}

TEST(CompatMatrix, LoadWithAnEmptyOverrideIsTheBuiltin) {
  auto m = CompatMatrix::load("  \n");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rules().size(), builtin().rules().size());
  auto extended =
      CompatMatrix::load("extends: builtin\ndisable: [chroma-1x-only-from-latest-0x]\n");
  ASSERT_TRUE(extended.has_value()) << extended.error().message;
  EXPECT_TRUE(extended->upgrade_paths().empty());
}

TEST(CompatMatrix, AStandaloneDocumentReplacesEverything) {
  auto m = CompatMatrix::parse(R"(
chromaDataFormats:
  - {name: old, servers: "<1.0.0"}
  - {name: new, servers: ">=1.0.0", migrations: {metadb: 5}}
)");
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_TRUE(m->rules().empty());
  EXPECT_EQ(m->format_for_server(sv("0.5.23"))->name, "old");
  EXPECT_FALSE(m->vector_scale().has_value());
}

TEST(CompatMatrix, ReportsYamlSyntaxErrorsWithLineAndColumn) {
  const std::string e = parse_error("rules:\n  - id: [unclosed\n");
  EXPECT_NE(e.find("line"), std::string::npos) << e;
  EXPECT_NE(e.find("column"), std::string::npos) << e;
}

TEST(CompatMatrix, ReportsContentErrorsWithTheirPath) {
  const std::pair<std::string, std::string> table[] = {
      {"- just a list", "must be a map"},
      {"extends: elsewhere", "extends"},
      {"chromaDataFormats: []", "at least one format"},
      {"chromaDataFormats: [{name: x}]", "chromaDataFormats[0].servers: required"},
      {"chromaDataFormats: [{name: x, servers: '>=banana'}]", "chromaDataFormats[0].servers"},
      {"extends: builtin\nrules: [{id: a, reason: R, message: m, fix: f}]", "rules[0].when"},
      {"extends: builtin\nrules: [{id: a, reason: R, message: m, fix: f, when: {client.chromadb: "
       "'>=>1'}}]",
       "rules[0].when.client.chromadb"},
      {"extends: builtin\nrules: [{id: a, reason: R, message: m, fix: f, when: {server.redis: "
       "'>=1.0.0'}}]",
       "unknown subject 'server.redis'"},
      {"extends: builtin\nrules: [{id: a, reason: R, message: m, fix: f, when: {server.chroma: "
       "'>=1.0.0'},"
       " require: {client.chromadb: '==${server.redis}'}}]",
       "rules[0].require.client.chromadb"},
      {"extends: builtin\nrules: [{id: a, reason: R, message: m, fix: f, severity: fatal, when: "
       "{server.chroma: '*'}}]",
       "rules[0].severity: 'fatal'"},
      {"extends: builtin\nrules: [{id: a, reason: R, message: m, fix: f, when: {server.chroma: "
       "'*'}},"
       " {id: a, reason: R, message: m, fix: f, when: {server.chroma: '*'}}]",
       "duplicate id 'a'"},
      {"extends: builtin\ndisable: [no-such-rule]", "no rule with id 'no-such-rule'"},
      {"extends: builtin\nembeddingModels: [{name: x, dimension: -3}]",
       "embeddingModels[0].dimension"},
      {"extends: builtin\nembeddingModels: [{name: x, dimension: [1]}]",
       "embeddingModels[0].dimension"},
      {"extends: builtin\nupgradePaths: [{id: p, component: redis, reason: R, message: m, fix: f, "
       "from: '*', to: '*',"
       " requireFrom: '*'}]",
       "upgradePaths[0].component"},
      {"extends: builtin\nseriesSteps: [{id: s, component: ollama, reason: R, message: m, fix: f, "
       "maxMinorSeries: 0}]",
       "seriesSteps[0].maxMinorSeries"},
      {"extends: builtin\nknownReleases: {chromadb: [banana]}", "knownReleases.chromadb"},
      {"extends: builtin\nvectorScale: {id: v, reason: R, message: m, fix: f, boundary: 'x.y'}",
       "vectorScale.boundary"},
      {"extends: builtin\nchromaDataFormats: [{name: x, servers: '*', migrations: {metadb: [1]}}]",
       "line"},
  };
  for (const auto& [doc, expected] : table) {
    const std::string e = parse_error(doc);
    EXPECT_NE(e.find(expected), std::string::npos) << "document:\n" << doc << "\nerror: " << e;
  }
}

TEST(CompatMatrix, ExtendsNeedsABase) {
  auto m = CompatMatrix::parse("extends: builtin\n");
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().message.find("no base"), std::string::npos);
}

TEST(DataFormatMark, RoundTripsPlainAndMigratingValues) {
  auto plain = DataFormatMark::parse("chroma-0.5");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->format, "chroma-0.5");
  EXPECT_FALSE(plain->migrating_to.has_value());
  EXPECT_EQ(plain->to_annotation(), "chroma-0.5");
  auto migrating = DataFormatMark::parse("migrating:chroma-0.5:chroma-1.0");
  ASSERT_TRUE(migrating.has_value());
  EXPECT_EQ(migrating->format, "chroma-0.5");
  EXPECT_EQ(*migrating->migrating_to, "chroma-1.0");
  EXPECT_EQ(migrating->to_annotation(), "migrating:chroma-0.5:chroma-1.0");
  for (const char* bad :
       {"", "migrating:", "migrating:a", "migrating::b", "migrating:a:", "migrating:a:b:c"}) {
    EXPECT_FALSE(DataFormatMark::parse(bad).has_value()) << bad;
  }
}

TEST(Substitute, FillsSubjectsAndNamesTheMissingOne) {
  auto s = substitute("==${server.chroma}", {{"server.chroma", "0.5.23"}});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(*s, "==0.5.23");
  auto missing = substitute("==${server.chroma}", {});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("server.chroma"), std::string::npos);
  EXPECT_FALSE(substitute("==${server.chroma", {{"server.chroma", "1"}}).has_value());
}

}  // namespace
}  // namespace okami::gate
