# The GGUF reader and the reference dequantizer.  The smoke run in ctest uses
# the GGUF fixtures as its seed corpus (they live with the GGUF tests).
if(TARGET ug_gguf)
  target_link_libraries(fuzz_gguf PRIVATE ug_gguf)
  add_test(NAME fuzz.fuzz_gguf COMMAND fuzz_gguf -runs=0 ${PROJECT_SOURCE_DIR}/tests/gguf/fixtures
                                       ${PROJECT_SOURCE_DIR}/tests/gguf/llama)
else()
  set_target_properties(fuzz_gguf PROPERTIES EXCLUDE_FROM_ALL TRUE)
endif()
