// fuzz_control: the control channel of a remote transfer as the far half's bytes arrive
// (src/transport/control.h): LineSplitter cuts them into lines, parse_control_line turns
// each into a message, and every message goes through the decoders the two halves apply to
// it: json_string/json_u64/json_bool, status_from_message, trailer_from_json,
// resume_from_json, header_from_hex (on its "hex"/"header" field, and on a line that is no
// JSON, as the hex of a stream header) and TlsKey::from_hex (the "tls" key of `ready`).
//
// Input: the bytes of the channel. The first byte (if any) picks how they are cut into
// append() calls (1..256 bytes each), so that lines split across reads are covered.
//
// Invariants: the splitter returns exactly the complete lines (no '\n' inside, as many as
// there were newlines before it refused); whatever decodes re-encodes to something that
// decodes to the same value (trailer_to_json, resume_to_json, header_to_hex).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport/control.h"
#include "transport/tls.h"

namespace {

using namespace pgm;
using nlohmann::json;

void check_header(const stream::StreamHeader& h) {
  auto again = transport::header_from_hex(transport::header_to_hex(h));
  if (!again || !(*again == h)) __builtin_trap();
}

void decode_message(const json& m) {
  // What both halves read from any message, whatever its type.
  const std::string type = transport::json_string(m, "type");
  if (type != m["type"].get<std::string>()) __builtin_trap();
  (void)transport::json_u64(m, "seq", 0);
  (void)transport::json_u64(m, "chunks", 0);
  (void)transport::json_bool(m, "resumed", false);
  (void)transport::json_string(m, "code");
  const Status st = transport::status_from_message(m);
  if (st.ok()) __builtin_trap();  // an error message never turns into success

  if (auto t = transport::trailer_from_json(m)) {
    auto again = transport::trailer_from_json(transport::trailer_to_json(*t));
    if (!again || !(*again == *t)) __builtin_trap();
  }
  if (auto p = transport::resume_from_json(m)) {
    check_header(p->header);
    auto again = transport::resume_from_json(transport::resume_to_json(*p));
    if (!again || !(again->header == p->header) || again->chunks != p->chunks || again->bytes != p->bytes || again->digest != p->digest)
      __builtin_trap();
  }
  // The resume point travels nested in the receiver's "ready" ({"type":"ready","resume":{...}}).
  if (auto it = m.find("resume"); it != m.end()) (void)transport::resume_from_json(*it);
  // The stream header: "hex" of a sender's `header`, "header" of a far sender's `ready` (pull).
  for (const char* key : {"hex", "header"}) {
    const std::string hex = transport::json_string(m, key);
    if (!hex.empty())
      if (auto h = transport::header_from_hex(hex)) check_header(*h);
  }
  // `ready` with --tls-port: {"tls":{"port":N,"key":"<64 hex>"}} (the same fields as the
  // answer of `_migrate-target --probe-tls-port`).
  if (auto it = m.find("tls"); it != m.end()) {
    (void)transport::json_u64(*it, "port", 0);
    (void)transport::TlsKey::from_hex(transport::json_string(*it, "key"));
  }
  (void)transport::TlsKey::from_hex(transport::json_string(m, "key"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = std::size_t{data[0]} + 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  transport::LineSplitter splitter;
  std::size_t newlines = 0, lines = 0;
  for (std::size_t pos = 0; pos < bytes.size(); pos += step) {
    const std::string_view piece = bytes.substr(pos, step);
    const Status st = splitter.append(piece);
    for (char c : piece) newlines += c == '\n';
    while (auto line = splitter.next_line()) {
      ++lines;
      if (line->find('\n') != std::string::npos) __builtin_trap();
      auto m = transport::parse_control_line(*line);
      if (m) {
        if (!m->is_object() || !m->contains("type") || !(*m)["type"].is_string()) __builtin_trap();
        decode_message(*m);
      } else if (line->size() <= 2 * (stream::kHeaderFixedSize + stream::kMaxNameLength + 4)) {
        if (auto h = transport::header_from_hex(*line)) check_header(*h);
      }
    }
    if (lines != newlines) __builtin_trap();  // every complete line, none invented
    if (!st.ok()) break;                      // the channel gives up on an over-long line
  }
  return 0;
}
