import Testing
@testable import Torch

/// Ops and gradients against PyTorch (fixtures from Fixtures/make_fixtures.py).
/// Serialized: the recipes seed the global generator.
@Suite(.serialized)
struct TorchParityTests {
    typealias F = Functional

    @Test func randomNumbersMatchPyTorchBitForBit() {
        Torch.manualSeed(0)
        expectMatches(Tensor.randn([5]), "rng/randn", atol: 0, rtol: 0)
        expectMatches(Tensor.rand([5]), "rng/rand", atol: 0, rtol: 0)
        expectMatches(Tensor.randint(0, 10, [6]), "rng/randint", atol: 0, rtol: 0)
        expectMatches(Tensor.randperm(7), "rng/randperm", atol: 0, rtol: 0)
        let g = Generator(seed: 3)
        expectMatches(Tensor.empty([4]).normal_(mean: 0, std: 2, generator: g), "rng/generator_normal", atol: 0, rtol: 0)
        expectMatches(Tensor.empty([4]).uniform_(-1, 1, generator: g), "rng/generator_uniform", atol: 0, rtol: 0)
    }

    @Test func binaryOpsBroadcastAndDifferentiate() {
        let a = seeded(1, [3, 4], grad: true)
        let b = seeded(2, [4], grad: true)
        expectMatches(a + b, "binary/add")
        expectMatches(a - b, "binary/sub")
        expectMatches(a * b, "binary/mul")
        expectMatches(a / b, "binary/div")
        expectMatches((a.abs() + 0.5).pow(b), "binary/pow")
        expectMatches(a.maximum(b), "binary/maximum")
        expectMatches(2.5 - a * 3 + a / 4, "binary/scalar")
        let loss = (a * b + a / (b.abs() + 1) + (a.abs() + 0.5).pow(b)).sum()
        loss.backward()
        expectMatches(a.grad, "binary/grad_a")
        expectMatches(b.grad, "binary/grad_b")
        expectMatches(a .< b, "binary/lt", atol: 0)
    }

    @Test func unaryFunctionsAndGradients() {
        let x = seeded(3, [2, 5])
        let w = seeded(4, [2, 5])
        let functions: [(String, (Tensor) -> Tensor)] = [
            ("relu", F.relu), ("relu6", F.relu6), ("silu", F.silu), ("gelu", { F.gelu($0) }),
            ("gelu_tanh", { F.gelu($0, approximateTanh: true) }), ("hardswish", F.hardswish),
            ("hardsigmoid", F.hardsigmoid), ("sigmoid", F.sigmoid), ("tanh", F.tanh), ("exp", { $0.exp() }),
            ("log", { ($0.abs() + 0.1).log() }), ("sqrt", { ($0.abs() + 0.1).sqrt() }),
            ("clamp", { $0.clamp(min: -0.5, max: 0.7) }),
        ]
        for (name, f) in functions {
            let xi = (x * 4).detach().requiresGrad()
            let y = f(xi)
            (y * w).sum().backward()
            expectMatches(y, "unary/\(name)")
            expectMatches(xi.grad, "unary/\(name)_grad")
        }
    }

    @Test func reductions() {
        let r = seeded(5, [3, 4, 6])
        expectMatches(r.sum(), "reduce/sum_all")
        expectMatches(r.sum(dim: 1), "reduce/sum_dim")
        expectMatches(r.mean(dims: [0, 2], keepDim: true), "reduce/mean_keep")
        let mx = r.max(dim: 2)
        expectMatches(mx.values, "reduce/max_values")
        expectMatches(mx.indices, "reduce/max_indices", atol: 0)
        let mn = r.min(dim: 0, keepDim: true)
        expectMatches(mn.values, "reduce/min_values")
        expectMatches(mn.indices, "reduce/min_indices", atol: 0)
        expectMatches(r.argmax(dim: -1), "reduce/argmax", atol: 0)
        expectMatches(r.argmax(), "reduce/argmax_all", atol: 0)
        expectMatches(r.variance(dims: [1]), "reduce/var")
        expectMatches(r.std(), "reduce/std")
        expectMatches(r.norm(2, dims: [1, 2]), "reduce/norm")
        expectMatches(r.logSumExp(dims: [2]), "reduce/logsumexp")
        let top = r.topk(3, dim: -1)
        expectMatches(top.values, "reduce/topk_values")
        expectMatches(top.indices, "reduce/topk_indices", atol: 0)
        expectMatches(r.softmax(dim: 1), "reduce/softmax")
        expectMatches(r.logSoftmax(dim: -1), "reduce/log_softmax")
        expectMatches(r.cumsum(dim: 2), "reduce/cumsum")
    }

    @Test func matmulAndLinear() {
        let m1 = seeded(6, [2, 3, 5], grad: true)
        let m2 = seeded(7, [5, 4], grad: true)
        let mm = m1.matmul(m2)
        (mm * mm).sum().backward()
        expectMatches(mm, "matmul/out")
        expectMatches(m1.grad, "matmul/grad_a", atol: 1e-4)
        expectMatches(m2.grad, "matmul/grad_b", atol: 1e-4)
        let li = seeded(8, [4, 6], grad: true)
        let lw = seeded(9, [3, 6], grad: true)
        let lb = seeded(10, [3], grad: true)
        let lo = F.linear(li, weight: lw, bias: lb)
        lo.tanh().sum().backward()
        expectMatches(lo, "linear/out")
        expectMatches(li.grad, "linear/grad_input")
        expectMatches(lw.grad, "linear/grad_weight")
        expectMatches(lb.grad, "linear/grad_bias")
    }

    @Test func convolutions() {
        let cases: [(String, stride: Int, padding: Int, dilation: Int, groups: Int, cin: Int, cout: Int, k: Int)] = [
            ("basic", 1, 0, 1, 1, 3, 4, 3), ("stride2_pad1", 2, 1, 1, 1, 3, 5, 3), ("dilation2", 1, 2, 2, 1, 2, 3, 3),
            ("depthwise", 2, 2, 1, 4, 4, 4, 5), ("grouped", 1, 0, 1, 2, 4, 6, 1),
        ]
        for (seed, c) in cases.enumerated() {
            let s = UInt64(seed)
            let x = seeded(100 + s, [2, c.cin, 9, 9], grad: true)
            let w = seeded(200 + s, [c.cout, c.cin / c.groups, c.k, c.k], grad: true)
            let b = seeded(300 + s, [c.cout], grad: true)
            let y = F.conv2d(x, weight: w, bias: b, stride: (c.stride, c.stride), padding: (c.padding, c.padding),
                             dilation: (c.dilation, c.dilation), groups: c.groups)
            (y * y).sum().backward()
            expectMatches(y, "conv/\(c.0)", atol: 1e-4)
            expectMatches(x.grad, "conv/\(c.0)_grad_input", atol: 1e-4)
            expectMatches(w.grad, "conv/\(c.0)_grad_weight", atol: 1e-3)
            expectMatches(b.grad, "conv/\(c.0)_grad_bias", atol: 1e-3)
        }
        let cl = seeded(11, [2, 3, 8, 8]).contiguous(.channelsLast)
        #expect(cl.isContiguous(.channelsLast) && !cl.isContiguous())
        let y = F.conv2d(cl, weight: seeded(12, [4, 3, 3, 3]), padding: (1, 1))
        expectMatches(y, "conv/channels_last", atol: 1e-4)
        expectMatches(Tensor(y.strides), "conv/channels_last_strides", atol: 0)
    }

    @Test func padding() {
        let p = seeded(13, [1, 2, 4, 5])
        expectMatches(F.pad(p, [0, 1, 2, 0]), "pad/asymmetric", atol: 0)
        expectMatches(F.pad(p, [1, 1, 1, 1], value: -1.5), "pad/value", atol: 0)
    }

    @Test func batchNormTrainUpdatesRunningStatisticsAndEval() {
        let x = seeded(14, [4, 3, 5, 5], grad: true)
        let w = seeded(15, [3], grad: true)
        let b = seeded(16, [3], grad: true)
        let rm = seeded(17, [3])
        let rv = seeded(18, [3]).abs() + 0.5
        let rm0 = rm.clone(), rv0 = rv.clone()
        let y = F.batchNorm(x, runningMean: rm, runningVar: rv, weight: w, bias: b, training: true, momentum: 0.1)
        (y * y * Tensor.arange(0, 3, dtype: .float32).view([1, 3, 1, 1])).sum().backward()
        expectMatches(y, "bn/train_out")
        expectMatches(rm, "bn/train_running_mean")
        expectMatches(rv, "bn/train_running_var")
        expectMatches(x.grad, "bn/train_grad_input", atol: 1e-4)
        expectMatches(w.grad, "bn/train_grad_weight", atol: 1e-4)
        expectMatches(b.grad, "bn/train_grad_bias", atol: 1e-4)
        let e = F.batchNorm(x, runningMean: rm0, runningVar: rv0, weight: w, bias: b, training: false, eps: 1e-3)
        expectMatches(e, "bn/eval_out")
    }

    @Test func pooling() {
        let q = seeded(19, [2, 3, 9, 9], grad: true)
        let mp = F.maxPool2d(q, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true)
        let ap = F.avgPool2d(q, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), countIncludePad: false)
        let aap = F.adaptiveAvgPool2d(q, outputSize: (4, 3))
        (mp.sum() + (ap * 2).sum() + (aap * 3).sum()).backward()
        expectMatches(mp, "pool/max")
        expectMatches(ap, "pool/avg")
        expectMatches(aap, "pool/adaptive_avg")
        expectMatches(q.grad, "pool/grad")
    }

    @Test func dropoutDrawsFromTheGlobalGenerator() {
        Torch.manualSeed(20)
        expectMatches(F.dropout(Tensor.ones([4, 6]), p: 0.3, training: true), "dropout/train")
        let x = Tensor.ones([3])
        #expect(F.dropout(x, p: 0.3, training: false).toArray(Float.self) == [1, 1, 1])
    }

    @Test func interpolation() {
        let im = seeded(21, [2, 7, 9])
        let im4 = im.unsqueeze(0)
        expectMatches(F.interpolate(im4, size: (4, 5), mode: .nearest), "interp/nearest")
        expectMatches(F.interpolate(im4, size: (11, 6), mode: .bilinear), "interp/bilinear")
        expectMatches(F.interpolate(im4, size: (11, 6), mode: .bilinear, alignCorners: true), "interp/bilinear_corners")
        expectMatches(F.interpolate(im4, size: (3, 4), mode: .bilinear, antialias: true), "interp/bilinear_aa")
        expectMatches(F.interpolate(im4, size: (5, 13), mode: .bicubic), "interp/bicubic")
        expectMatches(F.interpolate(im4, scaleFactor: (2, 0.5), mode: .nearest), "interp/scale")
    }

    @Test func lossesAndTheirGradient() {
        let logits = seeded(22, [6, 4], grad: true)
        let target = Tensor([0, 3, 1, 1, 2, 3] as [Int64])
        let weight = Tensor([1.0, 2.0, 0.5, 1.5] as [Float])
        let probabilities = seeded(23, [6, 4]).softmax(dim: 1)
        let losses: [(String, Tensor)] = [
            ("plain", F.crossEntropy(logits, target)),
            ("weighted", F.crossEntropy(logits, target, weight: weight)),
            ("smoothing", F.crossEntropy(logits, target, labelSmoothing: 0.1)),
            ("weighted_smoothing", F.crossEntropy(logits, target, weight: weight, labelSmoothing: 0.2)),
            ("ignore", F.crossEntropy(logits, Tensor([0, -100, 1, 1, -100, 3] as [Int64]))),
            ("sum", F.crossEntropy(logits, target, reduction: .sum)),
            ("probabilities", F.crossEntropy(logits, probabilities)),
            ("nll", F.nllLoss(logits.logSoftmax(dim: 1), target, weight: weight)),
        ]
        var total: Tensor?
        for (name, value) in losses {
            expectMatches(value, "loss/\(name)")
            total = total.map { $0 + value } ?? value
        }
        total!.backward()
        expectMatches(logits.grad, "loss/grad")
        expectMatches(F.crossEntropy(logits, target, reduction: .none), "loss/none")
    }

    @Test func indexingAndShapes() {
        let s = seeded(24, [4, 5, 6])
        expectMatches(s[1..<3, TensorIndex.range(start: nil, end: nil, step: 2), -1], "index/slice", atol: 0)
        expectMatches(s[2], "index/select", atol: 0)
        expectMatches(s[TensorIndex.ellipsis, 1], "index/ellipsis", atol: 0)
        expectMatches(s[s .> 0.5], "index/mask", atol: 0)
        expectMatches(s.indexSelect(dim: 1, index: Tensor([4, 0, 2] as [Int64])), "index/index_select", atol: 0)
        let rows: [Int64] = [0, 5, 1, 1, 2, 3, 4, 4, 5, 0]
        let gatherIndex = Tensor(Array(repeating: rows, count: 4).flatMap { $0 }, shape: [4, 5, 2])
        expectMatches(s.gather(dim: 2, index: gatherIndex), "index/gather", atol: 0)
        expectMatches(Tensor.cat([s, s * 2], dim: 1), "index/cat", atol: 0)
        expectMatches(Tensor.stack([s[0], s[1]], dim: -1), "index/stack", atol: 0)
        expectMatches(Tensor.where(s .> 0, s, s * 0.1), "index/where", atol: 0)
        expectMatches(s.permute([2, 0, 1]).contiguous(), "index/permute", atol: 0)
        expectMatches(s.transposed(0, 2).flatten(startDim: 1), "index/transpose_flat", atol: 0)
        let s2 = s.clone()
        s2[1, TensorIndex.all, 2..<4] = Tensor(scalar: Float(7))
        expectMatches(s2, "index/assign", atol: 0)
    }
}
