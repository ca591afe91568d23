#include "app/subcommands.h"

namespace okami::app {

std::map<std::string, Subcommand> all_subcommands() {
  return {
      {"version", version_command()},
      {"check", check_command()},
      {"backup", backup_command()},
      {"verify-backup", verify_backup_command()},
      {"verify-migration", verify_migration_command()},
      {"reset-memories", reset_memories_command()},
      {"restore", restore_command()},
      {"guard", guard_command()},
      {"render", render_command()},
      {"run", run_command()},
  };
}

}  // namespace okami::app
