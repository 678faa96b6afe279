#include "common/secret_options.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgm {

using nlohmann::json;

namespace {
bool option_name(const std::string& k) {
  if (k.size() < 3 || k.size() > 64 || k.rfind("--", 0) != 0) return false;
  for (std::size_t i = 2; i < k.size(); ++i)
    if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '-')) return false;
  return true;
}
}  // namespace

std::string options_line(const std::vector<std::pair<std::string, std::string>>& options) {
  json j = json::object();
  for (const auto& [k, v] : options) j[k] = v;
  return j.dump() + "\n";
}

Result<std::vector<std::pair<std::string, std::string>>> parse_options_line(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status(Errc::invalid_argument, kOptionsStdinFlag + std::string(": not a JSON object"));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : j.items()) {
    if (!option_name(k) || !v.is_string())
      return Status(Errc::invalid_argument, std::string(kOptionsStdinFlag) + ": not an option: " + k.substr(0, 64));
    out.emplace_back(k, v.get<std::string>());
  }
  return out;
}

Result<std::vector<std::string>> expand_options_stdin(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (argc < 2 || args[1] != kOptionsStdinFlag) return args;
  args.erase(args.begin() + 1);
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // A bundle-sized line arrives in many reads: look for its end only in what each one added.
  std::vector<char> buf(std::size_t{64} << 10);
  std::size_t end = std::string::npos;
  while (end == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return Status(Errc::timeout, std::string(kOptionsStdinFlag) + ": no options arrived on stdin within 30 s");
    pollfd p{0, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = ::read(0, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: a last line without its newline is still a line
    const std::size_t before = line.size();
    line.append(buf.data(), static_cast<std::size_t>(n));
    end = line.find('\n', before);
    if ((end == std::string::npos ? line.size() : end) > kMaxOptionsLine)
      return Status(Errc::invalid_argument,
                    std::string(kOptionsStdinFlag) + ": line longer than " + std::to_string(kMaxOptionsLine >> 20) + " MiB");
  }
  if (end != std::string::npos) line.resize(end);
  auto options = parse_options_line(line);
  if (!options) return options.status();
  for (auto& [k, v] : *options) {
    args.push_back(k);
    args.push_back(v);
  }
  return args;
}

}  // namespace pgm
