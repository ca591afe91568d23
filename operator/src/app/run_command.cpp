// `okami-operator run`: the controller process. Wires the Kubernetes client, the caches and
// watches, the OkamiStack reconciler, leader election, the metrics/health endpoint and signal
// handling. This file is the composition root for the long-running operator.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <spdlog/spdlog.h>

#include "app/operator_wiring.h"
#include "app/run_flags.h"
#include "app/subcommands.h"
#include "common/logging.h"
#include "common/memory.h"
#include "common/version.h"

namespace okami::app {

namespace {

int run_operator(const std::vector<std::string>& args) {
  auto parsed = parse_run_flags(args);
  if (!parsed) {
    std::cerr << "okami-operator run: " << parsed.error().message << "\n";
    return 2;
  }
  if (parsed->help) {
    std::cout << parsed->usage << "\n";
    return 0;
  }
  const OperatorFlags& flags = parsed->flags;
  if (auto s = common::setup_logging(flags.log_level, flags.log_json); !s) {
    std::cerr << "okami-operator run: " << s.error().message << "\n";
    return 2;
  }

  // SIGINT/SIGTERM are handled by this thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  spdlog::info("okami-operator {} (commit {}) starting", common::version(), common::git_commit());
  auto op = OperatorProcess::create(flags);
  if (!op) {
    spdlog::error("cannot start: {}", op.error().describe());
    return 1;
  }
  if (auto s = (*op)->start(); !s) {
    spdlog::error("cannot start: {}", s.error().describe());
    return 1;
  }
  bool trimmed_after_sync = false;
  int ticks_since_trim = 0;
  while (true) {
    if (!trimmed_after_sync && (*op)->ready()) {
      trimmed_after_sync = true;
      common::return_free_memory();
    } else if (++ticks_since_trim >= 300) {  // 300 ticks of 200 ms
      ticks_since_trim = 0;
      common::return_free_memory();
    }
    timespec tick{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if ((*op)->lost_leadership()) {
      // As client-go and controller-runtime do: exit at once, without waiting for reconciles in
      // flight (the write fence already refuses their writes) or handing back a Lease no longer ours.
      spdlog::error("leadership lost: exiting so that a fresh process can compete again");
      spdlog::default_logger()->flush();
      std::_Exit(1);
    }
  }
  (*op)->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

Subcommand run_command() {
  return {"run the operator (watch OkamiStacks and OkamiBackups and reconcile them)", run_operator};
}

}  // namespace okami::app
