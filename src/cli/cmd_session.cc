// `pgmigrate status` and `pgmigrate abort SESSION`: the transfers this host takes part in,
// read from their journals (src/journal), and how to end one for good.

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "common/units.h"
#include "journal/journal.h"
#include "zfs/zfs.h"

namespace pgm::cli {
namespace {

std::string state_of(const journal::Listed& l) {
  if (!l.alive && l.record.state != "done") return "stale";
  return l.record.state;
}

std::string position(const journal::Record& r) {
  std::string p = format_bytes(static_cast<double>(r.bytes));
  if (r.estimate > 0) p += " of " + format_bytes(static_cast<double>(r.estimate));
  return p + " (" + std::to_string(r.chunks) + " chunks)";
}

Status run_status(const std::string& dir_opt, bool as_json) {
  auto chosen = journal::choose_state_dir(dir_opt);
  if (!chosen) return chosen.status();
  const std::string& dir = *chosen;
  auto all = journal::list(dir);
  const double now = journal::unix_now();
  if (as_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& l : all) {
      auto j = nlohmann::json::parse(journal::format_record(l.record));
      j["alive"] = l.alive;
      j["status"] = state_of(l);
      j["age_seconds"] = now - l.record.started;
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return Status::Ok();
  }
  if (all.empty()) {
    std::printf("no transfers in progress (state directory %s)\n", dir.c_str());
    return Status::Ok();
  }
  std::printf("%-32s  %-7s  %-8s  %-28s  %-26s  %-11s  %s\n", "SESSION", "ROLE", "STATE", "TARGET", "POSITION", "RATE", "AGE");
  for (const auto& l : all) {
    const auto& r = l.record;
    std::printf("%-32s  %-7s  %-8s  %-28s  %-26s  %-11s  %s\n", r.session.c_str(), r.role.c_str(), state_of(l).c_str(), r.target.c_str(),
                position(r).c_str(), format_rate(r.rate).c_str(), format_duration(now - r.started).c_str());
    if (!r.note.empty()) std::printf("    %s\n", r.note.c_str());
    if (!l.alive) std::printf("    its process (pid %d) is gone; 'pgmigrate abort %s' cleans up\n", r.pid, r.session.c_str());
  }
  return Status::Ok();
}

Status run_abort(const std::string& dir_opt, const std::string& session) {
  auto chosen = journal::choose_state_dir(dir_opt);
  if (!chosen) return chosen.status();
  const std::string& dir = *chosen;
  std::vector<journal::Listed> matches;
  for (auto& l : journal::list(dir))
    if (!session.empty() && l.record.session.rfind(session, 0) == 0) matches.push_back(l);
  if (matches.empty()) return Status(Errc::not_found, "no transfer '" + session + "' in " + dir + " (see pgmigrate status)");
  if (matches.size() > 1)
    return Status(Errc::invalid_argument,
                  "'" + session + "' matches " + std::to_string(matches.size()) + " transfers: give more of the session id");
  const journal::Listed& l = matches.front();
  const journal::Record& r = l.record;
  if (l.alive) {
    // The process aborts its own receive on SIGTERM (zfs receive discards the partial stream)
    // and removes its journal.
    PGM_RETURN_IF_ERROR(journal::stop_process(r, std::chrono::seconds(60)));  // signals only the process that wrote it
    std::printf("stopped pid %d (%s into '%s'); its unfinished receive was discarded\n", r.pid, r.role.c_str(), r.target.c_str());
  }
  PGM_RETURN_IF_ERROR(journal::remove_files(l.path));
  std::printf("removed the journal of session %s (%s)\n", r.session.c_str(), l.path.c_str());
  if (r.role == "receive" && zfs::validate_dataset(r.target).ok()) {
    // OpenZFS keeps a partially received stream (zfs receive -s) until `zfs receive -A`.
    auto discarded = zfs::Zfs().abort_resumable_receive(r.target);
    if (!discarded) return discarded.status().context("discarding the partial receive of '" + r.target + "'");
    if (*discarded) std::printf("discarded the partial receive state of '%s' (zfs receive -A)\n", r.target.c_str());
  }
  return Status::Ok();
}

}  // namespace

void register_sessions(CLI::App& app, CommandFn& selected) {
  struct Args {
    std::string state_dir, session;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* status = app.add_subcommand("status", "List the transfers in progress on this host (from their journals)");
  status->add_option("--state-dir", a->state_dir,
                     "Where transfer journals live (default: $PGMIGRATE_STATE_DIR, /var/lib/pgmigrate for root)");
  status->add_flag("--json", a->json, "One JSON array, for scripts");
  status->callback([a, &selected] { selected = [a](RunContext&) { return run_status(a->state_dir, a->json); }; });

  CLI::App* abort =
      app.add_subcommand("abort", "Stop a transfer on this host for good: end its process, remove its journal and partial receive state");
  abort->add_option("SESSION", a->session, "Session id (or a unique prefix), as pgmigrate status shows it")->required();
  abort->add_option("--state-dir", a->state_dir, "Where transfer journals live");
  abort->callback([a, &selected] { selected = [a](RunContext&) { return run_abort(a->state_dir, a->session); }; });
}

}  // namespace pgm::cli
