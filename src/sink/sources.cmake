list(APPEND PGM_SOURCES sink/sink.cc)
