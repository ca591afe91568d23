// `okami-operator list-backups`: the complete backups in an object store, one JSON object a line,
// in name order. In disaster recovery (the cluster and its OkamiBackups gone, the bucket left) this
// is how an admin finds the backup to restore: each line has what manifest.json records of it.
// Only backups with a manifest.json count (stored_backup.h); an upload that never finished is not
// listed.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/object_store_options.h"
#include "app/subcommands.h"
#include "common/clock.h"
#include "okami/backup/stored_backup.h"

namespace okami::app {

namespace po = boost::program_options;

namespace {

nlohmann::json line_of(const backup::StoredBackupRecord& record) {
  const auto& m = record.manifest;
  return {{"name", record.name},
          {"takenAt", m.taken_at},
          {"stack", {{"namespace", m.stack.namespace_}, {"name", m.stack.name}, {"uid", m.stack.uid}}},
          {"chromaVersion", m.chroma_version},
          {"dataFormat", m.data_format.name},
          {"archiveSize", record.archive_size},
          {"archiveSha256", record.archive_sha256}};
}

}  // namespace

Subcommand list_backups_command() {
  return {"list the backups in an object store (disaster recovery: find the backup to restore)",
          [](const std::vector<std::string>& args) {
            po::options_description desc(
                "okami-operator list-backups: prints each complete backup in the object store as one JSON\n"
                "line (name, takenAt, stack, chromaVersion, dataFormat, archiveSize, archiveSha256). In\n"
                "disaster recovery, find the backup to restore here, then run `okami-operator restore\n"
                "--backup-name <name> --expect-sha256 <archiveSha256> --target <empty dir>` with the same\n"
                "--object-store-* options.\n"
                "Exit 0 when every backup was read, 1 when any manifest.json could not be, 2 on bad usage");
            ObjectStoreOptions store_options;
            desc.add_options()("help,h", "show this help");
            store_options.add_to(desc, false);
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            if (!store_options.enabled()) {
              std::cerr << "okami-operator list-backups: --object-store-endpoint is required\n";
              return 2;
            }
            common::SystemClock clock;
            auto store = store_options.open_store(clock);
            if (!store) {
              std::cerr << "okami-operator list-backups: " << store.error().describe() << "\n";
              return store.error().code == common::ErrorCode::kInvalidArgument ? 2 : 1;
            }
            auto names = backup::list_stored_backups(**store);
            if (!names) {
              std::cerr << "okami-operator list-backups: " << names.error().describe() << "\n";
              return 1;
            }
            int code = 0;
            for (const auto& name : *names) {
              auto record = backup::read_stored_record(**store, name);
              if (!record) {
                // Removed since the listing: no longer a backup. Anything else is worth a look.
                if (record.error().code == common::ErrorCode::kNotFound) continue;
                std::cerr << "okami-operator list-backups: " << name << ": " << record.error().describe() << "\n";
                code = 1;
                continue;
              }
              std::cout << line_of(*record).dump(-1, ' ', true) << "\n";
            }
            return code;
          }};
}

}  // namespace okami::app
