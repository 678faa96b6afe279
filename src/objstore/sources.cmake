list(APPEND PGM_SOURCES objstore / sigv4.cc)
