// `okami-operator verify-backup`: re-reads an archive, checks it end to end and prints the
// VerificationResult (exit 0), or a rejection with its reason (exit 1). Usage errors exit 2. In a
// Job it holds no key: the result goes unsigned into its termination message and the operator
// signs it; with --key-file (a person checking an archive by hand) it is signed here. With
// --object-store-endpoint and --backup-name it reads the backup back from the store, streamed,
// checked against the size and SHA-256 its manifest.json records (and --expect-sha256, the checksum
// the operator signed, must be that one); its report then also carries the backup's "source" (as
// `backup` reports it), read from the verified manifest.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/job_report.h"
#include "app/subcommands.h"
#include "common/clock.h"
#include "app/object_store_options.h"
#include "okami/backup/stored_backup.h"
#include "okami/backup/verify.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand verify_backup_command() {
  return {"verify a backup archive and print its signed verification result",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator verify-backup");
            std::string archive, key_file, stack_uid, format, sha256, temp_dir, report;
            ObjectStoreOptions store_options;
            desc.add_options()("help,h", "show this help")(
                "archive", po::value(&archive), "archive written by `backup`; or the object store")(
                "key-file", po::value(&key_file), "HMAC-SHA256 signing key: sign the printed result")(
                "expect-stack-uid", po::value(&stack_uid), "reject a backup of any other stack")(
                "expect-format", po::value(&format), "reject a backup taken from another data format")(
                "expect-sha256", po::value(&sha256),
                "archive SHA-256 (default: <archive>.sha256; with the store: the signed one, which must be "
                "the one its manifest.json records)")(
                "temp-dir", po::value(&temp_dir), "where the archived database is checked (default: TMPDIR)")(
                "termination-log", po::value(&report),
                "file that receives the unsigned result for the operator (a Job's /dev/termination-log)");
            store_options.add_to(desc);
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            if (archive.empty() == !store_options.enabled()) {
              std::cerr << "okami-operator verify-backup: give exactly one of --archive and --object-store-endpoint\n";
              return 2;
            }
            std::string key;
            if (!key_file.empty()) {
              auto loaded = backup::load_key(key_file);
              if (!loaded) {
                std::cerr << "okami-operator verify-backup: " << loaded.error().describe() << "\n";
                return 2;
              }
              key = *loaded;
            }
            common::SystemClock clock;
            backup::VerifyOptions options;
            options.archive = archive;
            if (!sha256.empty()) options.expect_archive_sha256 = sha256;
            if (!stack_uid.empty()) options.expect_stack_uid = stack_uid;
            if (!format.empty()) options.expect_format = format;
            options.checked_at = common::format_rfc3339(clock.wall_now());
            options.temp_dir = temp_dir;
            auto verified = [&]() -> common::Result<backup::VerifiedBackup> {
              if (!store_options.enabled()) return backup::verify_backup(options);
              auto store = store_options.open(clock);
              if (!store) return tl::unexpected(store.error());
              return backup::verify_stored_backup(**store, store_options.backup_name, options);
            }();
            if (!verified) {
              std::string why = verified.error().describe();
              if (why.size() > 1024) why.resize(1024);
              const std::string rejected = nlohmann::json{{"verified", false}, {"reason", why}}.dump();
              std::cout << rejected << "\n";
              std::cerr << "okami-operator verify-backup: REJECTED: " << verified.error().describe() << "\n";
              (void)write_report(report, rejected);
              return 1;
            }
            // With the store the result also says where the backup came from, read from the manifest
            // just verified, in the shape `backup` reports it.
            auto with_source = [&](const backup::VerificationResult& result) {
              if (!store_options.enabled()) return backup::to_json(result);
              nlohmann::json j = nlohmann::json::parse(backup::to_json(result));
              j["source"] = source_report(verified->manifest);
              fit_source(j);
              return j.dump(-1, ' ', true);
            };
            if (auto s = write_report(report, with_source(verified->result)); !s) {
              std::cerr << "okami-operator verify-backup: " << s.error().describe() << "\n";
              return 1;
            }
            if (!key.empty()) {
              if (auto st = backup::sign(verified->result, key); !st) {
                std::cerr << "okami-operator verify-backup: " << st.error().describe() << "\n";
                return 2;
              }
            }
            std::cout << with_source(verified->result) << "\n";
            return 0;
          }};
}

}  // namespace okami::app
