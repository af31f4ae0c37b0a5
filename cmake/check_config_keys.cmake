# cmake/check_config_keys.cmake: the pkg.config_keys test. Every setting
# `chorusd serve --help` names appears in the installed config
# (packaging/chorusd.conf.in), set or commented out ("# key = value"), so
# a new flag cannot be left out of the file operators read.
# Run as: cmake -DCHORUSD=PROGRAM -DCONF=FILE -P check_config_keys.cmake
execute_process(COMMAND ${CHORUSD} serve --help OUTPUT_VARIABLE help
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${CHORUSD} serve --help failed (${rc})")
endif()
string(REGEX MATCHALL "--[a-z][a-z0-9-]*" flags "${help}")
list(REMOVE_DUPLICATES flags)
# not settings: the file itself, a one-off start option
list(REMOVE_ITEM flags --config --init)
list(LENGTH flags n)
if(n LESS 20)
  message(FATAL_ERROR "only ${n} flags found in chorusd serve --help")
endif()
file(READ ${CONF} conf)
set(missing)
foreach(flag ${flags})
  string(SUBSTRING ${flag} 2 -1 key)
  if(NOT conf MATCHES "(^|\n)(# )?${key} =")
    list(APPEND missing ${key})
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "${CONF} lacks these settings of chorusd serve --help: ${missing}")
endif()
message(STATUS "all ${n} settings of chorusd serve --help are in ${CONF}")
