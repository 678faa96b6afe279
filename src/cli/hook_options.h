// --pre-fence-hook and --post-hook, with the one list of their environment variables in --help:
// shared by `pg switchover` and `migrate run`, so the two never document different hooks.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace pgm::cli {

struct HookCliOptions {
  std::string pre_fence_hook, post_hook;
};

// Adds both options, and the variables to the command's --help footer.
void add_hook_options(CLI::App& cmd, HookCliOptions& o);

}  // namespace pgm::cli
