// A bad binary format is rejected by the option parser before anything runs.
// RUN: not bm-opt %s --bm-lower-to-nvvm=format=ptx 2>&1 | FileCheck %s
// CHECK: for the --format option: Cannot find option named 'ptx'!
func.func @f() {
  return
}
