#include "cli/app.h"

#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/exit.h"
#include "cli/usage.h"
#include "common/log_file.h"
#include "common/secret_options.h"
#include "common/signals.h"
#include "common/units.h"
#include "journal/journal.h"
#include "pgmigrate/session.h"
#include "stream/format.h"
#include "transport/elevated_connector.h"

namespace pgm::cli {
namespace {

// --log-file as given; for the far half of a transfer (which no terminal watches, and whose
// stderr the near side reads only when it fails), a log beside its journals on that host.
Result<bool> open_log_file(const CLI::App& app, const GlobalOptions& g) {
  if (g.log_file.empty() && app.got_subcommand("_serve")) {
    // Best effort: a far half that cannot keep a log still transfers (its errors reach the
    // near side over the control connection).
    auto dir = journal::state_dir("");
    return dir && LogFile::install(*dir + "/" + journal::kFarLogName, kFarLogSize, 2).ok();
  }
  if (g.log_file.empty()) return false;
  auto size = parse_size(g.log_file_size);
  if (!size) return size.status().context("--log-file-size");
  if (*size < 4096) return Status(Errc::invalid_argument, "--log-file-size must be at least 4K");
  PGM_RETURN_IF_ERROR(LogFile::install(g.log_file, *size, g.log_file_keep));
  return true;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"pgmigrate: move a live Postgres database on ZFS between hosts, fast, resumable, verified", "pgmigrate"};
  app.require_subcommand(1);
  // The stream format is what two hosts must agree on; the release alone does not say it.
  app.set_version_flag("-V,--version", session::version_line());
  // -v and -q work after the subcommand too: options a subcommand does not know go to its parent.
  app.fallthrough();
  app.footer(kGlobalOptionsFooter);
  GlobalOptions global;
  app.add_flag("-v,--verbose", global.verbosity, "More log output (repeat for debug)");
  app.add_flag("-q,--quiet", global.quiet, "Print only errors");
  app.add_option("--log-file", global.log_file,
                 "Also write what goes to stderr, timestamped, to this file (rotated at --log-file-size, keeping --log-file-keep)");
  app.add_option("--log-file-size", global.log_file_size, "Rotate the log file at this size")->capture_default_str();
  app.add_option("--log-file-keep", global.log_file_keep, "Rotated log files to keep (FILE.1 ... FILE.N)")->capture_default_str();

  CommandFn selected;
  register_send(app, selected);
  register_recv(app, selected);
  register_pg(app, selected);
  register_migrate(app, selected);
  register_objects(app, selected);
  register_sessions(app, selected);
  register_migrate_target(app, selected);
  register_internal(app, selected);
  finish_options(app);

  transport::take_ssh_connection_argument(argc, argv);
  auto args = expand_options_stdin(argc, argv);
  if (!args) return report(args.status());
  // The command line without the program name: what a usage error quotes back.
  const std::vector<std::string> words(args->begin() + 1, args->end());
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
    std::fprintf(stderr, "pgmigrate: %s (see --help)\n", parse_error_line(e, app, words).c_str());
    return kExitUsage;
  }

  auto log_file = open_log_file(app, global);
  if (!log_file) return report(log_file.status());
  // With a log file, stderr is a stream the color sink cannot see is a terminal.
  auto logger = spdlog::stderr_color_mt("pgmigrate", *log_file && ::isatty(2) ? spdlog::color_mode::always : spdlog::color_mode::automatic);
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
  RunContext ctx{cancel, global, words};
  Status status = selected(ctx);
  return report(status);
}

}  // namespace pgm::cli
