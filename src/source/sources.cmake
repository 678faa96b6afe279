list(APPEND PGM_SOURCES source/process.cc source/source.cc)
