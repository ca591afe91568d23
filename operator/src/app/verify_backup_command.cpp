// `okami-operator verify-backup`: re-reads an archive, checks it end to end and prints the signed
// VerificationResult (exit 0), or a rejection with its reason (exit 1). Usage errors exit 2.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/subcommands.h"
#include "common/clock.h"
#include "okami/backup_verify.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand verify_backup_command() {
  return {"verify a backup archive and print its signed verification result",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator verify-backup");
            std::string archive, key_file, stack_uid, format, sha256, temp_dir;
            desc.add_options()("help,h", "show this help")(
                "archive", po::value(&archive)->required(), "archive written by `backup`")(
                "key-file", po::value(&key_file)->required(), "HMAC-SHA256 signing key (from a Secret)")(
                "expect-stack-uid", po::value(&stack_uid), "reject a backup of any other stack")(
                "expect-format", po::value(&format), "reject a backup taken from another data format")(
                "expect-sha256", po::value(&sha256), "archive SHA-256 (default: <archive>.sha256)")(
                "temp-dir", po::value(&temp_dir), "where the archived database is checked (default: TMPDIR)");
            po::variables_map vm;
            po::store(po::command_line_parser(args).options(desc).run(), vm);
            if (vm.count("help")) {
              std::cout << desc << "\n";
              return 0;
            }
            po::notify(vm);
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
              return 1;
            }
            if (auto st = backup::sign(verified->result, *key); !st) {
              std::cerr << "okami-operator verify-backup: " << st.error().describe() << "\n";
              return 2;
            }
            std::cout << backup::to_json(verified->result) << "\n";
            return 0;
          }};
}

}  // namespace okami::app
