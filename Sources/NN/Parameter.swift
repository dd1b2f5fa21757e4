import Torch

/// A trainable tensor of a module, found by reflection under its property name
/// (or `key:`), as `nn.Parameter`.
///
/// ```swift
/// @Parameter var weight: Tensor
/// @Parameter(key: "_fc") var head: Tensor   // another checkpoint key
/// ```
@propertyWrapper
public final class Parameter: @unchecked Sendable {
    /// The tensor. Loading copies into it in place, so optimizers holding it stay valid.
    public var value: Tensor
    /// The checkpoint key when it differs from the property name.
    public let key: String?

    public init(wrappedValue: Tensor, key: String? = nil) {
        self.value = wrappedValue.requiresGrad(true)
        self.key = key
    }

    /// A parameter under another checkpoint key; assign its tensor in `init`.
    public init(key: String) {
        self.value = Tensor.undefined()
        self.key = key
    }

    public var wrappedValue: Tensor {
        get { value }
        set { value = newValue.requiresGrad(true) }
    }
    public var projectedValue: Parameter { self }

    /// Whether the optimizer trains it (frozen parameters don't require grad).
    public var requiresGrad: Bool {
        get { value.requiresGrad }
        set { value.requiresGrad = newValue }
    }
}

/// A parameter that may be absent (a convolution's `bias` when `bias: false`):
/// absent ones are not in the state dict, as in PyTorch.
@propertyWrapper
public final class OptionalParameter: @unchecked Sendable {
    /// The parameter when present; reflection hands this object to optimizers and loaders.
    public private(set) var parameter: Parameter?
    public let key: String?

    public init(wrappedValue: Tensor?, key: String? = nil) {
        self.parameter = wrappedValue.map { Parameter(wrappedValue: $0, key: key) }
        self.key = key
    }

    public var wrappedValue: Tensor? {
        get { parameter?.value }
        set {
            if let newValue {
                if let parameter { parameter.value = newValue } else { parameter = Parameter(wrappedValue: newValue, key: key) }
            } else {
                parameter = nil
            }
        }
    }
}

/// A non-trainable tensor saved with the module, as `register_buffer`
/// (BatchNorm's `running_mean`, `running_var`, `num_batches_tracked`).
@propertyWrapper
public final class Buffer: @unchecked Sendable {
    public var value: Tensor
    public let key: String?

    public init(wrappedValue: Tensor, key: String? = nil) {
        self.value = wrappedValue
        self.key = key
    }

    /// A buffer under another checkpoint key; assign its tensor in `init`.
    public init(key: String) {
        self.value = Tensor.undefined()
        self.key = key
    }

    public var wrappedValue: Tensor {
        get { value }
        set { value = newValue }
    }
    public var projectedValue: Buffer { self }
}

/// A child module stored under another checkpoint key than its property name.
@propertyWrapper
public final class Child<M: Module>: @unchecked Sendable {
    public var wrappedValue: M
    public let key: String

    public init(wrappedValue: M, key: String) {
        self.wrappedValue = wrappedValue
        self.key = key
    }
}
