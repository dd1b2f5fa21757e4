import ArgumentParser
import Foundation
import Graft

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the model zoo: parameters, input size, and whether pretrained weights are here.",
        discussion: """
            Weights are looked for in $GRAFT_WEIGHTS, ~/.cache/graft/weights and torchvision's \
            cache (~/.cache/torch/hub/checkpoints), so files downloaded with PyTorch are found.

            Examples:
              graft models
              graft models --all             # every catalogue entry: tag, input size, accuracy, license
              graft models --json | jq -r 'select(.weights_available) | .name'

            Pick an entry with --weights TAG (graft train ... --model vit_b_16 --weights \
            IMAGENET1K_SWAG_E2E_V1). The SWAG weights are CC-BY-NC-4.0: non-commercial use only.
            """
    )

    @Flag(help: "One JSON object per model per line.") var json = false
    @Flag(help: "List every catalogue entry of each model (tags, input size, accuracy, license), not just the default.")
    var all = false

    func run() throws {
        let store = WeightsStore()
        let width = Zoo.names.map(\.count).max() ?? 20
        if !json {
            print("model".padding(toLength: width, withPad: " ", startingAt: 0) + "    params  input  license        weights")
        }
        for entry in Zoo.entries {
            let entries = PretrainedWeights.entries(for: entry.name)
            let weights = entries.first
            let local = weights.flatMap { store.locate($0) }
            let params = PretrainedWeights.parameterCount(model: entry.name) ?? 0
            if json {
                var object: [String: Any] = [
                    "name": entry.name, "parameters": params, "input_size": entry.inputSize,
                    "weights_available": local != nil,
                    "weights": entries.map { w -> [String: Any] in
                        var e: [String: Any] = ["tag": w.tag, "license": w.license, "license_url": w.licenseURL,
                                                "file": w.fileName, "input_size": w.preprocessing.cropSize,
                                                "default": w.tag == weights?.tag,
                                                "available": store.locate(w) != nil]
                        if let accuracy = w.accuracy { e["imagenet_top1"] = accuracy }
                        return e
                    },
                ]
                if let weights { object["weights_file"] = weights.fileName; object["license"] = weights.license }
                if let local { object["weights_path"] = local.path }
                print(try jsonLine(object))
            } else {
                let available = local != nil ? "local (\(local!.path))" : weights == nil ? "none known" : "not downloaded"
                let others = entries.count > 1 && !all ? " (+\(entries.count - 1) more: --all)" : ""
                print(entry.name.padding(toLength: width, withPad: " ", startingAt: 0)
                      + String(format: "%7.1fM", Double(params) / 1e6)
                      + String(format: "%7d  ", entry.inputSize)
                      + (weights?.license ?? "-").padding(toLength: 15, withPad: " ", startingAt: 0)
                      + available + others)
                if all {
                    for w in entries {
                        let accuracy = w.accuracy.map { String(format: "%.1f%%", $0) } ?? ""
                        print("    " + w.tag.padding(toLength: 28, withPad: " ", startingAt: 0)
                              + String(format: "%5d px  ", w.preprocessing.cropSize)
                              + accuracy.padding(toLength: 7, withPad: " ", startingAt: 0)
                              + w.license + (w.isNonCommercial ? " (non-commercial only)" : "")
                              + (w.tag == weights?.tag ? "  default" : ""))
                    }
                }
            }
        }
    }
}

/// One compact JSON object with sorted keys.
func jsonLine(_ object: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}
