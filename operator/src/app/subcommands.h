// The table of subcommands. Each entry parses its own options (Boost.Program_options) from the
// arguments after the subcommand name and returns an exit code: 0 ok, 1 failure, 2 bad usage.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <vector>

namespace okami::app {

struct Subcommand {
  std::string summary;
  std::function<int(const std::vector<std::string>&)> run;
};

std::map<std::string, Subcommand> all_subcommands();

// Parses `args` against `desc` into `vm`. With --help it prints the options and returns 0 (the
// exit code); otherwise it checks required options and returns nullopt. Parse errors throw, as
// Boost.Program_options does; the caller of every subcommand turns them into exit code 2.
std::optional<int> parse_or_help(const boost::program_options::options_description& desc,
                                 const std::vector<std::string>& args,
                                 boost::program_options::variables_map& vm);

// One registration function per subcommand file.
Subcommand version_command();
Subcommand check_command();
Subcommand backup_command();
Subcommand verify_backup_command();
Subcommand verify_migration_command();
Subcommand reset_memories_command();
Subcommand remove_archive_command();
Subcommand list_backups_command();
Subcommand restore_command();
Subcommand guard_command();
Subcommand probe_format_command();
Subcommand render_command();
Subcommand run_command();

}  // namespace okami::app
