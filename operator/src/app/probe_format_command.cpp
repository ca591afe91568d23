// `okami-operator probe-format`: the data-format probe Job (okami/chroma/format_probe.h). Reads
// the format of the Chroma persist dir (mounted read-only) and reports it as one JSON line on
// stdout and in the termination message file, where the operator reads it from the pod status.
// Exit 0 when the format was read (empty included), 1 when the data cannot be read, 2 on usage.
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>

#include "app/subcommands.h"
#include "okami/chroma/format_probe.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand probe_format_command() {
  return {"read the Chroma data format of a volume and report it in the termination message",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator probe-format");
            std::string data;
            std::string report_file = "/dev/termination-log";
            desc.add_options()("help,h", "show this help")(
                "data", po::value(&data)->required(), "Chroma persist dir (mounted read-only)")(
                "termination-log", po::value(&report_file)->default_value(report_file),
                "where to write the report (the pod's terminationMessagePath), as every Job command");
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            const chroma::ProbeReport report = chroma::probe_report(chroma::detect_data_format(data));
            const std::string message = chroma::to_message(report);
            std::cout << message << "\n";
            std::ofstream out(report_file, std::ios::trunc);
            out << message;
            out.close();
            if (!out) {
              std::cerr << "okami-operator probe-format: cannot write the report to " << report_file << "\n";
              return 1;
            }
            return report.outcome == chroma::ProbeReport::Outcome::kUnreadable ? 1 : 0;
          }};
}

}  // namespace okami::app
