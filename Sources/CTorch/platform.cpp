// The platform seam of the shim: everything here depends on the operating system or
// its C library. Linux (glibc) is the platform built and tested; a macOS port (the torch
// wheel's macOS arm64 build) changes only this file, Torch/Platform.swift and the
// linker settings in Package.swift:
//   - ct_malloc_keep_freed: glibc's mallopt thresholds and a CPU allocator that glibc
//     reuses exactly (macOS's allocator needs neither; it returns 0 there);
//   - ct_cuda_load: dlopen of libtorch_cuda.so from libtorch's own folder (found with
//     dladdr, which both glibc and macOS have); macOS has no CUDA, its GPU is MPS,
//     which libtorch_cpu carries itself.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "internal.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/CPUAllocator.h>

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdlib>
#include <string>

#if defined(__APPLE__)
#define CT_SHARED_LIBRARY_SUFFIX ".dylib"
#else
#define CT_SHARED_LIBRARY_SUFFIX ".so"
#endif

using namespace ctorch;

namespace {
#if defined(__GLIBC__)
// libtorch's default CPU allocator calls posix_memalign(64). On glibc that carves a
// sliver off each side of a large block; the slivers sit in the thread cache, fence the
// freed block off from its neighbours and leave it a few bytes too small for the same
// request, so with mallopt's thresholds raised a same-size buffer is mostly taken from
// fresh heap (up to ~16 copies before it settles). Plain malloc of n + 72 bytes, aligned
// by hand with the block's start kept just below the data, is reused exactly.
void free_aligned(void *data) {
  if (data != nullptr) std::free(static_cast<void **>(data)[-1]);
}

struct ReusingCPUAllocator final : c10::Allocator {
  static constexpr size_t alignment = 64;
  c10::DataPtr allocate(size_t n) override {
    c10::Device cpu(c10::DeviceType::CPU);
    if (n == 0) return {nullptr, nullptr, &free_aligned, cpu};
    void *base = n <= SIZE_MAX - alignment - sizeof(void *) ? std::malloc(n + alignment + sizeof(void *)) : nullptr;
    TORCH_CHECK_WITH(OutOfMemoryError, base != nullptr, "CPU: failed to allocate ", n, " bytes");
    auto start = reinterpret_cast<uintptr_t>(base) + sizeof(void *);
    auto data = reinterpret_cast<void **>((start + alignment - 1) & ~(alignment - 1));
    data[-1] = base;
    return {data, data, &free_aligned, cpu};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &free_aligned; }
  void copy_data(void *dest, const void *src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
};
#endif

// The folder libtorch_cpu was loaded from.
std::string libtorch_folder() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&at::get_num_threads), &info) == 0 || info.dli_fname == nullptr) {
    throw std::runtime_error("cannot locate libtorch's lib folder");
  }
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}
}  // namespace

extern "C" {

int ct_malloc_keep_freed(int bytes) {
#if defined(__GLIBC__)
  static auto *allocator = new ReusingCPUAllocator();  // never destroyed: tensors may outlive statics
  if (mallopt(M_MMAP_THRESHOLD, bytes) != 1 || mallopt(M_TRIM_THRESHOLD, bytes) != 1) return 0;
  PROTECT(0, c10::SetCPUAllocator(allocator, 1); return 1;)
#else
  (void)bytes;
  return 0;
#endif
}

int ct_cuda_load(void) {
  PROTECT(-1, {
    if (at::detail::getCUDAHooks().hasCUDA()) return 0;
#if defined(__APPLE__)
    throw std::runtime_error("CUDA is not available on macOS");
#endif
    std::string path = libtorch_folder() + "/libtorch_cuda" CT_SHARED_LIBRARY_SUFFIX;
    if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
      const char *why = dlerror();
      throw std::runtime_error("CUDA is not available: loading " + path + " failed (" + (why ? why : "?") +
                               "); install the CUDA libraries that the torch wheel depends on");
    }
    return 0;
  })
}

}  // extern "C"
