# Generates okami_version.cpp with the project version and the git commit at every build, so
# `okami-operator version` always names the commit the binary was built from.
set(OKAMI_VERSION_CPP ${CMAKE_BINARY_DIR}/generated/okami_version.cpp)
add_custom_target(okami_version_gen
  COMMAND ${CMAKE_COMMAND} -DOUT=${OKAMI_VERSION_CPP} -DVERSION=${PROJECT_VERSION}
          -DSRC=${CMAKE_SOURCE_DIR} -P ${CMAKE_SOURCE_DIR}/cmake/WriteVersion.cmake
  BYPRODUCTS ${OKAMI_VERSION_CPP}
  COMMENT "Stamping version")
