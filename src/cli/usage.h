// What a user sees when a command line is wrong: CLI11's errors reworded without its internal
// names, hints for habits from ssh and zfs, and validators that refuse a bad name or connection
// string while parsing, before any command opens a connection.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "pgmigrate/status.h"

namespace pgm::cli {

// Applied once every command is registered: each repeatable option takes one value per
// occurrence (`--identity KEY` never swallows the positionals after it), and every option of a
// name that always holds the same kind of value (--primary: a conninfo, --slot, --dataset, -i)
// carries its check, in every command.
void finish_options(CLI::App& app);

// A hint for a command line that carries an ssh or zfs habit ("-p 2222", "-J host", "-i KEY",
// "-F FILE", "-l USER"), as " (hint: ...)"; empty when there is none. `args` is the whole
// command line without the program name.
std::string habit_hint(const std::vector<std::string>& args);

// "send takes a snapshot and a destination; got 3 words: a b c" (with a habit hint), for a
// command whose positional words were too few or too many.
Status word_count_error(std::string_view command, std::string_view wants, const std::vector<std::string>& words,
                        const std::vector<std::string>& args);

// One line for a CLI11 parse error, naming the command and never an internal option name.
std::string parse_error_line(const CLI::ParseError& e, const CLI::App& app, const std::vector<std::string>& args);

// The footer every command's --help inherits (a command that sets its own footer appends it):
// where a user of `migrate run` looks for --log-file.
inline constexpr const char* kGlobalOptionsFooter =
    "Global options, before or after the command: -v/-vv, -q, --log-file FILE (with --log-file-size SIZE, --log-file-keep N); "
    "see pgmigrate --help";

}  // namespace pgm::cli
