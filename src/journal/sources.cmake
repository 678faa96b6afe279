list(APPEND PGM_SOURCES journal/journal.cc)
