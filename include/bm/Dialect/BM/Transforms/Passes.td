//===- Passes.td - bm dialect passes -----------------------*- tablegen -*-===//

#ifndef BM_DIALECT_BM_TRANSFORMS_PASSES_TD
#define BM_DIALECT_BM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def BMReport : Pass<"bm-report", "::mlir::ModuleOp"> {
  let summary = "Print a table of every BM contraction: formats, blocks, "
                "Kulisch accumulator width and operand memory";
  let description = [{
    For each function, lists every `bm.matmul` and `bm.conv2d` with the
    element format and block shape of each operand, the length of the longest
    run, the exact accumulator width (numerics.md section 5) and the integer
    type it is stored in, and the operand memory in bytes as float32 and as
    BM (codes plus one bias byte per block), the operand roles that
    `bm-quantize-training` recorded (`bm.roles`), the scale rule (`floor` or
    `fit`, numerics.md section 2) of the `bm.quantize` that made each operand
    (`-` where the operand comes from elsewhere, e.g. a function argument),
    and the FP32 op it replaced (recorded in the op's location). Above the
    table, one line per linalg contraction or convolution still in FP32:
    whether `bm-quantize-training` rewrites its form (then an option or its
    roles kept it) or why not. The IR is not changed.

    The table goes to standard error, or to the file named by `output`.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "File to write the report to ('-' for standard error)">,
  ];
  let dependentDialects = ["::mlir::bm::BMDialect"];
}

def BMOutlineKernels : Pass<"bm-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Outline each distinct bm.quantize, bm.matmul and bm.conv2d "
                "into one private function";
  let description = [{
    Moves every `bm.quantize`, `bm.matmul` and `bm.conv2d` into a private
    function of its own and calls it. Ops of the same form (the same op,
    operand and result types, and attributes, `bm.index` aside) share one
    function, so that a lowering that expands each op into a kernel (the
    CPU kernels of `convert-bm-to-linalg` are hundreds of operations each)
    emits each form once. A ResNet-18 training step has 118 quantizes and
    62 convolutions in 42 and 34 forms. The functions are named
    `__bm_kernel_<op>_<n>` in order of first use; a name already taken gets
    a suffix. They are private, with internal linkage once lowered to LLVM
    (`llvm.linkage`), so that two lowered modules can be linked into one
    program.

    The bits are the same: an outlined op computes what it computed in
    place (the seed of a stochastic quantize is an operand). `bm-lower-to-cpu`
    runs it first (option `outline-kernels`, default true).
  }];
  let dependentDialects = [
    "::mlir::func::FuncDialect", "::mlir::LLVM::LLVMDialect"
  ];
}

def BMConvToMatmul : Pass<"bm-conv-to-matmul", "::mlir::func::FuncOp"> {
  let summary = "Rewrite bm.conv2d as an im2col bm.matmul where the runs agree";
  let description = [{
    A BM convolution whose input blocks span all of H and W and whose filter
    blocks span all of KH and KW changes blocks only with the channel: its
    runs (numerics.md section 5) are the channel blocks times KH x KW, in
    ascending channel order, which is exactly the run structure of

      im2col(input) [N*OH*OW, C*KH*KW]  x  filter [F, C*KH*KW]^T

    with K blocks of (channel block) * KH * KW. When, in addition, every
    output window overlaps the image (a run of padding only adds no term to
    the convolution, but a zero term to the matmul), this pass rewrites the
    convolution as that matmul: `bm.unpack` of both operands, an im2col
    copy of the input codes (padding is code 0), `bm.pack` with the biases
    reshaped (not copied), `bm.matmul` with `transpose_rhs`, and the layout
    transposes of init and result. Taps that read padding for every output
    (a 3x3 kernel with padding 1 on a 1x1 image: all but the centre) are
    left out of K: they add only zero terms, each run keeps its blocks and
    order, and the input is padded only as far as the other taps read. The
    bits are the same; the matmul then uses the CPU or GPU matmul kernel.
    Other convolutions are left as they are.

    `bm-lower-to-cpu` runs it before `convert-bm-to-linalg` (with the
    vector kernels), `bm-lower-to-gpu` before `convert-bm-to-gpu`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def BMQuantizeTraining : Pass<"bm-quantize-training", "::mlir::ModuleOp"> {
  let summary = "Rewrite an FP32 training step so that every GEMM and "
                "convolution runs in Block Minifloat";
  let description = [{
    Replaces each float32 contraction of a training step (forward, backward
    and update, in linalg on tensors) by a BM one, the way the paper trains
    (numerics.md section 6): both inputs are quantized just before the
    contraction, weights and activations to the forward format, errors to the
    backward format, and the products are summed exactly. Everything else
    (batch norm, ReLU, pooling, loss, optimizer, master weights) stays FP32.

    Recognized contractions (docs/training.md lists the forms):

    * `linalg.conv_2d_nchw_fchw`, `linalg.conv_2d_nhwc_fhwc` and
      `linalg.conv_2d_nhwc_hwcf` become `bm.conv2d` (NCHW x FCHW). Each
      operand is quantized in its own layout, with `conv-block` /
      `filter-block` placed on the same (N, C, H, W) / (F, C, KH, KW)
      dims, and permuted exactly by `bm.transpose`; init and result are
      transposed in f32. A symmetric `tensor.pad` of zeros of H and W in
      front of the input becomes the op's padding.
    * Every other f32 contraction whose indexing maps are projections of
      the loop dims (`linalg.matmul` and `linalg.batch_matmul` with default
      or explicit maps, `linalg.contract`, `linalg.generic` with a
      multiply-add body) becomes a rank-2 or rank-3 `bm.matmul`: the output
      dims are split into batch, M and N groups and the reduction dims
      into K, each group collapsed into one dim (`tensor.collapse_shape`,
      exact); transposed operands set `transpose_lhs` / `transpose_rhs`,
      and an operand without the batch dims (a broadcast) is quantized
      once and broadcast in BM.

    Operands are read through `linalg.transpose`, `tensor.collapse_shape`,
    `linalg.broadcast`, `linalg.copy` and generics that are one of these,
    so each tensor is quantized once, in its own layout, and shared: an
    activation serves its forward GEMM and, transposed, its weight-gradient
    GEMM when blocks are square; attention's q, k, v and p serve the
    forward and backward batch matmuls.

    Every linalg contraction or convolution that stays FP32 gets a remark
    saying why (not f32, dynamic shape, grouped or depthwise convolution,
    a layout bm.matmul cannot read, error x error, `keep-fp32`,
    `min-macs`, `loss-grad`, ...).

    Roles, by dataflow (documented in docs/training.md):

    * error: a function argument `{bm.role = #bm.role<error>}`, the result of an
      op carrying the unit attribute `bm.grad_seed` (the loss gradient), and
      every value computed from an error;
    * weight: a function argument `{bm.role = #bm.role<weight>}`, and values
      obtained from weights only through data movement (transpose, reshape,
      slices, casts, or ops tagged `bm.data_movement`);
    * activation: every other value.

    A contraction of two errors has no role the paper defines: it is kept in
    FP32 with a warning. Each quantize of a tensor is created once and reused
    (same value, format, block, rounding and scale rule). Stochastic
    rounding draws from the seed argument (`{bm.role = #bm.role<seed>}`, an `i64`,
    e.g. the step number): quantize op `i` of a step uses seed
    `(seed << 16) + i`, so no two quantize ops of a step, or of different
    steps, share random words.

    The loss gradient itself (the result of the op marked `bm.grad_seed`,
    e.g. `(softmax - onehot) / batch`) feeds the last layer's data- and
    weight-gradient contractions. Its correct-class entries sit together at
    the top of their block, where a format with few mantissa bits clips them
    (`(2 - 2^-m) * 2^s` is the largest value of a block whose largest
    magnitude is in `[2^s, 2^(s+1))`): e3m0 shrinks them by up to half,
    e3m1 by up to a quarter, a one-sided error that stochastic rounding
    cannot average away and that makes BM5/BM4 training diverge
    (docs/training.md). `loss-grad=fp32` keeps those contractions in FP32,
    as the paper's reference code does; `auto` (the default) does so for the
    bm5 and bm4 presets only.

    `scale` picks the shared-exponent rule of every quantize (numerics.md
    section 2): `floor`, the paper's, or `fit`, which raises a block's scale
    by one when its largest magnitude would saturate, so that no block is
    clipped (one bit of precision less for the blocks it raises).
    `forward-scale` (weights and activations) and `backward-scale` (errors)
    override it per role, e.g. `backward-scale=fit` alone for the errors,
    whose clipped loss gradient is the cause above.

    Each new op carries `bm.roles` and `bm.index`, and its location names
    the op it replaced, for `--bm-report`.
  }];
  let options = [
    Option<"preset", "preset", "::mlir::bm::FormatPreset",
           /*default=*/"::mlir::bm::FormatPreset::bm6",
           "Format preset: bm8 (e2m5/e4m3), bm6 (e2m3/e3m2), bm5 (e2m2/e3m1), "
           "bm4 (e2m1/e3m0)",
           [{::llvm::cl::values(
               clEnumValN(::mlir::bm::FormatPreset::bm8, "bm8", "e2m5/e4m3"),
               clEnumValN(::mlir::bm::FormatPreset::bm6, "bm6", "e2m3/e3m2"),
               clEnumValN(::mlir::bm::FormatPreset::bm5, "bm5", "e2m2/e3m1"),
               clEnumValN(::mlir::bm::FormatPreset::bm4, "bm4",
                          "e2m1/e3m0"))}]>,
    Option<"forwardFormat", "forward", "std::string", /*default=*/"\"\"",
           "Forward format (weights, activations), e.g. e2m3; overrides the "
           "preset">,
    Option<"backwardFormat", "backward", "std::string", /*default=*/"\"\"",
           "Backward format (errors), e.g. e3m2; overrides the preset">,
    ListOption<"block", "block", "int64_t",
               "Block shape of matmul operands (default 48,48; 0 = whole "
               "dimension)">,
    ListOption<"convBlock", "conv-block", "int64_t",
               "Block shape of convolution inputs, as N,C,H,W whatever the "
               "layout (default 1,48,0,0)">,
    ListOption<"filterBlock", "filter-block", "int64_t",
               "Block shape of convolution filters, as F,C,KH,KW whatever "
               "the layout (default 48,48,0,0)">,
    Option<"rounding", "rounding", "::mlir::bm::Rounding",
           /*default=*/"::mlir::bm::Rounding::stochastic",
           "Rounding of every quantize: nearest, stochastic or zero",
           [{::llvm::cl::values(
               clEnumValN(::mlir::bm::Rounding::nearest, "nearest",
                          "round to nearest, ties to even"),
               clEnumValN(::mlir::bm::Rounding::stochastic, "stochastic",
                          "stochastic rounding from the seeded Philox "
                          "stream"),
               clEnumValN(::mlir::bm::Rounding::zero, "zero",
                          "round toward zero"))}]>,
    ListOption<"keepFP32", "keep-fp32", "int64_t",
               "Indices (program order of the linalg contractions and "
               "convolutions within each function, as in the remarks) of "
               "contractions to keep in FP32">,
    Option<"minMacs", "min-macs", "int64_t", /*default=*/"0",
           "Keep contractions with fewer multiply-accumulates in FP32">,
    Option<"lossGrad", "loss-grad", "::mlir::bm::LossGradMode",
           /*default=*/"::mlir::bm::LossGradMode::automatic",
           "Contractions that read the loss gradient itself (a result of "
           "the bm.grad_seed op, through data movement only): bm (backward "
           "format), fp32 (kept in FP32), or auto (fp32 for the bm5 and bm4 "
           "presets, whose backward formats clip it, else bm)",
           [{::llvm::cl::values(
               clEnumValN(::mlir::bm::LossGradMode::automatic, "auto",
                          "fp32 for the bm5 and bm4 presets, whose "
                          "backward formats clip it, else bm"),
               clEnumValN(::mlir::bm::LossGradMode::fp32, "fp32",
                          "kept in FP32"),
               clEnumValN(::mlir::bm::LossGradMode::bm, "bm",
                          "in the backward format"))}]>,
    Option<"modelInput", "model-input", "::mlir::bm::ModelInputMode",
           /*default=*/"::mlir::bm::ModelInputMode::bm",
           "Contractions that read the model's input itself (the argument "
           "marked {bm.role = #bm.role<activation>}, through data movement "
           "only: the first layer's forward contraction and its weight "
           "gradient): bm (the forward and backward formats, the default) "
           "or fp32 (kept in FP32)",
           [{::llvm::cl::values(
               clEnumValN(::mlir::bm::ModelInputMode::bm, "bm",
                          "in the forward and backward formats"),
               clEnumValN(::mlir::bm::ModelInputMode::fp32, "fp32",
                          "kept in FP32"))}]>,
    Option<"scale", "scale", "::mlir::bm::ScaleRule",
           /*default=*/"::mlir::bm::ScaleRule::floor",
           "Shared-exponent rule of every quantize: floor (the paper's) or fit "
           "(one scale up for a block whose maximum would saturate)",
           [{::llvm::cl::values(
               clEnumValN(::mlir::bm::ScaleRule::floor, "floor",
                          "the paper's rule"),
               clEnumValN(::mlir::bm::ScaleRule::fit, "fit",
                          "one scale up for a block whose maximum would "
                          "saturate"))}]>,
    Option<"forwardScale", "forward-scale", "::mlir::bm::ScaleOverride",
           /*default=*/"::mlir::bm::ScaleOverride::same",
           "Scale rule of weights and activations (same, floor or fit); same "
           "follows scale",
           [{BM_SCALE_OVERRIDE_VALUES}]>,
    Option<"backwardScale", "backward-scale", "::mlir::bm::ScaleOverride",
           /*default=*/"::mlir::bm::ScaleOverride::same",
           "Scale rule of errors (same, floor or fit); same follows scale",
           [{BM_SCALE_OVERRIDE_VALUES}]>,
  ];
  let dependentDialects = ["::mlir::bm::BMDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // BM_DIALECT_BM_TRANSFORMS_PASSES_TD
