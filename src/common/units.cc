#include "common/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

namespace pgm {
namespace {

// Splits "12.5MiB" into a number and a lowercase suffix. Only digits and one dot are taken
// as the number, so "1e9" or "0x10" are rejected rather than half-understood.
bool split_number(std::string_view text, double& number, std::string& suffix) {
  size_t i = 0;
  bool seen_digit = false, seen_dot = false;
  std::string digits;
  while (i < text.size()) {
    char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      seen_digit = true;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
    digits.push_back(c);
    ++i;
  }
  if (!seen_digit || digits.size() > 32) return false;
  char* end = nullptr;
  number = std::strtod(digits.c_str(), &end);
  if (end == nullptr || *end != '\0') return false;
  suffix.clear();
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' && suffix.empty()) continue;
    suffix.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return true;
}

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
  double number = 0;
  std::string suffix;
  if (text.empty() || !split_number(text, number, suffix))
    return Status(Errc::invalid_argument, "invalid size '" + std::string(text) + "' (expected e.g. 4M, 512K, 2G)");
  double multiplier = 1;
  if (suffix.empty() || suffix == "b") {
    multiplier = 1;
  } else {
    const char unit = suffix[0];
    const std::string rest = suffix.substr(1);
    if (!rest.empty() && rest != "b" && rest != "ib")
      return Status(Errc::invalid_argument, "invalid size suffix in '" + std::string(text) + "'");
    switch (unit) {
      case 'k': multiplier = 1024.0; break;
      case 'm': multiplier = 1024.0 * 1024; break;
      case 'g': multiplier = 1024.0 * 1024 * 1024; break;
      case 't': multiplier = 1024.0 * 1024 * 1024 * 1024; break;
      default: return Status(Errc::invalid_argument, "invalid size suffix in '" + std::string(text) + "'");
    }
  }
  const double bytes = number * multiplier;
  if (!(bytes < 9.0e18)) return Status(Errc::invalid_argument, "size '" + std::string(text) + "' is too large");
  if (bytes != std::floor(bytes)) return Status(Errc::invalid_argument, "size '" + std::string(text) + "' is not a whole number of bytes");
  return static_cast<std::uint64_t>(bytes);
}

Result<std::uint64_t> parse_rate(std::string_view text) {
  if (text == "none") return std::uint64_t{0};
  if (text.size() > 2 && (text.substr(text.size() - 2) == "/s" || text.substr(text.size() - 2) == "/S")) text.remove_suffix(2);
  double number = 0;
  std::string suffix;
  if (text.empty() || !split_number(text, number, suffix))
    return Status(Errc::invalid_argument, "invalid rate '" + std::string(text) + "' (expected e.g. 50M for 50 MB/s, or 0 for none)");
  if (suffix.size() == 3 && suffix.substr(1) == "ib") return parse_size(text);  // binary, as for sizes
  double multiplier = 1;
  if (!suffix.empty() && suffix != "b") {
    if (suffix.size() > 2 || (suffix.size() == 2 && suffix[1] != 'b'))
      return Status(Errc::invalid_argument, "invalid rate suffix in '" + std::string(text) + "'");
    switch (suffix[0]) {
      case 'k': multiplier = 1e3; break;
      case 'm': multiplier = 1e6; break;
      case 'g': multiplier = 1e9; break;
      case 't': multiplier = 1e12; break;
      default: return Status(Errc::invalid_argument, "invalid rate suffix in '" + std::string(text) + "'");
    }
  }
  const double bytes = std::floor(number * multiplier);
  if (!(bytes < 9.0e18)) return Status(Errc::invalid_argument, "rate '" + std::string(text) + "' is too large");
  return static_cast<std::uint64_t>(bytes);
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double number = 0;
  std::string suffix;
  if (text.empty() || !split_number(text, number, suffix))
    return Status(Errc::invalid_argument, "invalid duration '" + std::string(text) + "' (expected e.g. 30s, 10m, 2h)");
  double ms = 0;
  if (suffix.empty() || suffix == "s") {
    ms = number * 1000;
  } else if (suffix == "ms") {
    ms = number;
  } else if (suffix == "m" || suffix == "min") {
    ms = number * 60'000;
  } else if (suffix == "h") {
    ms = number * 3'600'000;
  } else if (suffix == "d") {
    ms = number * 86'400'000;
  } else {
    return Status(Errc::invalid_argument, "invalid duration unit in '" + std::string(text) + "'");
  }
  if (!(ms < 1.0e15)) return Status(Errc::invalid_argument, "duration '" + std::string(text) + "' is too long");
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::string format_bytes(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 5) {
    bytes /= 1024.0;
    ++unit;
  }
  char buf[64];
  if (unit == 0) std::snprintf(buf, sizeof buf, "%.0f %s", bytes, kUnits[unit]);
  else std::snprintf(buf, sizeof buf, "%.2f %s", bytes, kUnits[unit]);
  return buf;
}

std::string format_rate(double bytes_per_second) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f MB/s", bytes_per_second / 1e6);
  return buf;
}

std::string format_duration(double seconds) {
  char buf[64];
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds >= 1e9) return ">30y";  // an ETA at a near-zero rate; also keeps the cast below defined
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else {
    auto total = static_cast<long long>(seconds);
    long long h = total / 3600, m = (total % 3600) / 60, s = total % 60;
    if (h > 0) std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", h, m, s);
    else std::snprintf(buf, sizeof buf, "%lldm%02llds", m, s);
  }
  return buf;
}

}  // namespace pgm
