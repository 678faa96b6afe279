#include "zfs/zfs.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "common/elevation.h"
#include "common/process.h"

namespace pgm::zfs {
namespace {

constexpr std::size_t kMaxNameLength = 255;

bool valid_component(std::string_view c) {
  if (c.empty() || c == "." || c == "..") return false;
  for (char ch : c) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
                    ch == '.' || ch == ':';
    if (!ok) return false;
  }
  // A leading '-' would read as an option to zfs.
  return c.front() != '-';
}

// The user and host a refusal names: messages travel back from a far host.
std::string user_at_host() { return effective_user_name() + " on " + this_host_name(); }

}  // namespace

bool is_refusal(const std::string& output) {
  return output.find("ermission denied") != std::string::npos || output.find("not permitted") != std::string::npos ||
         output.find("failed to initialize ZFS library") != std::string::npos;
}

Status refusal_or_failure(const std::string& what, const std::string& output) {
  std::string first = output.substr(0, output.find('\n'));
  if (is_refusal(output))
    return Status(Errc::auth,
                  "'" + what + "' was refused to " + user_at_host() + " (" + first +
                      "): run pgmigrate as root or through sudo (the default when it or the SSH login is not root: drop --no-sudo), or "
                      "delegate the "
                      "ZFS permissions with `zfs allow` (docs/usage.md)");
  return Status(Errc::unsupported, "'" + what + "' did not print its usage" + (first.empty() ? "" : ": " + first));
}

Status validate_dataset(std::string_view name) {
  if (name.empty()) return Status(Errc::invalid_argument, "empty dataset name");
  if (name.size() > kMaxNameLength) return Status(Errc::invalid_argument, "dataset name is longer than 255 bytes");
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = name.find('/', start);
    std::string_view comp = name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!valid_component(comp))
      return Status(Errc::invalid_argument, "invalid dataset name '" + std::string(name) +
                                                "' (use letters, digits, '_', '-', '.', ':' in '/'-separated parts, like tank/pgdata)");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

Result<Snapshot> split_snapshot(std::string_view full) {
  std::size_t at = full.find('@');
  if (at == std::string_view::npos)
    return Status(Errc::invalid_argument, "'" + std::string(full) + "' is not a snapshot name (expected POOL/FS@SNAP)");
  Snapshot s{std::string(full.substr(0, at)), std::string(full.substr(at + 1))};
  PGM_RETURN_IF_ERROR(validate_dataset(s.dataset));
  if (!valid_component(s.name) || s.name.find('@') != std::string::npos || full.size() > kMaxNameLength)
    return Status(Errc::invalid_argument, "invalid snapshot name '" + std::string(full) + "' (expected POOL/FS@SNAP)");
  return s;
}

Status validate_snapshot(std::string_view name) { return split_snapshot(name).status(); }

bool is_bookmark(std::string_view name) { return name.find('#') != std::string_view::npos; }

Result<std::string> resolve_incremental_base(std::string_view base, std::string_view snapshot) {
  auto snap = split_snapshot(snapshot);
  if (!snap) return snap.status();
  std::string full = base.starts_with("@") || base.starts_with("#") ? snap->dataset + std::string(base) : std::string(base);
  if (!is_bookmark(full)) {
    auto b = split_snapshot(full);
    if (!b) return b.status();
    return full;
  }
  // A bookmark: the same checks as a snapshot, with '#' for '@' (and no '@' at all).
  const auto hash = full.find('#');
  std::string as_snapshot = full;
  as_snapshot[hash] = '@';
  if (full.find('@') != std::string::npos || full.find('#', hash + 1) != std::string::npos || !split_snapshot(as_snapshot).ok())
    return Status(Errc::invalid_argument, "invalid bookmark name '" + full + "' (expected POOL/FS#BOOKMARK or #BOOKMARK)");
  return full;
}

std::string Capabilities::describe() const {
  std::string s;
  auto add = [&](bool on, const char* what) {
    if (!s.empty()) s += ", ";
    s += std::string(what) + (on ? " yes" : " no");
  };
  add(send_dry_run_parsable, "send -nP");
  add(send_resume_token, "send -t");
  add(recv_resumable, "recv -s");
  add(send_raw, "send -w");
  add(send_compressed, "send -c");
  add(send_large_blocks, "send -L");
  add(send_embedded, "send -e");
  add(send_from_bookmark, "send -i #bookmark");
  add(recv_no_mount, "recv -u");
  add(recv_set_props, "recv -o");
  add(recv_exclude_props, "recv -x");
  return s;
}

bool usage_has_flag(const std::string& usage, std::string_view verb, char flag) {
  // Usage lines look like "send [-DLPbcehnpsvw] [-i|-I snapshot] ..."; collect each line
  // that starts with the verb and look for the flag letter inside a "[-...]" group or as "-x".
  if (verb.empty()) return false;  // would match everywhere, without moving on
  std::size_t pos = 0;
  while ((pos = usage.find(verb, pos)) != std::string::npos) {
    std::size_t end = usage.find('\n', pos);
    std::string line = usage.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    for (std::size_t i = 0; i + 1 < line.size(); ++i) {
      if (line[i] != '-') continue;
      std::size_t j = i + 1;
      while (j < line.size() && std::isalpha(static_cast<unsigned char>(line[j]))) {
        if (line[j] == flag) return true;
        ++j;
      }
    }
    pos = end == std::string::npos ? usage.size() : end;
  }
  return false;
}

Capabilities parse_capabilities(const std::string& s, const std::string& r) {
  Capabilities c;
  c.send_dry_run_parsable = usage_has_flag(s, "send", 'n') && usage_has_flag(s, "send", 'P');
  c.send_resume_token = usage_has_flag(s, "send", 't');
  c.send_raw = usage_has_flag(s, "send", 'w');
  c.send_compressed = usage_has_flag(s, "send", 'c');
  c.send_large_blocks = usage_has_flag(s, "send", 'L');
  c.send_embedded = usage_has_flag(s, "send", 'e');
  // OpenZFS's usage has a line "send [-DnVvPLecw] [-i snapshot|bookmark] ..."; zfs-fuse's none.
  c.send_from_bookmark = s.find("bookmark") != std::string::npos;
  c.send_props = usage_has_flag(s, "send", 'p');
  c.send_replicate = usage_has_flag(s, "send", 'R');
  c.recv_resumable = usage_has_flag(r, "receive", 's') || usage_has_flag(r, "recv", 's');
  c.recv_no_mount = usage_has_flag(r, "receive", 'u') || usage_has_flag(r, "recv", 'u');
  c.recv_set_props = usage_has_flag(r, "receive", 'o') || usage_has_flag(r, "recv", 'o');
  c.recv_exclude_props = usage_has_flag(r, "receive", 'x') || usage_has_flag(r, "recv", 'x');
  return c;
}

std::vector<std::string> parse_snapshot_list(const std::string& out, const std::string& dataset) {
  std::vector<std::string> names;
  const std::string prefix = dataset + "@";
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    std::string name = out.substr(pos, end - pos);
    if (name.rfind(prefix, 0) == 0) names.push_back(name);  // -r lists the children's too
    pos = end + 1;
  }
  return names;
}

std::vector<std::string> parse_filesystem_tree(const std::string& out, const std::string& dataset) {
  std::vector<std::string> names;
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    std::string name = out.substr(pos, end - pos);
    if (name == dataset || name.rfind(dataset + "/", 0) == 0) names.push_back(std::move(name));
    pos = end + 1;
  }
  return names;
}

std::string parse_get_value(const std::string& out) {
  std::string v = out;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

Result<std::uint64_t> parse_u64_value(const std::string& value, std::string_view what, const std::string& name) {
  char* end = nullptr;
  unsigned long long g = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || end == nullptr || *end != '\0')
    return Status(Errc::protocol, "unexpected " + std::string(what) + " '" + value + "' for " + name);
  return static_cast<std::uint64_t>(g);
}

std::string parse_resume_token(const std::string& out) {
  std::string token = out;
  while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
  return token == "-" ? std::string() : token;
}

Result<TokenInfo> parse_token_description(const std::string& text) {
  TokenInfo info;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    std::size_t eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    key.erase(0, key.find_first_not_of(" \t"));
    std::string value = line.substr(eq + 3);
    if (key == "toname") info.toname = value;
    if (key == "toguid") info.toguid = std::strtoull(value.c_str(), nullptr, 0);
  }
  if (info.toname.empty()) return Status(Errc::protocol, "'zfs send -nvt' did not say what the resume token resumes");
  return info;
}

std::optional<std::uint64_t> parse_send_size(const std::string& out) {
  std::size_t pos = out.rfind("size");
  if (pos == std::string::npos) return std::nullopt;
  return static_cast<std::uint64_t>(std::strtoull(out.c_str() + pos + 4, nullptr, 10));
}

Zfs::Zfs(std::string zfs_bin) : bin_(std::move(zfs_bin)) {}

Zfs Zfs::with_wrapper(std::string wrapper, std::string zfs_bin) {
  Zfs zfs(std::move(zfs_bin));
  zfs.wrapper_ = std::move(wrapper);
  return zfs;
}

std::vector<std::string> Zfs::argv(std::vector<std::string> args) const {
  args.insert(args.begin(), bin_);
  return elevated_argv(wrapper_, std::move(args));
}

Result<CommandOutput> Zfs::run(const std::vector<std::string>& args) const {
  auto out = run_command(argv(args));
  if (!out || out->success() || wrapper_.empty() || !is_wrapper_refusal(wrapper_, out->err)) return out;
  // The wrapper said no (sudo wants a password, sudoers does not list this): zfs never ran, and
  // its usage or its "does not exist" must not be looked for in sudo's words.
  const std::string said = out->err.substr(out->err.rfind('\n') == std::string::npos ? 0 : out->err.rfind('\n') + 1);
  return elevation_refused(this_host_name(), wrapper_, "'" + bin_ + (args.empty() ? "" : " " + args.front()) + "'", effective_user_name(),
                           said);
}

std::string Zfs::default_binary() {
  const char* env = std::getenv("PGMIGRATE_ZFS");  // NOLINT(concurrency-mt-unsafe): read once at start-up
  if (env && *env) return env;
  // A normal user's PATH (a non-root login with --no-sudo) often lacks the sbin directories
  // where Debian and Ubuntu install zfs: look there before giving up on it.
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): as above
  std::string_view dirs = path ? path : "";
  while (!dirs.empty()) {
    const std::string dir(dirs.substr(0, dirs.find(':')));
    if (!dir.empty() && ::access((dir + "/zfs").c_str(), X_OK) == 0) return "zfs";
    dirs.remove_prefix(std::min(dirs.size(), dir.size() + 1));
  }
  for (const char* sbin : {"/usr/sbin/zfs", "/sbin/zfs", "/usr/local/sbin/zfs"})
    if (::access(sbin, X_OK) == 0) return sbin;
  return "zfs";
}

Result<Capabilities> Zfs::capabilities() const {
  // `zfs send` and `zfs receive` without arguments print their usage and exit 2.
  auto send = run({"send"});
  if (!send) return send.status().code() == Errc::auth ? send.status() : send.status().context("running '" + bin_ + "'");
  auto recv = run({"receive"});
  if (!recv) return recv.status();
  const std::string s = send->out + send->err;
  const std::string r = recv->out + recv->err;
  if (s.find("send") == std::string::npos) return refusal_or_failure(bin_ + " send", s);
  return parse_capabilities(s, r);
}

Result<bool> Zfs::exists(const std::string& name) const {
  auto out = run({"list", "-H", "-o", "name", "-t", "all", name});
  if (!out) return out.status();
  if (out->success()) return true;
  if (out->err.find("does not exist") != std::string::npos) return false;
  if (is_refusal(out->err)) return refusal_or_failure("zfs list " + name, out->err);
  return Status(Errc::child_failed, "'zfs list " + name + "' failed: " + out->err);
}

Result<std::string> Zfs::get(const std::string& property, const std::string& name) const {
  auto out = run({"get", "-Hp", "-o", "value", property, name});
  if (!out) return out.status();
  if (!out->success()) {
    if (out->err.find("does not exist") != std::string::npos) return Status(Errc::not_found, "'" + name + "' does not exist");
    if (is_refusal(out->err)) return refusal_or_failure("zfs get " + property + " " + name, out->err);
    return Status(Errc::child_failed, "'zfs get " + property + " " + name + "' failed: " + out->err);
  }
  return parse_get_value(out->out);
}

Result<std::uint64_t> Zfs::guid(const std::string& name) const {
  auto v = get("guid", name);
  if (!v) return v.status();
  return parse_u64_value(*v, "guid", name);
}

Result<std::uint64_t> Zfs::referenced(const std::string& name) const {
  auto v = get("referenced", name);
  if (!v) return v.status();
  return parse_u64_value(*v, "size", name);
}

namespace {

// A compression ratio as zfs prints it: "1.52x", or "1.52" with -p on OpenZFS.
std::optional<double> parse_ratio(const std::string& text) {
  if (text.empty() || text == "-") return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || (*end != '\0' && std::string_view(end) != "x") || !(v >= 1.0) || v > 1000.0) return std::nullopt;
  return v;
}

std::string ratio_text(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}

}  // namespace

LogicalSize logical_size(std::uint64_t referenced, const std::string& logicalreferenced, const std::string& refcompressratio,
                         const std::string& compressratio) {
  if (!logicalreferenced.empty() && logicalreferenced != "-") {
    auto v = parse_u64_value(logicalreferenced, "size", "logicalreferenced");
    if (v) return {*v, "logicalreferenced"};
  }
  for (const auto& [name, text] : {std::pair<const char*, const std::string&>{"refcompressratio", refcompressratio},
                                   std::pair<const char*, const std::string&>{"compressratio", compressratio}}) {
    if (auto r = parse_ratio(text))
      return {static_cast<std::uint64_t>(static_cast<double>(referenced) * *r), std::string("referenced x ") + name + " " + ratio_text(*r)};
  }
  return {referenced, "referenced; this ZFS reports no compression ratio, so 1.00 is assumed"};
}

Result<LogicalSize> Zfs::logical_referenced(const std::string& name, std::uint64_t referenced) const {
  // A property this ZFS does not know fails `zfs get`: that is "absent", not an error.
  std::string values[3];
  const char* props[3] = {"logicalreferenced", "refcompressratio", "compressratio"};
  for (int i = 0; i < 3; ++i) {
    auto v = get(props[i], name);
    if (v) values[i] = *v;
    else if (v.status().code() == Errc::not_found) return v.status();
  }
  return logical_size(referenced, values[0], values[1], values[2]);
}

Result<std::uint64_t> Zfs::estimate_send_size(const std::vector<std::string>& args) const {
  // args is what send_args() returned: {"send", flags..., snapshot}.
  std::vector<std::string> dry_run{"send", "-nP"};
  dry_run.insert(dry_run.end(), args.begin() + 1, args.end());
  auto out = run(dry_run);
  if (!out) return out.status();
  if (!out->success()) return Status(Errc::child_failed, "size estimate failed: " + out->err);
  // OpenZFS prints "size\t<bytes>" as the last line.
  auto size = parse_send_size(out->out);
  if (!size) return Status(Errc::protocol, "no size in 'zfs send -nP' output");
  return *size;
}

Result<std::vector<std::string>> send_args(const std::string& snapshot, const SendFlags& flags, const Capabilities& caps) {
  PGM_RETURN_IF_ERROR(validate_snapshot(snapshot));
  std::vector<std::string> args{"send"};
  if (flags.replicate) {
    if (!caps.send_replicate) return Status(Errc::unsupported, "this zfs cannot 'send -R'");
    args.emplace_back("-R");
  }
  if (flags.props) {
    if (!caps.send_props) return Status(Errc::unsupported, "this zfs cannot 'send -p'");
    args.emplace_back("-p");
  }
  // OpenZFS only: zfs-fuse has none of these, and a stream made without them is still whole.
  struct PassThrough {
    bool wanted;
    bool have;
    const char* flag;
    const char* what;  // our flag, to name in the refusal
  };
  const PassThrough passed[] = {{flags.raw, caps.send_raw, "-w", "--raw"},
                                {flags.compressed, caps.send_compressed, "-c", "--compressed"},
                                {flags.large_blocks, caps.send_large_blocks, "-L", "--large-block"},
                                {flags.embedded, caps.send_embedded, "-e", "--embed"}};
  for (const auto& p : passed) {
    if (!p.wanted) continue;
    if (!p.have)
      return Status(Errc::unsupported, std::string("this zfs cannot 'send ") + p.flag + "' (its usage does not offer it): drop " + p.what);
    args.emplace_back(p.flag);
  }
  if (flags.incremental && flags.intermediate) return Status(Errc::invalid_argument, "-i and -I cannot be used together");
  for (const auto& [base, flag] : {std::pair{flags.incremental, "-i"}, std::pair{flags.intermediate, "-I"}}) {
    if (!base) continue;
    auto full = resolve_incremental_base(*base, snapshot);
    if (!full) return full.status();
    if (is_bookmark(*full)) {
      if (flags.intermediate)
        return Status(Errc::invalid_argument, "-I takes a snapshot, not the bookmark '" + *full + "': use -i " + *full);
      if (!caps.send_from_bookmark)
        return Status(Errc::unsupported,
                      "this zfs cannot send from a bookmark (its usage does not offer it): use a snapshot as the -i base");
    }
    args.emplace_back(flag);
    args.push_back(*full);
  }
  args.push_back(snapshot);
  return args;
}

Result<std::vector<std::string>> recv_args(const std::string& target, const RecvFlags& flags, const Capabilities& caps) {
  PGM_RETURN_IF_ERROR(validate_dataset(target));
  std::vector<std::string> args{"receive"};
  if (flags.force) args.emplace_back("-F");
  if (flags.resumable) {
    if (!caps.recv_resumable) return Status(Errc::unsupported, "this zfs cannot 'receive -s' (resumable receive)");
    args.emplace_back("-s");
  }
  if (flags.no_mount) {
    if (!caps.recv_no_mount) return Status(Errc::unsupported, "this zfs cannot 'receive -u' (its usage does not offer it): drop -u");
    args.emplace_back("-u");
  }
  if (!flags.set_props.empty() && !caps.recv_set_props)
    return Status(Errc::unsupported, "this zfs cannot 'receive -o' (its usage does not offer it): drop --recv-set");
  for (const auto& [name, value] : flags.set_props) {
    PGM_RETURN_IF_ERROR(validate_property_name(name));
    if (value.find_first_of("\n\r") != std::string::npos || value.empty())
      return Status(Errc::invalid_argument, "--recv-set " + name + "=: the value must be one non-empty line");
    args.emplace_back("-o");
    args.push_back(name);
    args.back() += '=';
    args.back() += value;
  }
  if (!flags.exclude_props.empty() && !caps.recv_exclude_props)
    return Status(Errc::unsupported, "this zfs cannot 'receive -x' (its usage does not offer it): drop --recv-exclude");
  for (const auto& name : flags.exclude_props) {
    PGM_RETURN_IF_ERROR(validate_property_name(name));
    args.emplace_back("-x");
    args.push_back(name);
  }
  args.push_back(target);
  return args;
}

Status validate_property_name(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 256 && name.front() != '-' &&
                  name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") == std::string_view::npos;
  if (!ok)
    return Status(Errc::invalid_argument,
                  "'" + std::string(name) + "' is not a ZFS property name (letters, digits, '_', '.', ':', '-'; e.g. mountpoint)");
  return Status::Ok();
}

namespace {
Status zfs_command(const Zfs& zfs, const std::vector<std::string>& args) {
  std::string what = "zfs " + args.front();
  auto out = zfs.run(args);
  if (!out) return out.status();
  if (!out->success()) return Status(Errc::child_failed, "'" + what + " " + args.back() + "' failed: " + out->err);
  return Status::Ok();
}
}  // namespace

Status Zfs::snapshot(const std::string& snapshot) const { return zfs_command(*this, {"snapshot", snapshot}); }

Status Zfs::snapshot_recursive(const std::string& snapshot) const { return zfs_command(*this, {"snapshot", "-r", snapshot}); }

Status Zfs::hold(const std::string& tag, const std::string& snapshot) const {
  Status s = zfs_command(*this, {"hold", tag, snapshot});
  if (!s.ok() && s.message().find("tag already exists") != std::string::npos) return Status::Ok();
  return s;
}

Status Zfs::release(const std::string& tag, const std::string& snapshot) const { return zfs_command(*this, {"release", tag, snapshot}); }

Status Zfs::destroy(const std::string& name, bool recursive) const {
  return recursive ? zfs_command(*this, {"destroy", "-r", name}) : zfs_command(*this, {"destroy", name});
}

Status Zfs::mount(const std::string& dataset) const { return zfs_command(*this, {"mount", dataset}); }

Status Zfs::unmount(const std::string& dataset) const { return zfs_command(*this, {"unmount", dataset}); }

Result<std::vector<std::string>> Zfs::filesystems(const std::string& dataset) const {
  auto out = run({"list", "-H", "-o", "name", "-t", "filesystem", "-r", dataset});
  if (!out) return out.status();
  if (!out->success()) return Status(Errc::child_failed, "'zfs list -r " + dataset + "' failed: " + out->err);
  return parse_filesystem_tree(out->out, dataset);
}

Result<std::vector<std::string>> Zfs::snapshots(const std::string& dataset) const {
  auto out = run({"list", "-H", "-o", "name", "-t", "snapshot", "-r", dataset});
  if (!out) return out.status();
  if (!out->success()) return Status(Errc::child_failed, "'zfs list -t snapshot " + dataset + "' failed: " + out->err);
  return parse_snapshot_list(out->out, dataset);
}

Result<bool> Zfs::abort_resumable_receive(const std::string& dataset) const {
  if (resume_token(dataset).empty()) return false;
  PGM_RETURN_IF_ERROR(zfs_command(*this, {"receive", "-A", dataset}));
  return true;
}

std::string Zfs::resume_token(const std::string& dataset) const {
  if (!validate_dataset(dataset).ok()) return {};
  auto out = run({"get", "-H", "-o", "value", "receive_resume_token", dataset});
  if (!out || !out->success()) return {};  // no dataset, or a ZFS without the property
  return parse_resume_token(out->out);
}

Result<Zfs::TokenInfo> Zfs::describe_token(const std::string& token) const {
  auto out = run({"send", "-nvt", token});
  if (!out) return out.status();
  if (!out->success()) return Status(Errc::invalid_argument, "cannot read the resume token: " + out->err);
  // Lines look like "\ttoname = pool/fs@snap" and "\ttoguid = 0x1234".
  return parse_token_description(out->out + "\n" + out->err);
}

}  // namespace pgm::zfs
