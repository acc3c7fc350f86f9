//===- SanitizerDefaults.cpp - Run-time defaults of sanitized bm tools ----===//
//
// Linked into every executable of a BM_ENABLE_SANITIZERS build (bm-opt,
// bm-sweep, the unit tests, the fuzzer), so that a sanitized tool runs right
// with no environment variable set. Options given in ASAN_OPTIONS or
// UBSAN_OPTIONS still override these, key by key.
//
// allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons a slab's free
// space when the code that inlines it is built with ASan (bm's code), but
// libMLIR.so is not instrumented and hands out memory from the same slabs
// without unpoisoning it. bm's instrumented code then reads an MLIR object
// that libMLIR allocated and ASan reports a use-after-poison that is not
// one. Poisoning is LLVM's own debugging aid; turning it off keeps every
// real check (heap, stack and global overflows, use after free, leaks).
//
//===----------------------------------------------------------------------===//

extern "C" {

__attribute__((visibility("default"), used)) const char *
__asan_default_options() {
  return "allow_user_poisoning=0";
}

__attribute__((visibility("default"), used)) const char *
__ubsan_default_options() {
  return "print_stacktrace=1";
}

} // extern "C"
