#include "session/host_transfers.h"

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "common/units.h"
#include "journal/journal.h"
#include "session/rate_control.h"
#include "zfs/zfs.h"

namespace pgm::session {
namespace {

// The whole session id of a near half, which keeps no journal.
bool is_session_id(const std::string& s) { return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos; }

}  // namespace

Status abort_transfer(const std::string& dir, const std::string& session, const SayFn& say) {
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
    say("stopped pid " + std::to_string(r.pid) + " (" + r.role + " into '" + r.target + "'); its unfinished receive was discarded");
  }
  PGM_RETURN_IF_ERROR(journal::remove_files(l.path));
  say("removed the journal of session " + r.session + " (" + l.path + ")");
  if (r.role == "receive" && zfs::validate_dataset(r.target).ok()) {
    // OpenZFS keeps a partially received stream (zfs receive -s) until `zfs receive -A`.
    auto discarded = zfs::Zfs().abort_resumable_receive(r.target);
    if (!discarded) return discarded.status().context("discarding the partial receive of '" + r.target + "'");
    if (*discarded) say("discarded the partial receive state of '" + r.target + "' (zfs receive -A)");
  }
  return Status::Ok();
}

// A journal on this host names the session (or the unique prefix of one); else a whole
// session id is taken as it is: the near half of a send or recv keeps no journal (it logs its
// session id as it starts) and still reads its requests.
Status change_rate(const std::string& dir, const std::string& session, std::uint64_t rate, const SayFn& say) {
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
  PGM_RETURN_IF_ERROR(request_rate(dir, id, rate));
  const std::string shown = rate == 0 ? std::string("none") : format_rate(static_cast<double>(rate));
  if (!found) {
    say("asked session " + id + " for rate cap " + shown + " (its processes on this host take it within a second)");
    return Status::Ok();
  }
  // A receiving half passes the request to its sender, which announces its new cap back: the
  // journal shows it once it is in force.
  const std::string ended = "session " + id + " ended before it confirmed rate cap " + shown;
  const std::string in_force = "session " + id + ": rate cap now " + shown;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = journal::read_file(found->path);
    if (!text) {
      // Its journal is gone: the transfer ended (a lifted cap lets a short rest go at once).
      say(ended);
      return Status::Ok();
    }
    if (auto r = journal::parse_record(*text); r && r->rate_limit == rate) {
      say(in_force);
      return Status::Ok();
    }
    // No token here (a one-shot `pgmigrate rate`), and the wait is bounded: a plain sleep.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status(Errc::timeout, "session " + id +
                                   " did not confirm the new rate within 15s (is its sender an older pgmigrate? 'pgmigrate "
                                   "--version' on both hosts)");
}

}  // namespace pgm::session
