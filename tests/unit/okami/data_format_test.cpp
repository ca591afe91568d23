#include "okami/chroma/data_format.h"

#include <gtest/gtest.h>

#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::chroma {
namespace {

using okami::testing::FakeDb;
using okami::testing::ScratchDir;
using okami::testing::write_chroma_db;

ChromaVersion v(const std::string& s) { return *parse_chroma_version(s); }

TEST(DataFormat, ReadsChroma05FromA0523Database) {
  ScratchDir dir;
  write_chroma_db(dir.path());
  auto format = detect_data_format(dir.path());
  ASSERT_TRUE(format) << format.error().describe();
  EXPECT_EQ(format->presence, DataPresence::kPresent);
  EXPECT_EQ(format->name, "chroma-0.5");
  EXPECT_EQ(format->migrations, okami::testing::kMigrations05);
  EXPECT_EQ(format->seq_id_type, "blob");
  EXPECT_FALSE(format->opened_by_1x);
}

TEST(DataFormat, ReadsChroma10AfterA1xServerMigratedIt) {
  ScratchDir dir;
  write_chroma_db(dir.path(), {okami::testing::kMigrations10, "integer", true});
  auto format = detect_data_format(dir.path());
  ASSERT_TRUE(format);
  EXPECT_EQ(format->name, "chroma-1.0");
  EXPECT_EQ(format->seq_id_type, "integer");
  EXPECT_TRUE(format->opened_by_1x);
  EXPECT_GT(format->rank, format_written_by(v("0.5.23")).rank);
}

TEST(DataFormat, NamesLaterAndOlderMigrationSets) {
  const std::vector<std::pair<okami::testing::Migrations, std::string>> cases = {
      {okami::testing::kMigrations13, "chroma-1.3"},
      {okami::testing::kMigrations15, "chroma-1.5"},
      {okami::testing::kMigrations050, kLegacyFormat},
      {{{"embeddings_queue", 2}, {"metadb", 7}, {"sysdb", 10}}, kNewerFormat},
      {{{"embeddings_queue", 2}, {"metadb", 4}, {"sysdb", 9}, {"newdir", 1}}, kNewerFormat},
  };
  for (const auto& [migrations, name] : cases) {
    ScratchDir dir;
    write_chroma_db(dir.path(), {migrations, "integer", true, {}});
    auto format = detect_data_format(dir.path());
    ASSERT_TRUE(format);
    EXPECT_EQ(format->name, name);
  }
}

TEST(DataFormat, ReportsMissingAndEmptyDirs) {
  ScratchDir dir;
  auto missing = detect_data_format(dir / "nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->presence, DataPresence::kMissing);
  std::filesystem::create_directories(dir / "fresh" / "lost+found");
  auto empty = detect_data_format(dir / "fresh");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->presence, DataPresence::kEmpty);
  okami::testing::write_file(dir / "zero" / "chroma.sqlite3", "");
  auto zero = detect_data_format(dir / "zero");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->presence, DataPresence::kEmpty);
}

TEST(DataFormat, RefusesSegmentFilesWithoutADatabase) {
  ScratchDir dir;
  okami::testing::write_segment_files(dir.path(), "seg", 10, 1);
  auto format = detect_data_format(dir.path());
  ASSERT_FALSE(format);
  EXPECT_EQ(format.error().code, common::ErrorCode::kIntegrity);
}

TEST(DataFormat, RejectsAFileThatIsNotSqlite) {
  ScratchDir dir;
  okami::testing::write_file(dir / "chroma.sqlite3", std::string(4096, 'x'));
  EXPECT_FALSE(detect_data_format(dir.path()));
}

TEST(DataFormat, ReadingNeverWritesNextToTheDatabase) {
  ScratchDir dir;
  write_chroma_db(dir.path());
  ASSERT_TRUE(detect_data_format(dir.path()));
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"chroma.sqlite3"});
}

TEST(DataFormat, FlagsMixedSeqIdTypesFromAnOldServerWritingMigratedData) {
  ScratchDir dir;
  write_chroma_db(dir.path(), {okami::testing::kMigrations10, "mixed", true});
  auto format = detect_data_format(dir.path());
  ASSERT_TRUE(format);
  EXPECT_EQ(format->seq_id_type, "mixed");
  EXPECT_FALSE(decide_guard(*format, v("1.0.15"), {"chroma-1.0", std::nullopt}).allowed);
}

TEST(ChromaVersionParse, AcceptsTagsAndRejectsGarbage) {
  EXPECT_EQ(v("v1.0.15"), (ChromaVersion{1, 0, 15}));
  EXPECT_EQ(v("0.5.23-rc1"), (ChromaVersion{0, 5, 23}));
  EXPECT_FALSE(parse_chroma_version("latest"));
  EXPECT_FALSE(parse_chroma_version("1.0"));
  EXPECT_FALSE(parse_chroma_version("1.0.15x"));
}

TEST(FormatWrittenBy, MapsReleasesToTheSetsTheirWheelsShip) {
  EXPECT_EQ(format_written_by(v("0.5.5")).name, kLegacyFormat);
  EXPECT_EQ(format_written_by(v("0.5.7")).name, "chroma-0.5");
  EXPECT_EQ(format_written_by(v("0.5.23")).name, "chroma-0.5");
  EXPECT_EQ(format_written_by(v("0.6.3")).name, "chroma-0.5");
  EXPECT_EQ(format_written_by(v("1.0.0")).name, "chroma-1.0");
  EXPECT_EQ(format_written_by(v("1.0.21")).name, "chroma-1.0");
  EXPECT_EQ(format_written_by(v("1.3.0")).name, "chroma-1.3");
  EXPECT_EQ(format_written_by(v("1.5.9")).name, "chroma-1.5");
}

DataFormat present(const okami::testing::Migrations& m) {
  ScratchDir dir;
  write_chroma_db(dir.path(), {m, "integer", true, {}});
  return *detect_data_format(dir.path());
}

const GuardPolicy kMigrating05To10{"migrating:chroma-0.5:chroma-1.0", "chroma-1.0"};

TEST(Guard, Refuses0523OnDataA1xServerMigrated) {
  auto decision = decide_guard(present(okami::testing::kMigrations10), v("0.5.23"), {"chroma-1.0", {}});
  EXPECT_FALSE(decision.allowed);
  EXPECT_NE(decision.reason.find("older than the data"), std::string::npos) << decision.reason;
  // Whatever the operator says: an older server never opens newer data.
  EXPECT_FALSE(decide_guard(present(okami::testing::kMigrations10), v("0.5.23"), kMigrating05To10).allowed);
}

TEST(Guard, AllowsTheSameServerAndAMigrationTheOperatorMarked) {
  EXPECT_TRUE(decide_guard(present(okami::testing::kMigrations05), v("0.5.23"), {"chroma-0.5", {}}).allowed);
  EXPECT_TRUE(decide_guard(present(okami::testing::kMigrations10), v("1.0.15"), {"chroma-1.0", {}}).allowed);
  EXPECT_TRUE(decide_guard(present(okami::testing::kMigrations05), v("1.0.15"), kMigrating05To10).allowed);
  // A restart after the server migrated, before the operator marked the new format.
  EXPECT_TRUE(decide_guard(present(okami::testing::kMigrations10), v("1.0.15"), kMigrating05To10).allowed);
}

// The hole of review #3: with no flag the guard let Chroma 1.x migrate 0.x data.
TEST(Guard, RefusesAServerThatWouldMigrateWhenNothingAllowedIt) {
  auto decision = decide_guard(present(okami::testing::kMigrations05), v("1.0.15"), {});
  EXPECT_FALSE(decision.allowed);
  EXPECT_NE(decision.reason.find("irreversibly"), std::string::npos) << decision.reason;
  // Marked as what it is, but no target allowed.
  EXPECT_FALSE(decide_guard(present(okami::testing::kMigrations05), v("1.0.15"), {"chroma-0.5", {}}).allowed);
}

TEST(Guard, AllowsAMigrationOnlyToTheMarkedAndAllowedTarget) {
  const auto data05 = present(okami::testing::kMigrations05);
  // Allowed, but the volume is not marked migrating.
  EXPECT_FALSE(decide_guard(data05, v("1.0.15"), {"chroma-0.5", "chroma-1.0"}).allowed);
  // Marked migrating to 1.0, but 1.3.0 writes chroma-1.3.
  EXPECT_FALSE(decide_guard(data05, v("1.3.0"), {"migrating:chroma-0.5:chroma-1.0", "chroma-1.0"}).allowed);
  EXPECT_FALSE(decide_guard(data05, v("1.3.0"), {"migrating:chroma-0.5:chroma-1.0", "chroma-1.3"}).allowed);
  // Marked migrating, but the operator allowed another target.
  EXPECT_FALSE(decide_guard(data05, v("1.0.15"), {"migrating:chroma-0.5:chroma-1.0", "chroma-1.3"}).allowed);
  EXPECT_TRUE(decide_guard(data05, v("1.3.0"), {"migrating:chroma-0.5:chroma-1.3", "chroma-1.3"}).allowed);
}

TEST(Guard, RefusesDataThatIsNotTheFormatTheVolumeIsMarkedWith) {
  // The operator believes the volume holds 1.0 data (marked fresh at creation), the disk holds 0.5.
  auto decision = decide_guard(present(okami::testing::kMigrations05), v("1.0.15"), {"chroma-1.0", {}});
  EXPECT_FALSE(decision.allowed);
  EXPECT_NE(decision.reason.find("marked chroma-1.0"), std::string::npos) << decision.reason;
  // Even a server that would not migrate refuses: the volume is not the one decided on.
  EXPECT_FALSE(decide_guard(present(okami::testing::kMigrations05), v("0.5.23"), {"chroma-1.0", {}}).allowed);
  EXPECT_FALSE(decide_guard(present(okami::testing::kMigrations05), v("0.5.23"), {"not:a:mark:x", {}}).allowed);
}

TEST(Guard, Refuses1xOnDataFromANewerMinorFormat) {
  EXPECT_FALSE(decide_guard(present(okami::testing::kMigrations13), v("1.0.15"), {}).allowed);
  EXPECT_FALSE(decide_guard(present({{"embeddings_queue", 2}, {"metadb", 9}, {"sysdb", 12}}), v("1.5.9"), {}).allowed);
}

TEST(Guard, AllowsAnyServerOnEmptyOrMissingData) {
  DataFormat missing;
  DataFormat empty;
  empty.presence = DataPresence::kEmpty;
  EXPECT_TRUE(decide_guard(missing, v("0.5.23"), {}).allowed);
  EXPECT_TRUE(decide_guard(empty, v("1.0.15"), {"chroma-1.0", {}}).allowed);
}

}  // namespace
}  // namespace okami::chroma
