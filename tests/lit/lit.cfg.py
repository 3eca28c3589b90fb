# lit configuration for the FileCheck tests of ugcc.
import os

import lit.formats

config.name = "ugcc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".ugir", ".test", ".kir"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in", "Inputs"]

tools = config.ug_tools_dir
config.substitutions.append(("%ugcc-opt", os.path.join(tools, "ugcc-opt")))
config.substitutions.append(("%ugcc", os.path.join(tools, "ugcc")))
config.substitutions.append(("%FileCheck", config.ug_filecheck))
config.substitutions.append(("%not", os.path.join(os.path.dirname(config.ug_filecheck), "not")))
config.substitutions.append(("%onnx-data", "/usr/share/libonnx-testdata/data"))
config.substitutions.append(("%src", config.ug_source_dir))
config.substitutions.append(("%expect-exit", os.path.join(config.ug_source_dir, "tests/lit/expect-exit.sh")))

if config.ug_have_onnx:
    config.available_features.add("onnx")
if config.ug_have_llvm:
    config.available_features.add("llvm")
if config.ug_have_cuda:
    config.available_features.add("cuda")
if os.path.isdir("/usr/share/libonnx-testdata/data"):
    config.available_features.add("onnx-testdata")
