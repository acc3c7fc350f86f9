// A bad binary format is rejected before anything runs.
// RUN: not bm-opt %s --bm-lower-to-nvvm=format=ptx 2>&1 | FileCheck %s
// CHECK: bm-lower-to-nvvm: format must be isa (PTX), bin (cubin) or fatbin, not 'ptx'
func.func @f() {
  return
}
