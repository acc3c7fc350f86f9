// Every iteration of a parallel loop runs exactly once under
// bm-lower-to-cpu{parallel=true}: each iteration adds 1 to its own counter
// (atomically), and the program prints the smallest and largest counter
// of each loop.
//
// Given a loop of several dimensions with static inner trip counts,
// async-parallel-for rounds its block size up to whole inner rows but keeps
// the block count it computed before rounding, so blocks past the end wrap
// around and run iterations a second time (24 x 4 on 2 workers: every
// iteration two to five times). Which shapes are hit depends on the number
// of workers; together these cover 1 to 96 workers. bm-collapse-parallel-loops
// gives async-parallel-for one dimension instead.
//
// RUN: bm-opt %s --bm-lower-to-cpu="parallel=true" -o %t.mlir
// RUN: mlir-runner %t.mlir -O2 -e main --entry-point-result=void \
// RUN:   --shared-libs=%mlir_c_runner_utils,%mlir_runner_utils,%mlir_async_runtime \
// RUN: | FileCheck %s
//
// (Not run here under bm's async runtime, libbm_async_runtime: it has no
// hook for mlir-runner's engine teardown, and under load a worker can still
// be in a finished task's last instructions when the engine frees the JIT'd
// code: docs/lowering.md. bm.compiler's libraries, which link it, are never
// unloaded.)

// CHECK: 24x4 min 1 max 1
// CHECK: 10x3 min 1 max 1
// CHECK: 50x3 min 1 max 1
// CHECK: 33x2 min 1 max 1
// CHECK: 130x3 min 1 max 1
// CHECK: 6x2x3 min 1 max 1

func.func @count_24x4(%m: memref<24x4xi32>) {
  %one = arith.constant 1 : i32
  scf.forall (%i, %j) in (24, 4) {
    %old = memref.atomic_rmw addi %one, %m[%i, %j] : (i32, memref<24x4xi32>) -> i32
  }
  return
}

func.func @count_10x3(%m: memref<10x3xi32>) {
  %one = arith.constant 1 : i32
  scf.forall (%i, %j) in (10, 3) {
    %old = memref.atomic_rmw addi %one, %m[%i, %j] : (i32, memref<10x3xi32>) -> i32
  }
  return
}

func.func @count_50x3(%m: memref<50x3xi32>) {
  %one = arith.constant 1 : i32
  scf.forall (%i, %j) in (50, 3) {
    %old = memref.atomic_rmw addi %one, %m[%i, %j] : (i32, memref<50x3xi32>) -> i32
  }
  return
}

func.func @count_33x2(%m: memref<33x2xi32>) {
  %one = arith.constant 1 : i32
  scf.forall (%i, %j) in (33, 2) {
    %old = memref.atomic_rmw addi %one, %m[%i, %j] : (i32, memref<33x2xi32>) -> i32
  }
  return
}

func.func @count_130x3(%m: memref<130x3xi32>) {
  %one = arith.constant 1 : i32
  scf.forall (%i, %j) in (130, 3) {
    %old = memref.atomic_rmw addi %one, %m[%i, %j] : (i32, memref<130x3xi32>) -> i32
  }
  return
}

func.func @count_6x2x3(%m: memref<6x2x3xi32>) {
  %one = arith.constant 1 : i32
  scf.forall (%i, %j, %k) in (6, 2, 3) {
    %old = memref.atomic_rmw addi %one, %m[%i, %j, %k] : (i32, memref<6x2x3xi32>) -> i32
  }
  return
}

// Prints the smallest and largest element of a counter buffer.
func.func @print_range(%flat: memref<?xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %flat, %c0 : memref<?xi32>
  %big = arith.constant 1000000 : i32
  %small = arith.constant -1 : i32
  %r:2 = scf.for %i = %c0 to %n step %c1 iter_args(%lo = %big, %hi = %small) -> (i32, i32) {
    %v = memref.load %flat[%i] : memref<?xi32>
    %l = arith.minsi %lo, %v : i32
    %h = arith.maxsi %hi, %v : i32
    scf.yield %l, %h : i32, i32
  }
  vector.print str "min "
  vector.print %r#0 : i32 punctuation <no_punctuation>
  vector.print str " max "
  vector.print %r#1 : i32
  return
}

func.func @main() {
  %zero = arith.constant 0 : i32
  %m96 = memref.alloc() : memref<24x4xi32>
  linalg.fill ins(%zero : i32) outs(%m96 : memref<24x4xi32>)
  func.call @count_24x4(%m96) : (memref<24x4xi32>) -> ()
  %f96 = memref.collapse_shape %m96 [[0, 1]] : memref<24x4xi32> into memref<96xi32>
  %d96 = memref.cast %f96 : memref<96xi32> to memref<?xi32>
  vector.print str "24x4 "
  func.call @print_range(%d96) : (memref<?xi32>) -> ()

  %m30 = memref.alloc() : memref<10x3xi32>
  linalg.fill ins(%zero : i32) outs(%m30 : memref<10x3xi32>)
  func.call @count_10x3(%m30) : (memref<10x3xi32>) -> ()
  %f30 = memref.collapse_shape %m30 [[0, 1]] : memref<10x3xi32> into memref<30xi32>
  %d30 = memref.cast %f30 : memref<30xi32> to memref<?xi32>
  vector.print str "10x3 "
  func.call @print_range(%d30) : (memref<?xi32>) -> ()

  %m150 = memref.alloc() : memref<50x3xi32>
  linalg.fill ins(%zero : i32) outs(%m150 : memref<50x3xi32>)
  func.call @count_50x3(%m150) : (memref<50x3xi32>) -> ()
  %f150 = memref.collapse_shape %m150 [[0, 1]] : memref<50x3xi32> into memref<150xi32>
  %d150 = memref.cast %f150 : memref<150xi32> to memref<?xi32>
  vector.print str "50x3 "
  func.call @print_range(%d150) : (memref<?xi32>) -> ()

  %m66 = memref.alloc() : memref<33x2xi32>
  linalg.fill ins(%zero : i32) outs(%m66 : memref<33x2xi32>)
  func.call @count_33x2(%m66) : (memref<33x2xi32>) -> ()
  %f66 = memref.collapse_shape %m66 [[0, 1]] : memref<33x2xi32> into memref<66xi32>
  %d66 = memref.cast %f66 : memref<66xi32> to memref<?xi32>
  vector.print str "33x2 "
  func.call @print_range(%d66) : (memref<?xi32>) -> ()

  %m390 = memref.alloc() : memref<130x3xi32>
  linalg.fill ins(%zero : i32) outs(%m390 : memref<130x3xi32>)
  func.call @count_130x3(%m390) : (memref<130x3xi32>) -> ()
  %f390 = memref.collapse_shape %m390 [[0, 1]] : memref<130x3xi32> into memref<390xi32>
  %d390 = memref.cast %f390 : memref<390xi32> to memref<?xi32>
  vector.print str "130x3 "
  func.call @print_range(%d390) : (memref<?xi32>) -> ()

  %t = memref.alloc() : memref<6x2x3xi32>
  linalg.fill ins(%zero : i32) outs(%t : memref<6x2x3xi32>)
  func.call @count_6x2x3(%t) : (memref<6x2x3xi32>) -> ()
  %tf = memref.collapse_shape %t [[0, 1, 2]] : memref<6x2x3xi32> into memref<36xi32>
  %td = memref.cast %tf : memref<36xi32> to memref<?xi32>
  vector.print str "6x2x3 "
  func.call @print_range(%td) : (memref<?xi32>) -> ()
  return
}
