// ZFS as seen through its command line: name validation, capability detection (zfs-fuse's
// old command set vs OpenZFS), properties, and the argv for send and receive.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/process.h"
#include "pgmigrate/status.h"

namespace pgm::zfs {

// Rejects anything that is not a plain ZFS name, so nothing a user types can reach a shell
// or a remote command line as anything but one word: allowed are [A-Za-z0-9_.:-] in
// '/'-separated components, at most 255 bytes, no empty, '.' or '..' component.
Status validate_dataset(std::string_view name);
// POOL/FS@SNAP with a valid dataset and snapshot part.
Status validate_snapshot(std::string_view name);
// An -i/-I argument: "@snap" or "pool/fs@snap", or a bookmark "#bm" or "pool/fs#bm" (OpenZFS
// sends from a bookmark with -i only: it keeps the snapshot's guid, not its data, so the base
// snapshot may be destroyed once bookmarked). The short forms take the dataset of `snapshot`.
Result<std::string> resolve_incremental_base(std::string_view base, std::string_view snapshot);
// Whether a (resolved) incremental base names a bookmark.
bool is_bookmark(std::string_view name);

struct Snapshot {
  std::string dataset;  // pool/fs
  std::string name;     // snap (without '@')
  std::string full() const { return dataset + "@" + name; }
};
Result<Snapshot> split_snapshot(std::string_view full);

// What the local `zfs` can do, read from its usage text rather than assumed.
struct Capabilities {
  bool send_dry_run_parsable = false;  // send -nP (size estimate)
  bool send_resume_token = false;      // send -t
  bool send_raw = false;               // send -w
  bool send_compressed = false;        // send -c
  bool send_large_blocks = false;      // send -L
  bool send_embedded = false;          // send -e
  bool send_from_bookmark = false;     // send -i pool/fs#bookmark
  bool send_props = true;              // send -p
  bool send_replicate = true;          // send -R
  bool recv_resumable = false;         // recv -s
  bool recv_no_mount = false;          // recv -u
  bool recv_set_props = false;         // recv -o prop=value
  bool recv_exclude_props = false;     // recv -x prop
  std::string describe() const;
};

// What a resume token resumes (`zfs send -nvt TOKEN`).
struct TokenInfo {
  std::string toname;  // pool/fs@snap being received
  std::uint64_t toguid = 0;
};

// The parsers of `zfs` output, apart from the commands that produce it so that they can be
// tested and fuzzed on bytes (tests/zfs/parse_test.cc, tests/fuzz/fuzz_zfs.cc). None runs
// anything.
//
// Whether the rest of a line of `usage` from an occurrence of `verb` offers `flag`, as a
// letter of a "-xyz" group (e.g. "\tsend [-DLPbcehnpsvw] [-i|-I snapshot] <snapshot>").
bool usage_has_flag(const std::string& usage, std::string_view verb, char flag);
// Capabilities from the usage that `zfs send` and `zfs receive` print without arguments
// (stdout and stderr together). Zfs::capabilities() fails first if `send_usage` does not
// mention "send" at all.
Capabilities parse_capabilities(const std::string& send_usage, const std::string& recv_usage);
// `zfs list -H -o name -t snapshot -r DATASET` output: the snapshots of `dataset` itself
// (every returned name starts with DATASET@), in the order listed; the children's are left out.
std::vector<std::string> parse_snapshot_list(const std::string& out, const std::string& dataset);
// `zfs list -H -o name -t filesystem -r DATASET` output: DATASET and its descendants (names
// equal to DATASET or below DATASET/), in the order listed (zfs sorts by name: parents first).
std::vector<std::string> parse_filesystem_tree(const std::string& out, const std::string& dataset);
// `zfs get -Hp -o value` output: the value without its trailing newlines.
std::string parse_get_value(const std::string& out);
// A numeric property value (guid, referenced): decimal, as strtoull reads it, nothing after
// it. Fails with Errc::protocol, "unexpected WHAT 'VALUE' for NAME".
Result<std::uint64_t> parse_u64_value(const std::string& value, std::string_view what, const std::string& name);
// `zfs get -H -o value receive_resume_token` output: the token, empty for "-".
std::string parse_resume_token(const std::string& out);
// `zfs send -nvt TOKEN` output (stdout, "\n", stderr): lines "\ttoname = pool/fs@snap" and
// "\ttoguid = 0x1234". Fails with Errc::protocol when it names no snapshot.
Result<TokenInfo> parse_token_description(const std::string& text);
// `zfs send -nP` output: the number after the last "size" (OpenZFS ends with "size\t<bytes>");
// nullopt when there is none.
std::optional<std::uint64_t> parse_send_size(const std::string& out);

// What a full stream of a dataset carries: its data before ZFS compression. A stream is
// logical, and the target may not compress, so time and space are estimated from this, not
// from `referenced` (the size after compression).
struct LogicalSize {
  std::uint64_t bytes = 0;
  std::string basis;  // how it was found, for the plan: "logicalreferenced", "referenced x compressratio 1.52", ...
};
// From `referenced` and the raw `zfs get -Hp` values of logicalreferenced, refcompressratio and
// compressratio, each "" or "-" when this ZFS lacks it (zfs-fuse has only compressratio). The
// first that parses wins, in that order; with none, the ratio is taken as 1 and said so.
LogicalSize logical_size(std::uint64_t referenced, const std::string& logicalreferenced, const std::string& refcompressratio,
                         const std::string& compressratio);
// What to say when `what` (a zfs command line) printed `output` instead of what was expected:
// a refusal (the user may not use ZFS here) names the user, the host and the two ways to fix
// it; anything else quotes the first line.
Status refusal_or_failure(const std::string& what, const std::string& output);
// Whether zfs's output says the user may not do that (not that the thing failed).
bool is_refusal(const std::string& output);

class Zfs {
 public:
  // `zfs_bin` is "zfs" unless PGMIGRATE_ZFS names another (tests use it for a labelled fake).
  explicit Zfs(std::string zfs_bin = default_binary());
  static std::string default_binary();
  // Every command through the privilege `wrapper` ("sudo -n": a near pgmigrate that is not
  // root, common/elevation.h); "" runs them directly. A refusal by the wrapper is one
  // Errc::auth line naming the command, the user and the fixes.
  static Zfs with_wrapper(std::string wrapper, std::string zfs_bin = default_binary());
  // The argv that runs `zfs ARGS` here (wrapper first): for the long-running send and receive.
  std::vector<std::string> argv(std::vector<std::string> args) const;
  // Runs `zfs ARGS` to completion (run_command). Fails only when it could not run, or the
  // wrapper refused it; zfs's own failure is in the output.
  Result<CommandOutput> run(const std::vector<std::string>& args) const;

  Result<Capabilities> capabilities() const;
  Result<bool> exists(const std::string& name) const;
  // `zfs get -Hp -o value PROP NAME`.
  Result<std::string> get(const std::string& property, const std::string& name) const;
  Result<std::uint64_t> guid(const std::string& name) const;
  Result<std::uint64_t> referenced(const std::string& name) const;
  // logical_size() of `name`, asking this ZFS for the properties it has.
  Result<LogicalSize> logical_referenced(const std::string& name, std::uint64_t referenced) const;
  // Estimated stream size: `send -nP` where supported, else the snapshot's referenced size.
  Result<std::uint64_t> estimate_send_size(const std::vector<std::string>& send_args) const;
  Result<std::string> pool_of(const std::string& dataset) const { return dataset.substr(0, dataset.find('/')); }

  // The small administrative commands migrate needs. Each fails with zfs's own message.
  Status snapshot(const std::string& snapshot) const;  // zfs snapshot
  // zfs snapshot -r: the dataset and every descendant, in one atomic transaction group, so a
  // database spread over a tree of datasets (pg_wal, tablespaces) is crash-consistent.
  Status snapshot_recursive(const std::string& snapshot) const;
  Status hold(const std::string& tag, const std::string& snapshot) const;     // zfs hold (an existing tag is fine)
  Status release(const std::string& tag, const std::string& snapshot) const;  // zfs release
  Status destroy(const std::string& name, bool recursive = false) const;      // zfs destroy [-r]
  // zfs mount / zfs unmount of one filesystem.
  Status mount(const std::string& dataset) const;
  Status unmount(const std::string& dataset) const;
  // `dataset` and its descendant filesystems, parents first.
  Result<std::vector<std::string>> filesystems(const std::string& dataset) const;
  // Snapshots of `dataset` itself (not of its children), oldest first.
  Result<std::vector<std::string>> snapshots(const std::string& dataset) const;
  // Discards an interrupted resumable receive into `dataset` (zfs receive -A). True if there
  // was one.
  Result<bool> abort_resumable_receive(const std::string& dataset) const;

  // OpenZFS resumable receive (zfs receive -s) leaves `receive_resume_token` on a dataset
  // whose receive was interrupted. Empty when there is none, the dataset does not exist, or
  // this ZFS has no such property.
  std::string resume_token(const std::string& dataset) const;
  // What a token resumes (`zfs send -nvt TOKEN`).
  using TokenInfo = zfs::TokenInfo;
  Result<TokenInfo> describe_token(const std::string& token) const;

  const std::string& binary() const { return bin_; }
  const std::string& wrapper() const { return wrapper_; }

 private:
  std::string bin_;
  std::string wrapper_;
};

struct SendFlags {
  std::optional<std::string> incremental;   // -i base
  std::optional<std::string> intermediate;  // -I base
  bool replicate = false;                   // -R
  bool props = false;                       // -p
  // OpenZFS pass-through, refused in one line by a zfs without them (zfs-fuse):
  bool raw = false;           // -w: blocks as stored, encrypted ones stay encrypted (keys never leave)
  bool compressed = false;    // -c: compressed blocks stay compressed
  bool large_blocks = false;  // -L: blocks over 128 KiB stay large
  bool embedded = false;      // -e: embedded data blocks stay embedded
};
// The arguments after `zfs` for sending `snapshot` (validated).
Result<std::vector<std::string>> send_args(const std::string& snapshot, const SendFlags& flags, const Capabilities& caps);

struct RecvFlags {
  bool force = false;      // -F
  bool resumable = false;  // -s
  bool no_mount = false;   // -u (refused by a zfs without it)
  // -o prop=value and -x prop (repeatable; refused by a zfs without them), e.g. another
  // mountpoint on the new host. Names and values are validated before they reach argv.
  std::vector<std::pair<std::string, std::string>> set_props;
  std::vector<std::string> exclude_props;
};
// A property name as zfs knows them (native or user "module:name"): letters, digits, _ . : -.
Status validate_property_name(std::string_view name);
Result<std::vector<std::string>> recv_args(const std::string& target, const RecvFlags& flags, const Capabilities& caps);

}  // namespace pgm::zfs
