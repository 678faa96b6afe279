list(APPEND PGM_SOURCES zfs/zfs.cc zfs/flag_settings.cc)
