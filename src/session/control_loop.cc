#include "session/control_loop.h"

#include <spdlog/spdlog.h>

#include "common/units.h"

namespace pgm::session {

using nlohmann::json;
using Kind = ControlTurn::Kind;

Status SenderControl::apply_rate(std::uint64_t bytes_per_second) {
  engine::RateLimiter* rate = pipeline_.rate_limiter();
  if (rate == nullptr || rate->rate() == bytes_per_second) return Status::Ok();  // on one host both halves see a request
  rate->set_rate(bytes_per_second);
  spdlog::info("rate cap now {}", bytes_per_second == 0 ? std::string("none") : format_rate(static_cast<double>(bytes_per_second)));
  return announce_rate();
}

Status SenderControl::announce_rate() {
  engine::RateLimiter* rate = pipeline_.rate_limiter();
  if (rate == nullptr || announced_rate_ == rate->rate()) return Status::Ok();
  announced_rate_ = rate->rate();
  return ctl_.send(json{{"type", "rate"}, {"bytes_per_second", *announced_rate_}});
}

ControlTurn SenderControl::turn() {
  if (requests_ != nullptr)
    if (auto asked = requests_->poll())
      if (Status s = apply_rate(*asked); !s.ok()) return {Kind::channel_lost, s, {}};
  if (Status s = announce_rate(); !s.ok()) return {Kind::channel_lost, s, {}};
  if (!trailer_sent_ && dispatcher_.exhausted()) {
    // Every lane that started has drained the pipeline: the producer is finished.
    if (Status end = src_.finish(); !end.ok()) return {Kind::failed, end, {}};
    trailer_sent_ = true;
    if (Status s = ctl_.send(transport::trailer_to_json(pipeline_.trailer())); !s.ok()) return {Kind::failed, s, {}};
    return {};
  }
  auto m = ctl_.receive(kTick);
  if (!m) return {Kind::channel_lost, m.status(), {}};
  if (!*m) return {};
  const json& msg = **m;
  const std::string type = transport::json_string(msg, "type");
  if (type == "ack" && msg.contains("delivered") && msg["delivered"].is_number_unsigned()) {
    dispatcher_.acknowledge(msg["delivered"].get<std::uint64_t>());
  } else if (type == "nack") {
    spdlog::warn("{} refused chunk {} ({}); sending it again", peer_, transport::json_u64(msg, "seq", 0),
                 transport::json_string(msg, "reason"));
    dispatcher_.resend(transport::json_u64(msg, "seq", UINT64_MAX));
  } else if (type == "set_rate" && msg.contains("bytes_per_second") && msg["bytes_per_second"].is_number_unsigned()) {
    if (Status s = apply_rate(msg["bytes_per_second"].get<std::uint64_t>()); !s.ok()) return {Kind::channel_lost, s, {}};
  } else if (type == "error") {
    return {Kind::failed, transport::status_from_message(msg).context(error_context_), {}};
  } else if (type == final_type_) {
    return {Kind::final_message, {}, msg};
  }
  return {};
}

std::optional<Status> ReceiverControl::finished() {
  if (finisher_.valid() && finisher_.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) return finisher_.get();
  return std::nullopt;
}

Status ReceiverControl::report(transport::ControlChannel& ctl) {
  const std::uint64_t delivered = pipeline_.delivered();
  if (delivered != last_ack_) {
    PGM_RETURN_IF_ERROR(ctl.send(json{{"type", "ack"}, {"delivered", delivered}}));
    last_ack_ = delivered;
  }
  if (requests_ != nullptr)
    if (auto asked = requests_->poll()) PGM_RETURN_IF_ERROR(ctl.send(json{{"type", "set_rate"}, {"bytes_per_second", *asked}}));
  return nacks_.flush(ctl);
}

ControlTurn ReceiverControl::turn(transport::ControlChannel& ctl) {
  auto m = ctl.receive(kTick);
  if (!m) return {Kind::channel_lost, m.status(), {}};
  if (!*m) return {};
  const json& msg = **m;
  const std::string type = transport::json_string(msg, "type");
  if (type == "trailer" && !finisher_.valid()) {
    auto trailer = transport::trailer_from_json(msg);
    if (!trailer) return {Kind::failed, trailer.status(), {}};
    // The finish waits for the last chunks and the consumer: off this thread, so acks go on.
    finisher_ = std::async(std::launch::async, [this, tr = *trailer] { return pipeline_.finish(tr); });
  } else if (type == "rate" && msg.contains("bytes_per_second") && msg["bytes_per_second"].is_number_unsigned()) {
    if (sender_rate_ != nullptr) sender_rate_->store(msg["bytes_per_second"].get<std::uint64_t>());
  } else if (type == "error") {
    return {Kind::failed, transport::status_from_message(msg).context(error_context_), {}};
  }
  return {};
}

void ReceiverControl::abandon(const Status& why) {
  pipeline_.abandon(why);
  if (finisher_.valid()) (void)finisher_.get();
}

}  // namespace pgm::session
