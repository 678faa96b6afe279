#include "cli/options.h"

#include "cli/usage.h"
#include "pg/switchover.h"

namespace pgm::cli {

void add_transfer_options(CLI::App& cmd, session::TransferSettings& o) {
  cmd.add_option("--chunk-size", o.chunk_size, "Chunk size, 64K..64M")->capture_default_str();
  cmd.add_option("--compress", o.compress, "zstd level 1..19, 'auto' (adapts to the link and the CPU), or 'none'")->capture_default_str();
  cmd.add_option("--threads", o.threads, "Compression/decompression threads (0: one per core)")->capture_default_str();
  cmd.add_option("--max-memory", o.max_memory, "Upper bound for chunk buffers in this process")->capture_default_str();
  cmd.add_option("--progress", o.progress, "auto | line | json | none (on stderr)")
      ->check(CLI::IsMember({"auto", "line", "json", "none"}))
      ->capture_default_str();
  cmd.add_option("--rate", o.rate,
                 "Cap on the bytes the sending side puts on the wire per second, all connections together (e.g. 50M; 0: none); "
                 "'pgmigrate rate SESSION RATE' changes it while running")
      ->capture_default_str();
  cmd.add_option("--metrics-file", o.metrics_file,
                 "Write Prometheus metrics to this file every few seconds (node_exporter textfile collector format, replaced "
                 "atomically; see docs/metrics.md)");
  cmd.add_option("--stall-timeout", o.stall_timeout, "End the transfer when no data moved for this long (0: never)")->capture_default_str();
}

void add_remote_options(CLI::App& cmd, session::RemoteSettings& o) {
  cmd.add_option("--streams", o.streams, "Data connections (each its own SSH connection)")->check(CLI::Range(1, 64))->capture_default_str();
  cmd.add_option("--remote-bin", o.remote_bin, "pgmigrate on the far host")->capture_default_str();
  cmd.add_option("--sudo-cmd", o.sudo_cmd,
                 "When the SSH login user is not root, run the far pgmigrate through this command (doas, a wrapper); when "
                 "pgmigrate runs here as a normal user, its zfs commands too")
      ->capture_default_str();
  cmd.add_flag("--no-sudo", o.no_sudo,
               "Run the far pgmigrate as the login user, and zfs here as this user, even if not root (ZFS delegated with `zfs allow`)");
  cmd.add_option("--port", o.port, "SSH port (default: the SSH configuration's, else 22)")->check(CLI::Range(1, 65535));
  cmd.add_option("--identity", o.identities, "SSH private key file (repeatable); ssh-agent is tried first");
  cmd.add_option("--known-hosts", o.known_hosts, "known_hosts file (default: the SSH configuration's, else ~/.ssh/known_hosts)");
  cmd.add_flag("--accept-new-host-key", o.accept_new_host_key, "Trust and record an unknown host key (never a changed one)");
  cmd.add_option("--connect-timeout", o.connect_timeout,
                 "TCP connect and SSH handshake timeout (default: the SSH configuration's ConnectTimeout, else 30s)");
  cmd.add_option("--ssh-config", o.ssh_config, "OpenSSH client configuration file instead of ~/.ssh/config (like ssh -F)");
  cmd.add_option("-o", o.ssh_options, "OpenSSH option KEY=VALUE for resolving the host (repeatable, like ssh -o)");
  cmd.add_option("--reconnect-timeout", o.reconnect_timeout, "Keep reconnecting a dropped data connection this long (0: fail at once)")
      ->capture_default_str();
  cmd.add_option("--tls-port", o.tls_port,
                 "Carry the data on direct TLS 1.3 connections to this TCP port of the far host instead of SSH channels "
                 "(0: a free port; it must be reachable). Keyed per transfer over the SSH connection")
      ->check(CLI::Range(0, 65535));
  cmd.add_option("--tls-connect", o.tls_connect, "With --tls-port: dial HOST:PORT for the TLS data connections (NAT, port forwards)");
  cmd.add_flag("--local-exec", o.local_exec, "Testing aid: run the far half on this host without SSH")->group("");
  cmd.add_option("--inject-corrupt-chunk", o.inject_corrupt_chunk, "Testing aid: corrupt chunk N once after checksumming (push)")
      ->group("");
}

void add_zfs_options(CLI::App& cmd, zfs::FlagSettings& o, bool far_stream) {
  const std::string send_side = far_stream ? "Far side: " : "";
  const std::string recv_side = far_stream ? "" : "Far side: ";
  cmd.add_flag("-w,--raw", o.raw, send_side + "raw stream (zfs send -w): encrypted datasets move encrypted, keys never leave (OpenZFS)");
  cmd.add_flag("-c,--compressed", o.compressed, send_side + "keep compressed blocks compressed (zfs send -c, OpenZFS)");
  cmd.add_flag("-L,--large-block", o.large_blocks, send_side + "keep blocks over 128 KiB large (zfs send -L, OpenZFS)");
  cmd.add_flag("-e,--embed", o.embedded, send_side + "keep embedded data blocks embedded (zfs send -e, OpenZFS)");
  cmd.add_flag("-u,--no-mount", o.no_mount, recv_side + "do not mount what is received (zfs receive -u)");
  cmd.add_option("--recv-set", o.set_props,
                 recv_side + "PROP=VALUE set on the received dataset (zfs receive -o; repeatable), e.g. mountpoint=/srv/pg")
      ->allow_extra_args(false);  // one value per occurrence: the positionals that follow stay positionals
  cmd.add_option("--recv-exclude", o.exclude_props, recv_side + "PROP not taken from the stream (zfs receive -x; repeatable)")
      ->allow_extra_args(false);
}

void add_stream_options(CLI::App& cmd, session::StreamSettings& s, bool far_stream) {
  const std::string send_side = far_stream ? "Far side: " : "";
  const std::string recv_side = far_stream ? "" : "Far side: ";
  cmd.add_option("-i", s.incremental,
                 send_side + "incremental from this snapshot (@snap or POOL/FS@snap) or, on OpenZFS, bookmark (#bm or POOL/FS#bm)");
  cmd.add_option("-I", s.intermediate, send_side + "incremental with all intermediate snapshots");
  cmd.add_flag("-R", s.replicate, send_side + "replication stream (zfs send -R)");
  cmd.add_flag("-p", s.props, send_side + "include properties (zfs send -p)");
  cmd.add_option("--send-cmd", s.send_cmd, send_side + "shell command whose stdout is the stream (replaces zfs send)");
  cmd.add_flag("-F", s.force, recv_side + "roll back / overwrite the target (zfs receive -F); never implied");
  cmd.add_option("--recv-cmd", s.recv_cmd, recv_side + "shell command that consumes the stream on its stdin (replaces zfs receive)");
  add_zfs_options(cmd, s.zfs, far_stream);
}

void add_hook_options(CLI::App& cmd, std::string& pre_fence_hook, std::string& post_hook) {
  cmd.add_option("--pre-fence-hook", pre_fence_hook,
                 "Shell command run before the fence, e.g. a pooler's PAUSE; if it fails, nothing is fenced (environment below)");
  cmd.add_option("--post-hook", post_hook,
                 "Shell command run after promotion, e.g. point the pooler at PGM_PRIMARY_HOST:PGM_PRIMARY_PORT and RESUME; when a "
                 "pre-fence hook ran and the switchover rolled back, it runs with PGM_PHASE=rolled-back (environment below)");
  std::string footer = "Hook environment (--pre-fence-hook, --post-hook):";
  for (const auto& line : pg::hook_variable_help()) footer += "\n  " + line;
  footer += "\n\n";
  footer += kGlobalOptionsFooter;  // a command's own footer replaces the inherited one
  cmd.footer(footer);
}

}  // namespace pgm::cli
