list(APPEND PGM_SOURCES zfs/zfs.cc)
