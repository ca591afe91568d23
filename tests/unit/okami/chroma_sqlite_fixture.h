// Test support: Chroma persist dirs with the real table shapes (copied from databases written by
// chromadb 0.5.23 and 1.0.15 servers), so the unit tests exercise format detection, manifests,
// archives, verification and restore without a server. Also a scratch directory per test.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace okami::testing {

namespace fs = std::filesystem;

using Migrations = std::map<std::string, int>;
inline const Migrations kMigrations05 = {{"embeddings_queue", 2}, {"metadb", 4}, {"sysdb", 9}};
inline const Migrations kMigrations10 = {{"embeddings_queue", 2}, {"metadb", 5}, {"sysdb", 9}};
inline const Migrations kMigrations13 = {{"embeddings_queue", 2}, {"metadb", 5}, {"sysdb", 10}};
inline const Migrations kMigrations15 = {{"embeddings_queue", 2}, {"metadb", 6}, {"sysdb", 10}};
inline const Migrations kMigrations050 = {{"embeddings_queue", 1}, {"metadb", 3}, {"sysdb", 5}};

struct FakeCollection {
  std::string id;
  std::string name;
  int dimension;  // -1: none inserted yet
  int count;
};

struct FakeDb {
  Migrations migrations = kMigrations05;
  std::string seq_id = "blob";  // blob, integer or mixed (values in max_seq_id)
  bool acquire_write = false;
  std::vector<FakeCollection> collections = {{"c0ffee00-0000-0000-0000-000000000001", "memories", 1024, 40},
                                             {"c0ffee00-0000-0000-0000-000000000002", "knowledge", 384, 25}};
};

inline void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    ADD_FAILURE() << "sqlite: " << (err ? err : "?") << " in " << sql;
    sqlite3_free(err);
  }
}

// Writes chroma.sqlite3 into dir with the given migrations and markers.
inline void write_chroma_db(const fs::path& dir, const FakeDb& spec = {}) {
  fs::create_directories(dir);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "chroma.sqlite3").c_str(), &db), SQLITE_OK);
  exec(db, "PRAGMA synchronous=OFF; BEGIN;");
  exec(db,
       "CREATE TABLE migrations (dir TEXT NOT NULL, version INTEGER NOT NULL, filename TEXT NOT NULL,"
       " sql TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (dir, version));"
       "CREATE TABLE tenants (id TEXT PRIMARY KEY, UNIQUE (id));"
       "CREATE TABLE databases (id TEXT PRIMARY KEY, name TEXT NOT NULL, tenant_id TEXT NOT NULL"
       " REFERENCES tenants(id) ON DELETE CASCADE, UNIQUE (tenant_id, name));"
       "CREATE TABLE \"collections\" (id TEXT PRIMARY KEY, name TEXT NOT NULL, dimension INTEGER,"
       " database_id TEXT NOT NULL REFERENCES databases(id) ON DELETE CASCADE, config_json_str TEXT,"
       " UNIQUE (name, database_id));"
       "CREATE TABLE \"segments\" (id TEXT PRIMARY KEY, type TEXT NOT NULL, scope TEXT NOT NULL,"
       " collection TEXT REFERENCES collection(id) NOT NULL);"
       "CREATE TABLE embeddings (id INTEGER PRIMARY KEY, segment_id TEXT NOT NULL, embedding_id TEXT"
       " NOT NULL, seq_id BLOB NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
       " UNIQUE (segment_id, embedding_id));"
       "INSERT INTO tenants VALUES ('default_tenant');"
       "INSERT INTO databases VALUES ('00000000-0000-0000-0000-000000000000', 'default_database',"
       " 'default_tenant');");
  exec(db, spec.seq_id == "blob" ? "CREATE TABLE max_seq_id (segment_id TEXT PRIMARY KEY, seq_id BLOB NOT NULL);"
                                 : "CREATE TABLE max_seq_id (segment_id TEXT PRIMARY KEY, seq_id INTEGER);");
  for (const auto& [dir_name, top] : spec.migrations) {
    for (int v = 1; v <= top; ++v) {
      exec(db, "INSERT INTO migrations VALUES ('" + dir_name + "', " + std::to_string(v) + ", '" +
                   std::to_string(v) + ".sqlite.sql', 'SELECT 1', 'hash')");
    }
  }
  int n = 0;
  for (const auto& c : spec.collections) {
    const std::string dim = c.dimension < 0 ? "NULL" : std::to_string(c.dimension);
    exec(db, "INSERT INTO collections VALUES ('" + c.id + "', '" + c.name + "', " + dim +
                 ", '00000000-0000-0000-0000-000000000000', '{}')");
    const std::string meta = c.id + "-meta", vec = c.id + "-vec";
    exec(db, "INSERT INTO segments VALUES ('" + vec + "', 'urn:chroma:segment/vector/hnsw-local-persisted', 'VECTOR', '" +
                 c.id + "'), ('" + meta + "', 'urn:chroma:segment/metadata/sqlite', 'METADATA', '" + c.id + "')");
    for (int i = 0; i < c.count; ++i) {
      exec(db, "INSERT INTO embeddings (segment_id, embedding_id, seq_id) VALUES ('" + meta + "', 'e" +
                   std::to_string(i) + "', x'0001')");
    }
    const bool blob = spec.seq_id == "blob" || (spec.seq_id == "mixed" && n % 2 == 0);
    exec(db, "INSERT INTO max_seq_id VALUES ('" + meta + "', " + (blob ? "x'00000000000000" + std::to_string(10 + n) + "'" : "42") + ")");
    ++n;
  }
  if (spec.seq_id == "mixed" && spec.collections.size() < 2) {
    exec(db, "INSERT INTO max_seq_id VALUES ('extra-a', x'01'), ('extra-b', 7)");
  }
  if (spec.acquire_write) {
    exec(db, "CREATE TABLE acquire_write (id INTEGER PRIMARY KEY, lock_status INTEGER NOT NULL);"
             "INSERT INTO acquire_write VALUES (1, 1);");
  }
  exec(db, "COMMIT;");
  sqlite3_close(db);
}

// HNSW-like segment files with pseudo-random content.
inline void write_segment_files(const fs::path& dir, const std::string& segment, size_t bytes, unsigned seed) {
  fs::create_directories(dir / segment);
  std::mt19937 rng(seed);
  for (const char* name : {"header.bin", "data_level0.bin", "length.bin", "link_lists.bin"}) {
    const size_t size = std::string(name) == "data_level0.bin" ? bytes : 100;
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(rng() & 0xff);
    std::ofstream(dir / segment / name, std::ios::binary) << data;
  }
}

// A fresh directory under the build's temp dir, removed after the test.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("okami-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" + std::to_string(::getpid()) +
             "-" + std::to_string(counter()++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& p) const { return path_ / p; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  fs::path path_;
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_file(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace okami::testing
