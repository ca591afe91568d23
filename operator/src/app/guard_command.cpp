// `okami-operator guard`: the init container in front of every Chroma server. Reads the data
// format on the volume and refuses (exit 1) to let a server start that is older than that
// format, that finds data other than the volume's mark (--expect-format), or that would migrate
// the data without the volume marked migrating to the one allowed target (--allow-migration-to).
// Empty or missing data is allowed. Usage errors exit 2.
#include <boost/program_options.hpp>
#include <iostream>

#include "app/subcommands.h"
#include "okami/chroma/data_format.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand guard_command() {
  return {"refuse to start a Chroma server older than the data on disk",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator guard");
            std::string data, server_version;
            desc.add_options()("help,h", "show this help")(
                "data", po::value(&data)->required(), "Chroma persist dir")(
                "server-version", po::value(&server_version)->required(), "version of the server about to start")(
                "expect-format", po::value<std::string>(),
                "the volume's okami.io/chroma-data-format mark; refuse data of any other format")(
                "allow-migration-to", po::value<std::string>(),
                "the one format this start may migrate the data to (only when the mark is "
                "migrating to it); without it, a server that would migrate is refused");
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            auto version = chroma::parse_chroma_version(server_version);
            if (!version) {
              std::cerr << "okami-operator guard: " << version.error().describe() << "\n";
              return 2;
            }
            auto format = chroma::detect_data_format(data);
            if (!format) {
              std::cerr << "okami-operator guard: refusing to start Chroma " << version->str()
                        << ": cannot read the data format in " << data << ": " << format.error().describe() << "\n";
              return 1;
            }
            chroma::GuardPolicy policy;
            if (vm.count("expect-format")) policy.expect_format = vm["expect-format"].as<std::string>();
            if (vm.count("allow-migration-to")) {
              policy.allow_migration_to = vm["allow-migration-to"].as<std::string>();
            }
            auto decision = chroma::decide_guard(*format, *version, policy);
            if (!decision.allowed) {
              std::cerr << "okami-operator guard: REFUSED: " << decision.reason << "\n";
              return 1;
            }
            std::cout << "okami-operator guard: allowed: " << decision.reason << "\n";
            return 0;
          }};
}

}  // namespace okami::app
