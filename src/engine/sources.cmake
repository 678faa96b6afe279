list(APPEND PGM_SOURCES engine/send_pipeline.cc engine/recv_pipeline.cc engine/single_lane.cc engine/lanes.cc engine/watchdog.cc engine/dispatcher.cc engine/rate_limiter.cc)
