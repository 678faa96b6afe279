list(APPEND PGM_SOURCES objstore/sigv4.cc objstore/location.cc objstore/client.cc objstore/relay.cc objstore/download.cc objstore/describe.cc objstore/settings.cc objstore/uploads.cc)
