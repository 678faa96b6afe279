list(APPEND PGM_SOURCES source/source.cc)
