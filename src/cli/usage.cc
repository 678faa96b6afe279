#include "cli/usage.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "pg/conninfo.h"
#include "pg/slot.h"
#include "zfs/zfs.h"

namespace pgm::cli {
namespace {

// A validator from a Status-returning check: CLI11 words its failure "--flag: <message>".
CLI::Validator status_check(Status (*check)(const std::string&), const char* name) {
  return CLI::Validator([check](std::string& value) { return check(value).message(); }, "", name);
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool looks_like_file(const std::string& s) {
  struct stat st {};
  if (s.starts_with("/") || s.starts_with("~") || s.starts_with("./") || s.starts_with("../")) return s.find('@') == std::string::npos;
  return ::stat(s.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The commands the user named, as words ("pg slot create"), from the parsed subcommands.
std::string command_path(const CLI::App& app) {
  std::string path;
  const CLI::App* at = &app;
  for (;;) {
    auto parsed = at->get_subcommands();
    if (parsed.empty()) break;
    at = parsed.front();
    path += (path.empty() ? "" : " ") + at->get_name();
  }
  return path;
}

const CLI::App* deepest(const CLI::App& app) {
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) at = at->get_subcommands().front();
  return at;
}

// Validators for option values (CLI11 runs them while parsing, before any command runs).
CLI::Validator conninfo_check() {
  return status_check([](const std::string& v) { return pg::validate_conninfo(v); }, "CONNINFO");
}

CLI::Validator dataset_check() {
  return status_check([](const std::string& v) { return zfs::validate_dataset(v); }, "DATASET");
}

// -i / -I: an incremental source is a snapshot (it has an @).
CLI::Validator incremental_check() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (v.find_first_of("@#") != std::string::npos) return "";
        return "'" + v +
               "' is not a snapshot or bookmark: -i and -I are zfs's incremental source (@snap, POOL/FS@snap, or for -i a bookmark "
               "#bm, POOL/FS#bm); an SSH key is --identity KEY";
      },
      "", "SNAPSHOT");
}

CLI::Validator slot_check() {
  return status_check([](const std::string& v) { return pg::validate_slot_name(v); }, "SLOT");
}

}  // namespace

void finish_options(CLI::App& app) {
  // Every option of this name holds the same kind of value, in every command: checked here once
  // so that a command added later cannot forget it.
  struct Check {
    std::string_view option;
    CLI::Validator (*make)();
  };
  constexpr Check kChecks[] = {
      {"--primary", conninfo_check},     {"--standby", conninfo_check}, {"--standby-primary", conninfo_check},
      {"--replication", conninfo_check}, {"--slot", slot_check},        {"--dataset", dataset_check},
      {"--source", dataset_check},       {"-i", incremental_check},     {"-I", incremental_check},
  };
  for (CLI::Option* opt : app.get_options()) {
    if (!opt->nonpositional()) continue;
    if (opt->get_items_expected_max() > 1) opt->allow_extra_args(false);
    for (const Check& c : kChecks)
      if (opt->check_name(std::string(c.option))) opt->check(c.make());
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) finish_options(*sub);
}

std::string habit_hint(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const std::string next = i + 1 < args.size() ? args[i + 1] : std::string();
    if (a.starts_with("-J"))
      return " (hint: pgmigrate has no -J; a jump host is -o ProxyJump=HOST, or a ProxyJump line in the file --ssh-config names)";
    if (a == "-P" || (a == "-p" && all_digits(next))) return " (hint: the SSH port is --port N; -p is zfs send's properties flag)";
    if ((a == "-i" || a == "-I") && !next.empty() && next.find_first_of("@#") == std::string::npos)
      return " (hint: " + a + " is zfs's incremental (@snap or POOL/FS@snap); the SSH key is --identity KEY)";
    if (a == "-F" && !next.empty() && looks_like_file(next))
      return " (hint: an OpenSSH configuration file is --ssh-config FILE; -F is zfs receive's force flag)";
    if (a == "-l") return " (hint: the SSH user goes in the address: USER@host:POOL/FS)";
  }
  return "";
}

Status word_count_error(std::string_view command, std::string_view wants, const std::vector<std::string>& words,
                        const std::vector<std::string>& args) {
  std::string got;
  for (const auto& w : words) got += " " + w;
  std::string line = std::string(command) + " takes " + std::string(wants) + "; got " + std::to_string(words.size()) +
                     (words.size() == 1 ? " word" : " words") + (words.empty() ? "" : ":" + got) + habit_hint(args);
  return Status(Errc::invalid_argument, line);
}

std::string parse_error_line(const CLI::ParseError& e, const CLI::App& app, const std::vector<std::string>& args) {
  const std::string path = command_path(app);
  const std::string prefix = path.empty() ? std::string() : path + ": ";
  std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    const auto colon = what.find(": ");
    const std::string words = colon == std::string::npos ? what : what.substr(colon + 2);
    const bool option = words.starts_with("-");
    return prefix + (option ? "unknown option " : "unexpected ") + words + habit_hint(args);
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && what.starts_with("A subcommand")) {
    std::string names;
    for (const CLI::App* sub : deepest(app)->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }))
      names += (names.empty() ? "" : ", ") + sub->get_name();
    return prefix + "name a command: " + names;
  }
  // A refused value says itself what was meant (the validators below); other errors may stem
  // from a habit.
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr) return prefix + what;
  return prefix + what + habit_hint(args);
}

}  // namespace pgm::cli
