# cmake/check_changelog.cmake: the pkg.changelog_version test. The
# package's version (the first line of debian/changelog, without its
# Debian revision) must be the project's VERSION (CMakeLists.txt).
# Run as: cmake -DCHANGELOG=FILE -DVERSION=X.Y.Z -P check_changelog.cmake
file(STRINGS ${CHANGELOG} first LIMIT_COUNT 1)
if(NOT first MATCHES "^chorusd \\(([0-9][0-9A-Za-z.+~]*)(-[0-9A-Za-z.+~]+)?\\) ")
  message(FATAL_ERROR "${CHANGELOG}: first line is not \"chorusd (VERSION-REVISION) ...\": ${first}")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL VERSION)
  message(FATAL_ERROR "${CHANGELOG} says ${CMAKE_MATCH_1}, CMakeLists.txt project VERSION ${VERSION}: add a changelog entry (dch -v ${VERSION}-1)")
endif()
message(STATUS "debian/changelog and CMakeLists.txt agree: ${VERSION}")
