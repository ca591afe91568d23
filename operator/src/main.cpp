// okami-operator entry point: parse the subcommand, hand over to the app layer, map the outcome to
// an exit code. Everything that can fail reports through Result; the catch-all is a last resort.
#include <exception>
#include <iostream>

#include "app/cli.h"

int main(int argc, char** argv) {
  try {
    return okami::app::run_cli(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "okami-operator: fatal: " << e.what() << "\n";
    return 1;
  }
}
