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
              graft models --json | jq -r 'select(.weights_available) | .name'
            """
    )

    @Flag(help: "One JSON object per model per line.") var json = false

    func run() throws {
        let store = WeightsStore()
        if !json {
            print("model                 params   input  weights")
        }
        for entry in Zoo.entries {
            let weights = PretrainedWeights.forModel(entry.name)
            let local = weights.flatMap { store.locate($0) }
            let params = PretrainedWeights.parameterCount(model: entry.name) ?? 0
            if json {
                var object: [String: Any] = [
                    "name": entry.name, "parameters": params, "input_size": entry.inputSize,
                    "weights_available": local != nil,
                ]
                if let weights { object["weights_file"] = weights.fileName }
                if let local { object["weights_path"] = local.path }
                print(try jsonLine(object))
            } else {
                let available = local != nil ? "local (\(local!.path))" : weights == nil ? "none known" : "not downloaded"
                print(entry.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                      + String(format: "%7.1fM", Double(params) / 1e6)
                      + String(format: "%7d  ", entry.inputSize) + available)
            }
        }
    }
}

/// One compact JSON object with sorted keys.
func jsonLine(_ object: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}
