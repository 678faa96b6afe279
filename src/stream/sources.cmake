list(APPEND PGM_SOURCES stream/format.cc stream/reader.cc)
