// Bad option values are rejected by the option parser before anything runs.
// RUN: not bm-opt %s --bm-lower-to-nvvm=format=ptx 2>&1 | FileCheck %s
// CHECK: for the --format option: Cannot find option named 'ptx'!
// RUN: not bm-opt %s --bm-lower-to-nvvm=mma-kernel=wgmma 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: not bm-opt %s --bm-lower-to-gpu=mma-kernel=wgmma 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: not bm-opt %s --bm-map-to-gpu=mma-kernel=wgmma 2>&1 | FileCheck %s --check-prefix=KERNEL
// KERNEL: for the --mma-kernel option: Cannot find option named 'wgmma'!
func.func @f() {
  return
}
