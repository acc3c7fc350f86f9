// The race checker and ldmatrix of bm-gpu-launch-to-loops, on a one-warp
// kernel that stages a 16x32 i8 matrix in workgroup memory with cp.async
// (thread t copies row t / 2, bytes 16 (t % 2)) and reads it back with
// ldmatrix.x4 (lane L supplies row L % 8 + 8 ((L / 8) % 2), byte
// 16 (L / 16): the A fragment of mma.m16n8k32). The expected registers
// follow the PTX ISA's ldmatrix description, not the emulator: lane T gets,
// for matrix i, bytes 4 (T % 4) .. + 3 of the row that lane 8 i + T / 4
// supplies; with A[r][k] = (5 r + 3 k) mod 128.
// RUN: bm-opt %s --bm-gpu-launch-to-loops --convert-scf-to-cf --convert-to-llvm \
// RUN:   --reconcile-unrealized-casts > %t.ll.mlir
// RUN: mlir-runner %t.ll.mlir -e synchronized --entry-point-result=void \
// RUN:   --shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s
// Each synchronization error stops the run with its message on stderr.
// RUN: not --crash mlir-runner %t.ll.mlir -e no_barrier --entry-point-result=void \
// RUN:   --shared-libs=%mlir_c_runner_utils,%mlir_runner_utils 2>&1 \
// RUN: | FileCheck %s --check-prefix=BARRIER
// RUN: not --crash mlir-runner %t.ll.mlir -e no_wait --entry-point-result=void \
// RUN:   --shared-libs=%mlir_c_runner_utils,%mlir_runner_utils 2>&1 \
// RUN: | FileCheck %s --check-prefix=WAIT
// RUN: not --crash mlir-runner %t.ll.mlir -e refill_while_read --entry-point-result=void \
// RUN:   --shared-libs=%mlir_c_runner_utils,%mlir_runner_utils 2>&1 \
// RUN: | FileCheck %s --check-prefix=REFILL
// RUN: not --crash mlir-runner %t.ll.mlir -e never_written --entry-point-result=void \
// RUN:   --shared-libs=%mlir_c_runner_utils,%mlir_runner_utils 2>&1 \
// RUN: | FileCheck %s --check-prefix=BARRIER

// CHECK: Unranked Memref {{.*}} sizes = [32, 4]
// CHECK-NEXT{LITERAL}: [[151388928,   825109288,   959853360,   1633573720], 
// CHECK-NEXT{LITERAL}: [353505036,   1027225396,   1161969468,   1835689828], 
// CHECK-NEXT{LITERAL}: [555621144,   1229341504,   1364085576,   2037805936], 
// CHECK-NEXT{LITERAL}: [757737252,   1431457612,   1566201684,   84049788], 
// CHECK-NEXT{LITERAL}: [235603973,   909324333,   1044068405,   1717788765], 
// CHECK-NEXT{LITERAL}: [437720081,   1111440441,   1246184513,   1919904873], 
// CHECK-NEXT{LITERAL}: [639836189,   1313556549,   1448300621,   2122020981], 
// CHECK-NEXT{LITERAL}: [841952297,   1515672657,   1650416729,   168231937], 
// CHECK-NEXT{LITERAL}: [319819018,   993539378,   1128283450,   1802003810], 
// CHECK-NEXT{LITERAL}: [521935126,   1195655486,   1330399558,   2004119918], 
// CHECK-NEXT{LITERAL}: [724051234,   1397771594,   1532515666,   50363770], 
// CHECK-NEXT{LITERAL}: [926167342,   1599887702,   1734631774,   252446982], 
// CHECK-NEXT{LITERAL}: [404034063,   1077754423,   1212498495,   1886218855], 
// CHECK-NEXT{LITERAL}: [606150171,   1279870531,   1414614603,   2088334963], 
// CHECK-NEXT{LITERAL}: [808266279,   1481986639,   1616730711,   134546047], 
// CHECK-NEXT{LITERAL}: [1010382387,   1684102747,   1818846819,   336662027], 
// CHECK-NEXT{LITERAL}: [488249108,   1161969468,   1296713540,   1970433900], 
// CHECK-NEXT{LITERAL}: [690365216,   1364085576,   1498829648,   25066360], 
// CHECK-NEXT{LITERAL}: [892481324,   1566201684,   1700945756,   218760964], 
// CHECK-NEXT{LITERAL}: [1094597432,   1768317792,   1903061864,   420877072], 
// CHECK-NEXT{LITERAL}: [572464153,   1246184513,   1380928585,   2054648945], 
// CHECK-NEXT{LITERAL}: [774580261,   1448300621,   1583044693,   100860029], 
// CHECK-NEXT{LITERAL}: [976696369,   1650416729,   1785160801,   302976009], 
// CHECK-NEXT{LITERAL}: [1178812477,   1852532837,   1987276909,   505092117], 
// CHECK-NEXT{LITERAL}: [656679198,   1330399558,   1465143630,   2138863990], 
// CHECK-NEXT{LITERAL}: [858795306,   1532515666,   1667259738,   185074946], 
// CHECK-NEXT{LITERAL}: [1060911414,   1734631774,   1869375846,   387191054], 
// CHECK-NEXT{LITERAL}: [1263027522,   1936747882,   2071491954,   589307162], 
// CHECK-NEXT{LITERAL}: [740894243,   1414614603,   1549358675,   67206779], 
// CHECK-NEXT{LITERAL}: [943010351,   1616730711,   1751474783,   269289991], 
// CHECK-NEXT{LITERAL}: [1145126459,   1818846819,   1953590891,   471406099], 
// CHECK-NEXT{LITERAL}: [1347242567,   2020962927,   8223351,   673522207]]
// BARRIER: bm-gpu-launch-to-loops: ldmatrix reads workgroup memory written since the last barrier, or never written in this block
// WAIT: bm-gpu-launch-to-loops: ldmatrix reads workgroup memory whose cp.async group no cp.async.wait_group completed
// REFILL: bm-gpu-launch-to-loops: cp.async overwrites workgroup memory read since the last barrier

#smem = #gpu.address_space<workgroup>

func.func private @printMemrefI32(memref<*xi32>)

// A[r][k] = (5 r + 3 k) mod 128.
func.func @input() -> memref<16x32xi8> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %a = memref.alloc() : memref<16x32xi8>
  scf.for %r = %c0 to %c16 step %c1 {
    scf.for %k = %c0 to %c32 step %c1 {
      %c5 = arith.constant 5 : index
      %c3 = arith.constant 3 : index
      %c128 = arith.constant 128 : index
      %r5 = arith.muli %r, %c5 : index
      %k3 = arith.muli %k, %c3 : index
      %s = arith.addi %r5, %k3 : index
      %m = arith.remui %s, %c128 : index
      %i = arith.index_cast %m : index to i8
      memref.store %i, %a[%r, %k] : memref<16x32xi8>
    }
  }
  return %a : memref<16x32xi8>
}

// variant: 0 synchronized, 1 no barrier, 2 no wait, 3 refill before the
// barrier, 4 read a stage nobody wrote.
func.func @kernel(%a: memref<16x32xi8>, %out: memref<32x4xi32>, %variant: index) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%sm : memref<2x16x48xi8, #smem>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %row = arith.divui %tx, %c2 : index
    %chunk = arith.remui %tx, %c2 : index
    %byte = arith.muli %chunk, %c16 : index
    %t = nvgpu.device_async_copy %a[%row, %byte], %sm[%c0, %row, %byte], 16 {bypassL1}
        : memref<16x32xi8> to memref<2x16x48xi8, #smem>
    nvvm.cp.async.commit.group
    %v2 = arith.constant 2 : index
    %is_no_wait = arith.cmpi eq, %variant, %v2 : index
    scf.if %is_no_wait {
      nvvm.cp.async.wait.group 1
    } else {
      nvvm.cp.async.wait.group 0
    }
    %v1 = arith.constant 1 : index
    %v3 = arith.constant 3 : index
    %is_no_barrier = arith.cmpi eq, %variant, %v1 : index
    %is_refill = arith.cmpi eq, %variant, %v3 : index
    scf.if %is_no_barrier {
    } else {
      gpu.barrier
    }
    %l8 = arith.remui %tx, %c8 : index
    %q = arith.divui %tx, %c8 : index
    %q2 = arith.remui %q, %c2 : index
    %r8 = arith.muli %q2, %c8 : index
    %lrow = arith.addi %l8, %r8 : index
    %h = arith.divui %tx, %c16 : index
    %lbyte = arith.muli %h, %c16 : index
    %v4 = arith.constant 4 : index
    %is_never = arith.cmpi eq, %variant, %v4 : index
    %stage = arith.select %is_never, %c1, %c0 : index
    %frag = nvgpu.ldmatrix %sm[%stage, %lrow, %lbyte] {numTiles = 4 : i32, transpose = false}
        : memref<2x16x48xi8, #smem> -> vector<4x4xi8>
    // Refill of the stage just read, without a barrier in between.
    scf.if %is_refill {
      %t2 = nvgpu.device_async_copy %a[%row, %byte], %sm[%c0, %row, %byte], 16 {bypassL1}
          : memref<16x32xi8> to memref<2x16x48xi8, #smem>
      nvvm.cp.async.commit.group
    }
    nvvm.cp.async.wait.group 0
    %f0 = vector.extract %frag[0] : vector<4xi8> from vector<4x4xi8>
    %f1 = vector.extract %frag[1] : vector<4xi8> from vector<4x4xi8>
    %f2 = vector.extract %frag[2] : vector<4xi8> from vector<4x4xi8>
    %f3 = vector.extract %frag[3] : vector<4xi8> from vector<4x4xi8>
    %w0 = vector.bitcast %f0 : vector<4xi8> to vector<1xi32>
    %w1 = vector.bitcast %f1 : vector<4xi8> to vector<1xi32>
    %w2 = vector.bitcast %f2 : vector<4xi8> to vector<1xi32>
    %w3 = vector.bitcast %f3 : vector<4xi8> to vector<1xi32>
    %e0 = vector.extract %w0[0] : i32 from vector<1xi32>
    %e1 = vector.extract %w1[0] : i32 from vector<1xi32>
    %e2 = vector.extract %w2[0] : i32 from vector<1xi32>
    %e3 = vector.extract %w3[0] : i32 from vector<1xi32>
    %c3i = arith.constant 3 : index
    memref.store %e0, %out[%tx, %c0] : memref<32x4xi32>
    memref.store %e1, %out[%tx, %c1] : memref<32x4xi32>
    memref.store %e2, %out[%tx, %c2] : memref<32x4xi32>
    memref.store %e3, %out[%tx, %c3i] : memref<32x4xi32>
    gpu.terminator
  }
  return
}

func.func @run(%variant: index) {
  %a = call @input() : () -> memref<16x32xi8>
  %out = memref.alloc() : memref<32x4xi32>
  call @kernel(%a, %out, %variant) : (memref<16x32xi8>, memref<32x4xi32>, index) -> ()
  %u = memref.cast %out : memref<32x4xi32> to memref<*xi32>
  call @printMemrefI32(%u) : (memref<*xi32>) -> ()
  memref.dealloc %a : memref<16x32xi8>
  memref.dealloc %out : memref<32x4xi32>
  return
}

func.func @synchronized() {
  %v = arith.constant 0 : index
  call @run(%v) : (index) -> ()
  return
}
func.func @no_barrier() {
  %v = arith.constant 1 : index
  call @run(%v) : (index) -> ()
  return
}
func.func @no_wait() {
  %v = arith.constant 2 : index
  call @run(%v) : (index) -> ()
  return
}
func.func @refill_while_read() {
  %v = arith.constant 3 : index
  call @run(%v) : (index) -> ()
  return
}
func.func @never_written() {
  %v = arith.constant 4 : index
  call @run(%v) : (index) -> ()
  return
}
