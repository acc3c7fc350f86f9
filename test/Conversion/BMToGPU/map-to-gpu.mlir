// bm-map-to-gpu on bufferized code: linalg ops become gpu.launch kernels
// with a linearized 1-D iteration space; block reductions run one thread per
// block; reduction-only nests one thread; buffers live in device memory.
// RUN: bm-opt %s --bm-map-to-gpu --canonicalize --split-input-file | FileCheck %s
// RUN: bm-opt %s --bm-map-to-gpu=host-shared=true --canonicalize --split-input-file | FileCheck %s --check-prefix=SHARED

#id = affine_map<(d0, d1) -> (d0, d1)>
#block = affine_map<(d0, d1) -> (d0 floordiv 48, d1 floordiv 32)>

// Elementwise over 64x96 = 6144 iterations: 24 blocks of 256 threads; the
// linear index (i32) is split row-major, innermost dimension fastest.
// CHECK-LABEL: func.func @elementwise
// CHECK-DAG: %[[C24:.*]] = arith.constant 24 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C24]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK: %[[B:.*]] = arith.index_castui %[[BX]] : index to i32
// CHECK: %[[T:.*]] = arith.index_castui %[[TX]] : index to i32
// CHECK: %[[LIN:.*]] = arith.addi %{{.*}}, %[[T]] : i32
// CHECK: %[[J:.*]] = arith.remui %[[LIN]], %{{.*}} : i32
// CHECK: %[[I:.*]] = arith.divui %[[LIN]], %{{.*}} : i32
// CHECK: memref.load %arg0[%{{.*}}, %{{.*}}] : memref<64x96xf32>
// CHECK: memref.store %{{.*}}, %arg1[%{{.*}}, %{{.*}}] : memref<64x96xf32>
// CHECK: gpu.terminator
func.func @elementwise(%x: memref<64x96xf32>, %y: memref<64x96xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x96xf32>) outs(%y : memref<64x96xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#block = affine_map<(d0, d1) -> (d0 floordiv 48, d1 floordiv 32)>

// A block reduction whose combining op is idempotent, associative and
// commutative (quantize's block maximum) is split: one thread per (block,
// column of the block) scans that column segment into a partial maximum
// (consecutive threads take consecutive columns: coalesced loads), then
// one thread per block combines the partials of its columns. Edge blocks
// are clamped to the shape (64 rows are not a multiple of 48).
// CHECK-LABEL: func.func @block_max
// CHECK: %[[P:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] () : memref<2x3x32xi32>
// CHECK: gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c192,
// CHECK: %[[COL:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK: arith.cmpi ult, %[[COL]], %c96 : index
// CHECK: %[[INIT:.*]] = memref.load %arg1
// CHECK: %[[HI:.*]] = arith.minui %{{.*}}, %c64 : index
// CHECK: scf.for %[[ROW:.*]] = %{{.*}} to %[[HI]] step %c1 iter_args(%{{.*}} = %[[INIT]]) -> (i32)
// CHECK: memref.load %arg0[%[[ROW]], %[[COL]]]
// CHECK: arith.maxui
// CHECK: memref.store %{{.*}}, %[[P]]
// CHECK: gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c6,
// CHECK: scf.for
// CHECK: memref.load %[[P]]
// CHECK: arith.maxui
// CHECK: memref.store %{{.*}}, %arg1
// CHECK: gpu.dealloc async [%{{.*}}] %[[P]]
func.func @block_max(%x: memref<64x96xi32>, %m: memref<2x3xi32>) {
  linalg.generic {indexing_maps = [#id, #block], iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<64x96xi32>) outs(%m : memref<2x3xi32>) {
  ^bb0(%a: i32, %b: i32):
    %s = arith.maxui %a, %b : i32
    linalg.yield %s : i32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#block = affine_map<(d0, d1) -> (d0 floordiv 48, d1 floordiv 32)>

// Any other block reduction (here a float sum, whose bits depend on the
// order): one thread per block (2x3 = 6), scanning its 48x32 block
// row-major with the accumulator in a register.
// CHECK-LABEL: func.func @block_sum
// CHECK-NOT: gpu.alloc
// CHECK: gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c6,
// CHECK: %[[ACC:.*]] = memref.load %arg1
// CHECK: %[[HI:.*]] = arith.minui %{{.*}}, %c64 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[HI]] step %c1 iter_args(%{{.*}} = %[[ACC]]) -> (f32)
// CHECK: scf.for
// CHECK: memref.load %arg0
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %arg1
func.func @block_sum(%x: memref<64x96xf32>, %m: memref<2x3xf32>) {
  linalg.generic {indexing_maps = [#id, #block], iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<64x96xf32>) outs(%m : memref<2x3xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A reduction with no parallel dimension left runs as one GPU thread.
// CHECK-LABEL: func.func @full_reduction
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c1) threads({{.*}}) in (%{{.*}} = %c1,
// CHECK: scf.for
// CHECK: arith.addf
func.func @full_reduction(%x: memref<100xf32>, %s: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<100xf32>) outs(%s : memref<f32>) {
  ^bb0(%a: f32, %b: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// No loop at all (0-d): one thread too.
// CHECK-LABEL: func.func @scalar_fill
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %arg0[] : memref<f32>
// CHECK: gpu.terminator
func.func @scalar_fill(%s: memref<f32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%s : memref<f32>)
  return
}

// -----

memref.global "private" constant @table : memref<2xi64> = dense<[0, 48]>

// Temporaries are device memory (CUDA managed memory with host-shared);
// memref.copy is a kernel; a constant global read by a kernel is read
// inside it (gpu-kernel-outlining then copies it into the GPU module).
// CHECK-LABEL: func.func @memory
// CHECK: %[[W:.*]] = gpu.wait async
// CHECK: %[[M:.*]], %[[T:.*]] = gpu.alloc async [%[[W]]] () : memref<2xi64>
// CHECK: gpu.wait [%[[T]]]
// CHECK: gpu.launch
// CHECK: %[[G:.*]] = memref.get_global @table : memref<2xi64>
// CHECK: memref.load %[[G]]
// CHECK: memref.store %{{.*}}, %[[M]]
// CHECK: gpu.launch
// CHECK: memref.load %[[M]]
// CHECK: memref.store %{{.*}}, %arg0
// CHECK: %[[W2:.*]] = gpu.wait async
// CHECK: %[[T2:.*]] = gpu.dealloc async [%[[W2]]] %[[M]] : memref<2xi64>
// CHECK: gpu.wait [%[[T2]]]
// CHECK-NOT: memref.alloc
// SHARED-LABEL: func.func @memory
// SHARED: gpu.alloc host_shared () : memref<2xi64>
func.func @memory(%out: memref<2xi64>) {
  %g = memref.get_global @table : memref<2xi64>
  %t = memref.alloc() : memref<2xi64>
  memref.copy %g, %t : memref<2xi64> to memref<2xi64>
  memref.copy %t, %out : memref<2xi64> to memref<2xi64>
  memref.dealloc %t : memref<2xi64>
  return
}
