// The C ABI, part 1: errors, library state, RNG, tensor lifecycle, creation, autograd.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "internal.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/cpu/Utils.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/headeronly/version.h>

#include <cstring>
#include <sstream>

using namespace ctorch;

namespace {
thread_local std::string last_error;
thread_local bool has_error = false;

int copy_string(const std::string &s, char *buf, size_t len) {
  if (buf == nullptr || len == 0) return -1;
  size_t n = std::min(s.size(), len - 1);
  std::memcpy(buf, s.data(), n);
  buf[n] = 0;
  return 0;
}
}  // namespace

void ctorch::set_error(const char *message) {
  last_error = message ? message : "unknown error";
  has_error = true;
}

extern "C" {

const char *ct_last_error(void) { return has_error ? last_error.c_str() : nullptr; }
void ct_clear_error(void) {
  has_error = false;
  last_error.clear();
}

const char *ct_version(void) {
#define CT_STR2(x) #x
#define CT_STR(x) CT_STR2(x)
  return CT_STR(TORCH_VERSION_MAJOR) "." CT_STR(TORCH_VERSION_MINOR) "." CT_STR(TORCH_VERSION_PATCH);
}

int ct_set_num_threads(int n) { RET_OK(at::set_num_threads(n);) }
int ct_get_num_threads(void) { PROTECT(-1, return at::get_num_threads();) }

bool ct_cuda_is_available(void) {
  PROTECT(false, return at::detail::getCUDAHooks().hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0;)
}
int ct_cuda_device_count(void) { PROTECT(-1, return at::detail::getCUDAHooks().getNumGPUs();) }
int ct_cuda_synchronize(int device_index) {
  RET_OK(at::detail::getCUDAHooks().deviceSynchronize(static_cast<c10::DeviceIndex>(device_index));)
}

int ct_dtype_name(int dtype, char *buf, size_t len) {
  PROTECT(-1, return copy_string(c10::toString(static_cast<at::ScalarType>(dtype)), buf, len);)
}
int64_t ct_dtype_size(int dtype) { PROTECT(-1, return (int64_t)c10::elementSize(static_cast<at::ScalarType>(dtype));) }
int ct_device_type_name(int device_type, char *buf, size_t len) {
  PROTECT(-1, return copy_string(c10::DeviceTypeName(static_cast<c10::DeviceType>(device_type), true), buf, len);)
}
int ct_memory_format_name(int format, char *buf, size_t len) {
  PROTECT(-1, {
    std::ostringstream os;
    os << static_cast<c10::MemoryFormat>(format);
    return copy_string(os.str(), buf, len);
  })
}

// ---- grad mode, inference mode ---------------------------------------------------------
bool ct_grad_enabled(void) { return c10::GradMode::is_enabled(); }
void ct_set_grad_enabled(bool enabled) { c10::GradMode::set_enabled(enabled); }
struct ct_guard_s {
  c10::InferenceMode guard;
};
ct_guard ct_inference_mode_enter(void) { PROTECT(nullptr, return new ct_guard_s();) }
void ct_inference_mode_exit(ct_guard guard) { delete guard; }
bool ct_inference_mode_enabled(void) { return c10::InferenceMode::is_enabled(); }

static at::DeviceType autocast_device(int device_type) {
  auto type = static_cast<at::DeviceType>(device_type);
  if (!at::autocast::is_autocast_available(type)) {
    throw std::invalid_argument("autocast is not available for device type " + c10::DeviceTypeName(type, true));
  }
  return type;
}
bool ct_autocast_enabled(int device_type) {
  PROTECT(false, return at::autocast::is_autocast_enabled(autocast_device(device_type));)
}
int ct_autocast_set_enabled(int device_type, bool enabled) {
  RET_OK(at::autocast::set_autocast_enabled(autocast_device(device_type), enabled);)
}
int ct_autocast_dtype(int device_type) {
  PROTECT(-1, return static_cast<int>(at::autocast::get_autocast_dtype(autocast_device(device_type)));)
}
int ct_autocast_set_dtype(int device_type, int dtype) {
  RET_OK(at::autocast::set_autocast_dtype(autocast_device(device_type), static_cast<at::ScalarType>(dtype));)
}
int ct_autocast_increment_nesting(void) { return at::autocast::increment_nesting(); }
int ct_autocast_decrement_nesting(void) { return at::autocast::decrement_nesting(); }
int ct_autocast_clear_cache(void) { RET_OK(at::autocast::clear_cache();) }
bool ct_autocast_cache_enabled(void) { return at::autocast::is_autocast_cache_enabled(); }
void ct_autocast_set_cache_enabled(bool enabled) { at::autocast::set_autocast_cache_enabled(enabled); }

int ct_amp_unscale_(const ct_tensor *grads, size_t n, ct_tensor found_inf, ct_tensor inv_scale) {
  RET_OK({
    std::vector<at::Tensor> list;
    list.reserve(n);
    for (size_t i = 0; i < n; i++) list.push_back(T(grads[i]));
    at::Tensor found = T(found_inf);
    at::_amp_foreach_non_finite_check_and_unscale_(list, found, T(inv_scale));
  })
}
int ct_amp_update_scale_(ct_tensor scale, ct_tensor growth_tracker, ct_tensor found_inf, double growth_factor,
                         double backoff_factor, int64_t growth_interval) {
  RET_OK({
    at::Tensor s = T(scale), g = T(growth_tracker);
    at::_amp_update_scale_(s, g, T(found_inf), growth_factor, backoff_factor, growth_interval);
  })
}

int ct_cpu_capability(char *buf, size_t len) {
  PROTECT(-1, {
    std::string name = at::get_cpu_capability();  // torch.backends.cpu.get_cpu_capability()
    if (name.size() >= len) throw std::invalid_argument("buffer too small");
    std::strcpy(buf, name.c_str());
    return 0;
  })
}
int ct_cpu_feature(const char *name) {
  PROTECT(-1, {
    if (name == nullptr) throw std::invalid_argument("a feature name is NULL");
    auto all = at::cpu::get_cpu_capabilities();
    auto found = all.find(name);
    if (found == all.end() || !found->second.isBool()) return -1;
    return found->second.toBool() ? 1 : 0;
  })
}
int ct_cpu_init_amx(void) { PROTECT(-1, return at::cpu::init_amx() ? 1 : 0;) }
int ct_cuda_supports_bf16(void) {
  PROTECT(-1, {
    const auto &hooks = at::detail::getCUDAHooks();
    if (!hooks.hasCUDA()) return -1;
    // CUDAHooks answers this with the current device's compute capability (major >= 8),
    // the test torch.cuda.is_bf16_supported() makes.
    return hooks.supportsBFloat16ConvolutionWithCuDNNv8() ? 1 : 0;
  })
}

// ---- RNG --------------------------------------------------------------------------------------
int ct_manual_seed(uint64_t seed) { RET_OK(at::manual_seed(seed);) }
ct_generator ct_generator_new(uint64_t seed) {
  PROTECT(nullptr, return new ct_generator_s{at::make_generator<at::CPUGeneratorImpl>(seed)};)
}
ct_generator ct_generator_default(void) {
  static ct_generator_s default_generator{at::detail::getDefaultCPUGenerator()};
  return &default_generator;
}
void ct_generator_free(ct_generator g) {
  if (g != ct_generator_default()) delete g;
}
int ct_generator_set_seed(ct_generator g, uint64_t seed) {
  RET_OK({
    if (!g) throw std::invalid_argument("generator is NULL");
    std::lock_guard<std::mutex> lock(g->g.mutex());
    g->g.set_current_seed(seed);
  })
}
ct_tensor ct_generator_get_state(ct_generator g) {
  PROTECT(nullptr, {
    if (!g) throw std::invalid_argument("generator is NULL");
    std::lock_guard<std::mutex> lock(g->g.mutex());
    return wrap(g->g.get_state());
  })
}
int ct_generator_set_state(ct_generator g, ct_tensor state) {
  RET_OK({
    if (!g) throw std::invalid_argument("generator is NULL");
    std::lock_guard<std::mutex> lock(g->g.mutex());
    g->g.set_state(T(state));
  })
}

// ---- lifecycle and metadata -------------------------------------------------------------
void ct_free(ct_tensor t) { delete t; }
ct_tensor ct_shallow_copy(ct_tensor t) { RET_TENSOR(t ? t->t : at::Tensor()) }
ct_tensor ct_undefined(void) { RET_TENSOR(at::Tensor()) }
bool ct_defined(ct_tensor t) { return t != nullptr && t->t.defined(); }
int64_t ct_dim(ct_tensor t) { PROTECT(-1, return T(t).dim();) }
int ct_sizes(ct_tensor t, int64_t *out) {
  RET_OK(auto s = T(t).sizes(); std::copy(s.begin(), s.end(), out);)
}
int ct_strides(ct_tensor t, int64_t *out) {
  RET_OK(auto s = T(t).strides(); std::copy(s.begin(), s.end(), out);)
}
int ct_dtype(ct_tensor t) { PROTECT(-1, return static_cast<int>(T(t).scalar_type());) }
int ct_device(ct_tensor t, int *device_type, int *device_index) {
  RET_OK(auto d = T(t).device(); *device_type = static_cast<int>(d.type()); *device_index = d.index();)
}
int64_t ct_numel(ct_tensor t) { PROTECT(-1, return T(t).numel();) }
int64_t ct_storage_offset(ct_tensor t) { PROTECT(-1, return T(t).storage_offset();) }
bool ct_is_contiguous(ct_tensor t, int memory_format) {
  PROTECT(false, return T(t).is_contiguous(static_cast<c10::MemoryFormat>(memory_format));)
}
int ct_describe(ct_tensor t, char *buf, size_t len) {
  PROTECT(-1, {
    std::ostringstream os;
    if (t && t->t.defined()) os << t->t; else os << "[ undefined tensor ]";
    return copy_string(os.str(), buf, len);
  })
}
void *ct_data_ptr(ct_tensor t) { PROTECT(nullptr, return T(t).data_ptr();) }

// ---- creation -------------------------------------------------------------------------------------
ct_tensor ct_empty(const int64_t *sizes, size_t n, ct_options o) { RET_TENSOR(at::empty(ints(sizes, n), options(o))) }
ct_tensor ct_zeros(const int64_t *sizes, size_t n, ct_options o) { RET_TENSOR(at::zeros(ints(sizes, n), options(o))) }
ct_tensor ct_ones(const int64_t *sizes, size_t n, ct_options o) { RET_TENSOR(at::ones(ints(sizes, n), options(o))) }
ct_tensor ct_full(const int64_t *sizes, size_t n, double value, ct_options o) {
  RET_TENSOR(at::full(ints(sizes, n), value, options(o)))
}
ct_tensor ct_scalar_tensor(double value, ct_options o) { RET_TENSOR(at::scalar_tensor(value, options(o))) }
ct_tensor ct_arange(double start, double end, double step, ct_options o) {
  RET_TENSOR(at::arange(start, end, step, options(o)))
}
ct_tensor ct_linspace(double start, double end, int64_t steps, ct_options o) {
  RET_TENSOR(at::linspace(start, end, steps, options(o)))
}
ct_tensor ct_eye(int64_t n, ct_options o) { RET_TENSOR(at::eye(n, options(o))) }
ct_tensor ct_rand(const int64_t *sizes, size_t n, ct_generator g, ct_options o) {
  RET_TENSOR(at::rand(ints(sizes, n), GEN(g), options(o)))
}
ct_tensor ct_randn(const int64_t *sizes, size_t n, ct_generator g, ct_options o) {
  RET_TENSOR(at::randn(ints(sizes, n), GEN(g), options(o)))
}
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *sizes, size_t n, ct_generator g, ct_options o) {
  RET_TENSOR(at::randint(low, high, ints(sizes, n), GEN(g), options(o)))
}
ct_tensor ct_randperm(int64_t n, ct_generator g, ct_options o) { RET_TENSOR(at::randperm(n, GEN(g), options(o))) }
ct_tensor ct_sample_dirichlet(ct_tensor concentration, ct_generator g) {
  RET_TENSOR(at::_sample_dirichlet(T(concentration), GEN(g)))
}
ct_tensor ct_multinomial(ct_tensor weights, int64_t n, bool replacement, ct_generator g) {
  RET_TENSOR(at::multinomial(T(weights), n, replacement, GEN(g)))
}
ct_tensor ct_uniform_(ct_tensor t, double from, double to, ct_generator g) {
  RET_TENSOR(T(t).uniform_(from, to, GEN(g)))
}
ct_tensor ct_normal_(ct_tensor t, double mean, double std, ct_generator g) {
  RET_TENSOR(T(t).normal_(mean, std, GEN(g)))
}
ct_tensor ct_bernoulli_(ct_tensor t, double p, ct_generator g) { RET_TENSOR(T(t).bernoulli_(p, GEN(g))) }

ct_tensor ct_from_blob(void *data, const int64_t *sizes, const int64_t *strides, size_t n, int dtype, void *ctx,
                       void (*deleter)(void *ctx)) {
  PROTECT(nullptr, {
    auto opts = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
    auto del = [ctx, deleter](void *) {
      if (deleter) deleter(ctx);
    };
    if (strides) return wrap(at::from_blob(data, ints(sizes, n), ints(strides, n), del, opts));
    return wrap(at::from_blob(data, ints(sizes, n), del, opts));
  })
}
int ct_copy_to(ct_tensor t, void *dst, size_t nbytes) {
  RET_OK({
    at::Tensor c = T(t).to(at::kCPU).contiguous();
    size_t have = c.numel() * c.element_size();
    if (have != nbytes)
      throw std::invalid_argument("copy_to: destination holds " + std::to_string(nbytes) + " bytes, tensor has " +
                                  std::to_string(have));
    if (have) std::memcpy(dst, c.data_ptr(), have);
  })
}
int ct_item_double(ct_tensor t, double *out) { RET_OK(*out = T(t).item<double>();) }
int ct_item_int64(ct_tensor t, int64_t *out) { RET_OK(*out = T(t).item<int64_t>();) }

// ---- autograd ------------------------------------------------------------------------------------------
int ct_set_requires_grad(ct_tensor t, bool requires_grad) { RET_OK(T(t).set_requires_grad(requires_grad);) }
bool ct_requires_grad(ct_tensor t) { PROTECT(false, return T(t).requires_grad();) }
bool ct_is_leaf(ct_tensor t) { PROTECT(false, return T(t).is_leaf();) }
ct_tensor ct_grad(ct_tensor t) { RET_TENSOR(T(t).grad()) }
int ct_set_grad(ct_tensor t, ct_tensor grad) {
  RET_OK({
    auto &x = const_cast<at::Tensor &>(T(t));
    x.mutable_grad() = (grad && grad->t.defined()) ? grad->t : at::Tensor();
  })
}
int ct_backward(ct_tensor t, ct_tensor gradient, bool retain_graph, bool create_graph) {
  RET_OK(T(t).backward(gradient && gradient->t.defined() ? gradient->t : at::Tensor(), retain_graph, create_graph);)
}
int ct_retain_grad(ct_tensor t) { RET_OK(T(t).retain_grad();) }
ct_tensor ct_detach(ct_tensor t) { RET_TENSOR(T(t).detach()) }
int ct_autograd_grad(const ct_tensor *outputs, size_t n_out, const ct_tensor *grad_outputs, const ct_tensor *inputs,
                     size_t n_in, bool retain_graph, bool create_graph, ct_tensor *out) {
  RET_OK({
    std::vector<at::Tensor> outs, gouts, ins;
    for (size_t i = 0; i < n_out; i++) {
      outs.push_back(T(outputs[i]));
      gouts.push_back(grad_outputs && grad_outputs[i] ? grad_outputs[i]->t : at::Tensor());
    }
    for (size_t i = 0; i < n_in; i++) ins.push_back(T(inputs[i]));
    auto res = torch::autograd::grad(outs, ins, gouts, retain_graph, create_graph, /*allow_unused=*/true);
    for (size_t i = 0; i < n_in; i++) out[i] = wrap(res[i]);
  })
}

}  // extern "C"
