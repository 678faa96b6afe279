// Debian/Ubuntu (postgresql-common) clusters: a cluster is named VERSION/NAME, its configuration
// lives in /etc/postgresql/VERSION/NAME/ (postgresql.conf, pg_hba.conf, pg_ident.conf, start.conf,
// pg_ctl.conf, environment, conf.d/), outside its data directory, and pg_ctlcluster (or systemd's
// postgresql@VERSION-NAME unit) starts and stops it. A copy of the data directory alone is no
// cluster there: the target needs a configuration directory made from the source's.
//
// The pieces, so that `pg standby`, `pg switchover` and migrate can each take what they need:
//   - pure parsing: cluster ids, pg_lsclusters output, postgresql.conf lines and includes;
//   - a config bundle: the source's configuration directory as one bounded JSON document;
//   - render_cluster_config: the target's files from a bundle, every path rewritten or reported
//     (pure, so `plan` can print it);
//   - write_cluster_config: the target directory, written whole or not at all;
//   - start/stop the way postgresql-common expects (pg_ctlcluster, or systemctl under systemd).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "pg/server_tools.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

inline constexpr const char* kDebianConfRoot = "/etc/postgresql";

struct ClusterId {
  int major = 0;
  std::string name;
  std::string str() const { return std::to_string(major) + "/" + name; }                   // "15/main"
  std::string unit() const { return "postgresql@" + std::to_string(major) + "-" + name; }  // systemd
  bool operator==(const ClusterId&) const = default;
};
// "15/main" (or "15-main", as systemd names it). Names are what pg_createcluster accepts and a
// path component can hold safely: letters, digits, '_', '.', '-', not starting with '.' or '-'.
Result<ClusterId> parse_cluster_id(const std::string& text);

// One line of `pg_lsclusters --no-header`.
struct ClusterListing {
  ClusterId id;
  int port = 0;
  bool online = false;
  bool recovery = false;  // "online,recovery": a standby
  std::string owner, pgdata, log_file;
};
Result<std::vector<ClusterListing>> parse_lsclusters(const std::string& text);
// Runs pg_lsclusters --no-header.
Result<std::vector<ClusterListing>> list_clusters();

// ---- postgresql.conf -----------------------------------------------------------------------

// One `name = value` line (names lower-cased, values unquoted), with where it sits so that it
// can be rewritten in place.
struct ConfSetting {
  std::string name, value;
  std::size_t line = 0;  // 0-based
};
// Parses the lines Postgres's configuration parser accepts; other lines are skipped (the server
// itself will complain about them at start).
std::vector<ConfSetting> parse_conf(const std::string& text);
// (Values are written with quote_conf_value, pg/auto_conf.h.)

// The settings whose values are paths (or lists of them) on the server's host.
enum class PathUse {
  read,     // a file the server reads: must exist here (hba_file, ssl_cert_file, ...)
  created,  // a file or directory the server creates: its parent must exist (external_pid_file)
  dir,      // directories the server uses: must exist (unix_socket_directories, log_directory)
  command,  // a shell command that may mention paths (archive_command, restore_command, ...)
};
std::optional<PathUse> path_setting(const std::string& name);

// ---- the config bundle ---------------------------------------------------------------------

struct BundleFile {
  std::string path;  // relative to the configuration directory: "postgresql.conf", "conf.d/x.conf"
  mode_t mode = 0644;
  std::string content;
};

struct ConfigBundle {
  ClusterId cluster;           // the source's
  std::string conf_dir;        // the source's configuration directory
  std::string data_directory;  // the source's data directory
  int port = 0;
  std::vector<BundleFile> files;
  std::vector<std::string> notes;  // what collecting left out, and why
};

inline constexpr std::size_t kMaxBundleBytes = 4 << 20;  // all files together
inline constexpr std::size_t kMaxBundleFiles = 256;

// Reads the configuration directory of `id` under `conf_root` (regular files, conf.d and other
// subdirectories one level deep; links are left out and noted). Refused in one line when the
// cluster does not exist, the files exceed the bounds or one is not UTF-8 text.
// `wrapper`: the privilege wrapper of a pgmigrate that is not root; a file closed to it
// (pg_hba.conf, 0640 postgres) is read as its owner through it (server_tools.h read_file_as).
Result<ConfigBundle> collect_bundle(const ClusterId& id, const std::string& conf_root = kDebianConfRoot, const std::string& wrapper = "");
std::string bundle_to_json(const ConfigBundle& b);
// Validates what another host produced: format, version, sizes, and every path relative and
// inside the configuration directory.
Result<ConfigBundle> bundle_from_json(const std::string& text);
Result<ConfigBundle> read_bundle_file(const std::string& path);
// The bundle's JSON as the file `path` (mode 0600, written whole and renamed into place; its
// directory opened as given), for `pg cluster export --out` and read_bundle_file on the target.
Status write_bundle_file(const ConfigBundle& b, const std::string& path);

// ---- the target cluster --------------------------------------------------------------------

struct TargetCluster {
  ClusterId id;
  std::string pgdata;       // the received data directory
  std::optional<int> port;  // default: the source's
  std::string conf_root = kDebianConfRoot;
};

struct RenderedConfig {
  std::string conf_dir;
  int port = 0;
  std::vector<BundleFile> files;
  std::vector<std::string> changes;   // "postgresql.conf:3 data_directory: '/a' -> '/b'"
  std::vector<std::string> warnings;  // paths that still point at the source host, naming the setting
};

// True when `path` exists on this host (the default checks the filesystem).
using PathExists = std::function<bool(const std::string&)>;
bool path_exists_here(const std::string& path);

// The target's files from the source's: data_directory, port, cluster_name, hba_file,
// ident_file, external_pid_file and every path under the source's configuration or data
// directory rewritten to the target's; include/include_if_exists/include_dir followed inside the
// bundle; absolute paths left as they were reported when they do not exist here. Pure but for
// `exists`. Refuses a bundle of another major version than `data_major` (the data directory's).
Result<RenderedConfig> render_cluster_config(const ConfigBundle& bundle, const TargetCluster& target, int data_major,
                                             const PathExists& exists = path_exists_here);

// render_cluster_config, then the checks write_cluster_config makes before writing anything (a
// cluster of that name with another data directory is refused), so a caller can refuse before
// it changes the data directory. The order for a standby: plan_target_cluster,
// prepare_standby, write_cluster_config, start_standby with StartOptions::debian_cluster.
Result<RenderedConfig> plan_target_cluster(const ConfigBundle& bundle, const TargetCluster& target, const DataDir& data);

// What write_cluster_config did.
struct WrittenCluster {
  std::string conf_dir;
  bool replaced = false;  // an earlier configuration for the same data directory was replaced
};

// Writes target.conf_root/VERSION/NAME/ from `rendered`: built in a temporary directory beside
// it, owned by the data directory's owner (when we are root), then renamed into place, so a
// failure leaves no half cluster behind. Refuses, in one line, a cluster of that name that
// already exists with another data directory. A re-run for the same data directory replaces it.
Result<WrittenCluster> write_cluster_config(const RenderedConfig& rendered, const TargetCluster& target, const DataDir& data);

// The data_directory that the cluster's postgresql.conf (under conf_root) names; nullopt when
// the cluster does not exist.
// Removes the configuration directory CONF_ROOT/VER/NAME and everything in it, without
// following a link anywhere (a link at NAME is removed itself). Ok if it does not exist.
Status remove_cluster_config(const ClusterId& id, const std::string& conf_root = kDebianConfRoot);
Result<std::optional<std::string>> existing_cluster_data_dir(const ClusterId& id, const std::string& conf_root = kDebianConfRoot);

// "/etc/postgresql/15/main/postgresql.conf" -> 15/main: is a server's config_file (SHOW
// config_file) a postgresql-common cluster's?
std::optional<ClusterId> cluster_from_config_file(const std::string& config_file, const std::string& conf_root = kDebianConfRoot);

// ---- starting and stopping -----------------------------------------------------------------

// Does systemd run this host (/run/systemd/system exists)? Only then is systemctl used.
bool systemd_runs();

enum class ClusterAction { start, stop };
struct ClusterCommand {
  std::vector<std::string> argv;
  std::string describe;  // "pg_ctlcluster 15 main stop -m fast"
};
// The command that starts or (fast-)stops the cluster as its manager expects: systemctl when
// systemd runs and (for a stop) the unit is active, pg_ctlcluster otherwise.
ClusterCommand cluster_command(const ClusterId& id, ClusterAction action, bool use_systemd, std::chrono::seconds timeout);
// Runs cluster_command. `wrapper`: the privilege wrapper (common/elevation.h) of a pgmigrate
// that is not root ("sudo -n": pg_ctlcluster and systemctl run as root, as they expect); a
// refusal by it is one line naming the command, the user and the fixes.
Status control_cluster(const ClusterId& id, ClusterAction action, std::chrono::milliseconds timeout, const CancelToken* cancel = nullptr,
                       const std::string& wrapper = "");

// start.conf: "auto" (started at boot and by `systemctl start postgresql`), "manual" (only by
// hand) or "disabled". After a switchover the old primary is set to manual so that nothing
// (a reboot, `systemctl restart postgresql`) starts a second primary behind our back.
// The mode a start.conf text says: its first word outside comments; "auto" when it says none.
std::string parse_start_mode(const std::string& text);
// `text` with its mode line set to `mode`, comments kept (a text without one gets it appended).
std::string with_start_mode(const std::string& text, const std::string& mode);
// CONF_ROOT/VER/NAME/start.conf read ("auto" when it does not exist, as postgresql-common reads
// it) and written atomically with its owner and mode kept.
Result<std::string> read_start_mode(const ClusterId& id, const std::string& conf_root = kDebianConfRoot);
// `wrapper`: as for collect_bundle; a start.conf this user may not write is rewritten as its
// owner through it (server_tools.h write_file_as).
Status write_start_mode(const ClusterId& id, const std::string& mode, const std::string& conf_root = kDebianConfRoot,
                        const std::string& wrapper = "");

// postgresql-common's log for the cluster, for error messages.
std::string cluster_log_file(const ClusterId& id);

}  // namespace pgm::pg
