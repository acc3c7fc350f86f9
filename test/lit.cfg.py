# -*- Python -*-
# lit configuration of the bm test suite: FileCheck tests of the dialect,
# passes and tools, plus (in Unit/) the GoogleTest unit tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "BM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.bm_obj_root, "test")
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py",
                   "lit.site.cfg.py", "Inputs", "Unit", "lib"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))

# A sanitized build (BM_ENABLE_SANITIZERS=ON). bm's own executables carry
# their run-time defaults (cmake/sanitizers/SanitizerDefaults.cpp); programs
# the tests link against the sanitized libraries (test/Install's consumer)
# get the same through the environment: allow_user_poisoning=0, because
# LLVM's allocator poisons memory in bm's instrumented code that the
# uninstrumented libMLIR.so then hands out (a false use-after-poison). The
# caller's own ASAN_OPTIONS/UBSAN_OPTIONS come after ours and win.
if config.bm_sanitizers:
    config.available_features.add("sanitizers")
    for var, ours in (("ASAN_OPTIONS", "allow_user_poisoning=0"),
                      ("UBSAN_OPTIONS", "print_stacktrace=1")):
        theirs = os.environ.get(var, "")
        config.environment[var] = ours + (":" + theirs if theirs else "")
config.substitutions.append(("%bm_src_root", config.bm_src_root))
config.substitutions.append(("%bm_obj_root", config.bm_obj_root))
config.substitutions.append(("%bm_vectors_dir", config.bm_vectors_dir))
config.substitutions.append(("%python", config.python_executable))
# Longer names first: lit substitutes in order.
config.substitutions.append(("%cmake_generator", config.cmake_generator))
config.substitutions.append(("%cmake", config.cmake_command))
config.substitutions.append(("%mlir_dir", config.mlir_dir))

lib = config.mlir_lib_dir
config.substitutions.append(
    ("%mlir_c_runner_utils", os.path.join(lib, "libmlir_c_runner_utils.so")))
config.substitutions.append(
    ("%mlir_runner_utils", os.path.join(lib, "libmlir_runner_utils.so")))
config.substitutions.append(
    ("%mlir_apfloat_wrappers", os.path.join(lib, "libmlir_apfloat_wrappers.so")))
config.substitutions.append(
    ("%mlir_async_runtime", os.path.join(lib, "libmlir_async_runtime.so")))

# llc can target x86 (checks of the instructions the CPU kernels select).
try:
    import subprocess
    _llc = os.path.join(config.llvm_tools_dir, "llc")
    if " x86-64 " in subprocess.run([_llc, "--version"], capture_output=True,
                                    text=True, timeout=60).stdout:
        config.available_features.add("llc-x86")
except (OSError, subprocess.SubprocessError):
    pass

# What code this machine can run, from its CPU flags (/proc/cpuinfo), for
# the execution tests of each CPU target of bm-lower-to-cpu (their
# instruction-selection tests run everywhere):
#   host-x86-avx2         cpu=avx2 (x86-64 with AVX2 and FMA);
#   host-x86-avx-vnni     cpu=avx-vnni (256-bit vpdpbusd / vpdpwssd: AVX-VNNI,
#                         or AVX-512 VNNI with VL, which LLVM then encodes);
#   host-x86-avx512-vnni  cpu=avx512-vnni (AVX-512 F, BW, VL and VNNI).
try:
    import platform
    if platform.machine().lower() in ("x86_64", "amd64"):
        with open("/proc/cpuinfo") as _f:
            for _line in _f:
                if _line.startswith("flags"):
                    _flags = set(_line.split(":", 1)[1].split())
                    if {"avx2", "fma"} <= _flags:
                        config.available_features.add("host-x86-avx2")
                        _avx512 = {"avx512f", "avx512bw", "avx512vl",
                                   "avx512_vnni"} <= _flags
                        if _avx512:
                            config.available_features.add(
                                "host-x86-avx512-vnni")
                        if _avx512 or "avx_vnni" in _flags:
                            config.available_features.add(
                                "host-x86-avx-vnni")
                    break
except OSError:
    pass

# bm-lower-to-nvvm format=bin/fatbin runs ptxas (test/GPU).
if os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.bm_tools_dir, config.llvm_tools_dir]
tools = ["bm-opt", "mlir-opt", "mlir-runner", "mlir-translate",
         "split-file"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
