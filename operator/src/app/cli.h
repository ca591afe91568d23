// Command-line front door: `okami-operator <subcommand> [options]`. Each subcommand lives in its own
// file under app/ and registers here; run_cli returns the process exit code.
#pragma once

namespace okami::app {

int run_cli(int argc, char** argv);

}  // namespace okami::app
