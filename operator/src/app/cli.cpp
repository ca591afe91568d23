#include "app/cli.h"

#include <boost/program_options.hpp>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "app/subcommands.h"

namespace okami::app {
namespace {

const std::map<std::string, Subcommand>& subcommands() {
  static const std::map<std::string, Subcommand> table = all_subcommands();
  return table;
}

void print_usage(std::ostream& out) {
  out << "usage: okami-operator <command> [options]\n\ncommands:\n";
  for (const auto& [name, cmd] : subcommands()) {
    out << "  " << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') << cmd.summary
        << "\n";
  }
  out << "\nRun 'okami-operator <command> --help' for a command's options.\n";
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(std::cout);
    return 0;
  }
  auto it = subcommands().find(name);
  if (it == subcommands().end()) {
    std::cerr << "okami-operator: unknown command '" << name << "'\n";
    print_usage(std::cerr);
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return it->second.run(args);
  } catch (const boost::program_options::error& e) {
    std::cerr << "okami-operator " << name << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace okami::app
