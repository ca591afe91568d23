#include <boost/program_options.hpp>
#include <iostream>

#include "app/subcommands.h"
#include "common/version.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand version_command() {
  return {"print the version and the git commit it was built from",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator version");
            desc.add_options()("help,h", "show this help")("short", "print the version only");
            po::variables_map vm;
            po::store(po::command_line_parser(args).options(desc).run(), vm);
            if (vm.count("help")) {
              std::cout << desc << "\n";
              return 0;
            }
            if (vm.count("short")) {
              std::cout << common::version() << "\n";
            } else {
              std::cout << "okami-operator " << common::version() << " (commit "
                        << common::git_commit() << ")\n";
            }
            return 0;
          }};
}

}  // namespace okami::app
