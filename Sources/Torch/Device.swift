import CTorch

/// Where a tensor lives. Raw device types are `c10::DeviceType`'s (CPU 0, CUDA 1).
public enum Device: Hashable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    public static let cudaDeviceType: Int32 = 1
    public static let cpuDeviceType: Int32 = 0

    var rawType: Int32 {
        switch self {
        case .cpu: Device.cpuDeviceType
        case .cuda: Device.cudaDeviceType
        }
    }
    var rawIndex: Int32 {
        switch self {
        case .cpu: -1
        case .cuda(let index): Int32(index)
        }
    }

    init(rawType: Int32, index: Int32) {
        self = rawType == Device.cudaDeviceType ? .cuda(Int(max(index, 0))) : .cpu
    }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .cuda(let index): "cuda:\(index)"
        }
    }

    /// Parses `cpu`, `cuda`, `cuda:1`.
    public init?(_ text: String) {
        if text == "cpu" { self = .cpu; return }
        if text == "cuda" { self = .cuda(0); return }
        if text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 { self = .cuda(index); return }
        return nil
    }

    /// libtorch's name for a raw device type (`"cpu"`, `"cuda"`).
    public static func libtorchName(rawType: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard ct_device_type_name(rawType, &buffer, buffer.count) == 0 else { return "?" }
        return string(fromCBuffer: buffer)
    }
}

extension Device: Codable {
    /// Encoded as its description (`cpu`, `cuda:1`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let device = Device(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a device: \(text)")
        }
        self = device
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// CUDA support: libtorch_cuda.so ships in the same wheel and is loaded on first
/// use, so one binary serves CPU-only and GPU machines.
public enum CUDA {
    private static let loadResult: String? = {
        if ct_cuda_load() == 0 { return nil }
        return TorchError.take("cuda").message
    }()

    /// Why CUDA can't be used, or nil when it can.
    public static var unavailableReason: String? {
        if let reason = loadResult { return reason }
        if !ct_cuda_is_available() { return "CUDA is not available: no CUDA device was found" }
        return nil
    }

    public static var isAvailable: Bool { unavailableReason == nil }

    public static var deviceCount: Int {
        guard loadResult == nil else { return 0 }
        return max(Int(ct_cuda_device_count()), 0)
    }

    /// Waits for the device's queued work.
    public static func synchronize(_ device: Int = 0) throws {
        try checkStatus(ct_cuda_synchronize(Int32(device)), "cuda.synchronize")
    }

    /// Throws a clear error when `device` can't be used.
    public static func requireAvailable(_ device: Device) throws {
        guard case .cuda(let index) = device else { return }
        if let reason = unavailableReason { throw TorchError(operation: "device \(device)", message: reason) }
        if index >= deviceCount {
            throw TorchError(operation: "device \(device)", message: "only \(deviceCount) CUDA device(s) present")
        }
    }
}
