#include "cli/hook_options.h"

#include "cli/usage.h"
#include "pg/switchover.h"

namespace pgm::cli {

void add_hook_options(CLI::App& cmd, HookCliOptions& o) {
  cmd.add_option("--pre-fence-hook", o.pre_fence_hook,
                 "Shell command run before the fence, e.g. a pooler's PAUSE; if it fails, nothing is fenced (environment below)");
  cmd.add_option("--post-hook", o.post_hook,
                 "Shell command run after promotion, e.g. point the pooler at PGM_PRIMARY_HOST:PGM_PRIMARY_PORT and RESUME; when a "
                 "pre-fence hook ran and the switchover rolled back, it runs with PGM_PHASE=rolled-back (environment below)");
  std::string footer = "Hook environment (--pre-fence-hook, --post-hook):";
  for (const auto& line : pg::hook_variable_help()) footer += "\n  " + line;
  footer += "\n\n";
  footer += kGlobalOptionsFooter;  // a command's own footer replaces the inherited one
  cmd.footer(footer);
}

}  // namespace pgm::cli
