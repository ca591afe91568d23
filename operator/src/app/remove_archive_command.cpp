// `okami-operator remove-archive`: the body of the archive removal Job that retention runs for a
// scheduled OkamiBackup it deletes. Removes the archive and its companions from the backups volume
// (okami/backup/removal.h) and reports what it removed in the termination message.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/job_report.h"
#include "app/subcommands.h"
#include "okami/backup/removal.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand remove_archive_command() {
  return {"remove a backup archive, its checksum and partial files from the backups volume",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator remove-archive");
            std::string root, archive, report;
            desc.add_options()("help,h", "show this help")(
                "backups", po::value(&root)->required(), "the backups volume's mount path")(
                "archive", po::value(&archive)->required(), "the archive, directly in --backups")(
                "termination-log", po::value(&report), "file that receives a short report (a Job's /dev/termination-log)");
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            auto removed = backup::remove_archive(root, archive);
            if (!removed) {
              std::string why = removed.error().describe();
              std::cerr << "okami-operator remove-archive: " << why << "\n";
              if (why.size() > 1024) why.resize(1024);
              (void)write_report(report, nlohmann::json{{"message", why}}.dump());
              return removed.error().code == common::ErrorCode::kInvalidArgument ? 2 : 1;
            }
            (void)write_report(report, nlohmann::json{{"archive", archive},
                                                      {"removed", removed->removed},
                                                      {"bytes", removed->bytes}}.dump());
            std::cout << "removed " << removed->removed.size() << " file(s), " << removed->bytes << " bytes\n";
            return 0;
          }};
}

}  // namespace okami::app
