#include "okami/chroma/memory_reset.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace okami::memory {
namespace {

namespace fs = std::filesystem;

class MemoryReset : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("okami-memory-reset-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "short_term_memory");
    std::ofstream(dir_ / "short_term_memory" / "chroma.sqlite3") << "vectors";
    std::ofstream(dir_ / "long_term_memory_storage.db") << "rows";
    fs::create_directories(dir_ / "lost+found");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(MemoryReset, MovesEveryStoreAsideAndDeletesNothing) {
  auto moved = move_memories_aside(dir_, "new-embeddings");
  ASSERT_TRUE(moved) << moved.error().describe();
  EXPECT_EQ(*moved, 2);
  const fs::path aside = dir_ / ".okami-reset-new-embeddings";
  EXPECT_TRUE(fs::exists(aside / "short_term_memory" / "chroma.sqlite3"));
  EXPECT_TRUE(fs::exists(aside / "long_term_memory_storage.db"));
  EXPECT_FALSE(fs::exists(dir_ / "short_term_memory"));
  EXPECT_TRUE(fs::exists(dir_ / "lost+found"));
  // A rerun (the Job retried) moves nothing more and keeps what was moved.
  auto again = move_memories_aside(dir_, "new-embeddings");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
  EXPECT_TRUE(fs::exists(aside / "long_term_memory_storage.db"));
  // A later reset leaves earlier ones alone.
  std::ofstream(dir_ / "entity_memory.db") << "x";
  ASSERT_TRUE(move_memories_aside(dir_, "second"));
  EXPECT_TRUE(fs::exists(dir_ / ".okami-reset-second" / "entity_memory.db"));
  EXPECT_TRUE(fs::exists(aside / "long_term_memory_storage.db"));
}

TEST_F(MemoryReset, RefusesTokensThatCouldEscapeTheVolume) {
  for (const std::string& bad : std::vector<std::string>{"", "..", "../x", "a/b", std::string(64, 'a'), "sp ace"}) {
    auto r = move_memories_aside(dir_, bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, common::ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_TRUE(fs::exists(dir_ / "long_term_memory_storage.db"));
  EXPECT_FALSE(move_memories_aside(dir_ / "missing", "t"));
}

}  // namespace
}  // namespace okami::memory
