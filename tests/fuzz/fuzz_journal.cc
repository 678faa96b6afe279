// fuzz_journal: the two files a transfer leaves in the state directory (src/journal/journal.h),
// which `pgmigrate status`, `abort` and a resuming sender read back, possibly after a crash
// left them half-written or a disk returned garbage:
//   - the record <session>.json through parse_record (then format_record and back);
//   - the same bytes as a <session>.sums file through sums_prefix_digest.
//
// Invariants: a record that parses re-formats to one that parses to the same fields; the
// digest of the first n = size/12 entries equals a StreamDigest over those entries decoded
// here (raw_len u32 | checksum u64, little-endian), and asking for n+1 entries is an error.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_temp_file.h"
#include "journal/journal.h"
#include "stream/format.h"

namespace {

using namespace pgm;

bool same_double(double a, double b) { return a == b || (!std::isfinite(a) && !std::isfinite(b)) || (!std::isfinite(a) && b == 0); }

void check_record(const journal::Record& r) {
  auto again = journal::parse_record(journal::format_record(r));
  if (!again) __builtin_trap();
  const auto& a = *again;
  if (a.session != r.session || a.role != r.role || a.state != r.state || a.target != r.target || a.snapshot != r.snapshot ||
      a.snapshot_guid != r.snapshot_guid || a.chunk_size != r.chunk_size || a.chunks != r.chunks || a.bytes != r.bytes ||
      a.estimate != r.estimate || a.resumes != r.resumes || a.pid != r.pid || a.socket != r.socket || a.note != r.note)
    __builtin_trap();
  // Doubles: a non-finite one (from "1e999") is written as null and read back as 0.
  if (!same_double(r.rate, a.rate) || !same_double(r.started, a.started) || !same_double(r.updated, a.updated)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto r = journal::parse_record(text)) {
    if (r->session.empty() || r->role.empty()) __builtin_trap();
    check_record(*r);
  }

  const std::string sums = fuzz::temp_dir().write("fuzz.sums", data, size);
  const std::uint64_t n = size / 12;
  stream::StreamDigest expect;
  for (std::uint64_t seq = 0; seq < n; ++seq) {
    const std::uint8_t* e = data + seq * 12;
    std::uint32_t raw_len = 0;
    std::uint64_t checksum = 0;
    for (int i = 0; i < 4; ++i) raw_len |= std::uint32_t{e[i]} << (8 * i);
    for (int i = 0; i < 8; ++i) checksum |= std::uint64_t{e[4 + i]} << (8 * i);
    expect.add(seq, raw_len, checksum);
  }
  auto got = journal::sums_prefix_digest(sums, n);
  if (!got || *got != expect.finish()) __builtin_trap();
  if (journal::sums_prefix_digest(sums, n + 1).ok()) __builtin_trap();  // fewer entries than asked for
  if (n > 0) {
    auto shorter = journal::sums_prefix_digest(sums, n - 1);
    if (!shorter) __builtin_trap();
  }
  return 0;
}
