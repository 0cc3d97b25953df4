// edgesense: one binary, subcommands. main only parses the command line and
// hands over to the subcommand; each one wires the pipeline stages it needs.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.h"

int main(int argc, char** argv) {
  using namespace edgesense::daemon;
  // Logs go to stderr (journald under systemd); stdout may carry EVE records.
  spdlog::set_default_logger(spdlog::stderr_color_st("edgesense"));
  CLI::App app{"edgesense: packet-capture sensor that tracks flows and scores them"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("edgesense ") + EDGESENSE_VERSION);

  ReplayOptions replay;
  addReplayCommand(app, replay);
  FeaturesOptions features;
  addFeaturesCommand(app, features);
  CheckConfigOptions check_config;
  addCheckConfigCommand(app, check_config);
  TrainOptions train;
  addTrainCommand(app, train);
  EvalOptions eval;
  addEvalCommand(app, eval);
  RunOptions run;
  addRunCommand(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.got_subcommand("replay")) return runReplay(replay);
  if (app.got_subcommand("features")) return runFeatures(features);
  if (app.got_subcommand("check-config")) return runCheckConfig(check_config);
  if (app.got_subcommand("train")) return runTrain(train);
  if (app.got_subcommand("eval")) return runEval(eval);
  if (app.got_subcommand("run")) return runDaemon(run);
  return 2;
}
