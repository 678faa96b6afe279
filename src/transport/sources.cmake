list(APPEND PGM_SOURCES transport/channel.cc transport/control.cc transport/lane_socket.cc
  transport/proxy_connect.cc transport/ssh_config.cc transport/ssh_host.cc transport/tcp_connect.cc transport/tls.cc)
list(APPEND PGM_SOURCES transport/elevated_connector.cc transport/ssh_connector.cc)
include(${CMAKE_CURRENT_LIST_DIR}/ssh/sources.cmake)
