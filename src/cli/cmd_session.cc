// `pgmigrate status`, `pgmigrate abort SESSION` and `pgmigrate rate SESSION RATE`: the
// transfers this host takes part in, read from their journals (src/journal), how to end one
// for good, and how to change its rate cap while it runs (session/rate_control.h).

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cli/command.h"
#include "common/units.h"
#include "journal/journal.h"
#include "session/rate_control.h"
#include "zfs/zfs.h"

namespace pgm::cli {
namespace {

std::string state_of(const journal::Listed& l) {
  if (!l.alive && l.record.state != "done") return "stale";
  return l.record.state;
}

std::string rate_of(const journal::Record& r) {
  std::string s = format_rate(r.rate);
  if (r.rate_limit != 0) s += " (cap " + format_rate(static_cast<double>(r.rate_limit)) + ")";
  return s;
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
                position(r).c_str(), rate_of(r).c_str(), format_duration(now - r.started).c_str());
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

bool is_session_id(const std::string& s) { return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos; }

// A journal on this host names the session (or the unique prefix of one); else a whole
// session id is taken as it is: the near half of a send or recv keeps no journal (it logs its
// session id as it starts) and still reads its requests.
Status run_rate(const std::string& dir_opt, const std::string& session, const std::string& rate_text) {
  auto rate = parse_rate(rate_text);
  if (!rate) return rate.status().context("RATE");
  auto chosen = journal::state_dir(dir_opt);
  if (!chosen) return chosen.status();
  const std::string& dir = *chosen;
  std::optional<journal::Listed> found;
  for (auto& l : journal::list(dir)) {
    if (session.empty() || l.record.session.rfind(session, 0) != 0 || !l.alive) continue;
    if (found && found->record.session != l.record.session)
      return Status(Errc::invalid_argument, "'" + session + "' matches more than one transfer: give more of the session id");
    found = l;
  }
  if (!found && !is_session_id(session))
    return Status(Errc::not_found, "no running transfer '" + session + "' in " + dir +
                                       " (pgmigrate status lists them; the near half of a send or recv names its whole session id in "
                                       "--progress json and with -v: give that)");
  const std::string id = found ? found->record.session : session;
  PGM_RETURN_IF_ERROR(session::request_rate(dir, id, *rate));
  const std::string shown = *rate == 0 ? std::string("none") : format_rate(static_cast<double>(*rate));
  if (!found) {
    std::printf("asked session %s for rate cap %s (its processes on this host take it within a second)\n", id.c_str(), shown.c_str());
    return Status::Ok();
  }
  // A receiving half passes the request to its sender, which announces its new cap back: the
  // journal shows it once it is in force.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = journal::read_file(found->path);
    if (!text) {
      // Its journal is gone: the transfer ended (a lifted cap lets a short rest go at once).
      std::printf("session %s ended before it confirmed rate cap %s\n", id.c_str(), shown.c_str());
      return Status::Ok();
    }
    if (auto r = journal::parse_record(*text); r && r->rate_limit == *rate) {
      std::printf("session %s: rate cap now %s\n", id.c_str(), shown.c_str());
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status(Errc::timeout, "session " + id +
                                   " did not confirm the new rate within 15s (is its sender an older pgmigrate? 'pgmigrate "
                                   "--version' on both hosts)");
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

  auto r = std::make_shared<Args>();
  auto rate_text = std::make_shared<std::string>();
  CLI::App* rate = app.add_subcommand("rate", "Change the rate cap of a running transfer (on either of its hosts)");
  rate->add_option("SESSION", r->session, "Session id (or a unique prefix), as pgmigrate status shows it")->required();
  rate->add_option("RATE", *rate_text, "New cap on wire bytes per second, all connections together (e.g. 20M; 0: none)")->required();
  rate->add_option("--state-dir", r->state_dir, "Where transfer journals live");
  rate->callback(
      [r, rate_text, &selected] { selected = [r, rate_text](RunContext&) { return run_rate(r->state_dir, r->session, *rate_text); }; });
}

}  // namespace pgm::cli
