list(APPEND PGM_SOURCES
  migrate/state_check.cc migrate/state.cc migrate/metrics.cc migrate/sampler.cc migrate/steps.cc migrate/watch.cc migrate/target.cc migrate/ssh_remote.cc migrate/run_steps.cc migrate/tree.cc migrate/engine.cc migrate/status_view.cc migrate/describe.cc migrate/settings.cc)
