// Every GPU host operation that MLIR 22's gpu-to-llvm lowers to an mgpu*
// runtime call (used by runtime-symbols.test).
func.func @all(%a: memref<100xf32>, %f: f32, %h: f16, %mh: memref<100xf16>,
               %u: memref<*xf32>) {
  %t0 = gpu.wait async
  %m, %t1 = gpu.alloc async [%t0] () : memref<100xf32>
  %s = gpu.alloc host_shared () : memref<100xf32>
  %t2 = gpu.memcpy async [%t1] %m, %a : memref<100xf32>, memref<100xf32>
  %t3 = gpu.memset async [%t2] %m, %f : memref<100xf32>, f32
  %t4 = gpu.memset async [%t3] %mh, %h : memref<100xf16>, f16
  %t5 = gpu.wait async [%t4]
  %t6 = gpu.wait async [%t5, %t3]
  gpu.wait [%t6]
  gpu.host_register %u : memref<*xf32>
  gpu.host_unregister %u : memref<*xf32>
  %c0 = arith.constant 0 : i32
  gpu.set_default_device %c0
  %t7 = gpu.dealloc async [%t6] %m : memref<100xf32>
  %t8 = gpu.dealloc async [%t7] %s : memref<100xf32>
  gpu.wait [%t8]
  return
}
