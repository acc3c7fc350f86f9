// REQUIRES: llc-x86
// The instructions LLVM selects for the bm.matmul CPU kernel on the VNNI
// targets, on any host (llc only compiles): with cpu=avx512-vnni the run
// sums of BM6-width forms are vpdpbusd on 512-bit registers (u8 x s8, four
// products per i32 lane), those of wider i16 forms vpdpwssd; with
// cpu=avx-vnni the same instructions on 256-bit registers, VEX-encoded.
// (+fast-dpwssd: LLVM splits vpdpwssd into vpmaddwd + vpaddd on CPUs where
// that is faster, e.g. Intel's; -mcpu=native decides that for the host.)
//
// RUN: bm-opt %s --bm-lower-to-cpu=cpu=avx512-vnni | FileCheck %s --check-prefix=IR512
// RUN: bm-opt %s --bm-lower-to-cpu=cpu=avx512-vnni | mlir-translate --mlir-to-llvmir \
// RUN: | llc -O3 -mtriple=x86_64-pc-linux-gnu \
// RUN:     -mattr=+avx2,+fma,+avx512f,+avx512bw,+avx512vl,+avx512vnni,+fast-dpwssd \
// RUN: | FileCheck %s --check-prefix=AVX512
// RUN: bm-opt %s --bm-lower-to-cpu=cpu=avx-vnni | FileCheck %s --check-prefix=IR256
// RUN: bm-opt %s --bm-lower-to-cpu=cpu=avx-vnni | mlir-translate --mlir-to-llvmir \
// RUN: | llc -O3 -mtriple=x86_64-pc-linux-gnu -mattr=+avx2,+fma,+avxvnni,+fast-dpwssd \
// RUN: | FileCheck %s --check-prefix=AVXVNNI
// The parallel pipeline keeps the same steps.
// RUN: bm-opt %s --bm-lower-to-cpu="cpu=avx512-vnni parallel=true" | FileCheck %s --check-prefix=IR512

// IR512-DAG: llvm.func @llvm.x86.avx512.vpdpbusd.512(vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// IR512-DAG: llvm.func @llvm.x86.avx512.vpdpwssd.512(vector<16xi32>, vector<32xi16>, vector<32xi16>) -> vector<16xi32>
// IR256-DAG: llvm.func @llvm.x86.avx512.vpdpbusd.256(vector<8xi32>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
// IR256-DAG: llvm.func @llvm.x86.avx512.vpdpwssd.256(vector<8xi32>, vector<16xi16>, vector<16xi16>) -> vector<8xi32>

// Each matmul is outlined into its kernel function, __bm_kernel_matmul_<n>
// in order, after the three public functions (bm-outline-kernels).
//
// BM6: vpdpbusd for the column sums of B and the run sums, then one
// conversion per run (vcvtdq2ps, a fused multiply-add) on the same width.
// AVX512-LABEL: __bm_kernel_matmul_0:
// AVX512:       vpdpbusd {{.*}}%zmm
// AVX512:       vpdpbusd {{.*}}%zmm
// AVX512:       vcvtdq2ps %zmm
// AVX512:       vfmadd{{[0-9]+}}ps {{.*}}%zmm
// AVX512-LABEL: .Lfunc_end3:
// AVXVNNI-LABEL: __bm_kernel_matmul_0:
// AVXVNNI:       {vex} vpdpbusd {{.*}}%ymm
// AVXVNNI:       {vex} vpdpbusd {{.*}}%ymm
// AVXVNNI:       vcvtdq2ps %ymm
// AVXVNNI:       vfmadd{{[0-9]+}}ps {{.*}}%ymm
// AVXVNNI-LABEL: .Lfunc_end3:
func.func @bm6(%a: !bm.tensor<96x96xe2m3, block = [48, 48]>,
               %b: !bm.tensor<96x96xe2m3, block = [48, 48]>,
               %init: tensor<96x96xf32>) -> tensor<96x96xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<96x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x96xe2m3, block = [48, 48]>, tensor<96x96xf32>
      -> tensor<96x96xf32>
  return %y : tensor<96x96xf32>
}

// BM8 (forms up to 252) and the backward e3m2 x e2m3 (up to 448): i16
// pairs, vpdpwssd, and no byte step.
// AVX512-LABEL: __bm_kernel_matmul_1:
// AVX512-NOT:   vpdpbusd
// AVX512:       vpdpwssd {{.*}}%zmm
// AVX512-NOT:   vpdpbusd
// AVX512-LABEL: .Lfunc_end4:
// AVXVNNI-LABEL: __bm_kernel_matmul_1:
// AVXVNNI-NOT:   vpdpbusd
// AVXVNNI:       {vex} vpdpwssd {{.*}}%ymm
// AVXVNNI-LABEL: .Lfunc_end4:
func.func @bm8(%a: !bm.tensor<64x96xe2m5, block = [48, 48]>,
               %b: !bm.tensor<96x64xe2m5, block = [48, 48]>,
               %init: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<64x96xe2m5, block = [48, 48]>,
        !bm.tensor<96x64xe2m5, block = [48, 48]>, tensor<64x64xf32>
      -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// AVX512-LABEL: __bm_kernel_matmul_2:
// AVX512-NOT:   vpdpbusd
// AVX512:       vpdpwssd {{.*}}%zmm
// AVX512-NOT:   vpdpbusd
// AVX512-LABEL: .Lfunc_end5:
func.func @backward(%a: !bm.tensor<64x96xe3m2, block = [48, 48]>,
                    %b: !bm.tensor<96x64xe2m3, block = [48, 48]>,
                    %init: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<64x96xe3m2, block = [48, 48]>,
        !bm.tensor<96x64xe2m3, block = [48, 48]>, tensor<64x64xf32>
      -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}
