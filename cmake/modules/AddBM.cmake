# Helpers for declaring the project's libraries, so that every library is
# built, linked and exported the same way.
#
#   add_bm_library(<name> <sources>...
#                  [ADDITIONAL_HEADER_DIRS <dirs>...] [DEPENDS <targets>...]
#                  [LINK_LIBS PUBLIC <bm libraries>...])
#
# An MLIR library of bm: add_mlir_library with the project's include
# directories, linked against ${BM_MLIR_LIBS} (the umbrella libMLIR), and
# exported by the installed CMake package as BM::<name> (cmake/CMakeLists.txt
# installs every library registered here). Testing-only libraries (test/lib)
# use add_mlir_library directly and are not exported.
function(add_bm_library name)
  cmake_parse_arguments(ARG "" "" "LINK_LIBS" ${ARGN})
  list(REMOVE_ITEM ARG_LINK_LIBS PUBLIC)
  add_mlir_library(${name} ${ARG_UNPARSED_ARGUMENTS}
    DISABLE_INSTALL
    LINK_LIBS PUBLIC ${ARG_LINK_LIBS} ${BM_MLIR_LIBS})
  bm_export_library(${name})
endfunction()

# Gives <name> the project's include directories (the source tree, the
# generated headers, and include/ once installed) and registers it for the
# installed package's export set.
function(bm_export_library name)
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:include>)
  set_property(GLOBAL APPEND PROPERTY BM_EXPORTED_LIBRARIES ${name})
endfunction()
