import Foundation
import Torch

/// Weight initialisation, as `torch.nn.init` (in place, without recording grads).
public enum Init {
    /// (fan_in, fan_out) of a weight shaped (out, in, *kernel).
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fans need at least 2 dimensions, got \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    public enum Nonlinearity { case relu, linear, leakyRelu(Double) }

    static func gain(_ n: Nonlinearity) -> Double {
        switch n {
        case .relu: Foundation.sqrt(2.0)
        case .linear: 1
        case .leakyRelu(let a): Foundation.sqrt(2.0 / (1 + a * a))
        }
    }

    /// `kaiming_uniform_`: U(-b, b), b = gain × √(3 / fan).
    public static func kaimingUniform(_ t: Tensor, nonlinearity: Nonlinearity = .leakyRelu(0), fanOut: Bool = false,
                                      generator: Generator? = nil) {
        let f = fans(t.shape)
        let bound = gain(nonlinearity) * Foundation.sqrt(3.0 / Double(fanOut ? f.fanOut : f.fanIn))
        Torch.noGrad { t.uniform_(-bound, bound, generator: generator) }
    }

    /// `kaiming_normal_`: N(0, (gain / √fan)²).
    public static func kaimingNormal(_ t: Tensor, nonlinearity: Nonlinearity = .relu, fanOut: Bool = false,
                                     generator: Generator? = nil) {
        let f = fans(t.shape)
        let std = gain(nonlinearity) / Foundation.sqrt(Double(fanOut ? f.fanOut : f.fanIn))
        Torch.noGrad { t.normal_(mean: 0, std: std, generator: generator) }
    }

    /// `xavier_uniform_`: U(-b, b), b = gain × √(6 / (fan_in + fan_out)).
    public static func xavierUniform(_ t: Tensor, gain: Double = 1, generator: Generator? = nil) {
        let f = fans(t.shape)
        let bound = gain * Foundation.sqrt(6.0 / Double(f.fanIn + f.fanOut))
        Torch.noGrad { t.uniform_(-bound, bound, generator: generator) }
    }

    public static func uniform(_ t: Tensor, _ low: Double, _ high: Double, generator: Generator? = nil) {
        Torch.noGrad { t.uniform_(low, high, generator: generator) }
    }
    public static func normal(_ t: Tensor, mean: Double = 0, std: Double = 1, generator: Generator? = nil) {
        Torch.noGrad { t.normal_(mean: mean, std: std, generator: generator) }
    }
    /// `trunc_normal_`: N(mean, std²) truncated to [a, b], by inverse-CDF sampling as PyTorch does.
    public static func truncatedNormal(_ t: Tensor, mean: Double = 0, std: Double = 1, a: Double = -2, b: Double = 2,
                                       generator: Generator? = nil) {
        func cdf(_ x: Double) -> Double { (1 + Foundation.erf(x / Foundation.sqrt(2.0))) / 2 }
        let l = cdf((a - mean) / std), u = cdf((b - mean) / std)
        Torch.noGrad {
            t.uniform_(2 * l - 1, 2 * u - 1, generator: generator)
            t.erfinv_()
            t.mul_(std * Foundation.sqrt(2.0))
            t.add_(mean)
            t.clamp_(min: a, max: b)
        }
    }

    public static func constant(_ t: Tensor, _ value: Double) { Torch.noGrad { t.fill_(value) } }
}
