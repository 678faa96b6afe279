// Prometheus metrics as a node_exporter textfile-collector file: a days-long migration belongs
// on the team's dashboards and alerts, and the textfile collector needs no listening port on a
// database host. The file is replaced atomically, so the collector never reads half of it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "pgmigrate/status.h"

namespace pgm {

struct MetricSample {
  std::vector<std::pair<std::string, std::string>> labels;  // name, value (escaped on output)
  double value = 0;
};

struct MetricFamily {
  std::string name;  // pgmigrate_..., with _total for counters, a unit suffix (_bytes, _seconds)
  std::string help;
  enum class Type { counter, gauge } type = Type::gauge;
  std::vector<MetricSample> samples;
};

// The text exposition format (version 0.0.4): # HELP, # TYPE, one line per sample.
// A family of one sample (the common case).
MetricFamily single_metric(std::string name, std::string help, MetricFamily::Type type, double value,
                           std::vector<std::pair<std::string, std::string>> labels = {});

std::string render_metrics(const std::vector<MetricFamily>& families);

// Renders and replaces `path` atomically, mode 0644 (the collector runs as another user).
Status write_metrics_file(const std::string& path, const std::vector<MetricFamily>& families);

}  // namespace pgm
