list(APPEND PGM_SOURCES transport/byte_stream.cc transport/channel.cc transport/control.cc transport/lane_socket.cc)
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/ssh/sources.cmake)
  include(${CMAKE_CURRENT_LIST_DIR}/ssh/sources.cmake)
endif()
