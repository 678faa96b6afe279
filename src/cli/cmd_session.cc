// `pgmigrate status`, `pgmigrate abort SESSION` and `pgmigrate rate SESSION RATE`: the
// transfers this host takes part in, read from their journals (src/journal), how to end one
// for good, and how to change its rate cap while it runs (both: session/host_transfers.h).

#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/command.h"
#include "common/units.h"
#include "journal/describe.h"
#include "session/host_transfers.h"

namespace pgm::cli {
namespace {

void print_line(const std::string& line) { std::printf("%s\n", line.c_str()); }

Status run_status(const std::string& dir_opt, bool as_json) {
  PGM_ASSIGN_OR_RETURN(auto chosen, journal::choose_state_dir(dir_opt));
  const auto all = journal::list(chosen);
  const double now = journal::unix_now();
  if (as_json) std::printf("%s\n", journal::transfers_json(all, now).dump(2).c_str());
  else print_lines(stdout, journal::transfers_lines(all, now, chosen));
  return Status::Ok();
}

Status run_abort(const std::string& dir_opt, const std::string& session) {
  PGM_ASSIGN_OR_RETURN(auto chosen, journal::choose_state_dir(dir_opt));
  return session::abort_transfer(chosen, session, print_line);
}

Status run_rate(const std::string& dir_opt, const std::string& session, const std::string& rate_text) {
  auto rate = parse_rate(rate_text);
  if (!rate) return rate.status().context("RATE");
  PGM_ASSIGN_OR_RETURN(auto chosen, journal::state_dir(dir_opt));
  return session::change_rate(chosen, session, *rate, print_line);
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
