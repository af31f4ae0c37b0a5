# cmake/install.cmake: what `cmake --install` (and `make install`) puts
# where. Included from the top-level CMakeLists.txt.
#
# With the prefix /usr (the package, debian/rules):
#   /usr/bin/chorusd, /usr/bin/chorus
#   /etc/chorus/chorusd.conf          default config (a dpkg conffile)
#   /lib/systemd/system/chorusd.service
#   /usr/share/doc/chorusd/           README and docs/*.md
#   /var/lib/chorus/                  data folder (only with
#                                     CHORUS_INSTALL_STATE_DIR, see below)
# With another prefix (default /usr/local) each path moves under it
# (GNUInstallDirs: /usr/local/etc/chorus/chorusd.conf...).
#
# Choose the prefix when configuring (cmake -DCMAKE_INSTALL_PREFIX=/usr):
# the unit and the config name the paths, so every destination is the
# absolute path made then, and `cmake --install --prefix` moves nothing
# (DESTDIR= still stages the whole tree elsewhere, as packages do).
#
# Nothing else is read at run time from the install: the console and the
# OpenAPI document are compiled in; the pocketsphinx model
# (pocketsphinx-en-us) and espeak-ng are Debian packages the package
# depends on.
include(GNUInstallDirs)

set(CHORUS_SYSTEMD_UNITDIR "" CACHE PATH
  "Folder of the systemd unit (default: /lib/systemd/system for the prefix /usr, else PREFIX/lib/systemd/system)")
# StateDirectory=chorus with DynamicUser=yes makes /var/lib/private/chorus
# and a symbolic link /var/lib/chorus to it; a directory the package owned
# there would be moved aside by systemd, so the package does not ship it.
option(CHORUS_INSTALL_STATE_DIR
  "Install an empty data folder LOCALSTATEDIR/lib/chorus (for installs run without systemd)" ON)

if(CHORUS_SYSTEMD_UNITDIR)
  set(ch_unitdir ${CHORUS_SYSTEMD_UNITDIR})
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(ch_unitdir /lib/systemd/system)
else()
  set(ch_unitdir ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()

# the paths the unit and the config name (FULL_: /etc and /var for /usr)
set(CH_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(CH_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/chorus)
set(CH_STATEDIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/chorus)
set(CH_DOCDIR ${CMAKE_INSTALL_FULL_DATAROOTDIR}/doc/chorusd)

configure_file(${CMAKE_SOURCE_DIR}/packaging/chorusd.service.in
  ${CMAKE_BINARY_DIR}/packaging/chorusd.service @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/packaging/chorusd.conf.in
  ${CMAKE_BINARY_DIR}/packaging/chorusd.conf @ONLY)

install(TARGETS chorusd chorus RUNTIME DESTINATION ${CH_BINDIR})
install(FILES ${CMAKE_BINARY_DIR}/packaging/chorusd.service
  DESTINATION ${ch_unitdir})

# The config: an existing file (edited by its owner) is kept; a package
# build installs into an empty DESTDIR, and dpkg handles it as a conffile.
# (file(INSTALL) puts DESTDIR before an absolute DESTINATION itself.)
install(CODE "
  set(conf \"\$ENV{DESTDIR}${CH_CONFDIR}/chorusd.conf\")
  if(EXISTS \"\${conf}\")
    message(STATUS \"Kept (exists): \${conf}\")
  else()
    file(INSTALL \"${CMAKE_BINARY_DIR}/packaging/chorusd.conf\"
      DESTINATION \"${CH_CONFDIR}\"
      PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()")

if(CHORUS_INSTALL_STATE_DIR)
  install(DIRECTORY DESTINATION ${CH_STATEDIR}
    DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
    GROUP_READ GROUP_EXECUTE)
endif()

install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CH_DOCDIR})
# docs/ whole (the pages link each other and images/)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CH_DOCDIR}/docs)
