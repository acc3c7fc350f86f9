"""Compile MLIR modules that use bm ops to a shared library; call them from numpy.

A small ahead-of-time driver around the tools of the CPU lowering:

1. ``bm-opt --bm-lower-to-cpu=emit-c-interface=true`` (bm ops on tensors ->
   LLVM dialect; every public function gets a ``_mlir_ciface_<name>`` wrapper);
2. ``mlir-translate --mlir-to-llvmir``;
3. ``llc -O3 -filetype=obj -relocation-model=pic -mtriple=<llc's default>
   [-mcpu=native] [-mattr=<the CPU target's features>]``; a large module is
   first split (``llvm-split --round-robin``) into one part per usable CPU,
   each compiled by its own llc at the same time (``codegen_jobs``);
4. ``cc -shared`` (``libmlir_c_runner_utils`` linked only if used, with an
   rpath).

With ``parallel`` (the default where more than one CPU is usable) the
lowering runs the tiles of bm.matmul kernels as async tasks
(``bm-lower-to-cpu{parallel=true}``): LLVM ``opt`` splits their coroutines
between steps 2 and 3, and the library links an async runtime: bm's
``libbm_async_runtime`` (runtime/cpu: spinning workers, and the caller runs
tasks while it waits) where it is built or installed beside ``bm-opt``, else
MLIR's ``libmlir_async_runtime``. ``$BM_ASYNC_RUNTIME`` names another
(a path to a library with the same entry points, or ``mlir`` for MLIR's).
The CPU target (``cpu``; ``bm-lower-to-cpu{cpu=...}``) is this host's when
compiling for it (``mcpu="native"``, the default): ``avx512-vnni`` (vpdpbusd /
vpdpwssd on 512-bit vectors), ``avx-vnni`` (the same on 256-bit vectors),
``avx2`` (the pmaddubsw step for BM6-width forms) or ``generic`` (portable
vector IR), from the CPU flags in /proc/cpuinfo (see :func:`host_cpu_target`).

then loads the library with :mod:`ctypes` and calls the wrappers with memref
descriptors built over numpy arrays. Compiled libraries are cached by a hash
of the module text, the options and the tools.

Usage::

    from bm import compiler
    lib = compiler.compile_module(mlir_text)        # or compile_file(path)
    codes, biases, deq = lib.call("quant", x, seed) # or lib.quant(x, seed)

The signatures of the public functions are written by the lowering itself
(``bm-lower-to-cpu{signatures=<file>}``, the ``bm-export-signatures`` pass:
JSON, see :func:`read_signatures`), so any syntax bm-opt parses works.

Argument and result types: ranked ``tensor<...>`` / ``memref<...>`` (identity
layout) of ``f16``, ``f32``, ``f64``, ``i1``, ``i8``, ``i16``, ``i32``,
``i64``, ``index``, any rank (``?`` dimensions allowed), and scalars ``i1`` ..
``i64``, ``index``, ``f32``, ``f64``. Array arguments are converted to the declared
element type (same-width integers are reinterpreted, e.g. uint8 BM codes for
an ``i8`` tensor) and made C-contiguous; results come back as new numpy
arrays (integer tensors as signed types). ``!bm.tensor`` values cannot cross the
function boundary: pass their codes and biases and use ``bm.pack`` /
``bm.unpack`` inside.

ABI notes (what the C interface of MLIR's LLVM lowering does, and how this
module follows it):

* a memref is passed as a pointer to a descriptor ``{allocated, aligned,
  offset, sizes[N], strides[N]}`` (rank 0: the first three fields only);
  scalars are passed by value;
* results: none -> no out-pointer; one scalar -> returned by value; one
  memref, or several results of any kind -> the first argument points to one
  struct holding every result (for one memref, that struct is the
  descriptor itself);
* bufferization makes every returned memref an allocation owned by the
  caller (returned arguments and constants are cloned). :meth:`Function.__call__`
  copies each result into a fresh numpy array and ``free``\\ s the allocation
  (once, even if two results share it; never a buffer that belongs to an
  argument);
* with out-params (``compile_module(out_params=...)``, by default when every
  result of every function is a statically shaped tensor:
  ``bm-lower-to-cpu{out-params=auto}`` decides, and the signatures file
  records the decision) the function
  returns nothing and takes one more descriptor per result, after its
  arguments; :meth:`Function.__call__` passes a fresh array (or the ``out=``
  array) and the code writes the result into it, with no copy and no
  allocation of its own;
* one-shot bufferization would treat tensor arguments of public functions
  as writable, so the compiled code could compute in place into an
  argument's buffer (``bm.matmul`` writes into its ``init``).
  ``bm-emit-c-interface`` marks every tensor argument of a public function
  ``{bufferization.writable = false}``, so numpy arguments are never
  modified.

Tools are found as follows: ``bm-opt`` from ``$BM_OPT``, else
``<repo>/build/bin/bm-opt`` (``$BM_BUILD_DIR/bin/bm-opt`` if set), else
``PATH``; ``mlir-translate`` and ``llc`` from ``$BM_MLIR_TRANSLATE`` /
``$BM_LLC``, else ``$BM_LLVM_BIN_DIR``, else ``/usr/lib/llvm-22/bin``, else
``PATH``; the C compiler from ``$CC``, else ``cc``/``gcc``/``clang``. The
cache directory is ``$BM_COMPILER_CACHE``, else
``<tempdir>/bm-compiler-cache-<uid>``.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import numerics

__all__ = [
    "CompileError", "ToolNotFoundError", "TensorType", "ScalarType",
    "FunctionSignature", "Function", "CompiledModule", "compile_module",
    "compile_file", "read_signatures", "find_tools", "cache_dir",
    "TRAINING_FORMATS", "LOSS_GRAD_OPTIONS", "MODEL_INPUT_OPTIONS",
    "quantize_training_passes",
]

_VERSION = "bm.compiler/2"
_REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                      "..", ".."))
_DEFAULT_LLVM_BIN = "/usr/lib/llvm-22/bin"
_MAX_STDERR = 8000


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class CompileError(RuntimeError):
    """A step of the pipeline failed; the message holds the command and the
    tool's stderr (``.stderr``, ``.step``, ``.cmd`` hold them too)."""

    def __init__(self, message, step=None, cmd=None, stderr=None):
        super().__init__(message)
        self.step = step
        self.cmd = cmd
        self.stderr = stderr


class ToolNotFoundError(CompileError):
    """A tool of the pipeline (bm-opt, mlir-translate, llc, cc) is missing."""


# ---------------------------------------------------------------------------
# Types and signatures
# ---------------------------------------------------------------------------

_ELEMENT_DTYPES = {
    "f16": np.float16, "f32": np.float32, "f64": np.float64,
    "i1": np.bool_, "i8": np.int8, "i16": np.int16, "i32": np.int32,
    "i64": np.int64, "index": np.int64,
}
_SCALAR_CTYPES = {
    "i1": ctypes.c_bool, "i8": ctypes.c_int8, "i16": ctypes.c_int16,
    "i32": ctypes.c_int32, "i64": ctypes.c_int64, "index": ctypes.c_int64,
    "f32": ctypes.c_float, "f64": ctypes.c_double,
}


@dataclass(frozen=True)
class TensorType:
    """A ranked tensor or identity-layout memref; ``shape`` has None for
    ``?``."""
    shape: Tuple[Optional[int], ...]
    element: str
    text: str

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(_ELEMENT_DTYPES[self.element])

    def __str__(self):
        return self.text


@dataclass(frozen=True)
class ScalarType:
    element: str
    text: str

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(_ELEMENT_DTYPES[self.element])

    @property
    def ctype(self):
        return _SCALAR_CTYPES[self.element]

    def __str__(self):
        return self.text


@dataclass(frozen=True)
class UnsupportedType:
    text: str

    def __str__(self):
        return self.text


@dataclass(frozen=True)
class FunctionSignature:
    name: str
    args: Tuple[object, ...]
    results: Tuple[object, ...]

    def __str__(self):
        return "@%s(%s) -> (%s)" % (self.name, ", ".join(map(str, self.args)),
                                    ", ".join(map(str, self.results)))


SIGNATURES_FORMAT = "bm.signatures/1"


def _type_from_json(d):
    """One argument or result of bm-export-signatures' JSON -> TensorType /
    ScalarType / UnsupportedType."""
    kind = d.get("kind")
    if kind in ("tensor", "memref") and d.get("element") in _ELEMENT_DTYPES:
        return TensorType(tuple(None if n < 0 else n for n in d["shape"]),
                          d["element"], d["type"])
    if kind == "scalar" and d.get("element") in _SCALAR_CTYPES:
        return ScalarType(d["element"], d["type"])
    return UnsupportedType(d["type"])


def read_signatures(path: str):
    """The signatures bm-export-signatures wrote (``bm-lower-to-cpu{
    signatures=path}``): (name -> :class:`FunctionSignature` of every public
    function with a body, whether the lowering took their results as
    out-params, the result that kept it from doing so or None)."""
    with open(path) as f:
        doc = json.load(f)
    if doc.get("format") != SIGNATURES_FORMAT:
        raise CompileError(f"{path}: not a {SIGNATURES_FORMAT} file "
                           f"(format {doc.get('format')!r})", step="signatures")
    sigs = {}
    for fn in doc["functions"]:
        sigs[fn["name"]] = FunctionSignature(
            fn["name"], tuple(_type_from_json(t) for t in fn["arguments"]),
            tuple(_type_from_json(t) for t in fn["results"]))
    return sigs, bool(doc["out_params"]), doc.get("out_params_blocker")


# ---------------------------------------------------------------------------
# Tools and cache
# ---------------------------------------------------------------------------

def _executable(path):
    return path and os.path.isfile(path) and os.access(path, os.X_OK)


def _find_tool(name, env_var, candidates, path_names):
    v = os.environ.get(env_var)
    if v:
        if _executable(v):
            return v
        w = shutil.which(v)
        if w:
            return w
        raise ToolNotFoundError(
            f"{name}: ${env_var}={v!r} is not an executable file", step=name)
    for c in candidates:
        if _executable(c):
            return c
    for n in path_names:
        w = shutil.which(n)
        if w:
            return w
    tried = list(candidates) + [f"{n} on PATH" for n in path_names]
    raise ToolNotFoundError(
        f"{name} not found (set ${env_var}); tried: " + ", ".join(tried),
        step=name)


@dataclass(frozen=True)
class Tools:
    bm_opt: str
    mlir_translate: str
    llc: str
    cc: str
    mlir_lib_dir: Optional[str]
    opt: Optional[str] = None  # LLVM opt: only for parallel code (coroutines)
    # llvm-split: only to compile a large module on several cores
    llvm_split: Optional[str] = None
    # The async runtime library parallel code links (see _find_async_runtime)
    async_runtime: Optional[str] = None


def find_tools() -> Tools:
    """Locates the pipeline's tools (see the module docstring)."""
    build = os.environ.get("BM_BUILD_DIR") or os.path.join(_REPO, "build")
    bm_opt = _find_tool("bm-opt", "BM_OPT",
                        [os.path.join(build, "bin", "bm-opt")], ["bm-opt"])
    llvm_bin = os.environ.get("BM_LLVM_BIN_DIR") or _DEFAULT_LLVM_BIN
    translate = _find_tool("mlir-translate", "BM_MLIR_TRANSLATE",
                           [os.path.join(llvm_bin, "mlir-translate")],
                           ["mlir-translate-22", "mlir-translate"])
    llc = _find_tool("llc", "BM_LLC", [os.path.join(llvm_bin, "llc")],
                     ["llc-22", "llc"])
    cc = _find_tool("C compiler", "CC", [], ["cc", "gcc", "clang"])
    lib_dir = os.environ.get("BM_MLIR_LIB_DIR")
    if not lib_dir:
        real = os.path.realpath(translate)
        lib_dir = os.path.join(os.path.dirname(os.path.dirname(real)), "lib")
    if not os.path.isfile(os.path.join(lib_dir, "libmlir_c_runner_utils.so")):
        lib_dir = None
    try:
        opt = _find_tool("opt", "BM_LLVM_OPT", [os.path.join(llvm_bin, "opt")],
                         ["opt-22", "opt"])
    except ToolNotFoundError:
        opt = None
    try:
        llvm_split = _find_tool("llvm-split", "BM_LLVM_SPLIT",
                                [os.path.join(llvm_bin, "llvm-split")],
                                ["llvm-split-22", "llvm-split"])
    except ToolNotFoundError:
        llvm_split = None
    return Tools(bm_opt, translate, llc, cc, lib_dir, opt, llvm_split,
                 _find_async_runtime(bm_opt, build, lib_dir))


_ASYNC_RUNTIME_LIB = "libbm_async_runtime.so"
_MLIR_ASYNC_RUNTIME_LIB = "libmlir_async_runtime.so"


def _find_async_runtime(bm_opt, build, mlir_lib_dir):
    """The async runtime that parallel code links: $BM_ASYNC_RUNTIME (a
    library path, or "mlir" for MLIR's own), else bm's libbm_async_runtime
    from the build directory or beside bm-opt (<prefix>/bin/../lib), else
    MLIR's libmlir_async_runtime; None when there is none."""
    mlir_lib = (os.path.join(mlir_lib_dir, _MLIR_ASYNC_RUNTIME_LIB)
                if mlir_lib_dir else None)
    env = os.environ.get("BM_ASYNC_RUNTIME")
    if env:
        if env == "mlir":
            if mlir_lib and os.path.isfile(mlir_lib):
                return mlir_lib
            raise ToolNotFoundError(
                "BM_ASYNC_RUNTIME=mlir, but there is no %s in the MLIR "
                "library directory (%s)" % (_MLIR_ASYNC_RUNTIME_LIB,
                                            mlir_lib_dir),
                step="async runtime")
        if not os.path.isfile(env):
            raise ToolNotFoundError(
                "BM_ASYNC_RUNTIME=%s is not a file; name a shared library "
                "with the mlirAsyncRuntime* functions, or 'mlir'" % env,
                step="async runtime")
        return os.path.abspath(env)
    for d in (os.path.join(build, "lib"),
              os.path.join(os.path.dirname(os.path.dirname(
                  os.path.realpath(bm_opt))), "lib")):
        if os.path.isfile(os.path.join(d, _ASYNC_RUNTIME_LIB)):
            return os.path.join(d, _ASYNC_RUNTIME_LIB)
    if mlir_lib and os.path.isfile(mlir_lib):
        return mlir_lib
    return None


def cache_dir() -> str:
    d = os.environ.get("BM_COMPILER_CACHE")
    if not d:
        d = os.path.join(tempfile.gettempdir(),
                         "bm-compiler-cache-%d" % os.getuid())
    os.makedirs(d, exist_ok=True)
    return d


_host_cpu_cache: Dict[str, str] = {}


def _llc_version_field(llc, pattern):
    if llc not in _host_cpu_cache:
        try:
            _host_cpu_cache[llc] = subprocess.run(
                [llc, "--version"], capture_output=True, text=True,
                timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            _host_cpu_cache[llc] = ""
    m = re.search(pattern, _host_cpu_cache[llc])
    return m.group(1) if m else None


# The CPU targets of bm-lower-to-cpu{cpu=...}, from the most capable down:
# name -> (/proc/cpuinfo flags the code needs, llc -mattr features). The
# 256-bit VNNI intrinsics also run on AVX-512 VNNI CPUs with VL (LLVM encodes
# them with EVEX there).
CPU_TARGETS = {
    "avx512-vnni": (({"avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                      "avx512_vnni"},),
                    "+avx2,+fma,+avx512f,+avx512bw,+avx512vl,+avx512vnni"),
    "avx-vnni": (({"avx2", "fma", "avx_vnni"},
                  {"avx2", "fma", "avx512vl", "avx512_vnni"}),
                 "+avx2,+fma,+avxvnni"),
    "avx2": (({"avx2", "fma"},), "+avx2,+fma"),
    "generic": ((set(),), ""),
}


def _cpu_flags():
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def host_cpu_targets() -> List[str]:
    """The CPU targets whose code this machine can run, most capable first
    (``generic`` always; the x86 ones from /proc/cpuinfo's flags)."""
    flags = _cpu_flags()
    if flags is None:
        return ["generic"]
    return [name for name, (needs, _) in CPU_TARGETS.items()
            if any(need <= flags for need in needs)]


def host_cpu_target() -> str:
    """The target bm.compiler compiles for by default on this machine: the
    most capable of :func:`host_cpu_targets` (what bm-opt's cpu=host
    picks)."""
    return host_cpu_targets()[0]


def _host_cpu(llc):
    return _llc_version_field(llc, r"Host CPU:\s*(\S+)") or "unknown"


def _default_triple(llc):
    """llc's default target triple. The lowered module names none, and
    without one llc knows no C library: it expands every memcpy/memset into
    a byte loop."""
    return _llc_version_field(llc, r"Default target:\s*(\S+)")


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _has_async_runtime(tools):
    return bool(tools.async_runtime and tools.opt)


def _tool_id(path):
    st = os.stat(path)
    return "%s:%d:%d" % (os.path.realpath(path), st.st_size, st.st_mtime_ns)


def _failure(step, cmd, returncode, stdout, stderr):
    err = stderr.strip() or stdout.strip() or "(no output)"
    if len(err) > _MAX_STDERR:
        err = err[:_MAX_STDERR] + "\n... (%d more characters)" % (
            len(err) - _MAX_STDERR)
    return CompileError(
        f"{step} failed (exit status {returncode}):\n"
        f"  command: {shlex.join(cmd)}\n{err}",
        step=step, cmd=cmd, stderr=stderr)


def _run(step, cmd, stdin=None, cwd=None):
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                           cwd=cwd)
    except OSError as e:
        raise ToolNotFoundError(f"{step}: cannot run {cmd[0]}: {e}",
                                step=step, cmd=cmd) from None
    if p.returncode != 0:
        raise _failure(step, cmd, p.returncode, p.stdout, p.stderr)
    return p.stdout


def _run_all(step, cmds):
    """Runs the commands of one step at the same time; raises as
    :func:`_run` for the first that fails, after all have ended."""
    procs = []
    try:
        for cmd in cmds:
            procs.append((cmd, subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)))
    except OSError as e:
        for _, p in procs:
            p.kill()
            p.communicate()
        raise ToolNotFoundError(f"{step}: cannot run {cmds[0][0]}: {e}",
                                step=step, cmd=cmds[0]) from None
    ended = [(cmd, p) + p.communicate() for cmd, p in procs]
    for cmd, p, out, err in ended:
        if p.returncode != 0:
            raise _failure(step, cmd, p.returncode, out, err)


# Below this size of LLVM IR text, one llc is about as fast as a split.
_SPLIT_CODEGEN_BYTES = 4 << 20


# ---------------------------------------------------------------------------
# ctypes descriptors
# ---------------------------------------------------------------------------

_desc_types: Dict[int, type] = {}


def memref_descriptor_type(rank: int):
    """ctypes Structure of a ranked memref descriptor of ``rank``."""
    if rank not in _desc_types:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _desc_types[rank] = type("MemRefDescriptor%d" % rank,
                                 (ctypes.Structure,), {"_fields_": fields})
    return _desc_types[rank]


def _field_ctype(t):
    if isinstance(t, TensorType):
        return memref_descriptor_type(t.rank)
    return t.ctype


_libc = ctypes.CDLL(None)
_free = _libc.free
_free.argtypes = [ctypes.c_void_p]
_free.restype = None

_memory_kept = False


def _keep_freed_memory():
    """Keeps the memory a compiled function frees for its next call.

    A training step allocates and frees its intermediate buffers on every
    call. glibc hands large blocks back to the system (munmap, heap trim),
    so every call page-faults them in again: ~30% of the CNN step's time.
    Once per process, with glibc, allocations up to 32 MiB come from the
    heap (glibc's own dynamic limit) and up to 512 MiB of free heap is kept.
    BM_KEEP_FREED_MEMORY=0 leaves malloc as it is."""
    global _memory_kept
    if _memory_kept or os.environ.get("BM_KEEP_FREED_MEMORY", "1") == "0":
        return
    _memory_kept = True
    mallopt = getattr(_libc, "mallopt", None)
    if mallopt is None or platform.system() != "Linux":
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    mallopt(M_MMAP_THRESHOLD, 32 << 20)
    mallopt(M_TRIM_THRESHOLD, 512 << 20)


def _as_arg_array(value, t: TensorType, i, fname):
    a = np.asarray(value)
    want = t.dtype
    if a.dtype != want:
        if want.kind in "iu" and a.dtype.kind in "iu":
            if a.dtype.itemsize == want.itemsize:
                a = a.view(want)            # same bits (e.g. uint8 codes)
            else:
                a = a.astype(want)
        elif want.kind == "f" and a.dtype.kind in "fiu":
            a = a.astype(want)
        elif want.kind == "b" and a.dtype.kind in "biu":
            a = a.astype(want)
        else:
            raise TypeError(f"@{fname}: argument {i} must be {t}, got a "
                            f"{a.dtype} array")
    if a.ndim != t.rank or any(d is not None and d != s
                               for d, s in zip(t.shape, a.shape)):
        raise ValueError(f"@{fname}: argument {i} must be {t}, got shape "
                         f"{a.shape}")
    return np.ascontiguousarray(a)


def _to_scalar(value, t: ScalarType, i, fname):
    if t.element in ("f32", "f64"):
        return float(value)
    if t.element == "i1":
        return bool(value)
    v = int(value)
    bits = 64 if t.element == "index" else int(t.element[1:])
    if not -(1 << (bits - 1)) <= v < (1 << bits):
        raise ValueError(f"@{fname}: argument {i} ({t}) out of range: {v}")
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >= (1 << (bits - 1)) else v


class Function:
    """A compiled public function; call it with numpy arrays and Python
    scalars. Returns None, one value, or a tuple (several results)."""

    def __init__(self, module, sig: FunctionSignature):
        self.module = module
        self.signature = sig
        self.name = sig.name
        bad = [str(t) for t in sig.args + sig.results
               if isinstance(t, UnsupportedType)]
        self._unsupported = bad
        self._cfunc = None
        if bad:
            return
        try:
            cf = getattr(module._dll, "_mlir_ciface_" + sig.name)
        except AttributeError:
            raise CompileError(f"@{sig.name}: _mlir_ciface_{sig.name} is not "
                               f"exported by {module.path}") from None
        argtypes = []
        res = sig.results
        self._out_type = None
        self._out_params = module.out_params
        restype = None
        if self._out_params:
            pass  # results are out-params, after the arguments
        elif len(res) == 1 and isinstance(res[0], ScalarType):
            restype = res[0].ctype
        elif len(res) == 1:
            self._out_type = memref_descriptor_type(res[0].rank)
        elif len(res) > 1:
            self._out_type = type(
                "Results_" + re.sub(r"\W", "_", sig.name), (ctypes.Structure,),
                {"_fields_": [("r%d" % k, _field_ctype(t))
                              for k, t in enumerate(res)]})
        if self._out_type is not None:
            argtypes.append(ctypes.POINTER(self._out_type))
        for t in sig.args:
            if isinstance(t, TensorType):
                argtypes.append(ctypes.POINTER(memref_descriptor_type(t.rank)))
            else:
                argtypes.append(t.ctype)
        if self._out_params:
            argtypes += [ctypes.POINTER(memref_descriptor_type(t.rank))
                         for t in res]
        cf.argtypes = argtypes
        cf.restype = restype
        self._cfunc = cf

    def __repr__(self):
        return "<bm.compiler.Function %s>" % self.signature

    def __call__(self, *args, out=None):
        """Calls the function on numpy arrays / scalars. Array results come
        back as new arrays, or, with ``out`` (one entry per result: a
        C-contiguous array of the result's shape and dtype, or None), are
        copied into the given arrays (a caller reusing buffers avoids
        allocating and faulting in fresh pages per call). In a module compiled
        with out-params the code writes its results straight into these
        arrays (into a temporary first where one overlaps an argument)."""
        sig = self.signature
        if out is not None:
            out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            if len(out) != len(sig.results):
                raise TypeError(f"@{self.name}: out needs {len(sig.results)} "
                                f"entries (one per result), got {len(out)}")
        if self._unsupported:
            raise TypeError(f"@{self.name}: unsupported type(s) at the function "
                            f"boundary: {', '.join(self._unsupported)} "
                            "(see bm.compiler's docstring)")
        if len(args) != len(sig.args):
            raise TypeError(f"@{self.name} takes {len(sig.args)} argument(s) "
                            f"({', '.join(map(str, sig.args))}), got {len(args)}")
        keep, cargs, in_ranges, arrays = [], [], [], []
        for i, (v, t) in enumerate(zip(args, sig.args)):
            if isinstance(t, TensorType):
                a = _as_arg_array(v, t, i, self.name)
                arrays.append(a)
                d = _descriptor_of(a, t)
                keep.append(d)
                in_ranges.append((a.ctypes.data,
                                  a.ctypes.data + max(a.nbytes, 1)))
                cargs.append(ctypes.byref(d))
            else:
                cargs.append(_to_scalar(v, t, i, self.name))
        if self._out_params and sig.results:
            return self._call_out_params(cargs, arrays, keep, out)
        if self._out_type is None:
            r = self._cfunc(*cargs)
            return None if not sig.results else sig.results[0].dtype.type(r)
        ret = self._out_type()
        self._cfunc(ctypes.byref(ret), *cargs)
        res = sig.results
        fields = [ret] if len(res) == 1 else [getattr(ret, "r%d" % k)
                                              for k in range(len(res))]
        dests = out if out is not None else (None,) * len(res)
        values, to_free = [], []
        try:
            for f, t, dest in zip(fields, res, dests):
                if isinstance(t, ScalarType):
                    values.append(t.dtype.type(f))
                    continue
                values.append(_descriptor_to_numpy(f, t, dest))
        finally:
            # Every returned memref is owned by the caller: free each
            # allocation once (never an argument's buffer).
            for f, t in zip(fields, res):
                if isinstance(t, TensorType):
                    p = f.allocated
                    if p and p not in to_free and not any(
                            lo <= p < hi for lo, hi in in_ranges):
                        to_free.append(p)
            for p in to_free:
                _free(p)
        return values[0] if len(values) == 1 else tuple(values)

    def _call_out_params(self, cargs, arrays, keep, out):
        # Every result is a static-shaped array that the code writes in
        # place. The code may read an argument after writing part of a
        # result, so a destination that overlaps an argument (or another
        # destination) gets a temporary that is copied into it afterwards.
        res = self.signature.results
        dests = out if out is not None else (None,) * len(res)
        values, buffers, copies = [], [], []
        for t, dest in zip(res, dests):
            shape = tuple(t.shape)
            if dest is None:
                buf = dest = np.empty(shape, t.dtype)
            else:
                _check_out_array(dest, t, shape)
                buf = dest
                if any(np.may_share_memory(dest, a)
                       for a in arrays + buffers):
                    buf = np.empty(shape, t.dtype)
                    copies.append((dest, buf))
            values.append(dest)
            buffers.append(buf)
            d = _descriptor_of(buf, t)
            keep.append(d)
            cargs.append(ctypes.byref(d))
        self._cfunc(*cargs)
        for dest, buf in copies:
            np.copyto(dest, buf)
        return values[0] if len(values) == 1 else tuple(values)


def _descriptor_of(a: np.ndarray, t: TensorType):
    """The memref descriptor of the C-contiguous array `a` (of type `t`)."""
    d = memref_descriptor_type(t.rank)()
    d.allocated = d.aligned = a.ctypes.data
    d.offset = 0
    for k in range(t.rank):
        d.sizes[k] = a.shape[k]
        d.strides[k] = a.strides[k] // a.itemsize
    return d


def _check_out_array(dest, t: TensorType, sizes):
    dt = t.dtype
    if (not isinstance(dest, np.ndarray) or dest.shape != sizes or
            dest.dtype != dt or not dest.flags.c_contiguous or
            not dest.flags.writeable):
        raise TypeError(f"out array for a {t} result must be a writable "
                        f"C-contiguous {dt} array of shape {sizes}")


def _descriptor_to_numpy(d, t: TensorType, dest=None) -> np.ndarray:
    dt = t.dtype
    if t.rank == 0:
        sizes, strides = (), ()
    else:
        sizes = tuple(int(s) for s in d.sizes)
        strides = tuple(int(s) for s in d.strides)
    n = 1
    for s in sizes:
        n *= s
    if dest is not None:
        _check_out_array(dest, t, sizes)
    if n == 0:
        return np.empty(sizes, dt) if dest is None else dest
    if not d.aligned:
        raise RuntimeError("compiled code returned a null buffer for a "
                           f"{t} result")
    base = d.aligned + int(d.offset) * dt.itemsize
    lo = sum((s - 1) * st for s, st in zip(sizes, strides) if st < 0)
    hi = sum((s - 1) * st for s, st in zip(sizes, strides) if st > 0)
    span = hi - lo + 1
    buf = (ctypes.c_char * (span * dt.itemsize)).from_address(
        base + lo * dt.itemsize)
    flat = np.frombuffer(buf, dtype=dt, count=span)
    view = np.lib.stride_tricks.as_strided(
        flat[-lo:] if lo else flat, shape=sizes,
        strides=tuple(st * dt.itemsize for st in strides))
    if dest is not None:
        np.copyto(dest, view)
        return dest
    return np.array(view, dtype=dt, order="C", copy=True)


# ---------------------------------------------------------------------------
# Compiled modules
# ---------------------------------------------------------------------------

class CompiledModule:
    """A loaded shared library compiled from an MLIR module.

    ``functions``: name -> :class:`Function` (public functions with a body);
    ``path``: the .so; ``lowered_path`` / ``llvm_ir_path``: the LLVM-dialect
    MLIR and the LLVM IR it was built from (kept in the cache);
    ``out_params``: whether its functions take their results as out-params
    (see :func:`compile_module`)."""

    def __init__(self, path, signatures: Mapping[str, FunctionSignature],
                 lowered_path=None, llvm_ir_path=None, out_params=False):
        self.path = path
        self.out_params = out_params
        self.lowered_path = lowered_path
        self.llvm_ir_path = llvm_ir_path
        self._dll = ctypes.CDLL(path, mode=getattr(os, "RTLD_LOCAL", 0))
        _keep_freed_memory()
        self.signatures = dict(signatures)
        self.functions = {n: Function(self, s) for n, s in signatures.items()}

    def __getitem__(self, name) -> Function:
        try:
            return self.functions[name]
        except KeyError:
            raise KeyError(f"no public function @{name} in the module (have: "
                           f"{', '.join(sorted(self.functions)) or 'none'})") from None

    def __getattr__(self, name):
        if name.startswith("_") or "functions" not in self.__dict__:
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(str(e)) from None

    def call(self, name, *args, **kwargs):
        """Calls @name; returns None, a numpy array / scalar, or a tuple
        (``out=`` as for :class:`Function`)."""
        return self[name](*args, **kwargs)

    def __repr__(self):
        return "<bm.compiler.CompiledModule %s: %s>" % (
            self.path, ", ".join(map(str, self.signatures.values())))


_lock = threading.Lock()


# ---------------------------------------------------------------------------
# The training rewrite (bm-quantize-training) as compile_module passes
# ---------------------------------------------------------------------------

#: The formats a captured training step compiles in: FP32 (no rewrite) and
#: the presets of ``bm-quantize-training`` (docs/training.md).
TRAINING_FORMATS = ("fp32",) + tuple(numerics.PRESETS)

#: The values of bm-quantize-training's ``loss-grad`` option.
LOSS_GRAD_OPTIONS = ("auto", "fp32", "bm")

#: The values of bm-quantize-training's ``model-input`` option.
MODEL_INPUT_OPTIONS = ("bm", "fp32")


def quantize_training_passes(fmt: str, rounding: str = "stochastic",
                             loss_grad: str = "auto", scale: str = "floor",
                             forward_scale: Optional[str] = None,
                             backward_scale: Optional[str] = None,
                             model_input: str = "bm") -> List[str]:
    """The bm-opt passes (``compile_module(passes=...)``) that turn a
    captured FP32 training step into format `fmt`, one of
    :data:`TRAINING_FORMATS`; none for "fp32".
    ``rounding``: the rounding of every quantize (:data:`numerics.ROUNDINGS`;
    stochastic rounding draws from the step's seed argument).
    ``loss_grad``: the rewrite's loss-grad option (contractions reading the
    loss gradient itself: "fp32" keeps them in FP32, "bm" quantizes them,
    "auto" keeps them for bm5 and bm4; see docs/training.md).
    ``scale``: the shared-exponent rule of every quantize, "floor" (the
    paper's) or "fit" (docs/numerics.md); ``forward_scale`` (weights and
    activations) and ``backward_scale`` (errors) override it per role.
    ``model_input``: the rewrite's model-input option ("fp32" keeps the
    contractions that read the model's input itself, the first layer's
    forward and weight gradient, in FP32; "bm", the default, does not)."""
    if fmt not in TRAINING_FORMATS:
        raise ValueError("unknown format %r; use one of %s"
                         % (fmt, ", ".join(TRAINING_FORMATS)))
    if rounding not in numerics.ROUNDINGS:
        raise ValueError("unknown rounding %r; use one of %s"
                         % (rounding, ", ".join(numerics.ROUNDINGS)))
    if loss_grad not in LOSS_GRAD_OPTIONS:
        raise ValueError("unknown loss_grad %r; use one of %s"
                         % (loss_grad, ", ".join(LOSS_GRAD_OPTIONS)))
    if model_input not in MODEL_INPUT_OPTIONS:
        raise ValueError("unknown model_input %r; use one of %s"
                         % (model_input, ", ".join(MODEL_INPUT_OPTIONS)))
    for name, value in (("scale", scale), ("forward_scale", forward_scale),
                        ("backward_scale", backward_scale)):
        if value is not None and value not in numerics.SCALES:
            raise ValueError("unknown %s %r; use one of %s"
                             % (name, value, ", ".join(numerics.SCALES)))
    if fmt == "fp32":
        return []
    options = "preset=%s rounding=%s loss-grad=%s" % (fmt, rounding, loss_grad)
    # Only rules other than the default are spelled out, so that a floor
    # run compiles exactly the pass pipeline it always did.
    if scale != "floor":
        options += " scale=%s" % scale
    if forward_scale is not None:
        options += " forward-scale=%s" % forward_scale
    if backward_scale is not None:
        options += " backward-scale=%s" % backward_scale
    if model_input != "bm":
        options += " model-input=%s" % model_input
    return ["--bm-quantize-training=" + options]


# ---------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------

def compile_module(mlir: str, *, mcpu: Optional[str] = "native",
                   opt_level: int = 3,
                   bm_opt_args: Sequence[str] = (), use_cache: bool = True,
                   passes: Sequence[str] = (),
                   parallel: Optional[bool] = None,
                   vector_kernels: bool = True,
                   cpu: Optional[str] = None,
                   out_params: Optional[bool] = None,
                   lower_options: Sequence[str] = (),
                   codegen_jobs: Optional[int] = None,
                   ) -> CompiledModule:
    """Compiles MLIR text (bm ops on tensors, func.func entry points) into a
    shared library and loads it.

    ``mcpu``: llc ``-mcpu`` ("native" by default; None for the generic
    target); ``opt_level``: llc -O level; ``passes``: bm-opt passes to run
    before the lowering (e.g. ``["--bm-quantize-training=preset=bm6"]``);
    ``bm_opt_args``: extra bm-opt options, after the pipeline;
    ``use_cache``: reuse a library compiled earlier from the same input;
    ``parallel``: run the tiles of bm.matmul kernels on all cores
    (``bm-lower-to-cpu{parallel=true}``, linking an async runtime: see the
    module docstring);
    None (the default) means yes when this process may use more than one
    CPU and the runtime library is installed; ``vector_kernels``: False
    lowers every contraction in the generic form
    (``bm-lower-to-cpu{vector-kernels=false}``); ``cpu``: the CPU target
    of the kernels (``bm-lower-to-cpu{cpu=...}``, one of
    :data:`CPU_TARGETS`; unless ``mcpu="native"``, llc also gets its
    features as ``-mattr``), None
    (the default) meaning :func:`host_cpu_target` when compiling for this
    host (``mcpu="native"``) and ``generic`` otherwise;
    ``out_params``: compile every function to write its results into
    caller-provided buffers (``bm-lower-to-cpu{out-params=...}``); calls
    then allocate each result (or take it from ``out=``) and the code
    computes straight into it, with no copy. None (the default) means yes
    when every result of every function in the module is a statically
    shaped tensor (``out-params=auto``: a call must know each result's shape
    to allocate it, and a scalar result would stay a return value); True
    raises :class:`CompileError` naming the result that prevents it.
    ``codegen_jobs``: split the LLVM module into this many parts
    (``llvm-split --round-robin``) and run one llc per part at the same
    time; None (the default) means one part per usable CPU (at most 8)
    when the module is large (4 MiB of LLVM IR) and ``llvm-split`` is
    found, else 1. The machine code of each function is the same.

    The signatures of the public functions come from the lowering itself
    (``bm-lower-to-cpu{signatures=...}`` writes them as JSON, see
    :func:`read_signatures`); they are cached beside the library.
    Raises :class:`ToolNotFoundError` or :class:`CompileError` (with the
    failing tool's stderr and a command that reproduces the failure)."""
    if not isinstance(mlir, str):
        raise TypeError("compile_module: expected MLIR text (use compile_file "
                        "for a path)")
    if codegen_jobs is not None and codegen_jobs < 1:
        raise ValueError("compile_module: codegen_jobs must be at least 1, "
                         "got %r" % (codegen_jobs,))
    tools = find_tools()
    if parallel is None:
        parallel = _usable_cpus() > 1 and _has_async_runtime(tools)
    elif parallel and not _has_async_runtime(tools):
        raise ToolNotFoundError(
            "parallel=True needs LLVM's opt and an async runtime library "
            "(libbm_async_runtime.so in the build's lib directory, or "
            "libmlir_async_runtime.so in the MLIR library directory %s)"
            % tools.mlir_lib_dir)
    lower = ["emit-c-interface=true",
             "out-params=" + {None: "auto", True: "auto",
                              False: "false"}[out_params]]
    if parallel:
        lower.append("parallel=true")
    if not vector_kernels:
        lower.append("vector-kernels=false")
    lower.extend(lower_options)
    triple = _default_triple(tools.llc)
    if cpu is None:
        if mcpu == "native" and (triple or "").startswith("x86_64"):
            cpu = host_cpu_target()
        else:
            cpu = "generic"
    if cpu not in CPU_TARGETS:
        raise ValueError("compile_module: unknown cpu %r; use one of %s"
                         % (cpu, ", ".join(CPU_TARGETS)))
    lower.append("cpu=" + cpu)
    llc_flags = ["-O%d" % opt_level, "-filetype=obj", "-relocation-model=pic"]
    if triple:
        llc_flags.append("-mtriple=" + triple)
    if mcpu:
        llc_flags.append("-mcpu=" + mcpu)
    # For this host (-mcpu=native) llc already has the CPU's features, and
    # must keep them: +avxvnni on an AVX-512 VNNI CPU without AVX-VNNI would
    # encode the 256-bit vpdpbusd with VEX, which that CPU cannot run.
    if CPU_TARGETS[cpu][1] and mcpu != "native":
        llc_flags.append("-mattr=" + CPU_TARGETS[cpu][1])
    h = hashlib.sha256()
    for part in [_VERSION, mlir, repr(list(passes)), repr(lower),
                 repr(list(bm_opt_args)), repr(llc_flags),
                 _host_cpu(tools.llc) if mcpu == "native" else "",
                 _tool_id(tools.bm_opt), _tool_id(tools.mlir_translate),
                 _tool_id(tools.llc), tools.cc, str(tools.mlir_lib_dir),
                 str(tools.async_runtime) if parallel else ""]:
        h.update(part.encode())
        h.update(b"\0")
    key = h.hexdigest()[:32]
    cdir = cache_dir()
    so = os.path.join(cdir, key + ".so")
    sig_json = os.path.join(cdir, key + ".signatures.json")
    lowered = os.path.join(cdir, key + ".lowered.mlir")
    llir = os.path.join(cdir, key + ".ll")

    def load(sig_path, low_path, ll_path):
        sigs, used, blocker = read_signatures(sig_path)
        if out_params and not used:
            raise CompileError(
                "out_params=True needs statically shaped tensor results "
                f"only: {blocker}", step="signatures")
        return CompiledModule(so, sigs, low_path, ll_path, out_params=used)

    if use_cache and os.path.isfile(so) and os.path.isfile(sig_json):
        return load(sig_json, lowered if os.path.isfile(lowered) else None,
                    llir if os.path.isfile(llir) else None)

    work = tempfile.mkdtemp(prefix="build-" + key[:8] + "-", dir=cdir)
    src_path = os.path.join(work, "input.mlir")
    with open(src_path, "w") as f:
        f.write(mlir)
    work_sigs = os.path.join(work, "signatures.json")
    pipeline = list(passes) + [
        "--bm-lower-to-cpu=" + " ".join(lower + ["signatures=" + work_sigs])
    ] + list(bm_opt_args)
    low_path = os.path.join(work, "lowered.mlir")
    try:
        _run("bm-opt", [tools.bm_opt, src_path] + pipeline + ["-o", low_path])
        if out_params:
            # Fail before the slow steps when the results cannot be out-params.
            _, used, blocker = read_signatures(work_sigs)
            if not used:
                raise CompileError(
                    "out_params=True needs statically shaped tensor results "
                    f"only: {blocker}", step="signatures")
        ll_path = os.path.join(work, "module.ll")
        _run("mlir-translate", [tools.mlir_translate, "--mlir-to-llvmir",
                                low_path, "-o", ll_path])
        if parallel:
            # The async tasks are LLVM coroutines: split them before llc.
            coro_path = os.path.join(work, "module.coro.ll")
            _run("opt (coroutines)", [
                tools.opt, "-passes=coro-early,cgscc(coro-split),coro-cleanup,"
                "globaldce", ll_path, "-S", "-o", coro_path])
            ll_path = coro_path
        jobs = codegen_jobs
        if jobs is None:
            jobs = (min(_usable_cpus(), 8) if tools.llvm_split and
                    os.path.getsize(ll_path) >= _SPLIT_CODEGEN_BYTES else 1)
        if jobs > 1:
            if not tools.llvm_split:
                raise ToolNotFoundError(
                    "codegen_jobs > 1 needs LLVM's llvm-split (set "
                    "$BM_LLVM_SPLIT)", step="llvm-split")
            part = os.path.join(work, "module.part")
            _run("llvm-split", [tools.llvm_split, "-j", str(jobs),
                                "--round-robin", "-o", part, ll_path])
            objs = [part + "%d.o" % i for i in range(jobs)]
            _run_all("llc", [[tools.llc] + llc_flags + [part + str(i), "-o", o]
                             for i, o in enumerate(objs)])
        else:
            objs = [os.path.join(work, "module.o")]
            _run("llc", [tools.llc] + llc_flags + [ll_path, "-o", objs[0]])
        so_tmp = os.path.join(work, "module.so")
        # -Bsymbolic: calls between the module's own functions bind inside
        # the library. Without it a function named like a libc symbol (a
        # training "step", "read", ...) is called through libc's.
        link = [tools.cc, "-shared", "-o", so_tmp] + objs + [
            "-Wl,--no-undefined", "-Wl,-Bsymbolic"]
        if tools.mlir_lib_dir:
            link += ["-Wl,--as-needed", "-L" + tools.mlir_lib_dir,
                     "-Wl,-rpath," + tools.mlir_lib_dir,
                     "-lmlir_c_runner_utils", "-Wl,--no-as-needed"]
        if parallel:
            link += [tools.async_runtime, "-Wl,-rpath,"
                     + os.path.dirname(tools.async_runtime)]
        link += ["-lm"]
        _run("link (cc -shared)", link)
    except CompileError as e:
        if e.step == "signatures":
            shutil.rmtree(work, ignore_errors=True)
            raise
        raise kept_in(e, work) from None
    with _lock:
        os.replace(work_sigs, sig_json)
        os.replace(low_path, lowered)
        os.replace(ll_path, llir)
        os.replace(so_tmp, so)
    shutil.rmtree(work, ignore_errors=True)
    return load(sig_json, lowered, llir)


def kept_in(e: CompileError, work: str) -> CompileError:
    """`e`, saying that the work directory is kept: the message's command
    reproduces the failure on the input kept there."""
    return CompileError(f"{e}\n(input and intermediate files kept in "
                        f"{work})", step=e.step, cmd=e.cmd, stderr=e.stderr)


def compile_file(path: Union[str, os.PathLike], **kwargs) -> CompiledModule:
    """:func:`compile_module` on the text of a file."""
    with open(path) as f:
        return compile_module(f.read(), **kwargs)
