// `okami-operator reset-memories`: the body of the memory reset Job. Moves the client's memory
// stores aside on their volume (see okami/memory_reset.h) and prints what it moved.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/job_report.h"
#include "app/subcommands.h"
#include "okami/chroma/memory_reset.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand reset_memories_command() {
  return {"move the client's memory stores aside before a client that embeds differently starts",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator reset-memories");
            std::string storage, token, report;
            desc.add_options()("help,h", "show this help")(
                "storage", po::value(&storage)->required(), "the client's CREWAI_STORAGE_DIR volume")(
                "token", po::value(&token)->required(), "the okami.io/reset-memories value that approved it")(
                "termination-log", po::value(&report), "file that receives a short report (a Job's /dev/termination-log)");
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            auto moved = memory::move_memories_aside(storage, token);
            if (!moved) {
              std::cerr << "okami-operator reset-memories: " << moved.error().describe() << "\n";
              std::string why = moved.error().describe();
              if (why.size() > 1024) why.resize(1024);
              (void)write_report(report, "{\"message\":" + nlohmann::json(why).dump() + "}");
              return moved.error().code == common::ErrorCode::kInvalidArgument ? 2 : 1;
            }
            (void)write_report(report, "{\"moved\":" + std::to_string(*moved) + "}");
            std::cout << "moved " << *moved << " entr" << (*moved == 1 ? "y" : "ies") << " of "
                      << storage << " into " << memory::aside_dir_name(token) << "\n";
            return 0;
          }};
}

}  // namespace okami::app
