// The C ABI, part 2: elementwise ops, reductions, shape and indexing, nn functions.
#include "internal.h"

using namespace ctorch;

namespace {
at::Tensor binary(int op, const at::Tensor &a, const at::Tensor &b) {
  switch (op) {
    case CT_ADD: return at::add(a, b);
    case CT_SUB: return at::sub(a, b);
    case CT_MUL: return at::mul(a, b);
    case CT_DIV: return at::div(a, b);
    case CT_POW: return at::pow(a, b);
    case CT_REMAINDER: return at::remainder(a, b);
    case CT_FLOOR_DIVIDE: return at::floor_divide(a, b);
    case CT_MAXIMUM: return at::maximum(a, b);
    case CT_MINIMUM: return at::minimum(a, b);
    case CT_EQ: return at::eq(a, b);
    case CT_NE: return at::ne(a, b);
    case CT_LT: return at::lt(a, b);
    case CT_LE: return at::le(a, b);
    case CT_GT: return at::gt(a, b);
    case CT_GE: return at::ge(a, b);
    case CT_LOGICAL_AND: return at::logical_and(a, b);
    case CT_LOGICAL_OR: return at::logical_or(a, b);
    case CT_LOGICAL_XOR: return at::logical_xor(a, b);
    case CT_ATAN2: return at::atan2(a, b);
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
}

at::Scalar scalar(double s, bool integral) { return integral ? at::Scalar(static_cast<int64_t>(s)) : at::Scalar(s); }

at::Tensor binary_scalar(int op, const at::Tensor &a, const at::Scalar &s) {
  switch (op) {
    case CT_ADD: return at::add(a, s);
    case CT_SUB: return at::sub(a, s);
    case CT_MUL: return at::mul(a, s);
    case CT_DIV: return at::div(a, s);
    case CT_POW: return at::pow(a, s);
    case CT_REMAINDER: return at::remainder(a, s);
    case CT_FLOOR_DIVIDE: return at::floor_divide(a, s);
    case CT_MAXIMUM: return at::clamp_min(a, s);
    case CT_MINIMUM: return at::clamp_max(a, s);
    case CT_EQ: return at::eq(a, s);
    case CT_NE: return at::ne(a, s);
    case CT_LT: return at::lt(a, s);
    case CT_LE: return at::le(a, s);
    case CT_GT: return at::gt(a, s);
    case CT_GE: return at::ge(a, s);
  }
  // The rest take a wrapped-number tensor, as Python does for `tensor op number`.
  return binary(op, a, c10::scalar_to_tensor(s, a.device()));
}

at::Tensor unary(int op, const at::Tensor &a) {
  switch (op) {
    case CT_NEG: return at::neg(a);
    case CT_ABS: return at::abs(a);
    case CT_EXP: return at::exp(a);
    case CT_LOG: return at::log(a);
    case CT_LOG1P: return at::log1p(a);
    case CT_LOG2: return at::log2(a);
    case CT_SQRT: return at::sqrt(a);
    case CT_RSQRT: return at::rsqrt(a);
    case CT_SIN: return at::sin(a);
    case CT_COS: return at::cos(a);
    case CT_TANH: return at::tanh(a);
    case CT_SIGMOID: return at::sigmoid(a);
    case CT_RELU: return at::relu(a);
    case CT_RELU6: return at::hardtanh(a, 0, 6);
    case CT_SILU: return at::silu(a);
    case CT_HARDSWISH: return at::hardswish(a);
    case CT_HARDSIGMOID: return at::hardsigmoid(a);
    case CT_FLOOR: return at::floor(a);
    case CT_CEIL: return at::ceil(a);
    case CT_ROUND: return at::round(a);
    case CT_SIGN: return at::sign(a);
    case CT_LOGICAL_NOT: return at::logical_not(a);
    case CT_RECIPROCAL: return at::reciprocal(a);
    case CT_SQUARE: return at::square(a);
    case CT_ERF: return at::erf(a);
    case CT_ISNAN: return at::isnan(a);
    case CT_ISINF: return at::isinf(a);
    case CT_ISFINITE: return at::isfinite(a);
    case CT_TRUNC: return at::trunc(a);
    case CT_ERFINV: return at::erfinv(a);
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(op));
}

at::Tensor &unary_(int op, at::Tensor &a) {
  switch (op) {
    case CT_NEG: return a.neg_();
    case CT_ABS: return a.abs_();
    case CT_EXP: return a.exp_();
    case CT_LOG: return a.log_();
    case CT_SQRT: return a.sqrt_();
    case CT_RSQRT: return a.rsqrt_();
    case CT_TANH: return a.tanh_();
    case CT_SIGMOID: return a.sigmoid_();
    case CT_RELU: return a.relu_();
    case CT_RELU6: return at::hardtanh_(a, 0, 6);
    case CT_SILU: return at::silu_(a);
    case CT_HARDSWISH: return at::hardswish_(a);
    case CT_HARDSIGMOID: return at::hardsigmoid_(a);
    case CT_FLOOR: return a.floor_();
    case CT_CEIL: return a.ceil_();
    case CT_ROUND: return a.round_();
    case CT_RECIPROCAL: return a.reciprocal_();
    case CT_SQUARE: return a.square_();
    case CT_ERFINV: return a.erfinv_();
  }
  throw std::invalid_argument("unary op " + std::to_string(op) + " has no in-place form");
}

at::Tensor &binary_(int op, at::Tensor &a, const at::Tensor &b) {
  switch (op) {
    case CT_ADD: return a.add_(b);
    case CT_SUB: return a.sub_(b);
    case CT_MUL: return a.mul_(b);
    case CT_DIV: return a.div_(b);
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no in-place form");
}
at::Tensor &binary_scalar_(int op, at::Tensor &a, const at::Scalar &s) {
  switch (op) {
    case CT_ADD: return a.add_(s);
    case CT_SUB: return a.sub_(s);
    case CT_MUL: return a.mul_(s);
    case CT_DIV: return a.div_(s);
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no in-place form");
}

// In-place ops mutate the tensor the handle refers to; the handle's at::Tensor is shared.
at::Tensor &M(ct_tensor h) { return const_cast<at::Tensor &>(T(h)); }

std::optional<at::Scalar> opt_scalar(const double *p) {
  if (p == nullptr) return std::nullopt;
  return at::Scalar(*p);
}

int two(std::tuple<at::Tensor, at::Tensor> r, ct_tensor *a, ct_tensor *b) {
  *a = wrap(std::get<0>(r));
  *b = wrap(std::get<1>(r));
  return 0;
}

std::vector<at::Tensor> tensors(const ct_tensor *ts, size_t n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (size_t i = 0; i < n; i++) v.push_back(T(ts[i]));
  return v;
}
}  // namespace

extern "C" {

// ---- elementwise ---------------------------------------------------------------------------------
ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b) { RET_TENSOR(binary(op, T(a), T(b))) }
ct_tensor ct_binary_scalar(int op, ct_tensor a, double s, bool integral) {
  RET_TENSOR(binary_scalar(op, T(a), scalar(s, integral)))
}
ct_tensor ct_rbinary_scalar(int op, double s, bool integral, ct_tensor a) {
  RET_TENSOR(binary(op, c10::scalar_to_tensor(scalar(s, integral), T(a).device()), T(a)))
}
ct_tensor ct_unary(int op, ct_tensor a) { RET_TENSOR(unary(op, T(a))) }
ct_tensor ct_add_scaled(ct_tensor a, ct_tensor b, double alpha) { RET_TENSOR(at::add(T(a), T(b), alpha)) }
ct_tensor ct_gelu(ct_tensor a, bool tanh_approximation) {
  RET_TENSOR(at::gelu(T(a), tanh_approximation ? "tanh" : "none"))
}
ct_tensor ct_leaky_relu(ct_tensor a, double slope) { RET_TENSOR(at::leaky_relu(T(a), slope)) }
ct_tensor ct_clamp(ct_tensor a, const double *min, const double *max) {
  RET_TENSOR(at::clamp(T(a), opt_scalar(min), opt_scalar(max)))
}
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b) { RET_TENSOR(at::where(T(cond), T(a), T(b))) }
ct_tensor ct_masked_fill(ct_tensor a, ct_tensor mask, double value) {
  RET_TENSOR(at::masked_fill(T(a), T(mask), value))
}
ct_tensor ct_lerp(ct_tensor a, ct_tensor end, double weight) { RET_TENSOR(at::lerp(T(a), T(end), weight)) }
ct_tensor ct_addcmul(ct_tensor a, ct_tensor t1, ct_tensor t2, double value) {
  RET_TENSOR(at::addcmul(T(a), T(t1), T(t2), value))
}
ct_tensor ct_addcdiv(ct_tensor a, ct_tensor t1, ct_tensor t2, double value) {
  RET_TENSOR(at::addcdiv(T(a), T(t1), T(t2), value))
}
ct_tensor ct_allclose_like(ct_tensor a, ct_tensor b, double rtol, double atol) {
  RET_TENSOR(at::isclose(T(a), T(b), rtol, atol))
}

// ---- in place ----------------------------------------------------------------------------------------
ct_tensor ct_binary_(int op, ct_tensor a, ct_tensor b) { RET_TENSOR(binary_(op, M(a), T(b))) }
ct_tensor ct_binary_scalar_(int op, ct_tensor a, double s, bool integral) {
  RET_TENSOR(binary_scalar_(op, M(a), scalar(s, integral)))
}
ct_tensor ct_unary_(int op, ct_tensor a) { RET_TENSOR(unary_(op, M(a))) }
ct_tensor ct_add_scaled_(ct_tensor a, ct_tensor b, double alpha) { RET_TENSOR(M(a).add_(T(b), alpha)) }
ct_tensor ct_addcmul_(ct_tensor a, ct_tensor t1, ct_tensor t2, double value) {
  RET_TENSOR(M(a).addcmul_(T(t1), T(t2), value))
}
ct_tensor ct_addcdiv_(ct_tensor a, ct_tensor t1, ct_tensor t2, double value) {
  RET_TENSOR(M(a).addcdiv_(T(t1), T(t2), value))
}
ct_tensor ct_lerp_(ct_tensor a, ct_tensor end, double weight) { RET_TENSOR(M(a).lerp_(T(end), weight)) }
ct_tensor ct_maximum_(ct_tensor a, ct_tensor b) { RET_TENSOR(at::maximum_out(M(a), T(a), T(b))) }
ct_tensor ct_clamp_(ct_tensor a, const double *min, const double *max) {
  RET_TENSOR(M(a).clamp_(opt_scalar(min), opt_scalar(max)))
}
ct_tensor ct_copy_(ct_tensor dst, ct_tensor src) { RET_TENSOR(M(dst).copy_(T(src))) }
ct_tensor ct_fill_(ct_tensor a, double value) { RET_TENSOR(M(a).fill_(value)) }
ct_tensor ct_zero_(ct_tensor a) { RET_TENSOR(M(a).zero_()) }

// ---- reductions ----------------------------------------------------------------------------------------
ct_tensor ct_sum(ct_tensor a, const int64_t *dims, size_t n, bool keepdim, int dtype) {
  std::optional<at::ScalarType> dt;
  if (dtype >= 0) dt = static_cast<at::ScalarType>(dtype);
  RET_TENSOR(at::sum(T(a), dims_or_all(dims, n), keepdim, dt))
}
ct_tensor ct_mean(ct_tensor a, const int64_t *dims, size_t n, bool keepdim) {
  RET_TENSOR(at::mean(T(a), dims_or_all(dims, n), keepdim))
}
ct_tensor ct_prod(ct_tensor a, int64_t dim, bool all, bool keepdim) {
  RET_TENSOR(all ? at::prod(T(a)) : at::prod(T(a), dim, keepdim))
}
ct_tensor ct_var(ct_tensor a, const int64_t *dims, size_t n, double correction, bool keepdim) {
  RET_TENSOR(at::var(T(a), dims_or_all(dims, n), at::Scalar(correction), keepdim))
}
ct_tensor ct_std(ct_tensor a, const int64_t *dims, size_t n, double correction, bool keepdim) {
  RET_TENSOR(at::std(T(a), dims_or_all(dims, n), at::Scalar(correction), keepdim))
}
ct_tensor ct_norm(ct_tensor a, double p, const int64_t *dims, size_t n, bool keepdim) {
  RET_TENSOR(at::linalg_vector_norm(T(a), p, dims_or_all(dims, n), keepdim))
}
ct_tensor ct_amax(ct_tensor a, const int64_t *dims, size_t n, bool keepdim) {
  RET_TENSOR(at::amax(T(a), dims ? ints(dims, n) : at::IntArrayRef{}, keepdim))
}
ct_tensor ct_amin(ct_tensor a, const int64_t *dims, size_t n, bool keepdim) {
  RET_TENSOR(at::amin(T(a), dims ? ints(dims, n) : at::IntArrayRef{}, keepdim))
}
ct_tensor ct_logsumexp(ct_tensor a, const int64_t *dims, size_t n, bool keepdim) {
  RET_TENSOR(at::logsumexp(T(a), ints(dims, n), keepdim))
}
int ct_max_dim(ct_tensor a, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices) {
  PROTECT(-1, return two(at::max(T(a), dim, keepdim), values, indices);)
}
int ct_min_dim(ct_tensor a, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices) {
  PROTECT(-1, return two(at::min(T(a), dim, keepdim), values, indices);)
}
ct_tensor ct_argmax(ct_tensor a, int64_t dim, bool all, bool keepdim) {
  RET_TENSOR(at::argmax(T(a), all ? std::optional<int64_t>() : dim, keepdim))
}
ct_tensor ct_argmin(ct_tensor a, int64_t dim, bool all, bool keepdim) {
  RET_TENSOR(at::argmin(T(a), all ? std::optional<int64_t>() : dim, keepdim))
}
ct_tensor ct_all(ct_tensor a) { RET_TENSOR(at::all(T(a))) }
ct_tensor ct_any(ct_tensor a) { RET_TENSOR(at::any(T(a))) }
ct_tensor ct_cumsum(ct_tensor a, int64_t dim) { RET_TENSOR(at::cumsum(T(a), dim)) }
int ct_topk(ct_tensor a, int64_t k, int64_t dim, bool largest, bool sorted, ct_tensor *values, ct_tensor *indices) {
  PROTECT(-1, return two(at::topk(T(a), k, dim, largest, sorted), values, indices);)
}
int ct_sort(ct_tensor a, int64_t dim, bool descending, bool stable, ct_tensor *values, ct_tensor *indices) {
  PROTECT(-1, return two(at::sort(T(a), stable, dim, descending), values, indices);)
}
ct_tensor ct_bincount(ct_tensor a, ct_tensor weights, int64_t minlength) {
  RET_TENSOR(at::bincount(T(a), OPT(weights), minlength))
}

// ---- linear algebra, shape, indexing ---------------------------------------------------------------------
ct_tensor ct_matmul(ct_tensor a, ct_tensor b) { RET_TENSOR(at::matmul(T(a), T(b))) }
int ct_linalg_svd(ct_tensor a, bool full_matrices, ct_tensor *u, ct_tensor *s, ct_tensor *vh) {
  RET_OK({
    auto [uu, ss, vv] = at::linalg_svd(T(a), full_matrices);
    *u = wrap(uu);
    *s = wrap(ss);
    *vh = wrap(vv);
  })
}
ct_tensor ct_reshape(ct_tensor a, const int64_t *sizes, size_t n) { RET_TENSOR(at::reshape(T(a), ints(sizes, n))) }
ct_tensor ct_view(ct_tensor a, const int64_t *sizes, size_t n) { RET_TENSOR(T(a).view(ints(sizes, n))) }
ct_tensor ct_expand(ct_tensor a, const int64_t *sizes, size_t n) { RET_TENSOR(T(a).expand(ints(sizes, n))) }
ct_tensor ct_repeat(ct_tensor a, const int64_t *repeats, size_t n) { RET_TENSOR(T(a).repeat(ints(repeats, n))) }
ct_tensor ct_permute(ct_tensor a, const int64_t *dims, size_t n) { RET_TENSOR(at::permute(T(a), ints(dims, n))) }
ct_tensor ct_transpose(ct_tensor a, int64_t d0, int64_t d1) { RET_TENSOR(at::transpose(T(a), d0, d1)) }
ct_tensor ct_contiguous(ct_tensor a, int memory_format) {
  RET_TENSOR(T(a).contiguous(static_cast<c10::MemoryFormat>(memory_format)))
}
ct_tensor ct_flatten(ct_tensor a, int64_t start, int64_t end) { RET_TENSOR(at::flatten(T(a), start, end)) }
ct_tensor ct_squeeze(ct_tensor a, int64_t dim, bool all) { RET_TENSOR(all ? at::squeeze(T(a)) : at::squeeze(T(a), dim)) }
ct_tensor ct_unsqueeze(ct_tensor a, int64_t dim) { RET_TENSOR(at::unsqueeze(T(a), dim)) }
ct_tensor ct_flip(ct_tensor a, const int64_t *dims, size_t n) { RET_TENSOR(at::flip(T(a), ints(dims, n))) }
ct_tensor ct_select(ct_tensor a, int64_t dim, int64_t index) { RET_TENSOR(at::select(T(a), dim, index)) }
ct_tensor ct_slice(ct_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  RET_TENSOR(at::slice(T(a), dim, start, end, step))
}
ct_tensor ct_cat(const ct_tensor *ts, size_t n, int64_t dim) { RET_TENSOR(at::cat(tensors(ts, n), dim)) }
ct_tensor ct_stack(const ct_tensor *ts, size_t n, int64_t dim) { RET_TENSOR(at::stack(tensors(ts, n), dim)) }
int ct_chunk(ct_tensor a, int64_t chunks, int64_t dim, ct_tensor *out, size_t capacity, size_t *count) {
  RET_OK({
    auto parts = at::chunk(T(a), chunks, dim);
    if (parts.size() > capacity) throw std::invalid_argument("chunk: output capacity too small");
    for (size_t i = 0; i < parts.size(); i++) out[i] = wrap(parts[i]);
    *count = parts.size();
  })
}
ct_tensor ct_index_select(ct_tensor a, int64_t dim, ct_tensor index) {
  RET_TENSOR(at::index_select(T(a), dim, T(index)))
}
ct_tensor ct_gather(ct_tensor a, int64_t dim, ct_tensor index) { RET_TENSOR(at::gather(T(a), dim, T(index))) }
ct_tensor ct_scatter_add(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor src) {
  RET_TENSOR(at::scatter_add(T(a), dim, T(index), T(src)))
}
static c10::List<std::optional<at::Tensor>> index_list(const ct_tensor *indices, size_t n) {
  c10::List<std::optional<at::Tensor>> list;
  for (size_t i = 0; i < n; i++) list.push_back(OPT(indices[i]));
  return list;
}
ct_tensor ct_index(ct_tensor a, const ct_tensor *indices, size_t n) { RET_TENSOR(at::index(T(a), index_list(indices, n))) }
ct_tensor ct_index_put_(ct_tensor a, const ct_tensor *indices, size_t n, ct_tensor values, bool accumulate) {
  RET_TENSOR(M(a).index_put_(index_list(indices, n), T(values), accumulate))
}
ct_tensor ct_one_hot(ct_tensor a, int64_t num_classes) { RET_TENSOR(at::one_hot(T(a), num_classes)) }
ct_tensor ct_to(ct_tensor a, ct_options o, bool non_blocking, bool copy) {
  RET_TENSOR(T(a).to(options(o), non_blocking, copy))
}
ct_tensor ct_to_dtype(ct_tensor a, int dtype) { RET_TENSOR(T(a).to(static_cast<at::ScalarType>(dtype))) }
ct_tensor ct_clone(ct_tensor a, int memory_format) {
  RET_TENSOR(at::clone(T(a), static_cast<c10::MemoryFormat>(memory_format)))
}
ct_tensor ct_tril(ct_tensor a, int64_t diagonal) { RET_TENSOR(at::tril(T(a), diagonal)) }

// ---- neural-network functions ---------------------------------------------------------------------------------
ct_tensor ct_conv2d(ct_tensor input, ct_tensor weight, ct_tensor bias, const int64_t *stride, const int64_t *padding,
                    const int64_t *dilation, int64_t groups) {
  RET_TENSOR(at::conv2d(T(input), T(weight), OPT(bias), ints(stride, 2), ints(padding, 2), ints(dilation, 2), groups))
}
ct_tensor ct_pad(ct_tensor input, const int64_t *pad, size_t n, double value) {
  RET_TENSOR(at::constant_pad_nd(T(input), ints(pad, n), value))
}
ct_tensor ct_batch_norm(ct_tensor input, ct_tensor weight, ct_tensor bias, ct_tensor running_mean,
                        ct_tensor running_var, bool training, double momentum, double eps) {
  RET_TENSOR(at::batch_norm(T(input), OPT(weight), OPT(bias), OPT(running_mean), OPT(running_var), training, momentum,
                            eps, /*cudnn_enabled=*/true))
}
ct_tensor ct_linear(ct_tensor input, ct_tensor weight, ct_tensor bias) {
  RET_TENSOR(at::linear(T(input), T(weight), OPT(bias)))
}
ct_tensor ct_layer_norm(ct_tensor input, const int64_t *normalized_shape, size_t n, ct_tensor weight, ct_tensor bias,
                        double eps) {
  RET_TENSOR(at::layer_norm(T(input), ints(normalized_shape, n), OPT(weight), OPT(bias), eps))
}
ct_tensor ct_scaled_dot_product_attention(ct_tensor query, ct_tensor key, ct_tensor value, ct_tensor mask,
                                          double dropout_p, bool is_causal, const double *scale) {
  RET_TENSOR(at::scaled_dot_product_attention(T(query), T(key), T(value), OPT(mask), dropout_p, is_causal,
                                              scale ? std::optional<double>(*scale) : std::nullopt))
}
ct_tensor ct_roll(ct_tensor input, const int64_t *shifts, const int64_t *dims, size_t n) {
  RET_TENSOR(at::roll(T(input), ints(shifts, n), ints(dims, n)))
}
ct_tensor ct_max_pool2d(ct_tensor input, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                        const int64_t *dilation, bool ceil_mode) {
  RET_TENSOR(at::max_pool2d(T(input), ints(kernel, 2), ints(stride, 2), ints(padding, 2), ints(dilation, 2), ceil_mode))
}
ct_tensor ct_avg_pool2d(ct_tensor input, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                        bool ceil_mode, bool count_include_pad) {
  RET_TENSOR(at::avg_pool2d(T(input), ints(kernel, 2), ints(stride, 2), ints(padding, 2), ceil_mode, count_include_pad))
}
ct_tensor ct_adaptive_avg_pool2d(ct_tensor input, const int64_t *output_size) {
  RET_TENSOR(at::adaptive_avg_pool2d(T(input), ints(output_size, 2)))
}
ct_tensor ct_adaptive_max_pool2d(ct_tensor input, const int64_t *output_size) {
  RET_TENSOR(std::get<0>(at::adaptive_max_pool2d(T(input), ints(output_size, 2))))
}
ct_tensor ct_dropout(ct_tensor input, double p, bool train) { RET_TENSOR(at::dropout(T(input), p, train)) }
ct_tensor ct_softmax(ct_tensor input, int64_t dim) { RET_TENSOR(at::softmax(T(input), dim)) }
ct_tensor ct_log_softmax(ct_tensor input, int64_t dim) { RET_TENSOR(at::log_softmax(T(input), dim)) }
ct_tensor ct_interpolate(ct_tensor input, int mode, const int64_t *size, const double *scale, bool align_corners,
                         bool antialias) {
  PROTECT(nullptr, {
    at::OptionalIntArrayRef out;
    std::optional<at::ArrayRef<double>> scales;
    if (size) out = ints(size, 2);
    else if (scale) scales = at::ArrayRef<double>(scale, 2);
    else throw std::invalid_argument("interpolate needs an output size or a scale factor");
    const at::Tensor &x = T(input);
    switch (mode) {
      case 0: return wrap(at::upsample_nearest2d(x, out, scales));
      case 1: return wrap(antialias ? at::_upsample_bilinear2d_aa(x, out, align_corners, scales)
                                    : at::upsample_bilinear2d(x, out, align_corners, scales));
      case 2: return wrap(antialias ? at::_upsample_bicubic2d_aa(x, out, align_corners, scales)
                                    : at::upsample_bicubic2d(x, out, align_corners, scales));
    }
    throw std::invalid_argument("interpolate: unknown mode " + std::to_string(mode));
  })
}
ct_tensor ct_grid_sample(ct_tensor input, ct_tensor grid, int mode, int padding_mode, bool align_corners) {
  RET_TENSOR(at::grid_sampler(T(input), T(grid), mode, padding_mode, align_corners))
}
ct_tensor ct_cross_entropy(ct_tensor input, ct_tensor target, ct_tensor weight, int reduction, int64_t ignore_index,
                           double label_smoothing) {
  RET_TENSOR(at::cross_entropy_loss(T(input), T(target), OPT(weight), reduction, ignore_index, label_smoothing))
}
ct_tensor ct_nll_loss(ct_tensor input, ct_tensor target, ct_tensor weight, int reduction, int64_t ignore_index) {
  RET_TENSOR(at::nll_loss(T(input), T(target), OPT(weight), reduction, ignore_index))
}
ct_tensor ct_mse_loss(ct_tensor input, ct_tensor target, int reduction) {
  RET_TENSOR(at::mse_loss(T(input), T(target), reduction))
}
ct_tensor ct_bce_with_logits(ct_tensor input, ct_tensor target, ct_tensor weight, int reduction) {
  RET_TENSOR(at::binary_cross_entropy_with_logits(T(input), T(target), OPT(weight), std::nullopt, reduction))
}

}  // extern "C"
