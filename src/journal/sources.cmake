list(APPEND PGM_SOURCES journal/journal.cc journal/describe.cc)
