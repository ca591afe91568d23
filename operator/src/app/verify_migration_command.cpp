// `okami-operator verify-migration`: the body of the post-migration verify Job. Re-verifies the
// backup archive the migration started from, then checks the running Chroma against its manifest
// (heartbeat, every collection with the same id and count, a vector round trip) and prints the
// result (exit 0 when verified, 1 when not, 2 on bad usage). In a Job it holds no key: the result
// goes unsigned into its termination message and the operator signs it; --key-file signs here.
// The backup is a local --archive or, with --object-store-endpoint and --backup-name, a backup in
// the store, re-verified by reading it back from there.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/job_report.h"
#include "app/subcommands.h"
#include "app/object_store_options.h"
#include "common/clock.h"
#include "okami/backup/stored_backup.h"
#include "okami/backup/verify.h"
#include "okami/chroma/migration_verify.h"

namespace okami::app {

namespace po = boost::program_options;

namespace {

// Runs every check; the returned result is complete but unsigned. `verify` re-verifies the backup
// (from its archive or from the store).
template <typename VerifyBackup>
migration::MigrationResult check(const std::string& chroma_url, const std::string& token,
                                 const std::string& stack_uid, const std::string& chroma_version,
                                 const std::string& checked_at, VerifyBackup&& verify) {
  migration::MigrationResult r;
  r.checked_at = checked_at;
  r.chroma_version = chroma_version;
  r.stack_uid = stack_uid;
  common::Result<backup::VerifiedBackup> verified = verify();
  if (!verified) {
    r.message = "the backup archive does not verify: " + verified.error().describe();
    return r;
  }
  r.manifest_digest = backup::manifest_digest(verified->manifest);
  auto api = migration::ChromaApi::connect(chroma_url, token);
  if (!api) {
    r.message = api.error().describe();
    return r;
  }
  if (auto hb = api->heartbeat(); !hb) {
    r.message = hb.error().describe();
    return r;
  }
  auto served = api->collections();
  if (!served) {
    r.message = "listing collections: " + served.error().describe();
    return r;
  }
  const std::string diff = migration::compare_collections(verified->manifest.collections, *served);
  r.collections_match = diff.empty();
  int dimension = 0;
  for (const auto& c : verified->manifest.collections) {
    if (c.dimension > 0) dimension = static_cast<int>(c.dimension);
  }
  auto rt = api->round_trip(dimension, "okami-verify-" + r.stack_uid.substr(0, 8));
  r.round_trip = static_cast<bool>(rt);
  r.verified = r.collections_match && r.round_trip;
  if (!diff.empty()) {
    r.message = diff;
  } else if (!rt) {
    r.message = "vector round trip: " + rt.error().describe();
  } else {
    r.message = std::to_string(verified->manifest.collections.size()) +
                " collection(s) match the backup and a vector round trip works";
  }
  return r;
}

}  // namespace

Subcommand verify_migration_command() {
  return {"check a migrated Chroma against its backup's manifest and print the signed result",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator verify-migration");
            std::string url, token_file, archive, key_file, stack_uid, version, report, temp_dir, sha256;
            ObjectStoreOptions store_options;
            desc.add_options()("help,h", "show this help")(
                "chroma-url", po::value(&url)->required(), "the migrated Chroma, e.g. http://okami-chroma.ns.svc:8000")(
                "token-file", po::value(&token_file), "Chroma auth token (0.x servers with token auth)")(
                "archive", po::value(&archive), "the backup archive taken before the migration; or the object store")(
                "key-file", po::value(&key_file), "HMAC-SHA256 signing key: sign the printed result")(
                "expect-sha256", po::value(&sha256),
                "archive SHA-256 (default: <archive>.sha256; with the store: the signed one, which must be "
                "the one its manifest.json records)")(
                "expect-stack-uid", po::value(&stack_uid)->required(), "the stack the backup must belong to")(
                "chroma-version", po::value(&version)->required(), "the Chroma version being verified")(
                "temp-dir", po::value(&temp_dir), "where the archived database is checked (default: TMPDIR)")(
                "termination-log", po::value(&report),
                "file that receives the unsigned result for the operator (a Job's /dev/termination-log)");
            store_options.add_to(desc);
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            if (archive.empty() == !store_options.enabled()) {
              std::cerr << "okami-operator verify-migration: give exactly one of --archive and "
                           "--object-store-endpoint\n";
              return 2;
            }
            std::string key;
            if (!key_file.empty()) {
              auto loaded = backup::load_key(key_file);
              if (!loaded) {
                std::cerr << "okami-operator verify-migration: " << loaded.error().describe() << "\n";
                return 2;
              }
              key = *loaded;
            }
            std::string token;
            if (!token_file.empty()) {
              auto t = backup::load_key(token_file);
              if (!t) {
                std::cerr << "okami-operator verify-migration: " << t.error().describe() << "\n";
                return 2;
              }
              token = *t;
            }
            common::SystemClock clock;
            backup::VerifyOptions options;
            options.archive = archive;
            options.expect_stack_uid = stack_uid;
            if (!sha256.empty()) options.expect_archive_sha256 = sha256;
            options.checked_at = common::format_rfc3339(clock.wall_now());
            options.temp_dir = temp_dir;
            auto verify = [&]() -> common::Result<backup::VerifiedBackup> {
              if (!store_options.enabled()) return backup::verify_backup(options);
              auto store = store_options.open(clock);
              if (!store) return tl::unexpected(store.error());
              return backup::verify_stored_backup(**store, store_options.backup_name, options);
            };
            migration::MigrationResult result = check(url, token, stack_uid, version, options.checked_at, verify);
            if (result.message.size() > 1024) result.message.resize(1024);
            if (auto s = write_report(report, migration::to_json(result)); !s) {
              std::cerr << "okami-operator verify-migration: " << s.error().describe() << "\n";
              return 1;
            }
            if (!key.empty()) {
              if (auto s = migration::sign(result, key); !s) {
                std::cerr << "okami-operator verify-migration: " << s.error().describe() << "\n";
                return 2;
              }
            }
            std::cout << migration::to_json(result) << "\n";
            if (!result.verified) std::cerr << "okami-operator verify-migration: FAILED: " << result.message << "\n";
            return result.verified ? 0 : 1;
          }};
}

}  // namespace okami::app
