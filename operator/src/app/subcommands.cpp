#include "app/subcommands.h"

namespace okami::app {

std::map<std::string, Subcommand> all_subcommands() {
  return {
      {"version", version_command()},
  };
}

}  // namespace okami::app
