// The table of subcommands. Each entry parses its own options (Boost.Program_options) from the
// arguments after the subcommand name and returns an exit code: 0 ok, 1 failure, 2 bad usage.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace okami::app {

struct Subcommand {
  std::string summary;
  std::function<int(const std::vector<std::string>&)> run;
};

std::map<std::string, Subcommand> all_subcommands();

// One registration function per subcommand file.
Subcommand version_command();
Subcommand check_command();
Subcommand backup_command();
Subcommand verify_backup_command();
Subcommand verify_migration_command();
Subcommand reset_memories_command();
Subcommand restore_command();
Subcommand guard_command();
Subcommand render_command();
Subcommand run_command();

}  // namespace okami::app
