// ctorch.h — Graft's C ABI over libtorch.
//
// Conventions, uniform across the header:
//  * `ct_tensor` is an opaque owning handle to one at::Tensor; free it with ct_free.
//  * A function returning ct_tensor returns NULL on failure; a function returning
//    int returns 0 on success and -1 on failure. Either way the message is kept
//    in a thread-local slot: read it with ct_last_error(), clear it with
//    ct_clear_error(). No C++ exception ever crosses this boundary.
//  * Enum raw values (dtype, device type, memory format) are libtorch's own
//    (c10::ScalarType, c10::DeviceType, c10::MemoryFormat); tests check them.
//  * Optional tensor arguments accept NULL.
#ifndef CTORCH_H
#define CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_s *ct_tensor;
typedef struct ct_generator_s *ct_generator;
typedef struct ct_guard_s *ct_guard;

typedef struct {
  int dtype;        // c10::ScalarType
  int device_type;  // c10::DeviceType
  int device_index; // -1 for the current device
} ct_options;

// ---- errors, library, threads, devices --------------------------------------
const char *ct_last_error(void);
void ct_clear_error(void);
const char *ct_version(void);            // "2.15.0"
int ct_set_num_threads(int n);
int ct_get_num_threads(void);
// Intra-op threads for the calling thread only (OpenMP and MKL thread-local settings): n > 0 sets
// them and returns the previous OpenMP value; n <= 0 restores OpenMP to -n and MKL to its global value.
int ct_set_thread_local_num_threads(int n);
/// glibc's mallopt(M_MMAP_THRESHOLD and M_TRIM_THRESHOLD, bytes), and a CPU allocator
/// that reuses freed blocks (malloc, aligned by hand); 1 on success, 0 elsewhere.
int ct_malloc_keep_freed(int bytes);
int ct_cpu_memory_track(void);           // counts CPU tensor bytes from now on (0 ok)
void ct_cpu_memory_stats(int64_t *in_use, int64_t *peak);
void ct_cpu_memory_reset_peak(void);
int ct_cuda_load(void);                  // dlopen libtorch_cuda.so beside libtorch_cpu.so
bool ct_cuda_is_available(void);
int ct_cuda_device_count(void);
int ct_cuda_synchronize(int device_index);
int ct_dtype_name(int dtype, char *buf, size_t len);       // c10::toString
int64_t ct_dtype_size(int dtype);                           // bytes per element, -1 on error
int ct_device_type_name(int device_type, char *buf, size_t len);
int ct_memory_format_name(int format, char *buf, size_t len);

// ---- grad mode, inference mode -----------------------------------------------
bool ct_grad_enabled(void);
void ct_set_grad_enabled(bool enabled);
ct_guard ct_inference_mode_enter(void);
void ct_inference_mode_exit(ct_guard guard);
bool ct_inference_mode_enabled(void);

// ---- autocast: torch.autocast's state (libtorch's at::autocast, thread-local) -----------
// Per device type: whether autocast is on and its lower-precision dtype; one nesting
// counter and one cast cache for all device types (cleared by ct_autocast_clear_cache).
bool ct_autocast_enabled(int device_type);
int ct_autocast_set_enabled(int device_type, bool enabled);
int ct_autocast_dtype(int device_type);              // c10::ScalarType, -1 on error
int ct_autocast_set_dtype(int device_type, int dtype);
int ct_autocast_increment_nesting(void);             // the new depth
int ct_autocast_decrement_nesting(void);             // the new depth
int ct_autocast_clear_cache(void);
bool ct_autocast_cache_enabled(void);
void ct_autocast_set_cache_enabled(bool enabled);

// ---- loss scaling (torch.amp.GradScaler's kernels) -----------------------------------------
// grads *= inv_scale in place, found_inf set to 1 where any is NaN or inf.
int ct_amp_unscale_(const ct_tensor *grads, size_t n, ct_tensor found_inf, ct_tensor inv_scale);
// The scale and growth tracker updated in place from found_inf (at::_amp_update_scale_).
int ct_amp_update_scale_(ct_tensor scale, ct_tensor growth_tracker, ct_tensor found_inf, double growth_factor,
                         double backoff_factor, int64_t growth_interval);

// ---- what libtorch knows of the CPU (its cpuinfo) and a CUDA device ----------------------
int ct_cpu_capability(char *buf, size_t len);        // the kernels' ISA: "DEFAULT", "AVX2", "AVX512"
int ct_cpu_feature(const char *name);                // at::cpu::get_cpu_capabilities()[name]: 1, 0, -1 unknown
int ct_cpu_init_amx(void);                           // asks the kernel for AMX tiles: 1 granted, 0 not
int ct_cuda_supports_bf16(void);                     // compute capability >= 8 (1), not (0), -1 no CUDA

// ---- RNG -----------------------------------------------------------------------
int ct_manual_seed(uint64_t seed);
ct_generator ct_generator_new(uint64_t seed);
ct_generator ct_generator_default(void);            // borrowed: never freed
void ct_generator_free(ct_generator g);
int ct_generator_set_seed(ct_generator g, uint64_t seed);
ct_tensor ct_generator_get_state(ct_generator g);   // uint8 tensor
int ct_generator_set_state(ct_generator g, ct_tensor state);

// ---- lifecycle and metadata ------------------------------------------------------
void ct_free(ct_tensor t);
ct_tensor ct_shallow_copy(ct_tensor t);          // another handle to the same tensor
ct_tensor ct_undefined(void);
bool ct_defined(ct_tensor t);
int64_t ct_dim(ct_tensor t);
int ct_sizes(ct_tensor t, int64_t *out);          // `out` holds ct_dim entries
int ct_strides(ct_tensor t, int64_t *out);
int ct_dtype(ct_tensor t);
int ct_device(ct_tensor t, int *device_type, int *device_index);
int64_t ct_numel(ct_tensor t);
int64_t ct_storage_offset(ct_tensor t);
bool ct_is_contiguous(ct_tensor t, int memory_format);
int ct_describe(ct_tensor t, char *buf, size_t len); // torch's printout, truncated
void *ct_data_ptr(ct_tensor t);                   // NULL on error

// ---- creation -----------------------------------------------------------------------
ct_tensor ct_empty(const int64_t *sizes, size_t n, ct_options o);
ct_tensor ct_zeros(const int64_t *sizes, size_t n, ct_options o);
ct_tensor ct_ones(const int64_t *sizes, size_t n, ct_options o);
ct_tensor ct_full(const int64_t *sizes, size_t n, double value, ct_options o);
ct_tensor ct_scalar_tensor(double value, ct_options o);
ct_tensor ct_arange(double start, double end, double step, ct_options o);
ct_tensor ct_linspace(double start, double end, int64_t steps, ct_options o);
ct_tensor ct_eye(int64_t n, ct_options o);
ct_tensor ct_rand(const int64_t *sizes, size_t n, ct_generator g, ct_options o);
ct_tensor ct_randn(const int64_t *sizes, size_t n, ct_generator g, ct_options o);
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *sizes, size_t n, ct_generator g, ct_options o);
ct_tensor ct_randperm(int64_t n, ct_generator g, ct_options o);
ct_tensor ct_multinomial(ct_tensor weights, int64_t n, bool replacement, ct_generator g);
ct_tensor ct_sample_dirichlet(ct_tensor concentration, ct_generator g);
ct_tensor ct_uniform_(ct_tensor t, double from, double to, ct_generator g);
ct_tensor ct_normal_(ct_tensor t, double mean, double std, ct_generator g);
ct_tensor ct_bernoulli_(ct_tensor t, double p, ct_generator g);
// Wraps memory owned by the caller without copying; `deleter(ctx)` runs when
// libtorch frees the storage. `strides` may be NULL (contiguous).
ct_tensor ct_from_blob(void *data, const int64_t *sizes, const int64_t *strides, size_t n, int dtype,
                       void *ctx, void (*deleter)(void *ctx));
// Copies the tensor (made contiguous, on the CPU, same dtype) into dst.
int ct_copy_to(ct_tensor t, void *dst, size_t nbytes);
int ct_item_double(ct_tensor t, double *out);
int ct_item_int64(ct_tensor t, int64_t *out);

// ---- elementwise ----------------------------------------------------------------------
typedef enum {
  CT_ADD, CT_SUB, CT_MUL, CT_DIV, CT_POW, CT_REMAINDER, CT_FLOOR_DIVIDE, CT_MAXIMUM, CT_MINIMUM,
  CT_EQ, CT_NE, CT_LT, CT_LE, CT_GT, CT_GE, CT_LOGICAL_AND, CT_LOGICAL_OR, CT_LOGICAL_XOR, CT_ATAN2,
} ct_binary_op;
typedef enum {
  CT_NEG, CT_ABS, CT_EXP, CT_LOG, CT_LOG1P, CT_SQRT, CT_RSQRT, CT_SIN, CT_COS, CT_TANH, CT_SIGMOID,
  CT_RELU, CT_RELU6, CT_SILU, CT_HARDSWISH, CT_HARDSIGMOID, CT_FLOOR, CT_CEIL, CT_ROUND, CT_SIGN,
  CT_LOGICAL_NOT, CT_RECIPROCAL, CT_SQUARE, CT_ERF, CT_ISNAN, CT_ISINF, CT_ISFINITE, CT_TRUNC, CT_ERFINV, CT_LOG2,
} ct_unary_op;
ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b);
ct_tensor ct_binary_scalar(int op, ct_tensor a, double s, bool integral);   // a op s
ct_tensor ct_rbinary_scalar(int op, double s, bool integral, ct_tensor a);  // s op a
ct_tensor ct_unary(int op, ct_tensor a);
ct_tensor ct_add_scaled(ct_tensor a, ct_tensor b, double alpha);           // a + alpha*b
ct_tensor ct_gelu(ct_tensor a, bool tanh_approximation);
ct_tensor ct_leaky_relu(ct_tensor a, double slope);
ct_tensor ct_clamp(ct_tensor a, const double *min, const double *max);     // NULL = unbounded
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b);
ct_tensor ct_masked_fill(ct_tensor a, ct_tensor mask, double value);
ct_tensor ct_lerp(ct_tensor a, ct_tensor end, double weight);
ct_tensor ct_addcmul(ct_tensor a, ct_tensor t1, ct_tensor t2, double value);
ct_tensor ct_addcdiv(ct_tensor a, ct_tensor t1, ct_tensor t2, double value);
ct_tensor ct_allclose_like(ct_tensor a, ct_tensor b, double rtol, double atol); // bool tensor, per element

// ---- in place (return a new handle to the same tensor) --------------------------------
ct_tensor ct_binary_(int op, ct_tensor a, ct_tensor b);              // add_, sub_, mul_, div_ only
ct_tensor ct_binary_scalar_(int op, ct_tensor a, double s, bool integral); // add_, sub_, mul_, div_ only
ct_tensor ct_unary_(int op, ct_tensor a);                            // sqrt_, relu_, neg_, ... as above
ct_tensor ct_add_scaled_(ct_tensor a, ct_tensor b, double alpha);    // a += alpha*b
ct_tensor ct_addcmul_(ct_tensor a, ct_tensor t1, ct_tensor t2, double value);
ct_tensor ct_addcdiv_(ct_tensor a, ct_tensor t1, ct_tensor t2, double value);
ct_tensor ct_lerp_(ct_tensor a, ct_tensor end, double weight);
ct_tensor ct_maximum_(ct_tensor a, ct_tensor b);
ct_tensor ct_clamp_(ct_tensor a, const double *min, const double *max);
ct_tensor ct_copy_(ct_tensor dst, ct_tensor src);
ct_tensor ct_fill_(ct_tensor a, double value);
ct_tensor ct_zero_(ct_tensor a);

// ---- reductions -------------------------------------------------------------------------
// `dims` NULL/0 = all dimensions. dtype -1 = keep.
ct_tensor ct_sum(ct_tensor a, const int64_t *dims, size_t n, bool keepdim, int dtype);
ct_tensor ct_mean(ct_tensor a, const int64_t *dims, size_t n, bool keepdim);
ct_tensor ct_prod(ct_tensor a, int64_t dim, bool all, bool keepdim);
ct_tensor ct_var(ct_tensor a, const int64_t *dims, size_t n, double correction, bool keepdim);
ct_tensor ct_std(ct_tensor a, const int64_t *dims, size_t n, double correction, bool keepdim);
ct_tensor ct_norm(ct_tensor a, double p, const int64_t *dims, size_t n, bool keepdim);
ct_tensor ct_amax(ct_tensor a, const int64_t *dims, size_t n, bool keepdim);
ct_tensor ct_amin(ct_tensor a, const int64_t *dims, size_t n, bool keepdim);
ct_tensor ct_logsumexp(ct_tensor a, const int64_t *dims, size_t n, bool keepdim);
int ct_max_dim(ct_tensor a, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices);
int ct_min_dim(ct_tensor a, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices);
ct_tensor ct_argmax(ct_tensor a, int64_t dim, bool all, bool keepdim);
ct_tensor ct_argmin(ct_tensor a, int64_t dim, bool all, bool keepdim);
ct_tensor ct_all(ct_tensor a);
ct_tensor ct_any(ct_tensor a);
ct_tensor ct_cumsum(ct_tensor a, int64_t dim);
int ct_topk(ct_tensor a, int64_t k, int64_t dim, bool largest, bool sorted, ct_tensor *values, ct_tensor *indices);
int ct_sort(ct_tensor a, int64_t dim, bool descending, bool stable, ct_tensor *values, ct_tensor *indices);
ct_tensor ct_bincount(ct_tensor a, ct_tensor weights, int64_t minlength);

// ---- linear algebra, shape, indexing ---------------------------------------------------
ct_tensor ct_matmul(ct_tensor a, ct_tensor b);
// a = u · diag(s) · vh (LAPACK through libtorch); 0 on success.
int ct_linalg_svd(ct_tensor a, bool full_matrices, ct_tensor *u, ct_tensor *s, ct_tensor *vh);
ct_tensor ct_reshape(ct_tensor a, const int64_t *sizes, size_t n);
ct_tensor ct_view(ct_tensor a, const int64_t *sizes, size_t n);
ct_tensor ct_expand(ct_tensor a, const int64_t *sizes, size_t n);
ct_tensor ct_repeat(ct_tensor a, const int64_t *repeats, size_t n);
ct_tensor ct_permute(ct_tensor a, const int64_t *dims, size_t n);
ct_tensor ct_transpose(ct_tensor a, int64_t d0, int64_t d1);
ct_tensor ct_contiguous(ct_tensor a, int memory_format);
ct_tensor ct_flatten(ct_tensor a, int64_t start, int64_t end);
ct_tensor ct_squeeze(ct_tensor a, int64_t dim, bool all);
ct_tensor ct_unsqueeze(ct_tensor a, int64_t dim);
ct_tensor ct_flip(ct_tensor a, const int64_t *dims, size_t n);
ct_tensor ct_select(ct_tensor a, int64_t dim, int64_t index);
ct_tensor ct_slice(ct_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step);
ct_tensor ct_cat(const ct_tensor *ts, size_t n, int64_t dim);
ct_tensor ct_stack(const ct_tensor *ts, size_t n, int64_t dim);
int ct_chunk(ct_tensor a, int64_t chunks, int64_t dim, ct_tensor *out, size_t capacity, size_t *count);
ct_tensor ct_index_select(ct_tensor a, int64_t dim, ct_tensor index);
ct_tensor ct_gather(ct_tensor a, int64_t dim, ct_tensor index);
ct_tensor ct_scatter_add(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor src);
ct_tensor ct_index(ct_tensor a, const ct_tensor *indices, size_t n);   // a[indices...]; NULL = ':'
ct_tensor ct_index_put_(ct_tensor a, const ct_tensor *indices, size_t n, ct_tensor values, bool accumulate);
ct_tensor ct_one_hot(ct_tensor a, int64_t num_classes);
ct_tensor ct_to(ct_tensor a, ct_options o, bool non_blocking, bool copy);
ct_tensor ct_to_dtype(ct_tensor a, int dtype);
ct_tensor ct_clone(ct_tensor a, int memory_format);
ct_tensor ct_tril(ct_tensor a, int64_t diagonal);

// ---- neural-network functions ------------------------------------------------------------
ct_tensor ct_conv2d(ct_tensor input, ct_tensor weight, ct_tensor bias, const int64_t *stride,
                    const int64_t *padding, const int64_t *dilation, int64_t groups);
ct_tensor ct_pad(ct_tensor input, const int64_t *pad, size_t n, double value);
ct_tensor ct_batch_norm(ct_tensor input, ct_tensor weight, ct_tensor bias, ct_tensor running_mean,
                        ct_tensor running_var, bool training, double momentum, double eps);
ct_tensor ct_linear(ct_tensor input, ct_tensor weight, ct_tensor bias);
ct_tensor ct_layer_norm(ct_tensor input, const int64_t *normalized_shape, size_t n, ct_tensor weight, ct_tensor bias,
                        double eps);
// scale: NULL for 1/sqrt(head dim); mask: NULL, bool (true = attend) or additive float.
ct_tensor ct_scaled_dot_product_attention(ct_tensor query, ct_tensor key, ct_tensor value, ct_tensor mask,
                                          double dropout_p, bool is_causal, const double *scale);
ct_tensor ct_roll(ct_tensor input, const int64_t *shifts, const int64_t *dims, size_t n);
ct_tensor ct_max_pool2d(ct_tensor input, const int64_t *kernel, const int64_t *stride,
                        const int64_t *padding, const int64_t *dilation, bool ceil_mode);
ct_tensor ct_avg_pool2d(ct_tensor input, const int64_t *kernel, const int64_t *stride,
                        const int64_t *padding, bool ceil_mode, bool count_include_pad);
ct_tensor ct_adaptive_avg_pool2d(ct_tensor input, const int64_t *output_size);
ct_tensor ct_adaptive_max_pool2d(ct_tensor input, const int64_t *output_size);
ct_tensor ct_dropout(ct_tensor input, double p, bool train);
ct_tensor ct_softmax(ct_tensor input, int64_t dim);
ct_tensor ct_log_softmax(ct_tensor input, int64_t dim);
// mode: 0 nearest, 1 bilinear, 2 bicubic. size NULL → scale factors used.
ct_tensor ct_interpolate(ct_tensor input, int mode, const int64_t *size, const double *scale,
                         bool align_corners, bool antialias);
// at::grid_sampler. mode: 0 bilinear, 1 nearest, 2 bicubic; padding_mode: 0 zeros, 1 border, 2 reflection.
ct_tensor ct_grid_sample(ct_tensor input, ct_tensor grid, int mode, int padding_mode, bool align_corners);
// reduction: 0 none, 1 mean, 2 sum (at::Reduction)
ct_tensor ct_cross_entropy(ct_tensor input, ct_tensor target, ct_tensor weight, int reduction,
                           int64_t ignore_index, double label_smoothing);
ct_tensor ct_nll_loss(ct_tensor input, ct_tensor target, ct_tensor weight, int reduction,
                      int64_t ignore_index);
ct_tensor ct_mse_loss(ct_tensor input, ct_tensor target, int reduction);
ct_tensor ct_bce_with_logits(ct_tensor input, ct_tensor target, ct_tensor weight, int reduction);

// ---- autograd ---------------------------------------------------------------------------------
int ct_set_requires_grad(ct_tensor t, bool requires_grad);
bool ct_requires_grad(ct_tensor t);
bool ct_is_leaf(ct_tensor t);
ct_tensor ct_grad(ct_tensor t);                       // undefined tensor when none
int ct_set_grad(ct_tensor t, ct_tensor grad);         // NULL clears
int ct_backward(ct_tensor t, ct_tensor gradient, bool retain_graph, bool create_graph);
int ct_retain_grad(ct_tensor t);
ct_tensor ct_detach(ct_tensor t);
// torch.autograd.grad: outputs/inputs arrays; results written to `out` (n_inputs entries).
int ct_autograd_grad(const ct_tensor *outputs, size_t n_out, const ct_tensor *grad_outputs,
                     const ct_tensor *inputs, size_t n_in, bool retain_graph, bool create_graph,
                     ct_tensor *out);

#ifdef __cplusplus
}
#endif
#endif
