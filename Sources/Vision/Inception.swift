// Inception v3 — "Rethinking the Inception Architecture for Computer Vision"
// (Szegedy et al., 2015). Mirrors torchvision/models/inception.py: BasicConv2d
// with BatchNorm eps 1e-3, the auxiliary classifier after Mixed_6e (train mode
// only), and `transform_input`, which maps ImageNet-normalised input to the
// (x - 0.5) / 0.5 scaling Google's weights were trained with.
import Foundation
import NN
import Torch

final class BasicConv2d: Module {
    let conv: Conv2d
    let bn: BatchNorm2d
    init(_ i: Int, _ o: Int, kernel: (Int, Int), stride: Int = 1, padding: (Int, Int) = (0, 0)) {
        conv = Conv2d(i, o, kernelSize: kernel, stride: (stride, stride), padding: padding, bias: false)
        bn = BatchNorm2d(o, eps: 0.001)
    }
    convenience init(_ i: Int, _ o: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.init(i, o, kernel: (kernel, kernel), stride: stride, padding: (padding, padding))
    }
    override func callAsFunction(_ x: Tensor) -> Tensor { bn(conv(x)).relu() }
}

private func avgPool3(_ x: Tensor) -> Tensor {
    Functional.avgPool2d(x, kernelSize: (3, 3), stride: (1, 1), padding: (1, 1))
}
private func maxPool3s2(_ x: Tensor) -> Tensor { Functional.maxPool2d(x, kernelSize: (3, 3), stride: (2, 2)) }

final class InceptionA: Module {
    let branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branch_pool: BasicConv2d
    init(_ c: Int, poolFeatures: Int) {
        branch1x1 = BasicConv2d(c, 64, kernel: 1)
        branch5x5_1 = BasicConv2d(c, 48, kernel: 1)
        branch5x5_2 = BasicConv2d(48, 64, kernel: 5, padding: 2)
        branch3x3dbl_1 = BasicConv2d(c, 64, kernel: 1)
        branch3x3dbl_2 = BasicConv2d(64, 96, kernel: 3, padding: 1)
        branch3x3dbl_3 = BasicConv2d(96, 96, kernel: 3, padding: 1)
        branch_pool = BasicConv2d(c, poolFeatures, kernel: 1)
    }
    override func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.cat([branch1x1(x), branch5x5_2(branch5x5_1(x)), branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))),
                    branch_pool(avgPool3(x))], dim: 1)
    }
}

final class InceptionB: Module {
    let branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3: BasicConv2d
    init(_ c: Int) {
        branch3x3 = BasicConv2d(c, 384, kernel: 3, stride: 2)
        branch3x3dbl_1 = BasicConv2d(c, 64, kernel: 1)
        branch3x3dbl_2 = BasicConv2d(64, 96, kernel: 3, padding: 1)
        branch3x3dbl_3 = BasicConv2d(96, 96, kernel: 3, stride: 2)
    }
    override func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.cat([branch3x3(x), branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))), maxPool3s2(x)], dim: 1)
    }
}

final class InceptionC: Module {
    let branch1x1, branch7x7_1, branch7x7_2, branch7x7_3: BasicConv2d
    let branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branch_pool: BasicConv2d
    init(_ c: Int, channels7x7 c7: Int) {
        branch1x1 = BasicConv2d(c, 192, kernel: 1)
        branch7x7_1 = BasicConv2d(c, c7, kernel: 1)
        branch7x7_2 = BasicConv2d(c7, c7, kernel: (1, 7), padding: (0, 3))
        branch7x7_3 = BasicConv2d(c7, 192, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl_1 = BasicConv2d(c, c7, kernel: 1)
        branch7x7dbl_2 = BasicConv2d(c7, c7, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl_3 = BasicConv2d(c7, c7, kernel: (1, 7), padding: (0, 3))
        branch7x7dbl_4 = BasicConv2d(c7, c7, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl_5 = BasicConv2d(c7, 192, kernel: (1, 7), padding: (0, 3))
        branch_pool = BasicConv2d(c, 192, kernel: 1)
    }
    override func callAsFunction(_ x: Tensor) -> Tensor {
        let b7 = branch7x7_3(branch7x7_2(branch7x7_1(x)))
        let d7 = branch7x7dbl_5(branch7x7dbl_4(branch7x7dbl_3(branch7x7dbl_2(branch7x7dbl_1(x)))))
        return Tensor.cat([branch1x1(x), b7, d7, branch_pool(avgPool3(x))], dim: 1)
    }
}

final class InceptionD: Module {
    let branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4: BasicConv2d
    init(_ c: Int) {
        branch3x3_1 = BasicConv2d(c, 192, kernel: 1)
        branch3x3_2 = BasicConv2d(192, 320, kernel: 3, stride: 2)
        branch7x7x3_1 = BasicConv2d(c, 192, kernel: 1)
        branch7x7x3_2 = BasicConv2d(192, 192, kernel: (1, 7), padding: (0, 3))
        branch7x7x3_3 = BasicConv2d(192, 192, kernel: (7, 1), padding: (3, 0))
        branch7x7x3_4 = BasicConv2d(192, 192, kernel: 3, stride: 2)
    }
    override func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.cat([branch3x3_2(branch3x3_1(x)), branch7x7x3_4(branch7x7x3_3(branch7x7x3_2(branch7x7x3_1(x)))),
                    maxPool3s2(x)], dim: 1)
    }
}

final class InceptionE: Module {
    let branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b: BasicConv2d
    let branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branch_pool: BasicConv2d
    init(_ c: Int) {
        branch1x1 = BasicConv2d(c, 320, kernel: 1)
        branch3x3_1 = BasicConv2d(c, 384, kernel: 1)
        branch3x3_2a = BasicConv2d(384, 384, kernel: (1, 3), padding: (0, 1))
        branch3x3_2b = BasicConv2d(384, 384, kernel: (3, 1), padding: (1, 0))
        branch3x3dbl_1 = BasicConv2d(c, 448, kernel: 1)
        branch3x3dbl_2 = BasicConv2d(448, 384, kernel: 3, padding: 1)
        branch3x3dbl_3a = BasicConv2d(384, 384, kernel: (1, 3), padding: (0, 1))
        branch3x3dbl_3b = BasicConv2d(384, 384, kernel: (3, 1), padding: (1, 0))
        branch_pool = BasicConv2d(c, 192, kernel: 1)
    }
    override func callAsFunction(_ x: Tensor) -> Tensor {
        let b3 = branch3x3_1(x)
        let d3 = branch3x3dbl_2(branch3x3dbl_1(x))
        return Tensor.cat([
            branch1x1(x), Tensor.cat([branch3x3_2a(b3), branch3x3_2b(b3)], dim: 1),
            Tensor.cat([branch3x3dbl_3a(d3), branch3x3dbl_3b(d3)], dim: 1), branch_pool(avgPool3(x)),
        ], dim: 1)
    }
}

final class InceptionAux: Module {
    let conv0: BasicConv2d
    let conv1: BasicConv2d
    var fc: Linear
    init(_ c: Int, numClasses: Int) {
        conv0 = BasicConv2d(c, 128, kernel: 1)
        conv1 = BasicConv2d(128, 768, kernel: 5)
        fc = Linear(768, numClasses)
    }
    override func callAsFunction(_ x: Tensor) -> Tensor {
        var y = Functional.avgPool2d(x, kernelSize: (5, 5), stride: (3, 3))
        y = conv1(conv0(y))
        return fc(Functional.adaptiveAvgPool2d(y, outputSize: (1, 1)).flatten(startDim: 1))
    }
}

public final class InceptionV3: ImageClassifier {
    let Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, Conv2d_3b_1x1, Conv2d_4a_3x3: BasicConv2d
    let Mixed_5b, Mixed_5c, Mixed_5d: InceptionA
    let Mixed_6a: InceptionB
    let Mixed_6b, Mixed_6c, Mixed_6d, Mixed_6e: InceptionC
    let AuxLogits: InceptionAux?
    let Mixed_7a: InceptionD
    let Mixed_7b, Mixed_7c: InceptionE
    let dropout: Dropout
    var fc: Module
    /// Map ImageNet-normalised input to Google's (x - 0.5) / 0.5 scaling first
    /// (true for torchvision's pretrained weights).
    public var transformInput: Bool

    public init(numClasses: Int = 1000, auxLogits: Bool = true, transformInput: Bool = false, dropout: Double = 0.5) {
        Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel: 3, stride: 2)
        Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel: 3)
        Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel: 3, padding: 1)
        Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel: 1)
        Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel: 3)
        Mixed_5b = InceptionA(192, poolFeatures: 32)
        Mixed_5c = InceptionA(256, poolFeatures: 64)
        Mixed_5d = InceptionA(288, poolFeatures: 64)
        Mixed_6a = InceptionB(288)
        Mixed_6b = InceptionC(768, channels7x7: 128)
        Mixed_6c = InceptionC(768, channels7x7: 160)
        Mixed_6d = InceptionC(768, channels7x7: 160)
        Mixed_6e = InceptionC(768, channels7x7: 192)
        AuxLogits = auxLogits ? InceptionAux(768, numClasses: numClasses) : nil
        Mixed_7a = InceptionD(768)
        Mixed_7b = InceptionE(1280)
        Mixed_7c = InceptionE(2048)
        self.dropout = Dropout(p: dropout)
        fc = Linear(2048, numClasses)
        self.transformInput = transformInput
        super.init()
        for (key, m) in namedModules() {
            let std = key == "AuxLogits.conv1.conv" ? 0.01 : key == "AuxLogits.fc" ? 0.001 : 0.1
            if let conv = m as? Conv2d {
                Init.truncatedNormal(conv.weight, std: std)
            } else if let linear = m as? Linear {
                Init.truncatedNormal(linear.weight, std: std)
            } else if let bn = m as? BatchNorm2d {
                Init.constant(bn.weight, 1)
                Init.constant(bn.bias, 0)
            }
        }
    }

    public override var classifierKey: String { "fc" }
    public override var firstConvKey: String { "Conv2d_1a_3x3.conv" }

    func transformed(_ x: Tensor) -> Tensor {
        guard transformInput else { return x }
        let mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225]
        let channels = (0..<3).map { c in x[TensorIndex.all, c].unsqueeze(1) * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 }
        return Tensor.cat(channels, dim: 1)
    }

    /// Trunk up to Mixed_6e, where the auxiliary classifier branches off.
    func trunkToMixed6e(_ x: Tensor) -> Tensor {
        var y = Conv2d_2b_3x3(Conv2d_2a_3x3(Conv2d_1a_3x3(transformed(x))))
        y = maxPool3s2(y)
        y = maxPool3s2(Conv2d_4a_3x3(Conv2d_3b_1x1(y)))
        y = Mixed_5d(Mixed_5c(Mixed_5b(y)))
        return Mixed_6e(Mixed_6d(Mixed_6c(Mixed_6b(Mixed_6a(y)))))
    }

    func pooled(_ mixed6e: Tensor) -> Tensor {
        let y = Mixed_7c(Mixed_7b(Mixed_7a(mixed6e)))
        return Functional.adaptiveAvgPool2d(y, outputSize: (1, 1)).flatten(startDim: 1)
    }

    public override func pooledFeatures(_ x: Tensor) -> Tensor { pooled(trunkToMixed6e(x)) }
    public override func head(_ features: Tensor) -> Tensor { fc(dropout(features)) }

    /// Logits and, in training mode with the auxiliary head, its logits too (torchvision's `InceptionOutputs`).
    public func forwardWithAux(_ x: Tensor) -> (logits: Tensor, aux: Tensor?) {
        let m = trunkToMixed6e(x)
        let aux = isTraining ? AuxLogits.map { $0(m) } : nil
        return (head(pooled(m)), aux)
    }

    /// The classifier and the auxiliary classifier.
    public override var headKeys: [String] { AuxLogits == nil ? ["fc"] : ["fc", "AuxLogits"] }

    /// In training mode, the auxiliary classifier's logits too, weighted 0.4 in the loss.
    public override func trainingLogits(_ x: Tensor) -> (logits: Tensor, auxiliary: [(logits: Tensor, lossWeight: Double)]) {
        let (logits, aux) = forwardWithAux(x)
        return (logits, aux.map { [($0, 0.4)] } ?? [])
    }

    public override func replaceClassifier(with head: Module) { fc = head }

    public override func resetClassifier(numClasses: Int) {
        fc = Linear(2048, numClasses)
        AuxLogits?.fc = Linear(768, numClasses)
    }
}
