// `okami-operator remove-archive`: the body of the archive removal Job that retention runs for a
// scheduled OkamiBackup it deletes. Removes the archive and its companions from the backups volume
// (okami/backup/removal.h) or, with --object-store-endpoint and --backup-name, the backup's objects
// from the store (manifest.json first, stored_backup.h), and reports what it removed in the
// termination message. Removing what is already gone succeeds: a retried Job does.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/job_report.h"
#include "app/object_store_options.h"
#include "app/subcommands.h"
#include "common/clock.h"
#include "okami/backup/removal.h"
#include "okami/backup/stored_backup.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand remove_archive_command() {
  return {"remove a backup: an archive with its checksum and partial files, or a backup in the object store",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator remove-archive");
            std::string root, archive, report;
            ObjectStoreOptions store_options;
            desc.add_options()("help,h", "show this help")(
                "backups", po::value(&root), "the backups volume's mount path (not with the object store)")(
                "archive", po::value(&archive), "the archive, directly in --backups (not with the object store)")(
                "termination-log", po::value(&report), "file that receives a short report (a Job's /dev/termination-log)");
            store_options.add_to(desc);
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            if (store_options.enabled() ? (!root.empty() || !archive.empty()) : (root.empty() || archive.empty())) {
              std::cerr << "okami-operator remove-archive: give either --backups and --archive, or "
                           "--object-store-endpoint and --backup-name\n";
              return 2;
            }
            common::SystemClock clock;
            std::string removed_what = archive;  // what the report names
            auto removed = [&]() -> common::Result<backup::RemovalSummary> {
              if (!store_options.enabled()) return backup::remove_archive(root, archive);
              auto store = store_options.open(clock);
              if (!store) return tl::unexpected(store.error());
              removed_what = backup::display_url((*store)->config(), store_options.backup_name + "/");
              return backup::remove_stored_backup(**store, store_options.backup_name);
            }();
            if (!removed) {
              std::string why = removed.error().describe();
              std::cerr << "okami-operator remove-archive: " << why << "\n";
              if (why.size() > 1024) why.resize(1024);
              (void)write_report(report, nlohmann::json{{"message", why}}.dump());
              return removed.error().code == common::ErrorCode::kInvalidArgument ? 2 : 1;
            }
            (void)write_report(report, nlohmann::json{{"archive", removed_what},
                                                      {"removed", removed->removed},
                                                      {"bytes", removed->bytes}}.dump());
            std::cout << "removed " << removed->removed.size()
                      << (store_options.enabled() ? " object(s), " : " file(s), ") << removed->bytes << " bytes\n";
            return 0;
          }};
}

}  // namespace okami::app
