import Foundation
import NN
import Torch
import Vision

/// A pass at the user's sizes would need more memory than the machine (or its container)
/// has left. On CPU, Linux lets such a process grow until the kernel kills it, so Graft
/// measures first and refuses with the numbers.
public struct MemoryError: Error, CustomStringConvertible, Equatable, Sendable {
    /// "training", "feature caching", "evaluation" or "prediction".
    public var pass: String
    public var imageSize: Int
    public var batchSize: Int
    public var neededBytes: Int
    public var availableBytes: Int

    public var description: String {
        "\(pass) at \(imageSize) px in batches of \(batchSize) needs about \(gigabytes(neededBytes)) of memory; "
            + "\(gigabytes(availableBytes)) is available: use a smaller image or batch size"
    }
}

func gigabytes(_ bytes: Int) -> String { String(format: "%.1f GB", Double(bytes) / 1e9) }

/// What one batch of a pass needs, measured rather than guessed: the pass runs on one image
/// at two small sizes while Graft's CPU allocator counts bytes, and the peak above what was
/// held before is fitted as a + b·pixels (activations grow with the pixels; weights,
/// gradients and workspace don't), then scaled to the batch and image size asked for.
public enum MemoryEstimate {
    public enum Pass: Sendable {
        /// Forward and backward with gradients for the trainable parameters.
        case training
        /// Forward without autograd (evaluation, prediction, the feature cache).
        case inference

        var name: String { self == .training ? "training" : "inference" }
    }

    /// Passes at most this many pixels per batch are not measured: they fit any machine
    /// Graft runs on (32 images of 320 × 320 px).
    public static let unmeasuredPixels = 32 * 320 * 320

    /// Bytes one batch of `pass` needs beyond what is held now, or nil when the pass is small
    /// (at most `unmeasured` pixels per batch) or the probes are as large as the request.
    ///
    /// - Parameters:
    ///   - probeSize: the smaller probe's side (the model's minimum input size or more;
    ///     128 px suits every zoo model's inference); the other is twice that.
    public static func bytes(for model: ImageClassifier, pass: Pass, imageSize: Int, batchSize: Int,
                             probeSize: Int = 128, memoryFormat: MemoryFormat = .contiguous,
                             unmeasured: Int = unmeasuredPixels) throws -> Int? {
        let pixels = imageSize * imageSize
        guard batchSize * pixels > unmeasured, 2 * probeSize < imageSize else { return nil }
        guard Torch.CPUMemory.track() else { return nil }
        let channels = model.namedModules().lazy.compactMap { $0.1 as? Conv2d }.first?.inChannels ?? 3
        let sizes = [probeSize, 2 * probeSize]
        // Training probes run in training mode, as the step does (BatchNorm and dropout keep
        // other tensors for the backward pass); the buffers they update are put back and the
        // random stream is restored, so the model and the run are left as they were.
        let wasTraining = model.isTraining
        model.train(pass == .training)
        let buffers = model.namedBuffers().map { ($0.buffer.value, $0.buffer.value.clone()) }
        defer {
            model.train(wasTraining)
            Torch.noGrad { for (buffer, saved) in buffers { buffer.copy_(saved) } }
        }
        var peaks: [Double] = []
        for size in sizes {
            let before = Torch.CPUMemory.usage.inUse
            Torch.CPUMemory.resetPeak()
            // A probe the model cannot run (too small for it) leaves the pass unchecked; the
            // pass itself then reports any failure of its own.
            guard (try? Torch.withManualSeed(0) { try withTorchErrors { () -> Bool in
                let x = Tensor.zeros([1, channels, size, size]).contiguous(memoryFormat)
                switch pass {
                case .training:
                    let (logits, auxiliary) = model.trainingLogits(x)
                    var loss = logits.sum()
                    for aux in auxiliary { loss = loss + aux.logits.sum() }
                    if loss.requiresGrad { loss.backward() }
                case .inference:
                    Torch.inferenceMode { _ = model(x) }
                }
                return true
            } }) != nil else {
                if pass == .training { for p in model.parameters { p.value.grad = nil } }
                return nil
            }
            peaks.append(Double(Torch.CPUMemory.usage.peak - before))
            // Each probe allocates the gradients afresh, as a step after zero_grad(set_to_none) does.
            if pass == .training { for p in model.parameters { p.value.grad = nil } }
        }
        let (p1, p2) = (Double(sizes[0] * sizes[0]), Double(sizes[1] * sizes[1]))
        let perPixel = max(0, (peaks[1] - peaks[0]) / (p2 - p1))
        let fixed = max(0, peaks[0] - perPixel * p1)
        // The loader's batch in float32, and the next one it prepares meanwhile.
        let input = 2.0 * Double(batchSize * channels * pixels * 4)
        return Int(fixed + perPixel * Double(pixels) * Double(batchSize) + input)
    }

    /// Throws ``MemoryError`` when one batch of `pass` would need more than is available
    /// (``Platform/availableMemoryBytes``). Only CPU passes are checked: CUDA reports
    /// running out as an error, which the trainer stops on.
    public static func check(_ model: ImageClassifier, pass: Pass, name: String, imageSize: Int, batchSize: Int,
                             probeSize: Int = 128, device: Device, memoryFormat: MemoryFormat = .contiguous) throws {
        guard device == .cpu,
              let needed = try bytes(for: model, pass: pass, imageSize: imageSize, batchSize: batchSize,
                                     probeSize: probeSize, memoryFormat: memoryFormat),
              let available = Platform.availableMemoryBytes, needed > available else { return }
        throw MemoryError(pass: name, imageSize: imageSize, batchSize: batchSize, neededBytes: needed,
                          availableBytes: available)
    }

    /// The probe size for a zoo architecture: its smallest input, and 128 px at least (smaller probes underestimate: the fit of a + b·pixels bends below that).
    public static func probeSize(for architecture: String, training: Bool) -> Int {
        guard let entry = Zoo.entry(architecture) else { return 64 }
        return max(128, training ? entry.minimumTrainingInputSize : entry.minimumInputSize)
    }
}
