// A migration state file with every key migrate reads (mid-run: a transfer, the slot's retention,
// rounds done) and a key of a later version; shared by the state tests.
#pragma once

#include <nlohmann/json.hpp>

namespace pgm::migrate {

inline nlohmann::json good_state() {
  return nlohmann::json::parse(R"({
    "id": "20240101-abcd", "started": 1700000000.5, "updated": 1700000100.25,
    "source": "tank/pg", "target": "backup:tank/pg", "state": "running", "current_step": "bulk",
    "slot": "pgmigrate_abcd", "last_sent": "tank/pg@pgmigrate-20240101-abcd-bulk",
    "target_pgdata": "/tank/pg/data", "error": "interrupted", "pid": 1234, "pid_start": 987654,
    "boot_id": "0f1e2d3c", "rounds_done": 2, "last_round_bytes": 4096, "referenced": 1073741824,
    "slot_retained": 65536, "peak_retained": 131072, "lag_bytes": 0, "write_window_s": 1.25,
    "switched": false, "slot_created": true, "standby_started": true, "sent": [],
    "holds": ["tank/pg@pgmigrate-20240101-abcd-bulk"],
    "steps": {"preflight": {}, "bulk": {"status": "done", "started": 1700000000, "finished": 1700000050.5,
                                        "seconds": 50.5, "bytes": 1073741824, "detail": "ok"},
              "rounds": {"status": "running", "started": 1700000051.0}},
    "transfer": {"snapshot": "tank/pg@pgmigrate-20240101-abcd-r1", "bytes": 12345, "rate": 1.5e6},
    "a_key_of_a_later_version": {"anything": [1, "x"]}
  })");
}

}  // namespace pgm::migrate
