// `edgesense check-config -c FILE`: validates a config file without starting
// anything. Every problem goes to stderr as FILE:LINE:COL: key: message, or
// the effective config (every key with its value) to stdout.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "commands.h"
#include "config/config.h"

namespace edgesense::daemon {

void addCheckConfigCommand(CLI::App& app, CheckConfigOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "check-config",
      "Validate a config file: print every problem with its line (exit 1), or the effective "
      "config (exit 0)");
  CLI::Option* file = cmd->add_option("-c,--config", opts.file, "The config file to check (YAML)");
  CLI::Option* example = cmd->add_flag(
      "--print-example", opts.print_example,
      "Print the commented example config, every key at its default (config/edgesense.yaml)");
  CLI::Option* markdown = cmd->add_flag("--markdown", opts.markdown,
                                        "Print the keys as the docs/configuration.md page");
  file->excludes(example)->excludes(markdown);
  example->excludes(markdown);
  cmd->require_option(1);
}

int runCheckConfig(const CheckConfigOptions& opts) {
  if (opts.print_example) {
    std::fputs(config::exampleYaml().c_str(), stdout);
    return 0;
  }
  if (opts.markdown) {
    std::fputs(config::markdown().c_str(), stdout);
    return 0;
  }
  const config::LoadResult result = config::load(opts.file);
  if (!result.ok()) {
    for (const config::Problem& p : result.problems) {
      std::fprintf(stderr, "%s\n", config::format(p).c_str());
    }
    return 1;
  }
  std::printf("# effective configuration of %s\n%s", opts.file.c_str(),
              config::effectiveYaml(result.config).c_str());
  return 0;
}

}  // namespace edgesense::daemon
