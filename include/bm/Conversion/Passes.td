//===- Passes.td - bm conversion passes --------------------*- tablegen -*-===//

#ifndef BM_CONVERSION_PASSES_TD
#define BM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertBMToLinalg : Pass<"convert-bm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower BM tensor ops to linalg/tensor/arith on codes and biases";
  let description = [{
    Every `!bm.tensor` value becomes its two runtime parts (1:N type
    conversion, function signatures included): a codes tensor of the
    format's storage integer type and an `i8` biases tensor of the block-grid
    shape. Then:

    * `bm.quantize`: a block-max reduction over the float bits, the block
      biases from the exact exponent, and an elementwise rounding with
      Philox-based stochastic rounding (numerics.md sections 2-3), all in
      integer `arith` inside `linalg.generic`s; with `vector-quantize-bits`
      (as `bm-lower-to-cpu` sets it), the CPU quantize kernel instead: one
      vectorized pass over each band of block rows, same bits;
    * `bm.dequantize`: elementwise, exactly rounded (section 4);
    * `bm.matmul`: operands are decoded once (`bm.decode`) and laid out run
      by run; each run is one exact `bm.fma` reduction into a
      `!bm.kulisch<W>` accumulator whose width W comes from the formats and
      the longest run, converted once with `bm.kulisch.to_f32` and added to
      the float32 result in ascending run order (section 5);
    * `bm.conv2d`: a scan of each output's reduction that opens a new run
      whenever the input or filter block changes and skips zero padding;
    * `bm.transpose`: `linalg.transpose` of codes and biases;
    * `bm.pack` / `bm.unpack`: forwarding of the two parts.

    With `vector-kernels` (the default), a `bm.matmul` whose integer forms
    fit `i16` and whose Kulisch width is at most 32 bits uses the CPU
    kernel instead (`lib/Codegen/CPU`, docs/lowering.md): both operands
    packed once, then an `scf.forall` over output tiles whose exact run
    sums stay in `i32` vector registers, one conversion per run (`sitofp`
    times an exact power of two when every lane's scale is in [-126, 96],
    else the exact integer routine) and float32 adds in run order. Same
    bits as the generic lowering; `vector-kernels=false` keeps the generic
    form everywhere.

    `cpu` names the CPU the kernel is for, which decides its step (how the
    products of a run are summed) and its vectors:

    * `generic` (the default): 8-lane vectors, two k per step as even lanes
      times even lanes plus odd times odd (x86's `vpmaddwd`); portable IR,
      any target;
    * `avx2`: also, where A's largest form times B's is at most 4095 (e.g.
      e2m3 x e2m3), eight k per step: A packed as unsigned bytes (form plus
      A's largest form), B as signed bytes, two `pmaddubsw` summed in `i16`
      (no saturation or overflow by that bound), widened by `pmaddwd` with
      ones, and each run sum started from minus the offset times the run's
      column sum of B;
    * `avx-vnni`: 8-lane vectors; forms within a byte (A's largest at most
      127, B's at most 127: e2m3 x e2m3, e2m2, ...) take four k per step
      with one `vpdpbusd` (u8 x s8, the same offset), other forms two k per
      step with one `vpdpwssd`;
    * `avx512-vnni`: the same steps on 16-lane (512-bit) vectors and 8-row
      tiles;
    * `host`: the best of these for the CPU that runs the pass.

    The x86 steps are calls of private declarations named after the LLVM
    intrinsics (`llvm.x86.avx2.pmadd.ub.sw`, `llvm.x86.avx512.vpdpbusd.512`,
    ...), so the module then compiles only for x86 CPUs with those features.
    `x86-avx2=true` is the former spelling of `cpu=avx2`.

    The FMA-unit ops (`bm.decode`, `bm.fma`, `bm.kulisch.*`) remain;
    `convert-bm-to-arith` lowers them. An op this pass cannot lower is
    reported by name and the pass fails.
  }];
  let options = [
    Option<"vectorKernels", "vector-kernels", "bool", /*default=*/"true",
           "Lower bm.matmul in the kernel's domain to the register-tiled "
           "vector kernel (scf.forall + vector ops)">,
    Option<"cpu", "cpu", "std::string", /*default=*/"\"generic\"",
           "The CPU the matmul kernel is for: generic (portable vector IR), "
           "avx2, avx-vnni, avx512-vnni (x86 intrinsics; the compiled code "
           "then needs such a CPU), or host (the CPU running this pass)">,
    Option<"vectorQuantizeBits", "vector-quantize-bits", "unsigned",
           /*default=*/"0",
           "bm.quantize of a static tensor as the CPU quantize kernel for "
           "vectors of 256 or 512 bits; 0 (the default): three "
           "linalg.generic ops, the form the GPU lowering maps">,
    Option<"x86Avx2", "x86-avx2", "bool", /*default=*/"false",
           "The same as cpu=avx2 (its former spelling)">,
    Option<"minParallelMacs", "min-parallel-macs", "int64_t",
           /*default=*/"::mlir::bm::kMinParallelMacs",
           "Multiply-adds (padded M x N x K, batches included) from which "
           "the loops of a bm.matmul kernel are scf.forall (tasks with "
           "bm-lower-to-cpu{parallel=true}); smaller kernels run in order. "
           "0: every kernel's loops are scf.forall">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::mlir::scf::SCFDialect",
    "::mlir::math::MathDialect", "::mlir::vector::VectorDialect",
    "::mlir::func::FuncDialect", "::mlir::bm::BMDialect"
  ];
}

def BMTileParallel : Pass<"bm-tile-parallel", "::mlir::func::FuncOp"> {
  let summary = "Tile the CPU kernel's packing ops into scf.forall";
  let description = [{
    `convert-bm-to-linalg` marks the large packing ops of the CPU matmul
    kernel (operand packing, column sums) with `bm.tile_parallel = N`. This
    pass tiles each marked op into an `scf.forall` with tiles of size 1 over
    its first N loops (where parallel), the rest whole, and drops the mark,
    so that `bm-lower-to-cpu{parallel=true}` runs them on all cores as it
    runs the kernel's tiles. Unmarked ops, and ops the tiler cannot tile,
    are left alone. Same values: tiling only changes which thread computes
    each element. A mark that is not a positive integer is an error.
  }];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect",
    "::mlir::affine::AffineDialect", "::mlir::bm::BMDialect"
  ];
}

def ConvertBMToArith : Pass<"convert-bm-to-arith", "::mlir::ModuleOp"> {
  let summary = "Lower the BM FMA unit (decode, fma, Kulisch) to integer arith";
  let description = [{
    `!bm.kulisch<W>` becomes the narrowest of `i16`/`i32`/`i64` holding W
    bits, wherever it appears (scalars, tensor elements, region arguments,
    loop-carried values). `bm.decode` becomes bit manipulation,
    `bm.fma` sign-extends, multiplies and adds exactly, and
    `bm.kulisch.to_f32` rounds `acc * 2^scale` once to float32 with integer
    operations only (numerics.md section 5). Scalar operands only; vector
    operands are reported as unsupported.

    It is the last bm pass of both lowering pipelines, and drops the
    `bm.role` marks of function arguments and results: no later pass reads
    them, and tools without the bm dialect (`mlir-translate`,
    `mlir-runner`) could not parse a `#bm.role` value in the lowered code.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"
  ];
}

def BMEmitCInterface : Pass<"bm-emit-c-interface", "::mlir::ModuleOp"> {
  let summary = "Mark every public function with llvm.emit_c_interface";
  let description = [{
    So that the lowered module exports `_mlir_ciface_<name>` wrappers taking
    memref descriptors by pointer, callable from C or Python (ctypes). Its
    tensor arguments are also marked `bufferization.writable = false`: the
    caller owns those buffers, so bufferization must not compute in place in
    them (e.g. a matmul into its `init`). Run it before bufferization.
  }];
}

def BMDistinctResults : Pass<"bm-distinct-results", "::mlir::func::FuncOp"> {
  let summary = "Give every tensor result of a function its own value";
  let description = [{
    A tensor value returned more than once (two gradients that CSE found
    equal, say) is returned once as it is and once per repeat as a copy
    (`bufferization.alloc_tensor() copy(...)`). Bufferization then gives
    each result its own buffer, which `buffer-results-to-out-params` needs:
    it turns each result into a caller-allocated argument and cannot write
    one buffer into two. Part of `bm-lower-to-cpu{out-params=true}`, run
    just before bufferization.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def BMExportSignatures : Pass<"bm-export-signatures", "::mlir::ModuleOp"> {
  let summary = "Write the C-interface signatures of the public functions as JSON";
  let description = [{
    Writes, to the file `output`, what a caller of the compiled module needs
    to call its public functions through their `_mlir_ciface_` wrappers
    (`bm-emit-c-interface`), read from the module as it is (run it before
    the lowering, as `bm-lower-to-cpu{signatures=...}` does):

    ```json
    { "format": "bm.signatures/1", "out_params": true,
      "functions": [
        { "name": "f", "c_name": "_mlir_ciface_f",
          "arguments": [
            { "type": "tensor<4x8xf32>", "kind": "tensor",
              "element": "f32", "shape": [4, 8] },
            { "type": "i64", "kind": "scalar", "element": "i64" } ],
          "results": [ ... ] } ] }
    ```

    `kind` is `tensor` or `memref` (ranked, identity layout, builtin
    element type; `-1` for a dynamic size), `scalar` (integer, index or
    float) or `other` (anything else: such a function cannot be called
    through a C descriptor). `out_params` says whether the lowering with
    the given `out-params` mode writes the results into caller-allocated
    memrefs after the arguments (`auto`: when every function's results are
    statically shaped, the rule `bm-results-to-out-params` applies), and
    `out_params_blocker` names the result that prevents it. The IR is not
    changed.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "File to write the JSON to ('-' for standard output)">,
    Option<"outParams", "out-params", "::mlir::bm::OutParamsMode",
           /*default=*/"::mlir::bm::OutParamsMode::Off",
           "The out-params mode of the lowering: false, true or auto",
           [{::llvm::cl::values(
             clEnumValN(::mlir::bm::OutParamsMode::Off, "false",
                        "results are returned"),
             clEnumValN(::mlir::bm::OutParamsMode::On, "true",
                        "results are out-params"),
             clEnumValN(::mlir::bm::OutParamsMode::Auto, "auto",
                        "out-params when every result is statically shaped"))}]>
  ];
}

def BMResultsToOutParams : Pass<"bm-results-to-out-params", "::mlir::ModuleOp"> {
  let summary = "Return memref results through caller-allocated out-params";
  let description = [{
    Upstream's `buffer-results-to-out-params{hoist-static-allocs
    modify-public-functions}`: every function then takes one more memref
    argument per memref result, after its own, and a result allocated in
    the function is replaced by that argument, so the code computes straight
    into the caller's buffer. With `mode=auto` it does so only when every
    result of every function with a body is a statically shaped memref
    (nothing otherwise), the rule `bm-export-signatures` reports. Then, in
    each function that ends by copying an allocation into an out-param
    that nothing else uses (a result computed by a call, which upstream
    rewrites only after the functions), the allocation is replaced by the
    out-param and the copy goes away. Run it after bufferization, with
    `bm-distinct-results` before bufferization: one buffer cannot be two
    out-params.
  }];
  let options = [
    Option<"mode", "mode", "::mlir::bm::OutParamsMode",
           /*default=*/"::mlir::bm::OutParamsMode::On",
           "true: always; auto: when every result is statically shaped",
           [{::llvm::cl::values(
             clEnumValN(::mlir::bm::OutParamsMode::On, "true", "always"),
             clEnumValN(::mlir::bm::OutParamsMode::Auto, "auto",
                        "when every result is statically shaped"))}]>
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def ConvertBMToGPU : Pass<"convert-bm-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower BM contractions to GPU-shaped linalg, before convert-bm-to-linalg";
  let description = [{
    The first step of `bm-lower-to-nvvm`. `bm.matmul` becomes:

    * each operand decoded once into run-major integer forms, zero past a
      run's end: A as `[batch?, M, runs, L]`, B as `[batch?, runs, L, N]`;
    * the unit exponents of each (row, run) of A and (run, column) of B;
    * one `linalg.generic` over the output elements (all parallel) whose
      body walks the runs in ascending order: an `scf.for` over the run's
      products into a `!bm.kulisch<W>` accumulator (`bm.fma`), one
      `bm.kulisch.to_f32` and one float32 add per run. One GPU thread per
      output element, so the float32 additions keep canonical run order and
      the `[M, N, runs]` accumulator tensor of the CPU lowering is never
      materialized.

    With `mma` (default), when both integer forms are `i8` (e2m3, e2m2,
    e2m1, e3m0, ...) and the Kulisch width is at most 32 bits, the runs are
    padded to a multiple of 32, B is laid out `[batch?, N, runs, L]` and the
    generic is marked `bm.gpu_mma`: `bm-map-to-gpu` then emits an int8
    tensor-core kernel (`nvvm.mma.sync` m16n8k32, s32 accumulators, one
    exact sum per run) for it. Its body stays the scalar reference.

    Unless `host-shared`, ops that read or write tensor elements outside any
    linalg op (`tensor.extract`, `tensor.insert`, vector transfers, calls to
    external functions with tensor operands) are reported: their data lives
    in GPU memory, which the host code cannot access.
  }];
  let options = [
    Option<"mma", "mma", "bool", /*default=*/"true",
           "Mark int8 contractions for the tensor-core (mma.sync) kernel">,
    Option<"hostShared", "host-shared", "bool", /*default=*/"false",
           "Buffers are host-shared (managed): allow host element accesses">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::mlir::scf::SCFDialect",
    "::mlir::bm::BMDialect"
  ];
}

def BMReshapeResultAllocs
    : Pass<"bm-reshape-result-allocs", "::mlir::func::FuncOp"> {
  let summary = "Allocate a returned reshape of an allocation in its own shape";
  let description = [{
    After bufferization, a function result that is a `memref.expand_shape`
    or `memref.collapse_shape` of a static `memref.alloc` (the result of an
    op whose loops `bm-vectorize-linalg` collapsed) is allocated in the
    result's shape instead, and the other uses read it through the inverse
    reshape. Same buffer and bytes; `buffer-results-to-out-params
    {hoist-static-allocs}` can then compute straight into the caller's
    buffer instead of copying into it. Part of
    `bm-lower-to-cpu` with out-params, before
    `bm-results-to-out-params`.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def BMVectorizeLinalg : Pass<"bm-vectorize-linalg", "::mlir::func::FuncOp"> {
  let summary = "Fuse, tile and vectorize the linalg ops that are not bm ops";
  let description = [{
    The float32 remainder of a training step (elementwise ops, reductions,
    softmax, pooling and their backward, batch-norm, transposes, fills, the
    SGD update) on tensors, before `convert-bm-to-linalg`:

    * elementwise `linalg.generic`s are fused into their consumer when they
      have one user;
    * unit loops of elementwise generics are dropped (their operands
      reshaped), so that a layout change such as [M, N, 1] -> [M, 1, N] is
      a contiguous copy, not a transpose;
    * loops that are contiguous in every operand are collapsed into one;
    * a copy that permutes the leading loops and reads all the trailing
      ones backwards (a convolution filter's flip, [F, C, KH, KW] ->
      [C, F, KH-1-kh, KW-1-kw]) is copied row by row: a vector read of the
      KH*KW taps, a reversing shuffle and a vector write;
    * each op is tiled: an `scf.forall` over its outer parallel loops when
      it has at least `min-parallel-elements` iterations (tasks on every
      core with `bm-lower-to-cpu{parallel=true}`; 2^20 by default: waking
      the workers costs more than a smaller op takes on one core, measured
      on a 2-core host), `scf.for` loops over the rest, and a static tile of at most 64 elements along the loops that
      are contiguous in its largest operand (16 x 16 for a transpose);
    * each tile is vectorized. Window reads of pooling and im2col
      (`oh * 2 + kh`, `h + 1 - kh`) go through strided slices once the
      window loops are tiled to one; a 1-D read of a slice of stride s
      becomes a read of the contiguous elements it spans and a shuffle of
      every s-th lane;
    * a float32 `linalg.matmul` with static shapes and the default maps
      (unless `tile-matmuls=false`) becomes register tiles of 4 x 32
      results, an `scf.forall` over blocks of rows when it is large: each
      tile's accumulators stay in registers over a loop of outer products
      along k.

    * a float32 `linalg.batch_matmul` with static shapes, default maps or
      B transposed (unless `tile-matmuls=false`), becomes a loop over the
      batch of such matmuls on slices (a transposed B slice transposed
      first);
    * a float32 `linalg.conv_2d_nchw_fchw` with static shapes (unless
      `im2col-convs=false`) becomes an im2col copy ([N, C, KH, KW, OH, OW],
      window reads) and, per image, a plain matmul of the filter
      (F x C*KH*KW) by the image's columns, tiled as above; or, when an
      image's pixels are fewer than 32 or split into odd vector tiles, an
      im2col [C, KH, KW, N, OH, OW] and one matmul for all images. Taps
    that read only a zero `tensor.pad` of the input for every output are
    left out (the filter is sliced to the others).

    Float reductions of elementwise ops are reassociated within a tile; a
    matmul or convolution sums each result in its own order (k; c, kh, kw),
    as fused multiply-adds; every other result is the same as the scalar
    loops'. Ops with dynamic shapes, transposed matmuls and other
    convolutions are left alone. Run it before `convert-bm-to-linalg`: the
    linalg ops of a bm lowering (exact integer sums, run-ordered float
    conversions) must not be reassociated.
  }];
  let options = [
    Option<"fuseElementwise", "fuse-elementwise", "bool", /*default=*/"true",
           "Fuse elementwise producers with one user into their consumer">,
    Option<"tileMatmuls", "tile-matmuls", "bool", /*default=*/"true",
           "Compute float32 linalg.matmul and linalg.batch_matmul ops as "
           "register tiles of outer products (else leave them to the scalar "
           "loops)">,
    Option<"im2colConvs", "im2col-convs", "bool", /*default=*/"true",
           "Compute float32 linalg.conv_2d_nchw_fchw ops with static shapes "
           "as im2col and a matmul per image (else leave them to the scalar "
           "loops)">,
    Option<"minParallelElements", "min-parallel-elements", "int64_t",
           /*default=*/"::mlir::bm::kMinParallelLinalgIterations",
           "Iterations from which an op is distributed over the cores "
           "(scf.forall)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect", "::mlir::affine::AffineDialect"
  ];
}

def BMCollapseParallelLoops
    : Pass<"bm-collapse-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Collapse every multi-dimensional scf.parallel into one loop";
  let description = [{
    Each `scf.parallel` without reductions that has more than one induction
    variable becomes a one-dimensional loop over the product of the trip
    counts; the original indices are recovered by division and remainder.
    The iterations and their bodies are unchanged, only their numbering.

    Part of `bm-lower-to-cpu{parallel=true}`, between
    `scf-forall-to-parallel` and `async-parallel-for`. For a loop of
    several dimensions whose inner trip counts are static,
    `async-parallel-for` rounds its block size up to a multiple of the
    inner iterations but keeps the number of blocks it computed before
    rounding; a block that then starts past the end wraps around and runs
    iterations that another block runs too, at the same time. Kernels that
    read and update their output tile in place (the bm matmul's run loop)
    then give wrong results. A one-dimensional loop is split into blocks
    that cover each iteration exactly once.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect"
  ];
}

def BMOrderGlobals : Pass<"bm-order-globals", "::mlir::ModuleOp"> {
  let summary = "Order and name constant globals by their first use";
  let description = [{
    `one-shot-bufferize` turns each constant tensor into a private constant
    `memref.global` (`__constant_4xi64`, then `__constant_4xi64_0`, ...)
    in the order in which it bufferizes the functions, and that order
    varies from run to run: the same input then gives a module whose
    globals, and the suffixes of their names, come in a different order.

    This pass makes the result depend on the program only. It places the
    private constant `memref.global` ops whose names start with
    `__constant_` at the start of the module in the order of their first
    `memref.get_global` in a walk of the module, and renames them in that
    order: the first of each base name keeps it, the next ones get `_0`,
    `_1`, ... as `one-shot-bufferize` would. Globals that nothing reads go
    after them, in their current order. Other globals and symbols are left
    as they are.

    Part of `bm-lower-to-cpu` and `bm-lower-to-gpu`, right after
    `one-shot-bufferize` (where `memref.get_global` is the only user of
    these globals).
  }];
}

def BMExpandStridedCopies
    : Pass<"bm-expand-strided-copies", "::mlir::func::FuncOp"> {
  let summary = "Copy strided static memrefs row by row";
  let description = [{
    A `memref.copy` between static memrefs of which one is not contiguous
    (a subview of a padded buffer, a column block) lowers to a call of the
    runtime's rank-generic element-by-element copy, several nanoseconds
    per element. This pass rewrites it as `scf.for` loops over the outer
    dimensions around a `memref.copy` of each contiguous row (the
    trailing dimensions along which both sides are contiguous), which the
    LLVM lowering turns into `memcpy`; when the innermost dimension is
    strided on either side, as loops of loads and stores. Copies between
    contiguous memrefs and copies with dynamic shapes stay as they are.

    Part of `bm-lower-to-cpu`, after `convert-bufferization-to-memref`.
    The bm matmul kernel pads a result whose columns are not a multiple of
    its tile width and copies the result in and out of the padded buffer:
    for a 256 x 784 weight gradient those two copies took most of the
    matmul's time.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

#endif // BM_CONVERSION_PASSES_TD
