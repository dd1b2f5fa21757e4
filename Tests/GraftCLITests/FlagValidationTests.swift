import Foundation
import Testing

/// Every flag value is checked before any data is read: exit 64 and the flag named,
/// never a trap (exit 132) and never a silent acceptance.
@Suite(.serialized) struct FlagValidationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let arguments: [String]
        let mentions: String
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let train = ["train", "/tmp", "--out", "/tmp/graft-never-written"]
    static let cases: [Case] = [
        Case(arguments: train + ["--lr=-1"], mentions: "--lr"),
        Case(arguments: train + ["--lr", "0"], mentions: "--lr"),
        Case(arguments: train + ["--lr", "nan"], mentions: "--lr"),
        Case(arguments: train + ["--weight-decay=-1"], mentions: "--weight-decay"),
        Case(arguments: train + ["--image-size", "0"], mentions: "--image-size"),
        Case(arguments: train + ["--image-size", "100000"], mentions: "--image-size"),
        Case(arguments: train + ["--model", "vgg11", "--image-size", "31"], mentions: "--image-size"),
        Case(arguments: train + ["--model", "inception_v3", "--image-size", "64"], mentions: "75"),
        Case(arguments: train + ["--model", "inception_v3", "--image-size", "96", "--freeze", "none"], mentions: "299"),
        // Batch statistics mean no cache: the trunk and its auxiliary classifier train at 96 px.
        Case(arguments: train + ["--model", "inception_v3", "--image-size", "96", "--batch-norm", "train"], mentions: "299"),
        Case(arguments: train + ["--workers", "0"], mentions: "--workers"),
        Case(arguments: train + ["--threads", "0"], mentions: "--threads"),
        Case(arguments: train + ["--label-smoothing", "2"], mentions: "--label-smoothing"),
        Case(arguments: train + ["--head-dropout", "1.5"], mentions: "--head-dropout"),
        Case(arguments: train + ["--head-hidden", "0"], mentions: "--head-hidden"),
        Case(arguments: train + ["--early-stopping", "100001"], mentions: "--early-stopping"),
        Case(arguments: train + ["--recipe", "fastest"], mentions: "--recipe"),
        Case(arguments: train + ["--accumulate", "0"], mentions: "--accumulate"),
        Case(arguments: train + ["--sampler", "weighted"], mentions: "--sampler"),
        Case(arguments: train + ["--random-erasing", "1.5"], mentions: "--random-erasing"),
        Case(arguments: train + ["--mixup", "0"], mentions: "--mixup"),
        Case(arguments: train + ["--unfreeze-schedule", "1", "--recipe", "classic"], mentions: "--unfreeze-schedule"),
        Case(arguments: train + ["--cutmix", "1", "--class-weights", "auto"], mentions: "--cutmix"),
        Case(arguments: train + ["--ema", "1"], mentions: "--ema"),
        Case(arguments: train + ["--ema-warmup"], mentions: "--ema"),
        Case(arguments: train + ["--clip-grad=-1"], mentions: "--clip-grad"),
        Case(arguments: train + ["--batch-size", "0"], mentions: "--batch-size"),
        Case(arguments: train + ["--momentum", "1.5"], mentions: "--momentum"),
        Case(arguments: train + ["--val-split", "1"], mentions: "--val-split"),
        Case(arguments: train + ["--warmup-epochs", "5"], mentions: "--warmup-epochs"),
        Case(arguments: train + ["--optimizer", "lbfgs"], mentions: "--optimizer"),
        Case(arguments: train + ["--device", "tpu"], mentions: "--device"),
        Case(arguments: train + ["--precision", "fp8"], mentions: "--precision"),
        // float16 autocast with loss scaling is for CUDA: on the CPU it is refused, not run slowly.
        Case(arguments: train + ["--precision", "fp16"], mentions: "--precision fp16"),
        Case(arguments: ["eval", "/tmp", "/tmp", "--precision", "fp16"], mentions: "--precision fp16"),
        Case(arguments: ["predict", "--model", "resnet18", "--precision", "fp16", "x.png"], mentions: "--precision fp16"),
        Case(arguments: ["select", "/tmp", "--precision", "fp16"], mentions: "--precision fp16"),
        Case(arguments: train + ["--model", "resnet18", "--freeze", "layer9"], mentions: "--freeze"),
        Case(arguments: train + ["--freeze", "bogus_layer"], mentions: "--freeze"),
        Case(arguments: ["train", "/tmp", "--out", ""], mentions: "--out"),
        Case(arguments: ["train", "/tmp", "--out", "/etc/hostname"], mentions: "is a file"),
        Case(arguments: train + ["--weights", "none"], mentions: "--freeze none"),
        Case(arguments: train + ["--resume", "--overwrite"], mentions: "--overwrite"),
        Case(arguments: ["train", "/nonexistent-data", "--out", "/tmp/x"], mentions: "/nonexistent-data"),
        Case(arguments: ["eval", "/nonexistent-model", "/tmp"], mentions: "/nonexistent-model"),
        Case(arguments: ["eval", "/tmp", "/tmp", "--batch-size", "0"], mentions: "--batch-size"),
        Case(arguments: ["eval", "/tmp", "/tmp", "--tta", "ten-crop"], mentions: "--tta"),
        Case(arguments: ["doctor", "/nonexistent-data"], mentions: "/nonexistent-data"),
        Case(arguments: ["predict", "--model", "resnet18", "--batch-size", "0", "x.png"], mentions: "--batch-size"),
        Case(arguments: ["predict", "--model", "resnet18", "--top", "0", "x.png"], mentions: "--top"),
        Case(arguments: ["predict", "/nonexistent-model", "x.png"], mentions: "/nonexistent-model"),
    ]

    @Test(arguments: cases)
    func refusedWithTheFlagNamed(_ c: Case) throws {
        let out = try CLITests.graft(c.arguments)
        #expect(out.status == 64, "exit \(out.status): \(out.stderr)")
        #expect(out.stderr.contains(c.mentions), "\(out.stderr)")
        #expect(!out.stderr.contains("Fatal error"))
        // The subcommand's own usage, not the top level's.
        if out.stderr.contains("Usage:") { #expect(out.stderr.contains("Usage: graft \(c.arguments[0])")) }
    }

    @Test func helpListsEveryEnumsValues() throws {
        let help = try CLITests.graft(["train", "--help"], environment: ["COLUMNS": "400"])
        // Discussions are paragraphs that ArgumentParser wraps, not pre-broken lines.
        #expect(help.stdout.contains("or is a CSV file of path,label lines. The run folder gets"))
        for values in ["sgd, adam, adamw", "constant, step, cosine, onecycle, plateau", "none, light, trivial",
                       "frozen, train, affine-only", "val_accuracy, val_loss", "auto, off"] {
            #expect(help.stdout.contains(values), "train --help lists \(values)")
        }
        for command in ["eval", "predict"] {
            let h = try CLITests.graft([command, "--help"], environment: ["COLUMNS": "400"])
            #expect(h.stdout.contains("--device") && h.stdout.contains("--threads") && h.stdout.contains("--workers"))
        }
    }

    @Test func helpAndModelsNeverLoadCUDA() throws {
        for arguments in [["--help"], ["models"], ["train", "--help"]] {
            let out = try CLITests.graft(arguments, environment: ["LD_DEBUG": "files"])
            #expect(out.status == 0)
            #expect(!out.stderr.contains("libtorch_cuda.so"), "\(arguments) loads libtorch_cuda.so")
        }
    }
}
