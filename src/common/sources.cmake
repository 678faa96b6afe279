list(APPEND PGM_SOURCES common/status.cc common/units.cc common/cancel.cc common/fd.cc common/dir_fd.cc common/files.cc common/metrics.cc common/process.cc common/io.cc common/rotating_file.cc)
