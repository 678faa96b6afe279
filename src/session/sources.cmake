list(APPEND PGM_SOURCES
  session/stage.cc session/local.cc session/near.cc session/push.cc session/pull.cc session/far.cc session/far_command.cc session/control_loop.cc session/rate_control.cc session/metrics_file.cc session/objects.cc session/host_transfers.cc session/describe.cc session/settings.cc session/progress_ticker.cc)
list(APPEND PGM_SOURCES session/in_process.cc)
