#include "app/subcommands.h"

#include <iostream>

namespace okami::app {

std::map<std::string, Subcommand> all_subcommands() {
  return {
      {"version", version_command()},
      {"check", check_command()},
      {"backup", backup_command()},
      {"verify-backup", verify_backup_command()},
      {"verify-migration", verify_migration_command()},
      {"reset-memories", reset_memories_command()},
      {"remove-archive", remove_archive_command()},
      {"list-backups", list_backups_command()},
      {"restore", restore_command()},
      {"guard", guard_command()},
      {"probe-format", probe_format_command()},
      {"render", render_command()},
      {"run", run_command()},
  };
}

std::optional<int> parse_or_help(const boost::program_options::options_description& desc,
                                 const std::vector<std::string>& args,
                                 boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  po::notify(vm);
  return std::nullopt;
}

}  // namespace okami::app
