import CTorch

/// Scalars that can stand on one side of a tensor operator.
public protocol TensorScalar {
    var doubleValue: Double { get }
    /// Integral scalars keep integer tensors integral, as Python numbers do.
    static var isIntegral: Bool { get }
}
extension Int: TensorScalar { public var doubleValue: Double { Double(self) }; public static var isIntegral: Bool { true } }
extension Double: TensorScalar { public var doubleValue: Double { self }; public static var isIntegral: Bool { false } }
extension Float: TensorScalar { public var doubleValue: Double { Double(self) }; public static var isIntegral: Bool { false } }

extension Tensor {
    @inline(__always)
    func binary(_ code: ct_binary_op, _ other: Tensor, _ name: String) -> Tensor {
        op(ct_binary(Int32(code.rawValue), handle, other.handle), name)
    }
    @inline(__always)
    func binary<S: TensorScalar>(_ code: ct_binary_op, _ s: S, _ name: String) -> Tensor {
        op(ct_binary_scalar(Int32(code.rawValue), handle, s.doubleValue, S.isIntegral), name)
    }
    @inline(__always)
    static func rbinary<S: TensorScalar>(_ code: ct_binary_op, _ s: S, _ t: Tensor, _ name: String) -> Tensor {
        op(ct_rbinary_scalar(Int32(code.rawValue), s.doubleValue, S.isIntegral, t.handle), name)
    }
    @inline(__always)
    func unary(_ code: ct_unary_op, _ name: String) -> Tensor {
        op(ct_unary(Int32(code.rawValue), handle), name)
    }

    // MARK: Operators (broadcasting, PyTorch type promotion)

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.binary(CT_ADD, b, "add") }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.binary(CT_SUB, b, "sub") }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.binary(CT_MUL, b, "mul") }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.binary(CT_DIV, b, "div") }
    public static func + <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.binary(CT_ADD, b, "add") }
    public static func - <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.binary(CT_SUB, b, "sub") }
    public static func * <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.binary(CT_MUL, b, "mul") }
    public static func / <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.binary(CT_DIV, b, "div") }
    public static func + <S: TensorScalar>(a: S, b: Tensor) -> Tensor { rbinary(CT_ADD, a, b, "add") }
    public static func - <S: TensorScalar>(a: S, b: Tensor) -> Tensor { rbinary(CT_SUB, a, b, "sub") }
    public static func * <S: TensorScalar>(a: S, b: Tensor) -> Tensor { rbinary(CT_MUL, a, b, "mul") }
    public static func / <S: TensorScalar>(a: S, b: Tensor) -> Tensor { rbinary(CT_DIV, a, b, "div") }
    public static prefix func - (a: Tensor) -> Tensor { a.unary(CT_NEG, "neg") }

    public func pow(_ exponent: Tensor) -> Tensor { binary(CT_POW, exponent, "pow") }
    public func pow<S: TensorScalar>(_ exponent: S) -> Tensor { binary(CT_POW, exponent, "pow") }
    public func remainder(_ other: Tensor) -> Tensor { binary(CT_REMAINDER, other, "remainder") }
    public func floorDivide(_ other: Tensor) -> Tensor { binary(CT_FLOOR_DIVIDE, other, "floor_divide") }
    public func maximum(_ other: Tensor) -> Tensor { binary(CT_MAXIMUM, other, "maximum") }
    public func minimum(_ other: Tensor) -> Tensor { binary(CT_MINIMUM, other, "minimum") }
    public func atan2(_ other: Tensor) -> Tensor { binary(CT_ATAN2, other, "atan2") }
    public func logicalAnd(_ other: Tensor) -> Tensor { binary(CT_LOGICAL_AND, other, "logical_and") }
    public func logicalOr(_ other: Tensor) -> Tensor { binary(CT_LOGICAL_OR, other, "logical_or") }
    public func logicalXor(_ other: Tensor) -> Tensor { binary(CT_LOGICAL_XOR, other, "logical_xor") }
    public func logicalNot() -> Tensor { unary(CT_LOGICAL_NOT, "logical_not") }
    /// `self + alpha * other`, as `torch.add(self, other, alpha=)`.
    public func adding(_ other: Tensor, alpha: Double) -> Tensor {
        op(ct_add_scaled(handle, other.handle, alpha), "add")
    }

    // MARK: Comparisons → bool tensors

    public func eq(_ other: Tensor) -> Tensor { binary(CT_EQ, other, "eq") }
    public func ne(_ other: Tensor) -> Tensor { binary(CT_NE, other, "ne") }
    public func lt(_ other: Tensor) -> Tensor { binary(CT_LT, other, "lt") }
    public func le(_ other: Tensor) -> Tensor { binary(CT_LE, other, "le") }
    public func gt(_ other: Tensor) -> Tensor { binary(CT_GT, other, "gt") }
    public func ge(_ other: Tensor) -> Tensor { binary(CT_GE, other, "ge") }
    public func eq<S: TensorScalar>(_ s: S) -> Tensor { binary(CT_EQ, s, "eq") }
    public func ne<S: TensorScalar>(_ s: S) -> Tensor { binary(CT_NE, s, "ne") }
    public func lt<S: TensorScalar>(_ s: S) -> Tensor { binary(CT_LT, s, "lt") }
    public func le<S: TensorScalar>(_ s: S) -> Tensor { binary(CT_LE, s, "le") }
    public func gt<S: TensorScalar>(_ s: S) -> Tensor { binary(CT_GT, s, "gt") }
    public func ge<S: TensorScalar>(_ s: S) -> Tensor { binary(CT_GE, s, "ge") }

    public static func .== (a: Tensor, b: Tensor) -> Tensor { a.eq(b) }
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { a.ne(b) }
    public static func .< (a: Tensor, b: Tensor) -> Tensor { a.lt(b) }
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { a.le(b) }
    public static func .> (a: Tensor, b: Tensor) -> Tensor { a.gt(b) }
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { a.ge(b) }
    public static func .== <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.eq(b) }
    public static func .!= <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.ne(b) }
    public static func .< <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.lt(b) }
    public static func .<= <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.le(b) }
    public static func .> <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.gt(b) }
    public static func .>= <S: TensorScalar>(a: Tensor, b: S) -> Tensor { a.ge(b) }

    /// Elementwise `|a - b| <= atol + rtol * |b|`.
    public func isClose(_ other: Tensor, rtol: Double = 1e-5, atol: Double = 1e-8) -> Tensor {
        op(ct_allclose_like(handle, other.handle, rtol, atol), "isclose")
    }
    /// `torch.allclose`.
    public func allClose(_ other: Tensor, rtol: Double = 1e-5, atol: Double = 1e-8) -> Bool {
        isClose(other, rtol: rtol, atol: atol).all().item(Bool.self)
    }

    // MARK: Unary math

    public func abs() -> Tensor { unary(CT_ABS, "abs") }
    public func exp() -> Tensor { unary(CT_EXP, "exp") }
    public func log() -> Tensor { unary(CT_LOG, "log") }
    public func log1p() -> Tensor { unary(CT_LOG1P, "log1p") }
    public func log2() -> Tensor { unary(CT_LOG2, "log2") }
    public func sqrt() -> Tensor { unary(CT_SQRT, "sqrt") }
    public func rsqrt() -> Tensor { unary(CT_RSQRT, "rsqrt") }
    public func sin() -> Tensor { unary(CT_SIN, "sin") }
    public func cos() -> Tensor { unary(CT_COS, "cos") }
    public func tanh() -> Tensor { unary(CT_TANH, "tanh") }
    public func sigmoid() -> Tensor { unary(CT_SIGMOID, "sigmoid") }
    public func floor() -> Tensor { unary(CT_FLOOR, "floor") }
    public func ceil() -> Tensor { unary(CT_CEIL, "ceil") }
    public func round() -> Tensor { unary(CT_ROUND, "round") }
    public func trunc() -> Tensor { unary(CT_TRUNC, "trunc") }
    public func sign() -> Tensor { unary(CT_SIGN, "sign") }
    public func reciprocal() -> Tensor { unary(CT_RECIPROCAL, "reciprocal") }
    public func square() -> Tensor { unary(CT_SQUARE, "square") }
    public func erf() -> Tensor { unary(CT_ERF, "erf") }
    public func erfinv() -> Tensor { unary(CT_ERFINV, "erfinv") }
    @discardableResult public func erfinv_() -> Tensor { op(ct_unary_(Int32(CT_ERFINV.rawValue), handle), "erfinv_") }
    public func isNaN() -> Tensor { unary(CT_ISNAN, "isnan") }
    public func isInfinite() -> Tensor { unary(CT_ISINF, "isinf") }
    public func isFinite() -> Tensor { unary(CT_ISFINITE, "isfinite") }

    /// Clamps to [min, max]; nil leaves that side open.
    public func clamp(min: Double? = nil, max: Double? = nil) -> Tensor {
        withOptionalPointers(min, max) { lo, hi in op(ct_clamp(handle, lo, hi), "clamp") }
    }
    /// Linear interpolation `self + weight * (end - self)`.
    public func lerp(_ end: Tensor, weight: Double) -> Tensor { op(ct_lerp(handle, end.handle, weight), "lerp") }
    /// `self + value * t1 * t2`.
    public func addcmul(_ t1: Tensor, _ t2: Tensor, value: Double = 1) -> Tensor {
        op(ct_addcmul(handle, t1.handle, t2.handle, value), "addcmul")
    }
    /// `self + value * t1 / t2`.
    public func addcdiv(_ t1: Tensor, _ t2: Tensor, value: Double = 1) -> Tensor {
        op(ct_addcdiv(handle, t1.handle, t2.handle, value), "addcdiv")
    }
    /// Fills positions where `mask` is true.
    public func maskedFill(_ mask: Tensor, _ value: Double) -> Tensor {
        op(ct_masked_fill(handle, mask.handle, value), "masked_fill")
    }
    /// `torch.where(condition, a, b)`.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        op(ct_where(condition.handle, a.handle, b.handle), "where")
    }

    // MARK: In place (each returns self, as PyTorch's `x.add_()` does)

    @discardableResult public func add_(_ other: Tensor, alpha: Double = 1) -> Tensor {
        op(ct_add_scaled_(handle, other.handle, alpha), "add_")
    }
    @discardableResult public func sub_(_ other: Tensor) -> Tensor {
        op(ct_binary_(Int32(CT_SUB.rawValue), handle, other.handle), "sub_")
    }
    @discardableResult public func mul_(_ other: Tensor) -> Tensor {
        op(ct_binary_(Int32(CT_MUL.rawValue), handle, other.handle), "mul_")
    }
    @discardableResult public func div_(_ other: Tensor) -> Tensor {
        op(ct_binary_(Int32(CT_DIV.rawValue), handle, other.handle), "div_")
    }
    @discardableResult public func add_<S: TensorScalar>(_ s: S) -> Tensor {
        op(ct_binary_scalar_(Int32(CT_ADD.rawValue), handle, s.doubleValue, S.isIntegral), "add_")
    }
    @discardableResult public func mul_<S: TensorScalar>(_ s: S) -> Tensor {
        op(ct_binary_scalar_(Int32(CT_MUL.rawValue), handle, s.doubleValue, S.isIntegral), "mul_")
    }
    @discardableResult public func div_<S: TensorScalar>(_ s: S) -> Tensor {
        op(ct_binary_scalar_(Int32(CT_DIV.rawValue), handle, s.doubleValue, S.isIntegral), "div_")
    }
    @discardableResult public func sqrt_() -> Tensor { op(ct_unary_(Int32(CT_SQRT.rawValue), handle), "sqrt_") }
    @discardableResult public func relu_() -> Tensor { op(ct_unary_(Int32(CT_RELU.rawValue), handle), "relu_") }
    @discardableResult public func addcmul_(_ t1: Tensor, _ t2: Tensor, value: Double = 1) -> Tensor {
        op(ct_addcmul_(handle, t1.handle, t2.handle, value), "addcmul_")
    }
    @discardableResult public func addcdiv_(_ t1: Tensor, _ t2: Tensor, value: Double = 1) -> Tensor {
        op(ct_addcdiv_(handle, t1.handle, t2.handle, value), "addcdiv_")
    }
    @discardableResult public func lerp_(_ end: Tensor, weight: Double) -> Tensor {
        op(ct_lerp_(handle, end.handle, weight), "lerp_")
    }
    @discardableResult public func maximum_(_ other: Tensor) -> Tensor {
        op(ct_maximum_(handle, other.handle), "maximum_")
    }
    @discardableResult public func clamp_(min: Double? = nil, max: Double? = nil) -> Tensor {
        withOptionalPointers(min, max) { lo, hi in op(ct_clamp_(handle, lo, hi), "clamp_") }
    }
    /// Copies `source` into this tensor (broadcasting, converting dtype and device).
    @discardableResult public func copy_(_ source: Tensor) -> Tensor { op(ct_copy_(handle, source.handle), "copy_") }
    @discardableResult public func fill_(_ value: Double) -> Tensor { op(ct_fill_(handle, value), "fill_") }
    @discardableResult public func zero_() -> Tensor { op(ct_zero_(handle), "zero_") }
}

infix operator .== : ComparisonPrecedence
infix operator .!= : ComparisonPrecedence
infix operator .< : ComparisonPrecedence
infix operator .<= : ComparisonPrecedence
infix operator .> : ComparisonPrecedence
infix operator .>= : ComparisonPrecedence

@inline(__always)
func withOptionalPointers<R>(_ a: Double?, _ b: Double?,
                             _ body: (UnsafePointer<Double>?, UnsafePointer<Double>?) -> R) -> R {
    var x = a ?? 0, y = b ?? 0
    return withUnsafePointer(to: &x) { px in
        withUnsafePointer(to: &y) { py in body(a == nil ? nil : px, b == nil ? nil : py) }
    }
}
