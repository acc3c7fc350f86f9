// format=bin assembles the PTX with ptxas into an sm_90 cubin (ELF) inside
// the gpu.binary; format=fatbin wraps it in a fat binary. Both are loaded
// with mgpuModuleLoad (isa: mgpuModuleLoadJIT, the driver compiles the PTX).
// REQUIRES: ptxas
// RUN: bm-opt %s --bm-lower-to-nvvm=format=bin > %t.bin.mlir
// RUN: %python %S/extract_gpu_binaries.py %t.bin.mlir --summary | FileCheck %s --check-prefix=BIN
// RUN: FileCheck %s --check-prefix=HOSTBIN < %t.bin.mlir
// RUN: bm-opt %s --bm-lower-to-nvvm="format=fatbin chip=sm_90 features=+ptx80" \
// RUN:   | %python %S/extract_gpu_binaries.py --summary | FileCheck %s --check-prefix=FATBIN
// RUN: bm-opt %s --bm-lower-to-nvvm=format=bin -o %t.o.mlir
// RUN: %python %S/extract_gpu_binaries.py %t.o.mlir -o %t.cubins
// RUN: %python -c "import sys; d=open(sys.argv[1],'rb').read(); print('ELF' if d[:4]==b'\x7fELF' else 'not ELF', 'x86' if d[18]==62 else 'cuda' if d[18]==190 else d[18])" %t.cubins/e2m3_matmul_kernel.cubin | FileCheck %s --check-prefix=ELF

// BIN-COUNT-5: e2m3_matmul_kernel{{[_0-9]*}} elf
// FATBIN-COUNT-5: e2m3_matmul_kernel{{[_0-9]*}} fatbin
// HOSTBIN: llvm.func @e2m3_matmul
// HOSTBIN: gpu.binary @e2m3_matmul_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, properties = {{.*}}, bin = "\7FELF
// ELF: ELF cuda
func.func @e2m3_matmul(%ca: memref<64x96xi8>, %ba: memref<2x2xi8>,
                       %cb: memref<96x40xi8>, %bb: memref<2x2xi8>,
                       %c: memref<64x40xf32>) {
  %tca = bufferization.to_tensor %ca restrict : memref<64x96xi8> to tensor<64x96xi8>
  %tba = bufferization.to_tensor %ba restrict : memref<2x2xi8> to tensor<2x2xi8>
  %tcb = bufferization.to_tensor %cb restrict : memref<96x40xi8> to tensor<96x40xi8>
  %tbb = bufferization.to_tensor %bb restrict : memref<2x2xi8> to tensor<2x2xi8>
  %init = bufferization.to_tensor %c restrict writable : memref<64x40xf32> to tensor<64x40xf32>
  %a = bm.pack %tca, %tba : tensor<64x96xi8>, tensor<2x2xi8>
      -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %b = bm.pack %tcb, %tbb : tensor<96x40xi8>, tensor<2x2xi8>
      -> !bm.tensor<96x40xe2m3, block = [48, 32]>
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<64x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x40xe2m3, block = [48, 32]>, tensor<64x40xf32>
      -> tensor<64x40xf32>
  bufferization.materialize_in_destination %y in restrict writable %c
      : (tensor<64x40xf32>, memref<64x40xf32>) -> ()
  return
}
