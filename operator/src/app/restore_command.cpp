// `okami-operator restore`: extracts a backup into an empty volume, checking every file on the
// way; the body of the restore Job behind spec.restore.fromBackup. The backup is a local --archive
// or, with --object-store-endpoint and --backup-name, a backup in the store, streamed from there
// and checked against the size and SHA-256 its manifest.json records.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/job_report.h"
#include "app/object_store_options.h"
#include "app/subcommands.h"
#include "common/clock.h"
#include "okami/backup/restore.h"
#include "okami/backup/stored_backup.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand restore_command() {
  return {"restore a backup (an archive or one in the object store) into an empty data dir",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator restore");
            std::string archive, target, memory_target, sha256, stack_uid, format, report;
            ObjectStoreOptions store_options;
            desc.add_options()("help,h", "show this help")(
                "archive", po::value(&archive), "archive written by `backup`; or the object store")(
                "target", po::value(&target)->required(), "empty dir that receives the Chroma data")(
                "memory-target", po::value(&memory_target), "empty dir that receives client memories")(
                "expect-sha256", po::value(&sha256),
                "archive SHA-256 (default: <archive>.sha256; with the store: the signed one, which must be "
                "the one its manifest.json records)")(
                "expect-stack-uid", po::value(&stack_uid), "refuse an archive of any other stack")(
                "expect-format", po::value(&format), "refuse an archive of another data format")(
                "termination-log", po::value(&report), "file that receives a short report (a Job's /dev/termination-log)");
            store_options.add_to(desc);
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            if (archive.empty() == !store_options.enabled()) {
              std::cerr << "okami-operator restore: give exactly one of --archive and --object-store-endpoint\n";
              return 2;
            }
            backup::RestoreOptions options;
            options.archive = archive;
            options.target = target;
            if (!memory_target.empty()) options.memory_target = memory_target;
            if (!sha256.empty()) options.expect_archive_sha256 = sha256;
            if (!stack_uid.empty()) options.expect_stack_uid = stack_uid;
            if (!format.empty()) options.expect_format = format;
            auto summary = [&]() -> common::Result<backup::RestoreSummary> {
              if (!store_options.enabled()) return backup::restore_backup(options);
              common::SystemClock clock;
              auto store = store_options.open(clock);
              if (!store) return tl::unexpected(store.error());
              return backup::restore_stored_backup(**store, store_options.backup_name, options);
            }();
            if (!summary) {
              std::cerr << "okami-operator restore: " << summary.error().describe() << "\n";
              std::string why = summary.error().describe();
              if (why.size() > 1024) why.resize(1024);
              (void)write_report(report, nlohmann::json{{"message", why}}.dump());
              return 1;
            }
            (void)write_report(report, nlohmann::json{{"files", summary->files},
                                                      {"archiveSha256", summary->archive_sha256},
                                                      {"dataFormat", summary->manifest.data_format.name}}
                                           .dump());
            std::cout << nlohmann::json{{"files", summary->files},
                                        {"bytes", summary->bytes},
                                        {"skippedMemoryFiles", summary->skipped_memory_files},
                                        {"archiveSha256", summary->archive_sha256},
                                        {"dataFormat", summary->manifest.data_format.name},
                                        {"stackUid", summary->manifest.stack.uid}}
                             .dump()
                      << "\n";
            return 0;
          }};
}

}  // namespace okami::app
