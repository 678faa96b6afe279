list(APPEND PGM_SOURCES codec/codec.cc)
