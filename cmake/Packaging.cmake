# The Debian package: `cmake --build build/release --target package` writes
# build/release/pgmigrate_<version>_<arch>.deb with the binary, a man page per command and the
# bash completion. Its Depends come from the shared libraries the binary really links
# (dpkg-shlibdeps), so they cannot drift from the build.
include(GNUInstallDirs)

# Man pages and the completion are generated from the built binary's --help (scripts/gen-docs),
# so they always describe the flags it has. Without help2man the package is still buildable but
# has no man pages; CI installs help2man (scripts/install-deps).
find_program(HELP2MAN help2man)
set(PGM_GEN_DOCS ${PROJECT_BINARY_DIR}/gen-docs)
if(HELP2MAN)
  add_custom_command(
    OUTPUT ${PGM_GEN_DOCS}/stamp
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${PGM_GEN_DOCS}
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/gen-docs $<TARGET_FILE:pgmigrate> ${PGM_GEN_DOCS}
    COMMAND sh -c "gzip -9n ${PGM_GEN_DOCS}/man1/*.1"
    COMMAND ${CMAKE_COMMAND} -E touch ${PGM_GEN_DOCS}/stamp
    DEPENDS pgmigrate ${PROJECT_SOURCE_DIR}/scripts/gen-docs
    COMMENT "man pages and bash completion from pgmigrate --help"
    VERBATIM)
  add_custom_target(gen-docs ALL DEPENDS ${PGM_GEN_DOCS}/stamp)
  install(DIRECTORY ${PGM_GEN_DOCS}/man1 DESTINATION ${CMAKE_INSTALL_MANDIR})
  install(FILES ${PGM_GEN_DOCS}/completion/pgmigrate DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
else()
  message(WARNING "help2man not found: the package will have no man pages or completion (apt-get install help2man)")
endif()
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/usage.md ${PROJECT_SOURCE_DIR}/docs/runbook.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgmigrate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "pgmigrate developers <pgmigrate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "move a live Postgres database on ZFS between hosts, fast, resumable, verified")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "pgmigrate sends ZFS snapshots over parallel SSH or TLS connections with per-chunk checksums
 and resume, and turns the copy into a streaming standby and switches over behind a fence.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
# Not linked, but run: ssh for ProxyJump and `ssh -G`, zfs for every transfer, Postgres'
# client tools for `pg` and `migrate`.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "openssh-client, zfsutils-linux | zfs-fuse")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql-common")
# Only the binary and its documentation: the static library and tests are not installed.
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};pgmigrate;ALL;/")
include(CPack)
