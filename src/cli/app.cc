#include "cli/app.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/exit.h"
#include "cli/secret_options.h"
#include "cli/signals.h"
#include "session/session.h"

namespace pgm::cli {

int run(int argc, char** argv) {
  CLI::App app{"pgmigrate: move a live Postgres database on ZFS between hosts, fast, resumable, verified", "pgmigrate"};
  app.require_subcommand(1);
  // The stream format is what two hosts must agree on; the release alone does not say it.
  app.set_version_flag("-V,--version", session::version_line());
  GlobalOptions global;
  app.add_flag("-v,--verbose", global.verbosity, "More log output (repeat for debug)");
  app.add_flag("-q,--quiet", global.quiet, "Print only errors");

  CommandFn selected;
  register_send(app, selected);
  register_recv(app, selected);
  register_pg(app, selected);
  register_migrate(app, selected);
  register_sessions(app, selected);
  register_migrate_target(app, selected);
  register_internal(app, selected);

  auto args = expand_options_stdin(argc, argv);
  if (!args) return report(args.status());
  std::vector<const char*> arg_ptrs;
  for (const auto& a : *args) arg_ptrs.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::fprintf(stderr, "pgmigrate: %s (see --help)\n", what.c_str());
    return kExitUsage;
  }

  auto logger = spdlog::stderr_color_mt("pgmigrate");
  logger->set_pattern("%^%l%$: %v");
  logger->set_level(global.quiet            ? spdlog::level::err
                    : global.verbosity >= 2 ? spdlog::level::debug
                    : global.verbosity == 1 ? spdlog::level::info
                                            : spdlog::level::warn);
  spdlog::set_default_logger(logger);

  if (!selected) return report(Status(Errc::invalid_argument, "no command given (see --help)"));
  block_signals();
  CancelToken cancel;
  SignalWatcher watcher(cancel);
  RunContext ctx{cancel, global};
  Status status = selected(ctx);
  return report(status);
}

}  // namespace pgm::cli
