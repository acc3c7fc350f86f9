"""Compiled bm code on NVIDIA GPUs, called with PyTorch CUDA tensors.

    from bm import cuda
    mod = cuda.compile_module(mlir_text, passes=["--bm-quantize-training"])
    out = mod["train_step"](*cuda_tensors, seed)   # CUDA tensors back
    path = cuda.compile_module(mlir_text, load=False)  # build only
    mod = cuda.load_module(path, runtime)              # e.g. on a GPU machine

:func:`compile_module` runs ``bm-opt --bm-lower-to-nvvm`` (out-params: the
results are written into CUDA tensors the call allocates, or that ``out=``
gives), ``mlir-translate``, ``llc`` and ``cc``, and links the library with
``libbm_cuda_runtime`` (built with bm when CMake finds a CUDA toolkit; found
next to ``bm-opt`` as ``../lib/libbm_cuda_runtime.so``, or at
``$BM_CUDA_RUNTIME``). Libraries are cached like :mod:`bm.compiler`'s.

Calls are stream-ordered on PyTorch's current stream (the runtime's
``bmCudaSetStream``): a call queues its kernels, allocations and frees on
that stream and returns; PyTorch's later work on the stream runs after it,
and reading a result (``.item()``, ``.cpu()``) waits for it as for any
PyTorch op. Every tensor argument must be a contiguous CUDA tensor of the
argument's shape and dtype.

Testing aid: with ``BM_CUDA_EMULATE=1`` the module is instead compiled by
``bm-lower-to-gpu`` and ``bm-gpu-launch-to-loops`` (a pass of test builds of
bm-opt that runs each GPU kernel as CPU loops) and called with CPU tensors:
the same kernels, the same calling code, no GPU.
"""

import ctypes
import hashlib
import os
import shutil
import tempfile
import threading
from typing import Dict, Mapping, Optional, Sequence

from . import compiler
from .compiler import (CompileError, ScalarType, TensorType, ToolNotFoundError,
                       _run, _to_scalar, find_tools, memref_descriptor_type,
                       read_signatures)

_lock = threading.Lock()


def emulated() -> bool:
    """Whether BM_CUDA_EMULATE=1 (GPU kernels run as CPU loops; tensors on
    the CPU)."""
    return os.environ.get("BM_CUDA_EMULATE", "0") == "1"


def device() -> str:
    """The torch device of this module's tensors: "cuda", or "cpu" when
    emulated."""
    return "cpu" if emulated() else "cuda"


def runtime_library(tools=None) -> str:
    """The path of libbm_cuda_runtime.so: $BM_CUDA_RUNTIME, or the one next
    to bm-opt (<prefix>/lib). Raises ToolNotFoundError if there is none."""
    path = os.environ.get("BM_CUDA_RUNTIME")
    if not path:
        tools = tools or find_tools()
        path = os.path.join(os.path.dirname(os.path.dirname(
            os.path.realpath(tools.bm_opt))), "lib", "libbm_cuda_runtime.so")
    if not os.path.isfile(path):
        raise ToolNotFoundError(
            "libbm_cuda_runtime.so not found at %s: build bm with a CUDA "
            "toolkit (BM_ENABLE_CUDA) or set $BM_CUDA_RUNTIME" % path,
            step="runtime")
    return path


def compile_module(mlir: str, *, passes: Sequence[str] = (),
                   chip: str = "sm_90", features: str = "+ptx80",
                   binary: str = "ptx", use_cache: bool = True,
                   load: bool = True):
    """Compiles MLIR text (bm ops on tensors, func.func entry points) for
    the GPU into a shared library; returns the loaded :class:`CudaModule`,
    or the library's path with ``load=False`` (e.g. on a machine without a
    GPU). ``passes``: bm-opt passes before the lowering; ``chip`` /
    ``features``: the GPU target; ``binary``: "ptx" (JIT-compiled by the
    driver) or "cubin" (ptxas here)."""
    if binary not in ("ptx", "cubin"):
        raise ValueError("binary must be 'ptx' or 'cubin', got %r" % (binary,))
    tools = find_tools()
    emulate = emulated()
    runtime = None if emulate else runtime_library(tools)
    if emulate:
        lower = ["--bm-lower-to-gpu=emit-c-interface=true host-shared=true "
                 "out-params=true signatures={sig}",
                 "--bm-gpu-launch-to-loops", "--convert-scf-to-cf",
                 "--expand-strided-metadata", "--lower-affine",
                 "--convert-to-llvm", "--reconcile-unrealized-casts"]
    else:
        lower = ["--bm-lower-to-nvvm=emit-c-interface=true out-params=true "
                 "signatures={sig} chip=%s features=%s format=%s"
                 % (chip, features, "isa" if binary == "ptx" else "bin")]
    h = hashlib.sha256()
    for part in ["bm.cuda/1", mlir, repr(list(passes)), repr(lower),
                 str(runtime), compiler._tool_id(tools.bm_opt),
                 compiler._tool_id(tools.llc), tools.cc]:
        h.update(part.encode())
        h.update(b"\0")
    key = h.hexdigest()[:32]
    cdir = compiler.cache_dir()
    so = os.path.join(cdir, key + ".cuda.so")
    sig_json = os.path.join(cdir, key + ".cuda.signatures.json")
    if not (use_cache and os.path.isfile(so) and os.path.isfile(sig_json)):
        work = tempfile.mkdtemp(prefix="build-cuda-" + key[:8] + "-",
                                dir=cdir)
        src = os.path.join(work, "input.mlir")
        with open(src, "w") as f:
            f.write(mlir)
        sigs = os.path.join(work, "signatures.json")
        low = os.path.join(work, "lowered.mlir")
        ll = os.path.join(work, "module.ll")
        obj = os.path.join(work, "module.o")
        so_tmp = os.path.join(work, "module.so")
        link = [tools.cc, "-shared", "-o", so_tmp, obj, "-Wl,-Bsymbolic"]
        if runtime:
            rtdir = os.path.dirname(runtime)
            link += ["-L" + rtdir, "-Wl,-rpath," + rtdir, "-lbm_cuda_runtime"]
        if tools.mlir_lib_dir:
            link += ["-L" + tools.mlir_lib_dir,
                     "-Wl,-rpath," + tools.mlir_lib_dir,
                     "-lmlir_c_runner_utils"]
        try:
            _run("bm-opt", [tools.bm_opt, src] + list(passes) +
                 [p.format(sig=sigs) for p in lower] + ["-o", low])
            _run("mlir-translate", [tools.mlir_translate, "--mlir-to-llvmir",
                                    low, "-o", ll])
            _run("llc", [tools.llc, "-O2", "-filetype=obj",
                         "-relocation-model=pic", ll, "-o", obj])
            _run("link (cc -shared)", link)
        except CompileError as e:
            raise compiler.kept_in(e, work) from None
        with _lock:
            os.replace(sigs, sig_json)
            os.replace(so_tmp, so)
        shutil.rmtree(work, ignore_errors=True)
    if not load:
        return so
    return load_module(so, runtime)


def load_module(path: str, runtime: Optional[str] = None) -> "CudaModule":
    """Loads a library that :func:`compile_module` built (e.g. here, then
    carried to a GPU machine without MLIR): `path` and, beside it, the
    signatures (``<path without .so>.signatures.json``); `runtime`:
    libbm_cuda_runtime.so (None when emulated)."""
    sig_json = os.path.splitext(path)[0] + ".signatures.json"
    signatures, used, blocker = read_signatures(sig_json)
    if not used:
        raise CompileError("the GPU lowering needs statically shaped tensor "
                           f"results only: {blocker}", step="signatures")
    return CudaModule(path, signatures, runtime)


_TORCH_DTYPES = {"f32": "float32", "f64": "float64", "i8": "int8",
                 "i16": "int16", "i32": "int32", "i64": "int64", "i1": "bool"}


def _torch_dtype(t: TensorType):
    import torch
    return getattr(torch, _TORCH_DTYPES[t.element])


class CudaModule:
    """A loaded library compiled by :func:`compile_module`: ``functions``
    (name -> :class:`CudaFunction`), ``path``."""

    def __init__(self, path, signatures: Mapping[str, compiler.FunctionSignature],
                 runtime_path: Optional[str]):
        self.path = path
        self._runtime = None
        if runtime_path:
            # Loaded first and global: the module's own reference to
            # libbm_cuda_runtime.so then resolves to it wherever the module
            # was built.
            self._runtime = ctypes.CDLL(runtime_path, mode=ctypes.RTLD_GLOBAL)
            self._runtime.bmCudaSetStream.argtypes = [ctypes.c_void_p]
            self._runtime.bmCudaErrorCount.restype = ctypes.c_int
        self._dll = ctypes.CDLL(path, mode=getattr(os, "RTLD_LOCAL", 0))
        self.signatures = dict(signatures)
        self.functions: Dict[str, CudaFunction] = {
            n: CudaFunction(self, s) for n, s in self.signatures.items()}

    def __getitem__(self, name) -> "CudaFunction":
        try:
            return self.functions[name]
        except KeyError:
            raise KeyError(f"no public function @{name} in the module (have: "
                           f"{', '.join(sorted(self.functions)) or 'none'})") from None


class CudaFunction:
    """A compiled public function; call it with CUDA tensors and Python
    scalars. Returns the results as new CUDA tensors (a 0-d tensor for a
    scalar-shaped result), or fills ``out`` (one tensor per result)."""

    def __init__(self, module: CudaModule, sig: compiler.FunctionSignature):
        self.module = module
        self.signature = sig
        self.name = sig.name
        bad = [str(t) for t in sig.args + sig.results
               if not isinstance(t, (TensorType, ScalarType))]
        bad += [str(t) for t in sig.results if not isinstance(t, TensorType)]
        if bad:
            raise CompileError(f"@{sig.name}: unsupported type(s) at the "
                               f"GPU function boundary: {', '.join(bad)}")
        cf = getattr(module._dll, "_mlir_ciface_" + sig.name)
        argtypes = []
        for t in sig.args:
            argtypes.append(ctypes.POINTER(memref_descriptor_type(t.rank))
                            if isinstance(t, TensorType) else t.ctype)
        argtypes += [ctypes.POINTER(memref_descriptor_type(t.rank))
                     for t in sig.results]
        cf.argtypes = argtypes
        cf.restype = None
        self._cfunc = cf

    def _descriptor(self, value, t: TensorType, what):
        import torch
        want = device()
        if (not isinstance(value, torch.Tensor) or value.device.type != want
                or value.dtype != _torch_dtype(t) or not value.is_contiguous()
                or tuple(value.shape) != tuple(t.shape)):
            got = (f"a {value.dtype} tensor of shape {tuple(value.shape)} on "
                   f"{value.device}" if isinstance(value, torch.Tensor)
                   else type(value).__name__)
            raise TypeError(f"@{self.name}: {what} must be a contiguous "
                            f"{_TORCH_DTYPES[t.element]} tensor of shape "
                            f"{tuple(t.shape)} on {want}, got {got}")
        d = memref_descriptor_type(t.rank)()
        d.allocated = d.aligned = value.data_ptr()
        d.offset = 0
        for k in range(t.rank):
            d.sizes[k] = value.shape[k]
            d.strides[k] = value.stride(k)
        return d

    def __call__(self, *args, out=None):
        import torch
        sig = self.signature
        if len(args) != len(sig.args):
            raise TypeError(f"@{self.name} takes {len(sig.args)} argument(s) "
                            f"({', '.join(map(str, sig.args))}), got {len(args)}")
        if out is not None:
            out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            if len(out) != len(sig.results):
                raise TypeError(f"@{self.name}: out needs {len(sig.results)} "
                                f"entries (one per result), got {len(out)}")
        keep, cargs, inputs = [], [], []
        for i, (v, t) in enumerate(zip(args, sig.args)):
            if isinstance(t, TensorType):
                d = self._descriptor(v, t, "argument %d" % i)
                keep.append(d)
                inputs.append(v)
                cargs.append(ctypes.byref(d))
            else:
                cargs.append(_to_scalar(v, t, i, self.name))
        results = []
        for k, t in enumerate(sig.results):
            dest = out[k] if out is not None else None
            if dest is None:
                dest = torch.empty(tuple(t.shape), dtype=_torch_dtype(t),
                                   device=device())
            elif any(dest.data_ptr() == x.data_ptr() for x in inputs):
                raise ValueError(f"@{self.name}: out tensor {k} is also an "
                                 "argument")
            d = self._descriptor(dest, t, "out tensor %d" % k)
            keep.append(d)
            results.append(dest)
            cargs.append(ctypes.byref(d))
        rt = self.module._runtime
        if rt is not None:
            # Stream-ordered on PyTorch's current stream.
            rt.bmCudaSetStream(torch.cuda.current_stream().cuda_stream)
            before = rt.bmCudaErrorCount()
        self._cfunc(*cargs)
        if rt is not None and rt.bmCudaErrorCount() != before:
            raise RuntimeError(f"@{self.name}: CUDA errors in the call (see "
                               "stderr)")
        return results[0] if len(results) == 1 else tuple(results)
