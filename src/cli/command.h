// How a subcommand plugs into the CLI: it adds its options to a CLI11 subcommand and sets
// the function to run. The function returns a Status; only exit.cc turns it into a message
// and an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/cancel.h"
#include "pgmigrate/status.h"

namespace pgm::cli {

struct GlobalOptions {
  int verbosity = 0;  // -v, -vv
  bool quiet = false;
  // --log-file: a bounded copy of stderr (common/log_file.h).
  std::string log_file;
  std::string log_file_size = "64M";
  unsigned log_file_keep = 4;
};

// What every command gets: the run's cancellation (signals cancel it) and global flags.
struct RunContext {
  CancelToken& cancel;
  const GlobalOptions& global;
  // The command line without the program name: what a usage error quotes back.
  const std::vector<std::string>& args;
};

using CommandFn = std::function<Status(RunContext&)>;

// Makes `fn` what runs when the user names `cmd` (CLI11 calls back the named command only).
inline void on_run(CLI::App* cmd, CommandFn& selected, CommandFn fn) {
  cmd->callback([&selected, fn = std::move(fn)] { selected = fn; });
}

// What a library worded for the user (its describe functions), one line each. Not flushed: a
// command flushes where its output must be seen at once (a live timeline, a relayed far output).
inline void print_lines(std::FILE* to, const std::vector<std::string>& lines) {
  for (const auto& l : lines) std::fprintf(to, "%s\n", l.c_str());
}

// Each registrar adds one top-level command (and its subcommands). `selected` is set by
// the callback of whichever command the user named.
void register_send(CLI::App& app, CommandFn& selected);
void register_recv(CLI::App& app, CommandFn& selected);
void register_pg(CLI::App& app, CommandFn& selected);
void register_internal(CLI::App& app, CommandFn& selected);
void register_sessions(CLI::App& app, CommandFn& selected);
void register_migrate(CLI::App& app, CommandFn& selected);
void register_migrate_target(CLI::App& app, CommandFn& selected);
void register_objects(CLI::App& app, CommandFn& selected);

}  // namespace pgm::cli
