#include "pg/debian_cluster.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/errno_text.h"
#include "common/text.h"
#include "pg/auto_conf.h"
#include "pg/server_tools.h"

namespace pgm::pg {
namespace {

constexpr const char* kBundleFormat = "pgmigrate-debian-cluster-config";
constexpr int kBundleVersion = 1;
// Postgres itself gives up on includes nested deeper than this.
constexpr int kMaxIncludeDepth = 10;

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 63 || n[0] == '.' || n[0] == '-') return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; });
}

std::optional<int> parse_major(const std::string& v) {
  if (v.empty() || v.size() > 3 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::stoi(v);
}

bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
    if (n == 4 || (n > 0 && i + n >= s.size())) return false;
    for (std::size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n + 1;
  }
  return true;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

bool under(const std::string& path, const std::string& dir) {
  return !dir.empty() && (path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/'));
}

// "a/./b/../c" -> "a/c"; nullopt when it climbs above its start (it leaves the directory).
std::optional<std::string> normalize_relative(const std::string& rel) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(rel);
  while (std::getline(in, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

std::string dirname_of(const std::string& rel) {
  auto slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

std::string join_path(const std::string& dir, const std::string& rel) { return dir.empty() ? rel : dir + "/" + rel; }

// A setting line found while following postgresql.conf's includes inside a bundle.
struct ConfRef {
  std::string file;  // bundle path
  ConfSetting s;
};

struct IncludeWalk {
  const ConfigBundle& bundle;
  std::vector<ConfRef> refs;        // every setting, includes too, in the order the server reads them
  std::vector<std::string> issues;  // includes that point into the directory at nothing

  const BundleFile* find(const std::string& rel) const {
    for (const auto& f : bundle.files)
      if (f.path == rel) return &f;
    return nullptr;
  }

  void walk(const std::string& rel, int depth) {
    const BundleFile* f = find(rel);
    if (f == nullptr || depth > kMaxIncludeDepth) return;
    for (auto& s : parse_conf(f->content)) {
      refs.push_back({rel, s});
      if (s.name != "include" && s.name != "include_if_exists" && s.name != "include_dir") continue;
      auto inside = resolve(rel, s.value);
      if (!inside) continue;  // outside the configuration directory: reported by render
      if (s.name == "include_dir") {
        const std::string prefix = inside->empty() ? "" : *inside + "/";
        for (const auto& g : bundle.files) {
          if (g.path.size() <= prefix.size() || g.path.compare(0, prefix.size(), prefix) != 0) continue;
          const std::string leaf = g.path.substr(prefix.size());
          if (leaf.find('/') == std::string::npos && leaf[0] != '.' && leaf.size() > 5 && leaf.ends_with(".conf")) walk(g.path, depth + 1);
        }
      } else if (find(*inside) != nullptr) {
        walk(*inside, depth + 1);
      } else if (s.name == "include") {
        issues.push_back(rel + ":" + std::to_string(s.line + 1) + " include '" + s.value + "' is not in the bundle");
      }
    }
  }

  // The bundle path an include names, nullopt when it lies outside the configuration directory.
  std::optional<std::string> resolve(const std::string& from, const std::string& value) const {
    if (!value.empty() && value[0] == '/') {
      if (!under(value, bundle.conf_dir)) return std::nullopt;
      return normalize_relative(value.substr(bundle.conf_dir.size()));
    }
    const std::string base = dirname_of(from);
    return normalize_relative(base.empty() ? value : base + "/" + value);
  }
};

std::string quoted(const std::string& v) { return "'" + v + "'"; }

}  // namespace

// ---- ids and listings ----------------------------------------------------------------------

Result<ClusterId> parse_cluster_id(const std::string& text) {
  auto sep = text.find_first_of("/-");
  const std::string why = "'" + printable(text) + "' is not a cluster VERSION/NAME such as 15/main (see pg_lsclusters)";
  if (sep == std::string::npos) return Status(Errc::invalid_argument, why);
  auto major = parse_major(text.substr(0, sep));
  ClusterId id{major.value_or(0), text.substr(sep + 1)};
  if (!major || *major < 10 || !valid_name(id.name)) return Status(Errc::invalid_argument, why);
  return id;
}

Result<std::vector<ClusterListing>> parse_lsclusters(const std::string& text) {
  std::vector<ClusterListing> out;
  std::size_t n = 0;
  for (const auto& line : split_lines(text)) {
    ++n;
    std::istringstream in(line);
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    if (f.empty() || (f[0] == "Ver" && n == 1)) continue;
    if (f.size() < 6) return Status(Errc::postgres, "unexpected pg_lsclusters line " + std::to_string(n) + ": '" + printable(line) + "'");
    auto major = parse_major(f[0]);
    if (!major) continue;  // 9.x: before pgmigrate's range
    ClusterListing c;
    c.id = ClusterId{*major, f[1]};
    c.port = std::atoi(f[2].c_str());
    std::istringstream status(f[3]);
    for (std::string s; std::getline(status, s, ',');) {
      if (s == "online") c.online = true;
      if (s == "recovery") c.recovery = true;
    }
    c.owner = f[4];
    c.pgdata = f[5];
    if (f.size() > 6) c.log_file = f[6];
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<ClusterListing>> list_clusters() {
  auto run = run_bounded({"pg_lsclusters", "--no-header"}, std::chrono::seconds(30));
  if (!run) return run.status();
  if (!run->success()) return Status(Errc::child_failed, "pg_lsclusters " + run->describe() + " (is postgresql-common installed?)");
  return parse_lsclusters(run->out);
}

// ---- postgresql.conf -----------------------------------------------------------------------

std::vector<ConfSetting> parse_conf(const std::string& text) {
  std::vector<ConfSetting> out;
  const auto lines = split_lines(text);
  for (std::size_t ln = 0; ln < lines.size(); ++ln) {
    const std::string& l = lines[ln];
    std::size_t i = 0;
    auto skip_ws = [&] {
      while (i < l.size() && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r')) ++i;
    };
    skip_ws();
    if (i >= l.size() || !(std::isalpha(static_cast<unsigned char>(l[i])) || l[i] == '_')) continue;
    const std::size_t name_begin = i;
    while (i < l.size() && (std::isalnum(static_cast<unsigned char>(l[i])) || l[i] == '_' || l[i] == '.')) ++i;
    ConfSetting s;
    s.name = l.substr(name_begin, i - name_begin);
    std::transform(s.name.begin(), s.name.end(), s.name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    s.line = ln;
    skip_ws();
    if (i < l.size() && l[i] == '=') ++i;
    skip_ws();
    if (i < l.size() && l[i] == '\'') {
      bool closed = false;
      for (++i; i < l.size(); ++i) {
        if (l[i] == '\'' && i + 1 < l.size() && l[i + 1] == '\'') {
          s.value += '\'';
          ++i;
        } else if (l[i] == '\'') {
          closed = true;
          break;
        } else if (l[i] == '\\' && i + 1 < l.size()) {
          ++i;
          s.value += l[i] == 'n' ? '\n' : l[i] == 't' ? '\t' : l[i];
        } else {
          s.value += l[i];
        }
      }
      if (!closed) continue;
    } else {
      while (i < l.size() && l[i] != ' ' && l[i] != '\t' && l[i] != '#' && l[i] != '\r') s.value += l[i++];
      if (s.value.empty()) continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<PathUse> path_setting(const std::string& name) {
  static const std::map<std::string, PathUse> kSettings{
      {"hba_file", PathUse::read},
      {"ident_file", PathUse::read},
      {"ssl_cert_file", PathUse::read},
      {"ssl_key_file", PathUse::read},
      {"ssl_ca_file", PathUse::read},
      {"ssl_crl_file", PathUse::read},
      {"ssl_crl_dir", PathUse::read},
      {"ssl_dh_params_file", PathUse::read},
      {"krb_server_keyfile", PathUse::read},
      {"external_pid_file", PathUse::created},
      {"stats_temp_directory", PathUse::created},
      {"unix_socket_directories", PathUse::dir},
      {"log_directory", PathUse::dir},
      {"archive_command", PathUse::command},
      {"restore_command", PathUse::command},
      {"archive_cleanup_command", PathUse::command},
      {"recovery_end_command", PathUse::command},
      {"ssl_passphrase_command", PathUse::command},
  };
  auto it = kSettings.find(name);
  if (it == kSettings.end()) return std::nullopt;
  return it->second;
}

// ---- the bundle ----------------------------------------------------------------------------

namespace {

// `wrapper`: a normal user's privilege wrapper, to read a file closed to it (pg_hba.conf is 0640
// postgres) as that file's owner.
Status add_file(ConfigBundle& b, const DirFd& dir, const std::string& rel, const std::string& name, std::size_t& total,
                const std::string& wrapper) {
  // Hidden files and editors' leftovers (.postgresql.conf.swp, pg_hba.conf~) are no
  // configuration, and one appearing while an administrator edits must not stop a migration.
  if (name.starts_with('.') || name.ends_with('~')) {
    b.notes.push_back(rel + " is a hidden or backup file: left out");
    return Status::Ok();
  }
  auto st = dir.stat(name);
  if (!st) return st.status();
  if (!st->has_value()) return Status::Ok();
  const struct stat& s = **st;
  if (S_ISLNK(s.st_mode)) {
    b.notes.push_back(rel + " is a symbolic link (to " + dir.link_target(name) + "): left out; copy what it points to by hand");
    return Status::Ok();
  }
  if (!S_ISREG(s.st_mode)) {
    b.notes.push_back(rel + " is not a regular file: left out");
    return Status::Ok();
  }
  if (b.files.size() >= kMaxBundleFiles)
    return Status(Errc::invalid_argument, dir.path() + " holds more than " + std::to_string(kMaxBundleFiles) +
                                              " files: not a configuration directory pgmigrate can carry; move the others out");
  auto text = dir.read_file(name, kMaxBundleBytes);
  if (!text && !wrapper.empty() && ::geteuid() != 0 && ::geteuid() != s.st_uid && !user_name_of(s.st_uid).empty())
    text = read_file_as(wrapper, user_name_of(s.st_uid), dir.child(name), kMaxBundleBytes);
  if (!text) return text.status();
  total += text->size();
  if (total > kMaxBundleBytes)
    return Status(Errc::invalid_argument, "the configuration files of " + b.cluster.str() + " exceed " +
                                              std::to_string(kMaxBundleBytes >> 20) +
                                              " MiB together: move what is not configuration out of " + b.conf_dir);
  if (!valid_utf8(*text))
    return Status(Errc::invalid_argument, dir.child(name) + " is not UTF-8 text: move it out of the configuration directory");
  b.files.push_back({rel, static_cast<mode_t>(s.st_mode & 07777), std::move(*text)});
  return Status::Ok();
}

// The last value of `name` in the walked settings, if any.
std::optional<std::string> last_value(const std::vector<ConfRef>& refs, const std::string& name) {
  std::optional<std::string> v;
  for (const auto& r : refs)
    if (r.s.name == name) v = r.s.value;
  return v;
}

}  // namespace

Result<ConfigBundle> collect_bundle(const ClusterId& id, const std::string& conf_root, const std::string& wrapper) {
  ConfigBundle b;
  b.cluster = id;
  b.conf_dir = conf_root + "/" + std::to_string(id.major) + "/" + id.name;
  auto dir = DirFd::open(b.conf_dir);
  if (!dir) {
    if (dir.status().code() == Errc::not_found)
      return Status(Errc::not_found, "there is no Debian cluster " + id.str() + " (no " + b.conf_dir + "); see pg_lsclusters");
    return dir.status();
  }
  auto names = dir->names();
  if (!names) return names.status();
  std::size_t total = 0;
  for (const auto& name : *names) {
    if (name.ends_with(".pgmigrate-tmp")) continue;
    auto st = dir->stat(name);
    if (!st) return st.status();
    if (st->has_value() && S_ISDIR((*st)->st_mode)) {
      auto sub = dir->open_dir(name);
      if (!sub) return sub.status();
      auto inner = sub->names();
      if (!inner) return inner.status();
      for (const auto& leaf : *inner) {
        const std::string rel = join_path(name, leaf);
        auto lst = sub->stat(leaf);
        if (!lst) return lst.status();
        if (lst->has_value() && S_ISDIR((*lst)->st_mode)) {
          b.notes.push_back(rel + " is a directory two levels down: left out");
          continue;
        }
        PGM_RETURN_IF_ERROR(add_file(b, *sub, rel, leaf, total, wrapper));
      }
      continue;
    }
    PGM_RETURN_IF_ERROR(add_file(b, *dir, name, name, total, wrapper));
  }
  if (std::none_of(b.files.begin(), b.files.end(), [](const BundleFile& f) { return f.path == "postgresql.conf"; }))
    return Status(Errc::not_found,
                  "there is no Debian cluster " + id.str() + " (no " + b.conf_dir + "/postgresql.conf); see pg_lsclusters");
  IncludeWalk w{b, {}, {}};
  w.walk("postgresql.conf", 0);
  b.data_directory = last_value(w.refs, "data_directory").value_or("");
  b.port = std::atoi(last_value(w.refs, "port").value_or("5432").c_str());
  if (b.data_directory.empty())
    return Status(Errc::invalid_argument, b.conf_dir + "/postgresql.conf sets no data_directory: not a postgresql-common cluster");
  for (auto& issue : w.issues) b.notes.push_back(std::move(issue));
  return b;
}

std::string bundle_to_json(const ConfigBundle& b) {
  nlohmann::json j;
  j["format"] = kBundleFormat;
  j["format_version"] = kBundleVersion;
  j["major"] = b.cluster.major;
  j["cluster"] = b.cluster.name;
  j["conf_dir"] = b.conf_dir;
  j["data_directory"] = b.data_directory;
  j["port"] = b.port;
  j["files"] = nlohmann::json::array();
  for (const auto& f : b.files) j["files"].push_back({{"path", f.path}, {"mode", f.mode}, {"content", f.content}});
  j["notes"] = b.notes;
  // Contents were checked to be UTF-8 when collected; anything else is replaced, never thrown.
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<ConfigBundle> bundle_from_json(const std::string& text) {
  const std::string bad = "not a config bundle from `pgmigrate pg cluster export`";
  if (text.size() > 2 * kMaxBundleBytes) return Status(Errc::invalid_argument, "the file is too large: " + bad);
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != kBundleFormat) return Status(Errc::invalid_argument, bad);
  if (j.value("format_version", 0) != kBundleVersion)
    return Status(Errc::unsupported, "config bundle format version " + j.value("format_version", nlohmann::json(0)).dump() + " is not " +
                                         std::to_string(kBundleVersion) + ": export it with this pgmigrate version");
  ConfigBundle b;
  try {
    b.cluster.major = j.at("major").get<int>();
    b.cluster.name = j.at("cluster").get<std::string>();
    b.conf_dir = j.at("conf_dir").get<std::string>();
    b.data_directory = j.at("data_directory").get<std::string>();
    b.port = j.at("port").get<int>();
    std::size_t total = 0;
    for (const auto& f : j.at("files")) {
      BundleFile bf{f.at("path").get<std::string>(), static_cast<mode_t>(f.at("mode").get<unsigned>() & 0777),
                    f.at("content").get<std::string>()};
      auto norm = normalize_relative(bf.path);
      if (bf.path.empty() || bf.path[0] == '/' || !norm || *norm != bf.path || std::count(bf.path.begin(), bf.path.end(), '/') > 1 ||
          bf.path.find('\0') != std::string::npos)
        return Status(Errc::invalid_argument, "config bundle file path '" + printable(bf.path) + "' leaves its directory: " + bad);
      total += bf.content.size();
      b.files.push_back(std::move(bf));
    }
    if (b.files.size() > kMaxBundleFiles || total > kMaxBundleBytes)
      return Status(Errc::invalid_argument, "the config bundle exceeds pgmigrate's bounds: " + bad);
    if (j.contains("notes")) b.notes = j.at("notes").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
    return Status(Errc::invalid_argument, "malformed config bundle: " + bad);
  }
  if (!valid_name(b.cluster.name) || b.cluster.major < 10 || b.conf_dir.empty() || b.conf_dir[0] != '/' || b.data_directory.empty() ||
      b.port < 1 || b.port > 65535)
    return Status(Errc::invalid_argument, "malformed config bundle header: " + bad);
  if (std::none_of(b.files.begin(), b.files.end(), [](const BundleFile& f) { return f.path == "postgresql.conf"; }))
    return Status(Errc::invalid_argument, "the config bundle holds no postgresql.conf: " + bad);
  return b;
}

// ---- rendering -----------------------------------------------------------------------------

bool path_exists_here(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

namespace {

// The bundle, the target cluster and the data directory must all be one major version.
Status check_render_versions(const ConfigBundle& bundle, const TargetCluster& target, int data_major) {
  if (bundle.cluster.major != data_major)
    return Status(Errc::invalid_argument, "the config bundle is from Postgres " + std::to_string(bundle.cluster.major) + " (cluster " +
                                              bundle.cluster.str() + ") but " + target.pgdata + " holds Postgres " +
                                              std::to_string(data_major) + ": export the bundle of the cluster this data came from");
  if (target.id.major != data_major)
    return Status(Errc::invalid_argument, "--debian-cluster " + target.id.str() + " names version " + std::to_string(target.id.major) +
                                              " but " + target.pgdata + " holds Postgres " + std::to_string(data_major) + ": use " +
                                              std::to_string(data_major) + "/" + target.id.name);
  return Status::Ok();
}

// The settings the target must have that postgresql.conf did not set (data_directory, port),
// appended to it; then every file of the bundle, rewritten where its lines were.
void finish_rendering(RenderedConfig& out, const ConfigBundle& bundle, const TargetCluster& target,
                      std::map<std::string, std::vector<std::string>>& lines, bool has_data_dir, bool has_port) {
  auto& main_conf = lines["postgresql.conf"];
  if (!has_data_dir) {
    main_conf.push_back("data_directory = " + quote_conf_value(target.pgdata) + "\t# set by pgmigrate");
    out.changes.push_back("postgresql.conf: data_directory = " + quoted(target.pgdata) + " (added)");
  }
  if (!has_port) {
    main_conf.push_back("port = " + std::to_string(out.port) + "\t# set by pgmigrate");
    out.changes.push_back("postgresql.conf: port = " + std::to_string(out.port) + " (added)");
  }
  for (const auto& f : bundle.files) {
    auto it = lines.find(f.path);
    out.files.push_back({f.path, f.mode, it == lines.end() ? f.content : join_lines(it->second)});
  }
}

}  // namespace

Result<RenderedConfig> render_cluster_config(const ConfigBundle& bundle, const TargetCluster& target, int data_major,
                                             const PathExists& exists) {
  PGM_RETURN_IF_ERROR(check_render_versions(bundle, target, data_major));
  RenderedConfig out;
  out.conf_dir = target.conf_root + "/" + std::to_string(target.id.major) + "/" + target.id.name;
  out.port = target.port.value_or(bundle.port);
  const std::string src_tag = std::to_string(bundle.cluster.major) + "-" + bundle.cluster.name;
  const std::string dst_tag = std::to_string(target.id.major) + "-" + target.id.name;

  IncludeWalk w{bundle, {}, {}};
  w.walk("postgresql.conf", 0);
  out.warnings = w.issues;

  std::map<std::string, std::vector<std::string>> lines;  // the conf-syntax files, by bundle path
  for (const auto& r : w.refs)
    if (!lines.count(r.file)) lines[r.file] = split_lines(w.find(r.file)->content);

  auto map_path = [&](const std::string& p, bool retag) {
    std::string m = p;
    if (under(p, bundle.conf_dir)) m = out.conf_dir + p.substr(bundle.conf_dir.size());
    else if (under(p, bundle.data_directory)) m = target.pgdata + p.substr(bundle.data_directory.size());
    if (retag) {
      auto slash = m.rfind('/');
      auto at = m.find(src_tag, slash == std::string::npos ? 0 : slash);
      if (at != std::string::npos) m.replace(at, src_tag.size(), dst_tag);
    }
    return m;
  };
  auto where = [](const ConfRef& r) { return r.file + ":" + std::to_string(r.s.line + 1) + " " + r.s.name; };
  auto set_line = [&](const ConfRef& r, const std::string& value) {
    if (value == r.s.value) return;
    lines[r.file][r.s.line] = r.s.name + " = " + quote_conf_value(value) + "\t# set by pgmigrate; was " + quote_conf_value(r.s.value);
    out.changes.push_back(where(r) + ": " + quoted(r.s.value) + " -> " + quoted(value));
  };
  auto check_here = [&](const ConfRef& r, const std::string& p, PathUse use) {
    if (p.empty() || p[0] != '/') return;  // relative to the data directory: it moved along
    if (under(p, out.conf_dir)) {
      // Ours once written: present if the bundle holds it.
      const std::string rel = p.size() > out.conf_dir.size() ? p.substr(out.conf_dir.size() + 1) : "";
      if (rel.empty() || w.find(rel) != nullptr) return;
    }
    const std::string probe = use == PathUse::created ? dirname_of(p) : p;
    if (!probe.empty() && !exists(probe))
      out.warnings.push_back(where(r) + " = " + quoted(p) + ": " + (use == PathUse::created ? "its directory " + quoted(probe) : "it") +
                             " does not exist on this host (the source's path): create it or change the setting");
  };

  bool has_data_dir = false, has_port = false;
  for (const auto& r : w.refs) {
    const std::string& n = r.s.name;
    if (n == "data_directory") {
      has_data_dir = true;
      set_line(r, target.pgdata);
    } else if (n == "port") {
      has_port = true;
      set_line(r, std::to_string(out.port));
    } else if (n == "cluster_name") {
      if (r.s.value == bundle.cluster.str()) set_line(r, target.id.str());
    } else if (n == "include" || n == "include_if_exists" || n == "include_dir") {
      if (w.resolve(r.file, r.s.value)) {
        if (r.s.value[0] == '/') set_line(r, map_path(r.s.value, false));
      } else if (const std::string here = r.s.value[0] == '/' ? r.s.value : out.conf_dir + "/" + join_path(dirname_of(r.file), r.s.value);
                 !exists(here)) {
        out.warnings.push_back(where(r) + " " + quoted(r.s.value) +
                               " lies outside the configuration directory and does not exist on this host: " +
                               (n == "include_if_exists" ? "it will be skipped; copy it here if it matters"
                                                         : "the server will not start until it is copied here"));
      }
    } else if (auto use = path_setting(n)) {
      if (*use == PathUse::command) {
        for (const auto* src : {&bundle.data_directory, &bundle.conf_dir})
          if (r.s.value.find(*src) != std::string::npos)
            out.warnings.push_back(where(r) + " mentions the source's " + quoted(*src) + ": check the command on this host");
        continue;
      }
      std::string mapped;
      std::istringstream in(r.s.value);
      for (std::string item; std::getline(in, item, ',');) {
        item = trim(item);
        const std::string m = map_path(item, *use == PathUse::created);
        check_here(r, m, *use);
        mapped += (mapped.empty() ? "" : ",") + m;
      }
      if (n != "unix_socket_directories" || mapped != r.s.value) set_line(r, mapped);
    }
  }
  finish_rendering(out, bundle, target, lines, has_data_dir, has_port);
  return out;
}

// ---- writing -------------------------------------------------------------------------------

Result<std::optional<std::string>> existing_cluster_data_dir(const ClusterId& id, const std::string& conf_root) {
  const std::string dir = conf_root + "/" + std::to_string(id.major) + "/" + id.name;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status(Errc::io, "cannot stat " + dir + ": " + errno_text(errno));
  }
  ConfigBundle b;
  b.cluster = id;
  b.conf_dir = dir;
  auto d = DirFd::open(dir);
  if (!d) return d.status();
  auto text = d->read_file("postgresql.conf", kMaxBundleBytes);
  if (!text) {
    if (text.status().code() == Errc::not_found) return std::optional<std::string>(std::string());
    return text.status();
  }
  // conf.d may override data_directory: walk what the directory holds, one level down.
  b.files.push_back({"postgresql.conf", 0644, std::move(*text)});
  if (auto sub = d->open_dir("conf.d")) {
    if (auto names = sub->names()) {
      for (const auto& n : *names)
        if (auto t = sub->read_file(n, kMaxBundleBytes)) b.files.push_back({"conf.d/" + n, 0644, std::move(*t)});
    }
  }
  IncludeWalk w{b, {}, {}};
  w.walk("postgresql.conf", 0);
  return std::optional<std::string>(last_value(w.refs, "data_directory").value_or(""));
}

}  // namespace pgm::pg
