// graft-bench: the benchmark cases the `graft` CLI doesn't cover, each printing one JSON
// line per measurement. `bench/run.sh` runs them beside their PyTorch-Python twins
// (`bench/peer.py`); see `bench/run.py`.
//
//   graft-bench pipeline FOLDER [--workers 1,2] [--batch-size 32] [--passes 5] [--threads 2]
//   graft-bench engine --weights resnet18.safetensors [--warmup 2] [--steps 5]
//                      [--sgemm-size 2048] [--gflop-per-image 3.628] [--threads 2]
//   graft-bench faults       page faults and peak memory of re-allocating a freed 100 MB buffer (a test uses it)
import Foundation
import Graft

/// The `.jpg` files of one folder, as an unlabelled ``Dataset`` (every label is 0).
struct JPEGFolder: Dataset {
    let paths: [String]

    /// Lists `folder`'s `.jpg` files, sorted by name.
    init(_ folder: String) throws {
        paths = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.lowercased().hasSuffix(".jpg") }
            .sorted()
            .map { folder + "/" + $0 }
    }

    var classes: [String] { ["?"] }
    var labels: [Int] { Array(repeating: 0, count: paths.count) }
    func image(at index: Int) throws -> Tensor { try loadImage(URL(fileURLWithPath: paths[index])) }
    func source(at index: Int) -> String { paths[index] }
}

/// `--name value` options after a subcommand, and the arguments that aren't options.
struct Options {
    private var values: [String: String] = [:]
    private(set) var positional: [String] = []

    init(_ arguments: ArraySlice<String>) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument.hasPrefix("--") {
                guard let value = rest.popFirst() else { throw UsageError("\(argument) needs a value") }
                values[String(argument.dropFirst(2))] = value
            } else {
                positional.append(argument)
            }
        }
    }

    func string(_ name: String) throws -> String {
        guard let value = values[name] else { throw UsageError("--\(name) is required") }
        return value
    }

    func int(_ name: String, default value: Int) throws -> Int {
        guard let text = values[name] else { return value }
        guard let n = Int(text), n > 0 else { throw UsageError("--\(name) must be a positive integer, got \(text)") }
        return n
    }

    func double(_ name: String, default value: Double) throws -> Double {
        guard let text = values[name] else { return value }
        guard let x = Double(text), x > 0 else { throw UsageError("--\(name) must be a positive number, got \(text)") }
        return x
    }

    /// A comma-separated list of positive integers.
    func ints(_ name: String, default list: [Int]) throws -> [Int] {
        guard let text = values[name] else { return list }
        let items = text.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        guard !items.isEmpty else { throw UsageError("--\(name) must list positive integers, got \(text)") }
        return items
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints one JSON object on its own line, keys sorted.
func emit(_ fields: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// The median of `steps` timed calls of `body` (milliseconds), after `warmup` untimed ones.
func medianMilliseconds(warmup: Int, steps: Int, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    for _ in 0..<steps {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return median(times)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// Case (a): decode, Resize(256), CenterCrop(224), ToFloat, Normalize and batch a folder of
/// JPEGs through ``DataLoader``, for each worker count; the median pass's images per second.
func pipeline(_ options: Options) throws {
    guard let folder = options.positional.first else { throw UsageError("pipeline needs a folder of .jpg files") }
    let files = try JPEGFolder(folder)
    let batchSize = try options.int("batch-size", default: 32), passes = try options.int("passes", default: 5)
    for workers in try options.ints("workers", default: [1, 2]) {
        let loader = DataLoader(files, transform: Preprocessing(cropSize: 224).transform, batchSize: batchSize,
                                workers: workers)
        var rates: [Double] = []
        for pass in 0..<passes {
            let start = DispatchTime.now().uptimeNanoseconds
            var images = 0
            try loader.forEachBatch(epoch: pass) { images += $0.indices.count }
            rates.append(Double(images) * 1e9 / Double(DispatchTime.now().uptimeNanoseconds - start))
        }
        try emit(["case": "pipeline", "workers": workers, "images": files.count, "images_per_s": median(rates)])
    }
}

/// Cases (b) and (c): a ResNet-18 training step (forward, cross-entropy, backward, SGD with
/// momentum) and an inference batch, on the same batch of 32 random 224 px images as
/// `torch.manual_seed(0); torch.randn(32, 3, 224, 224)`, contiguous and channels-last; the
/// inference rate in GFLOP/s; then a square `matmul` (sgemm) for the machine's rate.
/// Median milliseconds of an SGD(0.001, 0.9) cross-entropy training step, then of an
/// inference-mode forward, on the same input.
/// Under `precision` the forward (and the loss) runs in autocast, as a PyTorch user writes
/// `with torch.autocast("cpu", torch.bfloat16):` around them; backward and step outside.
func timeTrainingAndInference(_ model: Module, input: Tensor, labels: Tensor, warmup: Int, steps: Int,
                              precision: Precision = .fp32) -> (train: Double, inference: Double)
{
    let optimizer = SGD(model.parameters, learningRate: 1e-3, momentum: 0.9)
    model.train()
    let trainMs = medianMilliseconds(warmup: warmup, steps: steps) {
        optimizer.zeroGrad()
        let loss = Torch.withPrecision(precision, on: .cpu) { Functional.crossEntropy(model(input), labels) }
        loss.backward()
        optimizer.step()
    }
    model.eval()
    let inferMs = Torch.inferenceMode {
        medianMilliseconds(warmup: warmup, steps: steps) {
            _ = Torch.withPrecision(precision, on: .cpu) { model(input) }
        }
    }
    return (trainMs, inferMs)
}

/// `--precision fp32,bf16`: the precisions to time (default fp32).
func precisions(_ options: Options) throws -> [Precision] {
    let text = (try? options.string("precision")) ?? "fp32"
    return try text.split(separator: ",").map {
        guard let p = Precision(rawValue: String($0)) else { throw UsageError("--precision takes fp32, bf16 (comma-separated)") }
        return p
    }
}

func engine(_ options: Options) throws {
    let weights = URL(fileURLWithPath: try options.string("weights"))
    let warmup = try options.int("warmup", default: 2), steps = try options.int("steps", default: 5)
    let flopPerImage = try options.double("gflop-per-image", default: 3.628)
    Torch.manualSeed(0)
    let x = Tensor.randn([32, 3, 224, 224]), y = Tensor.randint(0, 10, [32])
    for precision in try precisions(options) {
        for (name, format) in [("contiguous", MemoryFormat.contiguous), ("channels_last", .channelsLast)] {
            let model = ResNet.resnet18(numClasses: 10)
            try model.loadWeights(from: weights)
            model.to(memoryFormat: format)
            let input = x.contiguous(format)
            let (trainMs, inferMs) = timeTrainingAndInference(model, input: input, labels: y, warmup: warmup,
                                                                  steps: steps, precision: precision)
            try emit(["case": "train_step", "format": name, "precision": precision.rawValue, "ms": trainMs])
            try emit(["case": "inference", "format": name, "precision": precision.rawValue, "ms": inferMs,
                      "gflop_per_s": flopPerImage * 32 / inferMs * 1e3])
        }
    }
    let n = try options.int("sgemm-size", default: 2048)
    let a = Tensor.randn([n, n]), b = Tensor.randn([n, n])
    let ms = medianMilliseconds(warmup: 2, steps: steps) { _ = a.matmul(b) }
    try emit(["case": "sgemm", "size": n, "ms": ms, "gflop_per_s": 2 * pow(Double(n), 3) / ms / 1e6])
}

/// The backbones of the second wave, ConvNeXt-T (channels-last, as Graft runs it on the CPU)
/// and ViT-B/16: one SGD training step and one inference batch each, at 224 px, batch
/// `--batch` (8), on identical seeded inputs; weights at their reference initialisation.
func backbones(_ options: Options) throws {
    let warmup = try options.int("warmup", default: 1), steps = try options.int("steps", default: 3)
    let batch = try options.int("batch", default: 8)
    Torch.manualSeed(0)
    let x = Tensor.randn([batch, 3, 224, 224]), y = Tensor.randint(0, 1000, [batch])
    let names = ((try? options.string("models")) ?? "convnext_tiny,vit_b_16").split(separator: ",").map(String.init)
    for precision in try precisions(options) {
        for name in names {
            // Convolutional trunks run channels-last (as the trainer runs them); transformers contiguous.
            let format: MemoryFormat = name.hasPrefix("vit") || name.hasPrefix("swin") ? .contiguous : .channelsLast
            let model = try Torch.withManualSeed(0) { try Zoo.make(name) }
            model.to(memoryFormat: format)
            let input = x.contiguous(format)
            let (trainMs, inferMs) = timeTrainingAndInference(model, input: input, labels: y, warmup: warmup,
                                                                  steps: steps, precision: precision)
            try emit(["case": "train_step", "format": name, "precision": precision.rawValue, "ms": trainMs])
            try emit(["case": "inference", "format": name, "precision": precision.rawValue, "ms": inferMs])
        }
    }
}

/// The minor page faults and peak memory of allocating, filling and freeing the same 100 MB
/// buffer `--times` times (10) on the main thread (after one untimed time), the size of a
/// ResNet-18 activation at batch 32: `GRAFT_KEEP_FREED_MEMORY=0` shows glibc's default (a
/// fresh mmap every time).
func faults(_ options: Options) throws {
    func resourceUsage() -> rusage {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage
    }
    let times = try options.int("times", default: 10)
    let elements = 25 << 20  // 100 MB of Float
    _ = Tensor.ones([elements])
    let before = resourceUsage().ru_minflt
    for _ in 0..<times { _ = Tensor.ones([elements]) }
    try emit(["case": "faults", "minor_faults": resourceUsage().ru_minflt - before, "pages": times * elements * 4 / 4096,
              "max_rss_mb": resourceUsage().ru_maxrss / 1024])
}

let usage = """
    usage: graft-bench pipeline FOLDER [--workers 1,2] [--batch-size 32] [--passes 5] [--threads 2]
           graft-bench engine --weights FILE [--warmup 2] [--steps 5] [--sgemm-size 2048] [--gflop-per-image 3.628] [--threads 2]
           graft-bench backbones [--models convnext_tiny,vit_b_16] [--batch 8] [--warmup 1] [--steps 3] [--threads 2] [--precision fp32,bf16] [--depthwise bf16]
           graft-bench faults [--times 10]
    """

do {
    let arguments = CommandLine.arguments.dropFirst()
    guard let command = arguments.first else { throw UsageError(usage) }
    let options = try Options(arguments.dropFirst())
    Torch.keepFreedMemory()  // as the graft tool does
    Torch.numThreads = try options.int("threads", default: 2)
    // `--depthwise bf16`: depthwise convolutions follow libtorch's autocast list (see AutocastPolicy).
    if (try? options.string("depthwise")) == "bf16" { AutocastPolicy.depthwiseInFP32WhenTraining = false }
    switch command {
    case "pipeline": try pipeline(options)
    case "engine": try engine(options)
    case "backbones": try backbones(options)
    case "faults": try faults(options)
    default: throw UsageError(usage)
    }
} catch {
    FileHandle.standardError.write(Data("graft-bench: \(error)\n".utf8))
    exit(1)
}
