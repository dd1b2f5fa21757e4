// Private to the shim: the handle types and the one error-catching macro.
// No logic lives here beyond converting arguments.
#pragma once
#include "ctorch.h"
#include <ATen/ATen.h>
#include <optional>
#include <string>
#include <vector>

struct ct_tensor_s {
  at::Tensor t;
};
struct ct_generator_s {
  at::Generator g;
};

namespace ctorch {
void set_error(const char *message);

inline ct_tensor wrap(at::Tensor t) { return new ct_tensor_s{std::move(t)}; }

// A required tensor argument: a NULL or undefined handle is an error, never a crash.
inline const at::Tensor &T(ct_tensor h) {
  if (h == nullptr) throw std::invalid_argument("a tensor argument is NULL");
  if (!h->t.defined()) throw std::invalid_argument("a tensor argument is undefined (an earlier operation failed)");
  return h->t;
}
// An optional tensor argument: NULL or undefined means "none".
inline std::optional<at::Tensor> OPT(ct_tensor h) {
  if (h == nullptr || !h->t.defined()) return std::nullopt;
  return h->t;
}
inline std::optional<at::Generator> GEN(ct_generator g) {
  if (g == nullptr) return std::nullopt;
  return g->g;
}
inline at::IntArrayRef ints(const int64_t *p, size_t n) { return at::IntArrayRef(p, n); }
inline at::OptionalIntArrayRef dims_or_all(const int64_t *p, size_t n) {
  if (p == nullptr || n == 0) return std::nullopt;
  return at::OptionalIntArrayRef(std::in_place, p, p + n);
}
inline at::TensorOptions options(ct_options o) {
  auto opts = at::TensorOptions().dtype(static_cast<at::ScalarType>(o.dtype));
  return opts.device(at::Device(static_cast<at::DeviceType>(o.device_type),
                                static_cast<c10::DeviceIndex>(o.device_index)));
}
}  // namespace ctorch

// Every public body runs inside PROTECT: any exception becomes the thread's
// last error and the function returns its failure value.
#define PROTECT(fail, ...)                                                   \
  try {                                                                      \
    __VA_ARGS__                                                              \
  } catch (const c10::Error &e) {                                            \
    ctorch::set_error(e.what_without_backtrace());                           \
  } catch (const std::exception &e) {                                        \
    ctorch::set_error(e.what());                                             \
  } catch (...) {                                                            \
    ctorch::set_error("unknown C++ exception");                              \
  }                                                                          \
  return fail;

#define RET_TENSOR(...) PROTECT(nullptr, return ctorch::wrap(__VA_ARGS__);)
#define RET_OK(...) PROTECT(-1, __VA_ARGS__ return 0;)
