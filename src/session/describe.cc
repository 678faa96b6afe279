#include "session/describe.h"

#include <fmt/printf.h>

#include "common/units.h"

namespace pgm::session {
namespace {

std::string size_of(std::uint64_t n) { return format_bytes(static_cast<double>(n)); }

bool received(const TransferSummary& s) { return s.direction == TransferSummary::Direction::received; }

// Drops, reconnects and what was sent again (a receiver cannot know that: it reports the drops
// it saw).
std::string drops_line(const TransferSummary& s) {
  std::string again = received(s) ? "" : ", " + size_of(s.resent_bytes) + " sent again";
  return fmt::sprintf("pgmigrate: %llu data connection(s) dropped, %llu reconnect(s)%s", s.drops, s.reconnects, again);
}

}  // namespace

ProgressFigures progress_figures(const ProgressSample& now, const ProgressSample& before, double dt, double elapsed_s,
                                 std::optional<std::uint64_t> total) {
  ProgressFigures f;
  f.elapsed_s = elapsed_s;
  f.total = total;
  f.rate = dt > 0 ? static_cast<double>(now.logical_bytes - before.logical_bytes) / dt : 0;
  const double mean = elapsed_s > 0 ? static_cast<double>(now.logical_bytes) / elapsed_s : 0;
  f.ratio = now.wire_bytes > 0 ? static_cast<double>(now.logical_bytes) / static_cast<double>(now.wire_bytes) : 1.0;
  for (std::size_t i = 0; i < now.lane_bytes.size(); ++i) {
    std::uint64_t prev = i < before.lane_bytes.size() ? before.lane_bytes[i] : 0;
    f.lane_rates.push_back(dt > 0 ? static_cast<double>(now.lane_bytes[i] - prev) / dt : 0);
  }
  if (total && mean > 0 && *total > now.logical_bytes) f.eta_s = static_cast<double>(*total - now.logical_bytes) / mean;
  return f;
}

nlohmann::json progress_json(const std::string& label, const ProgressSample& s, const ProgressFigures& f, bool final) {
  nlohmann::json j;
  j["event"] = final ? "done" : "progress";
  j["label"] = label;
  j["elapsed_s"] = f.elapsed_s;
  j["logical_bytes"] = s.logical_bytes;
  j["wire_bytes"] = s.wire_bytes;
  j["chunks"] = s.chunks;
  j["rate_bps"] = f.rate;
  j["ratio"] = f.ratio;
  j["lane_rates_bps"] = f.lane_rates;
  j["drops"] = s.drops;
  j["reconnects"] = s.reconnects;
  j["resent_bytes"] = s.resent_bytes;
  j["rate_limit_bps"] = s.rate_limit;  // 0: no cap
  if (!s.session.empty()) j["session"] = s.session;
  if (f.total) j["total_estimate_bytes"] = *f.total;
  if (f.eta_s) j["eta_s"] = *f.eta_s;
  return j;
}

std::string progress_text(const std::string& label, const ProgressSample& s, const ProgressFigures& f) {
  std::string line = label + ": " + size_of(s.logical_bytes);
  if (f.total) line += " / ~" + size_of(*f.total);
  line += ", wire " + size_of(s.wire_bytes) + fmt::sprintf(" (%.2fx)", f.ratio) + ", " + format_rate(f.rate);
  if (s.rate_limit != 0) line += " (cap " + format_rate(static_cast<double>(s.rate_limit)) + ")";
  if (f.lane_rates.size() > 1) {
    line += " [";
    for (std::size_t i = 0; i < f.lane_rates.size(); ++i) line += fmt::sprintf("%s%.0f", i ? " " : "", f.lane_rates[i] / 1e6);
    line += " MB/s]";
  }
  if (s.reconnects) line += ", reconnects " + std::to_string(s.reconnects);
  if (f.eta_s) line += ", ETA " + format_duration(*f.eta_s);
  return line;
}

std::vector<std::string> summary_lines(const TransferSummary& s) {
  // Nothing moved (the target already had the snapshot): that is the whole story.
  if (s.digest.empty() && !s.verification.empty()) return {"pgmigrate: " + s.verification};
  const double ratio = s.wire_bytes ? static_cast<double>(s.logical_bytes) / static_cast<double>(s.wire_bytes) : 1.0;
  const double rate = s.seconds > 0 ? static_cast<double>(s.logical_bytes) / s.seconds : 0;
  std::vector<std::string> out;
  out.push_back(fmt::sprintf("pgmigrate: %s %s in %s (%s), %s on the wire (ratio %.2fx)", received(s) ? "received" : "sent",
                             size_of(s.logical_bytes), format_duration(s.seconds), format_rate(rate), size_of(s.wire_bytes), ratio));
  out.push_back("pgmigrate: stream digest " + s.digest + (received(s) ? " verified" : "") + (s.source.empty() ? "" : " for ") + s.source);
  if (s.drops > 0 || s.reconnects > 0 || s.resent_bytes > 0) out.push_back(drops_line(s));
  if (s.resumed_chunks > 0)
    out.push_back(fmt::sprintf("pgmigrate: resumed: the receiver already had %llu chunks (%s), regenerated and checked, not sent again",
                               s.resumed_chunks, size_of(s.skipped_bytes)));
  if (!s.verification.empty()) out.push_back("pgmigrate: " + s.verification);
  if (!s.sizes.empty()) out.push_back("pgmigrate: " + s.sizes);
  return out;
}

}  // namespace pgm::session
