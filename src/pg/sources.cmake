list(APPEND PGM_SOURCES
  pg/lsn.cc pg/conninfo.cc pg/connection.cc pg/auto_conf.cc pg/server_tools.cc pg/slot.cc
  pg/standby.cc pg/lag.cc pg/layout_check.cc pg/switchover.cc pg/switchover_fence.cc pg/control_state.cc pg/pg_control.cc
  pg/debian_cluster.cc pg/debian_cluster_control.cc pg/replication_features.cc pg/relink.cc pg/standby_setup.cc
  pg/slot_admin.cc pg/debian_bundle_file.cc pg/describe.cc pg/settings.cc)
