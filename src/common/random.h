// The one source of randomness: ids, keys and retry jitter all come from OpenSSL's CSPRNG, so
// there is one thing to seed and audit. Failing to get random bytes is an error the caller
// sees (a Status), never something retried or papered over with a weaker source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "pgmigrate/status.h"

namespace pgm {

// Fills `out` with cryptographically strong random bytes. Thread-safe.
Status random_bytes(std::span<std::uint8_t> out);
// `bytes` random bytes as lowercase hex (2 * bytes characters): an id no one else will pick.
Result<std::string> random_hex(std::size_t bytes);
// A uniform integer in [0, max] (max inclusive), for jitter.
Result<std::uint64_t> random_uniform(std::uint64_t max);

}  // namespace pgm
