# The SSH session layer: libssh2 sessions to stock OpenSSH sshd, and remote commands over them.
list(APPEND PGM_SOURCES
  transport/ssh/known_hosts.cc
  transport/ssh/ssh_channel.cc
  transport/ssh/ssh_session.cc)
