// The platform seam of the shim: everything here depends on the operating system or
// its C library. Linux (glibc) is the platform built and tested; a macOS port (the torch
// wheel's macOS arm64 build) changes only this file, Torch/Platform.swift and the
// linker settings in Package.swift:
//   - ct_malloc_keep_freed: glibc's mallopt thresholds and a CPU allocator that glibc
//     reuses exactly (macOS's allocator needs neither; it returns 0 there);
//   - ct_cpu_memory_*: that allocator's byte counts (installed on its own elsewhere);
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
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

#if defined(__APPLE__)
#define CT_SHARED_LIBRARY_SUFFIX ".dylib"
#else
#define CT_SHARED_LIBRARY_SUFFIX ".so"
#endif

using namespace ctorch;

namespace {
// libtorch's default CPU allocator calls posix_memalign(64). On glibc that carves a
// sliver off each side of a large block; the slivers sit in the thread cache, fence the
// freed block off from its neighbours and leave it a few bytes too small for the same
// request, so with mallopt's thresholds raised a same-size buffer is mostly taken from
// fresh heap (up to ~16 copies before it settles). Plain malloc of n + 80 bytes, aligned
// by hand with the block's start and size kept just below the data, is reused exactly.
// It also counts the bytes it holds (now and at the peak), which is how Graft measures
// what a forward and backward pass needs before running one at a user's sizes.
std::atomic<int64_t> bytes_in_use{0};
std::atomic<int64_t> peak_bytes{0};

void free_aligned(void *data) {
  if (data == nullptr) return;
  auto header = static_cast<size_t *>(data);
  bytes_in_use.fetch_sub(static_cast<int64_t>(header[-2]), std::memory_order_relaxed);
  std::free(reinterpret_cast<void *>(header[-1]));
}

struct CountingCPUAllocator final : c10::Allocator {
  static constexpr size_t alignment = 64;
  static constexpr size_t header = 2 * sizeof(size_t);
  c10::DataPtr allocate(size_t n) override {
    c10::Device cpu(c10::DeviceType::CPU);
    if (n == 0) return {nullptr, nullptr, &free_aligned, cpu};
    void *base = n <= SIZE_MAX - alignment - header ? std::malloc(n + alignment + header) : nullptr;
    TORCH_CHECK_WITH(OutOfMemoryError, base != nullptr, "CPU: failed to allocate ", n, " bytes");
    auto start = reinterpret_cast<uintptr_t>(base) + header;
    auto data = reinterpret_cast<size_t *>((start + alignment - 1) & ~(alignment - 1));
    data[-1] = reinterpret_cast<size_t>(base);
    data[-2] = n;
    int64_t now = bytes_in_use.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed) + static_cast<int64_t>(n);
    int64_t peak = peak_bytes.load(std::memory_order_relaxed);
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {}
    return {data, data, &free_aligned, cpu};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &free_aligned; }
  void copy_data(void *dest, const void *src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
};

// Installed once, never destroyed: tensors may outlive statics.
void install_counting_allocator() {
  static auto *allocator = new CountingCPUAllocator();
  c10::SetCPUAllocator(allocator, 1);
}

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
  if (mallopt(M_MMAP_THRESHOLD, bytes) != 1 || mallopt(M_TRIM_THRESHOLD, bytes) != 1) return 0;
  PROTECT(0, install_counting_allocator(); return 1;)
#else
  (void)bytes;
  return 0;
#endif
}

int ct_cpu_memory_track(void) { PROTECT(-1, install_counting_allocator(); return 0;) }

void ct_cpu_memory_stats(int64_t *in_use, int64_t *peak) {
  *in_use = bytes_in_use.load(std::memory_order_relaxed);
  *peak = peak_bytes.load(std::memory_order_relaxed);
}

void ct_cpu_memory_reset_peak(void) { peak_bytes.store(bytes_in_use.load(std::memory_order_relaxed)); }

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

// Intra-op threads for the calling thread only, so several threads can each run small
// ops serially without oversubscribing the cores: OpenMP's nthreads-var is a per-thread
// setting, and MKL (inside libtorch_cpu when it carries it) has its own thread-local one.
// Both are looked up at run time: a libtorch without OpenMP or MKL simply lacks them.
// n > 0 sets both and returns the previous OpenMP value (0 without OpenMP); n ≤ 0 puts
// OpenMP back to -n (when positive) and MKL back on its global setting.
int ct_set_thread_local_num_threads(int n) {
  using SetThreads = void (*)(int);
  using GetThreads = int (*)(void);
  // The Fortran-convention name (argument by pointer): in the torch wheel the plain C name is
  // an alias of it, so this is the one spelling that means the same in every MKL.
  using SetLocal = int (*)(const int *);
  static const auto omp_set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  static const auto omp_get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  static const auto mkl_local = reinterpret_cast<SetLocal>(dlsym(RTLD_DEFAULT, "mkl_set_num_threads_local_"));
  int previous = omp_get ? omp_get() : 0;
  if (n > 0) {
    if (omp_set) omp_set(n);
    if (mkl_local) mkl_local(&n);
  } else {
    if (omp_set && -n > 0) omp_set(-n);
    const int global = 0;  // 0: follow the global setting again
    if (mkl_local) mkl_local(&global);
  }
  return previous;
}
