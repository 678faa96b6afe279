#include "common/metrics.h"

#include <cmath>
#include <cstdio>

#include "common/files.h"

namespace pgm {
namespace {

// Label values escape backslash, double quote and newline; HELP text backslash and newline.
std::string escape(const std::string& s, bool quotes) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // %.17g keeps every bit of a double; integers (byte counts) print without an exponent up to 2^53.
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

MetricFamily single_metric(std::string name, std::string help, MetricFamily::Type type, double value,
                           std::vector<std::pair<std::string, std::string>> labels) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  f.samples.push_back(MetricSample{std::move(labels), value});
  return f;
}

std::string render_metrics(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& f : families) {
    out += "# HELP " + f.name + " " + escape(f.help, false) + "\n";
    out += "# TYPE " + f.name + (f.type == MetricFamily::Type::counter ? " counter\n" : " gauge\n");
    for (const MetricSample& s : f.samples) {
      out += f.name;
      if (!s.labels.empty()) {
        out += "{";
        for (std::size_t i = 0; i < s.labels.size(); ++i) {
          if (i > 0) out += ",";
          out += s.labels[i].first + "=\"" + escape(s.labels[i].second, true) + "\"";
        }
        out += "}";
      }
      out += " " + format_value(s.value) + "\n";
    }
  }
  return out;
}

Status write_metrics_file(const std::string& path, const std::vector<MetricFamily>& families) {
  return write_file_atomic(path, render_metrics(families), 0644).context("writing metrics");
}

}  // namespace pgm
