# ugcc-run and the tensor I/O library shared by the tools.  Included by
# tools/CMakeLists.txt.
set(UG_TOOLS_DIR ${PROJECT_SOURCE_DIR}/tools)

# ug_tensor_io: .npy read/write, TensorProto .pb read (through protobuf-c when
# the ONNX frontend is available), random inputs, tolerant comparison.
add_library(ug_tensor_io STATIC ${UG_TOOLS_DIR}/common/tensor_io.c ${UG_TOOLS_DIR}/common/tensor_pb.c)
target_include_directories(ug_tensor_io PUBLIC ${PROJECT_SOURCE_DIR}
                           ${PROJECT_SOURCE_DIR}/runtime/include)
target_link_libraries(ug_tensor_io PUBLIC ugrt m)
if(UG_HAVE_ONNX AND TARGET ug_onnx_proto)
  target_link_libraries(ug_tensor_io PUBLIC ug_onnx_proto)
  target_compile_definitions(ug_tensor_io PUBLIC UG_TENSOR_IO_ONNX=1)
endif()

add_executable(ugcc-run ${UG_TOOLS_DIR}/ugcc-run.c ${UG_TOOLS_DIR}/generate.c)
# generate.c: the GGUF reader and tokenizer read the metadata a GGUF model
# carries (its vocabulary) for --prompt.
target_link_libraries(ugcc-run PRIVATE ug_tensor_io ug_gguf ugrt)
install(TARGETS ugcc-run RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
set_target_properties(ugcc-run PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
