list(APPEND PGM_SOURCES transport/byte_stream.cc)
