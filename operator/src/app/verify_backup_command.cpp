// `okami-operator verify-backup`: re-reads an archive, checks it end to end and prints the signed
// VerificationResult (exit 0), or a rejection with its reason (exit 1). Usage errors exit 2.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/status_report.h"
#include "app/subcommands.h"
#include "common/clock.h"
#include "okami/api/resource_types.h"
#include "okami/backup/verify.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand verify_backup_command() {
  return {"verify a backup archive and print its signed verification result",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator verify-backup");
            std::string archive, key_file, stack_uid, format, sha256, temp_dir, report;
            desc.add_options()("help,h", "show this help")(
                "archive", po::value(&archive)->required(), "archive written by `backup`")(
                "key-file", po::value(&key_file)->required(), "HMAC-SHA256 signing key (from a Secret)")(
                "expect-stack-uid", po::value(&stack_uid), "reject a backup of any other stack")(
                "expect-format", po::value(&format), "reject a backup taken from another data format")(
                "expect-sha256", po::value(&sha256), "archive SHA-256 (default: <archive>.sha256)")(
                "temp-dir", po::value(&temp_dir), "where the archived database is checked (default: TMPDIR)")(
                "report-backup", po::value(&report),
                "NAMESPACE/NAME of the OkamiBackup whose status receives the signed result");
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            auto key = backup::load_key(key_file);
            if (!key) {
              std::cerr << "okami-operator verify-backup: " << key.error().describe() << "\n";
              return 2;
            }
            common::SystemClock clock;
            backup::VerifyOptions options;
            options.archive = archive;
            if (!sha256.empty()) options.expect_archive_sha256 = sha256;
            if (!stack_uid.empty()) options.expect_stack_uid = stack_uid;
            if (!format.empty()) options.expect_format = format;
            options.checked_at = common::format_rfc3339(clock.wall_now());
            options.temp_dir = temp_dir;
            auto verified = backup::verify_backup(options);
            if (!verified) {
              std::cout << nlohmann::json{{"verified", false}, {"reason", verified.error().describe()}}.dump() << "\n";
              std::cerr << "okami-operator verify-backup: REJECTED: " << verified.error().describe() << "\n";
              if (!report.empty()) {
                (void)report_status(kOkamiBackupType, report,
                                    {{"message", "verification rejected the archive: " + verified.error().describe()}});
              }
              return 1;
            }
            if (auto st = backup::sign(verified->result, *key); !st) {
              std::cerr << "okami-operator verify-backup: " << st.error().describe() << "\n";
              return 2;
            }
            std::cout << backup::to_json(verified->result) << "\n";
            if (!report.empty()) {
              const auto& r = verified->result;
              nlohmann::json status = {
                  {"verification",
                   {{"checkedAt", r.checked_at},
                    {"checksum", r.archive_sha256},
                    {"sqliteIntegrity", r.sqlite_integrity == "ok" || r.sqlite_integrity == "absent"},
                    {"collectionsMatch", r.collections_match},
                    {"signature", r.signature},
                    {"signedResult", backup::to_json(r)}}},
                  {"message", "the archive verified: checksums, SQLite integrity and collections"}};
              if (auto s = report_status(kOkamiBackupType, report, status); !s) {
                std::cerr << "okami-operator verify-backup: " << s.error().describe() << "\n";
                return 1;
              }
            }
            return 0;
          }};
}

}  // namespace okami::app
