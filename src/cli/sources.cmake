list(APPEND PGM_SOURCES
  cli/app.cc cli/exit.cc cli/progress.cc
  cli/options.cc cli/cmd_send.cc cli/cmd_recv.cc cli/cmd_pg.cc
  cli/cmd_internal.cc cli/cmd_session.cc cli/cmd_migrate.cc cli/migrate_target.cc cli/migrate_remote.cc cli/remote_transfer.cc cli/cmd_pg_switchover.cc cli/guard_options.cc cli/usage.cc cli/object_transfer.cc cli/cmd_objects.cc)
