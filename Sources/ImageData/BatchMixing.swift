import Foundation
import Torch

/// MixUp and CutMix on a batch, as torchvision's `v2.MixUp(alpha, num_classes)` and
/// `v2.CutMix(alpha, num_classes)`: λ ~ Beta(α, α) (`Beta(tensor([α]), tensor([α])).sample()`,
/// i.e. `_sample_dirichlet([[α, α]])[0, 0]`), each sample paired with the one before it in
/// the batch (`roll(1, 0)`), the labels one-hot and mixed in the same proportion. CutMix
/// pastes a box of side √(1 − λ) around a random center (`randint(W)`, `randint(H)`) and
/// mixes the labels by the box's true area. Draws come from `generator` (nil: the global
/// one, as torchvision's).
public enum BatchMix: Sendable, Equatable {
    case mixUp(alpha: Double)
    case cutMix(alpha: Double)

    /// The mixed images (N × C × H × W) and soft labels (N × classes, float32).
    public func callAsFunction(images: Tensor, labels: Tensor, classes: Int, generator: Generator? = nil)
        -> (images: Tensor, labels: Tensor)
    {
        let alpha: Double
        switch self { case .mixUp(let a), .cutMix(let a): alpha = a }
        let lam = Tensor([Float(alpha), Float(alpha)]).view([1, 2]).sampleDirichlet(generator: generator)
            .select(dim: -1, index: 0).double
        let oneHot = labels.oneHot(numClasses: classes).to(.float32)
        func mixLabels(_ weight: Double) -> Tensor { oneHot.roll([1], dims: [0]) * (1 - weight) + oneHot * weight }
        switch self {
        case .mixUp:
            return (images.roll([1], dims: [0]) * (1 - lam) + images * lam, mixLabels(lam))
        case .cutMix:
            let (h, w) = (images.size(-2), images.size(-1))
            let rx = Tensor.randint(0, w, [1], generator: generator).int
            let ry = Tensor.randint(0, h, [1], generator: generator).int
            let r = 0.5 * (1 - lam).squareRoot()
            let (halfW, halfH) = (Int(r * Double(w)), Int(r * Double(h)))
            let (x1, y1) = (max(rx - halfW, 0), max(ry - halfH, 0))
            let (x2, y2) = (min(rx + halfW, w), min(ry + halfH, h))
            let adjusted = 1 - Double((x2 - x1) * (y2 - y1)) / Double(w * h)
            let output = images.clone()
            if x2 > x1 && y2 > y1 {
                let rolled = images.roll([1], dims: [0])
                let box = output.slice(dim: -2, start: y1, end: y2).slice(dim: -1, start: x1, end: x2)
                Torch.noGrad {
                    _ = box.copy_(rolled.slice(dim: -2, start: y1, end: y2).slice(dim: -1, start: x1, end: x2))
                }
            }
            return (output, mixLabels(adjusted))
        }
    }
}
