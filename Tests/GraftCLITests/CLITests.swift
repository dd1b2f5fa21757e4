import Checkpoints
import Foundation
import Graft
import GraftTestSupport
import Optimizers
import Pretrained
import Testing
import Torch
import Transfer
import Vision

/// End to end through the built `graft` binary, on small images the tests make.
@Suite(.serialized)
struct CLITests {
    /// `graft` sits beside the test bundle in the build folder.
    static let binary: URL = {
        let beside = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("graft")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/debug/graft").standardizedFileURL
    }()

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var jsonLines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
        }
    }

    @discardableResult
    static func graft(_ arguments: [String], environment: [String: String] = [:], executable: URL? = nil,
                      interruptWhen: (() -> Bool)? = nil) throws -> Output {
        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = Reader(out.fileHandleForReading), stderr = Reader(err.fileHandleForReading)
        if let interruptWhen {
            while process.isRunning && !interruptWhen() { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGINT) }
        }
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: stdout.text(), stderr: stderr.text())
    }

    /// Drains a pipe on a background thread so a chatty child never blocks.
    final class Reader: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)
        init(_ handle: FileHandle) {
            DispatchQueue.global().async {
                self.data = handle.readDataToEndOfFile()
                self.done.signal()
            }
        }
        func text() -> String {
            done.wait()
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// train/ and val/ folders of 3 colour classes, PNG images made with Graft's own encoder.
    static func makeDataset(_ root: URL, perClass: Int = 6, size: Int = 40) throws {
        let colours: [(UInt8, UInt8, UInt8)] = [(220, 40, 40), (40, 200, 40), (40, 40, 220)]
        var state: UInt64 = 42
        func noise() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 59) - 16
        }
        for (split, count) in [("train", perClass), ("val", perClass / 2)] {
            for (c, colour) in colours.enumerated() {
                let folder = root.appendingPathComponent("\(split)/class\(c)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for i in 0..<count {
                    var rgb = [UInt8]()
                    for _ in 0..<(size * size) {
                        for v in [colour.0, colour.1, colour.2] { rgb.append(UInt8(clamping: Int(v) + noise())) }
                    }
                    try PNG.encode(rgb: rgb, width: size, height: size)
                        .write(to: folder.appendingPathComponent("img\(i).png"))
                }
            }
        }
    }

    static func temporary(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("graft-cli-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func helpShowsExamplesAndEveryCommand() throws {
        let top = try Self.graft(["--help"])
        #expect(top.status == 0)
        for command in ["train", "eval", "predict", "doctor", "models", "convert", "demo"] {
            #expect(top.stdout.contains(command), "graft --help lists \(command)")
        }
        for command in ["train", "eval", "predict", "doctor", "models", "convert"] {
            let help = try Self.graft([command, "--help"])
            #expect(help.status == 0 && help.stdout.contains("Examples"), "graft \(command) --help has examples")
        }
        let version = try Self.graft(["--version"])
        #expect(version.stdout.contains("libtorch 2.15.0") && version.stdout.contains("CUDA"))
        // The CPU and the precision `auto` picks on it, with the reason.
        #expect(version.stdout.contains("CPU: ") && version.stdout.contains("precision on the CPU: "))
        #expect(version.stdout.contains(CPUFeatures.current.nativeBF16.isEmpty ? "fp32 (auto" : "bf16 (auto"))
    }

    @Test func badInputExitsNonZeroWithAOneLineReason() throws {
        let flag = try Self.graft(["train", "/tmp", "--epochs", "0", "--out", "/tmp/x"])
        #expect(flag.status == 64)
        #expect(flag.stderr.contains("--epochs"))
        let missing = try Self.graft(["train", "/nonexistent/data", "--out", "/tmp/graft-never"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/data"))
        let model = try Self.graft(["train", "/tmp", "--model", "resnet9000", "--out", "/tmp/graft-never"])
        #expect(model.status == 64 && model.stderr.contains("resnet9000"))
        let weights = try Self.graft(["predict", "--model", "resnet18", "--weights", "/nonexistent.pth", "x.png"])
        #expect(weights.status != 0 && weights.stderr.contains("/nonexistent.pth"))
    }

    @Test func trainEvalPredictAndConvert() throws {
        let root = try Self.temporary("train")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.makeDataset(root)
        let run = root.appendingPathComponent("run")
        let train = try Self.graft([
            "train", root.appendingPathComponent("train").path, "--val", root.appendingPathComponent("val").path,
            "--model", "resnet18", "--weights", "none", "--freeze", "none", "--epochs", "1", "--image-size", "32",
            "--batch-size", "6", "--out", run.path, "--json",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        let result = try #require(train.jsonLines.last)
        for key in ["model_path", "best_epoch", "val_accuracy", "epochs", "seconds"] {
            #expect(result[key] != nil, "train --json has \(key)")
        }
        #expect(result["epochs"] as? Int == 1)
        // MixUp and CutMix batches train on images (no cached features) and the run ends normally.
        let mixed = try Self.graft([
            "train", root.appendingPathComponent("train").path, "--val", root.appendingPathComponent("val").path,
            "--model", "resnet18", "--weights", "none", "--freeze", "none", "--epochs", "2", "--image-size", "32",
            "--batch-size", "6", "--mixup", "0.4", "--cutmix", "1", "--label-smoothing", "0.1",
            "--out", root.appendingPathComponent("mixed").path, "--json",
        ])
        #expect(mixed.status == 0, "\(mixed.stderr)")
        let mixedMetrics = try String(contentsOf: root.appendingPathComponent("mixed/metrics.csv"), encoding: .utf8)
        #expect(mixedMetrics.split(separator: "\n").count == 3 && !mixedMetrics.contains(",true,"))
        for file in ["model.safetensors", "checkpoint.safetensors", "metrics.csv", "report.html", "curves.png",
                     "confusion.png", "recipe.json"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), "run has \(file)")
        }

        let eval = try Self.graft(["eval", run.path, root.appendingPathComponent("val").path, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let metrics = try #require(eval.jsonLines.last)
        #expect(metrics["accuracy"] is Double)
        #expect((metrics["per_class"] as? [[String: Any]])?.count == 3)
        #expect((metrics["confusion_matrix"] as? [[Int]])?.map { $0.reduce(0, +) }.reduce(0, +) == 9)
        let text = try Self.graft(["eval", run.path, root.appendingPathComponent("val").path])
        #expect(text.stdout.contains("accuracy") && text.stdout.contains("confusion matrix"))
        // A damaged card (a crop size of 0) is one line naming the file, not a trap in a transform.
        let (trained, goodCard) = try ModelFile.load(run.appendingPathComponent("model.safetensors"))
        var badCard = goodCard
        badCard.preprocessing.cropSize = 0
        let damaged = root.appendingPathComponent("damaged.safetensors")
        try ModelFile.save(trained, card: badCard, to: damaged)
        for command in [["eval", damaged.path, root.appendingPathComponent("val").path, "--tta", "five-crop"],
                        ["predict", damaged.path, root.appendingPathComponent("val/class1/img0.png").path]] {
            let refused = try Self.graft(command)
            #expect(refused.status == 1 && refused.stderr.contains("damaged.safetensors")
                    && refused.stderr.contains("cropSize"), "\(command[0]): \(refused.stderr)")
        }
        for tta in ["flip", "five-crop"] {
            let views = try Self.graft(["eval", run.path, root.appendingPathComponent("val").path, "--tta", tta, "--json"])
            #expect(views.status == 0, "--tta \(tta): \(views.stderr)")
            #expect((views.jsonLines.last?["confusion_matrix"] as? [[Int]])?.map { $0.reduce(0, +) }.reduce(0, +) == 9)
        }

        let image = root.appendingPathComponent("val/class1/img0.png").path
        let bad = root.appendingPathComponent("broken.png")
        try Data("not an image".utf8).write(to: bad)
        let predict = try Self.graft(["predict", run.path, image, bad.path, "--top", "2", "--json"])
        #expect(predict.status == 1)
        let lines = predict.jsonLines
        #expect(lines.count == 2)
        let top = try #require(lines.first?["top"] as? [[String: Any]])
        #expect(lines.first?["path"] as? String == image && top.count == 2)
        #expect(top.allSatisfy { $0["index"] is Int && $0["label"] is String && $0["probability"] is Double })
        #expect((lines.last?["error"] as? String)?.isEmpty == false)

        let pth = root.appendingPathComponent("model.pth")
        let convert = try Self.graft(["convert", run.appendingPathComponent("model.safetensors").path, pth.path, "--json"])
        #expect(convert.status == 0 && (convert.jsonLines.last?["tensors"] as? Int ?? 0) > 100)
        let back = try Self.graft(["convert", pth.path, root.appendingPathComponent("again.safetensors").path])
        #expect(back.status == 0)
        // Into a missing folder: the error names the file asked for, not a temporary one.
        let nowhere = root.appendingPathComponent("missing/out.safetensors").path
        let lost = try Self.graft(["convert", pth.path, nowhere])
        #expect(lost.status == 1 && lost.stderr.contains(nowhere) && !lost.stderr.contains(".tmp"), "\(lost.stderr)")
        // Formats are detected by content everywhere: a .pth is "no model card", not a bad header.
        let evalPth = try Self.graft(["eval", pth.path, root.appendingPathComponent("val").path])
        #expect(evalPth.status == 1 && evalPth.stderr.contains("no Graft model card")
                && !evalPth.stderr.contains("header length"), "\(evalPth.stderr)")
        // A truncated model file says so, instead of "not a Graft model file … add --model".
        let model = try Data(contentsOf: run.appendingPathComponent("model.safetensors"))
        let truncated = root.appendingPathComponent("truncated.safetensors")
        try model.prefix(model.count / 2).write(to: truncated)
        let cut = try Self.graft(["predict", truncated.path, image])
        #expect(cut.status == 1 && !cut.stderr.contains("--model") && cut.stderr.contains("truncated.safetensors"),
                "\(cut.stderr)")
        // The run folder is not overwritten by accident, and resuming needs a checkpoint.
        let again = try Self.graft([
            "train", root.appendingPathComponent("train").path, "--val", root.appendingPathComponent("val").path,
            "--model", "resnet18", "--weights", "none", "--freeze", "none", "--epochs", "1", "--image-size", "32",
            "--out", run.path,
        ])
        #expect(again.status == 1 && again.stderr.contains("--overwrite"), "\(again.stderr)")
        let nothing = try Self.graft([
            "train", root.appendingPathComponent("train").path, "--model", "resnet18", "--weights", "none",
            "--freeze", "none", "--epochs", "1", "--image-size", "32", "--out", root.appendingPathComponent("new").path,
            "--resume",
        ])
        #expect(nothing.status == 1 && nothing.stderr.contains("no checkpoint.safetensors to resume"), "\(nothing.stderr)")
        // An --out that can't be made: one line with the path and the cause, no Foundation dump.
        let blocked = root.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: blocked)
        let cannot = try Self.graft([
            "train", root.appendingPathComponent("train").path, "--model", "resnet18", "--weights", "none",
            "--freeze", "none", "--epochs", "1", "--image-size", "32", "--out", blocked.path + "/run",
        ])
        #expect(cannot.status == 1 && cannot.stderr.contains(blocked.path + "/run") && cannot.stderr.contains("a-file is not a folder")
                && !cannot.stderr.contains("Domain="), "\(cannot.stderr)")
    }

    @Test func doctorFindsBrokenFilesAndLeaks() throws {
        let root = try Self.temporary("doctor")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.makeDataset(root, perClass: 4)
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: root.appendingPathComponent("train/class0/cut.jpg"))
        try FileManager.default.copyItem(at: root.appendingPathComponent("train/class2/img0.png"),
                                         to: root.appendingPathComponent("val/class2/copy.png"))
        let doctor = try Self.graft(["doctor", root.appendingPathComponent("train").path, "--val",
                                     root.appendingPathComponent("val").path, "--json"])
        #expect(doctor.status == 1)
        // 15 files in class0 (4 + the cut one + 10 copies) against 4: 3.75×, printed as such (not "3×").
        for i in 0..<10 {
            try FileManager.default.copyItem(at: root.appendingPathComponent("train/class0/img0.png"),
                                             to: root.appendingPathComponent("train/class0/extra\(i).png"))
        }
        let text = try Self.graft(["doctor", root.appendingPathComponent("train").path])
        #expect(text.stdout.contains("3.8× the images of the smallest"), "\(text.stdout)")
        let report = try #require(doctor.jsonLines.last)
        let unreadable = report["unreadable"] as? [[String: Any]]
        #expect(unreadable?.count == 1 && (unreadable?.first?["path"] as? String)?.hasSuffix("cut.jpg") == true)
        #expect(report["duplicates_across_splits"] as? Int == 1)
        let perClass = report["images_per_class"] as? [String: [String: Int]]
        #expect(perClass?["train"]?["class1"] == 4)
    }

    @Test func interruptedRunResumesToTheEnd() throws {
        let root = try Self.temporary("resume")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.makeDataset(root, perClass: 12, size: 48)
        let run = root.appendingPathComponent("run")
        let checkpoint = run.appendingPathComponent("checkpoint.safetensors")
        let arguments = ["train", root.appendingPathComponent("train").path, "--val-split", "0.25", "--model",
                         "resnet18", "--weights", "none", "--freeze", "none", "--epochs", "4", "--image-size", "48",
                         "--batch-size", "4", "--out", run.path, "--json"]
        let first = try Self.graft(arguments) { FileManager.default.fileExists(atPath: checkpoint.path) }
        #expect(first.status == 130, "interrupted run exits 130: \(first.stderr)")
        #expect(first.stderr.contains("--resume"))
        let second = try Self.graft(arguments + ["--resume"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.jsonLines.last?["epochs"] as? Int == 4)
        let csv = try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 5)  // header + 4 epochs
    }

    /// A second Ctrl-C ends the process at once with 130, never by a signal (exit() from the
    /// signal thread used to run static destructors under libtorch: 3 crashes in 5).
    @Test func aSecondInterruptExitsAt130WithoutACrash() throws {
        let root = try Self.temporary("twice")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.makeDataset(root, perClass: 12, size: 48)
        for attempt in 0..<3 {
            let process = Process()
            process.executableURL = Self.binary
            process.arguments = ["train", root.appendingPathComponent("train").path, "--model", "resnet18",
                                 "--weights", "none", "--freeze", "none", "--epochs", "50", "--image-size", "48",
                                 "--batch-size", "4", "--out", root.appendingPathComponent("run\(attempt)").path,
                                 "--json"]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = Reader(out.fileHandleForReading), stderr = Reader(err.fileHandleForReading)
            let checkpoint = root.appendingPathComponent("run\(attempt)/recipe.json")
            while process.isRunning && !FileManager.default.fileExists(atPath: checkpoint.path) { usleep(10_000) }
            usleep(UInt32(100_000 + 150_000 * attempt))  // inside a batch, in libtorch
            kill(process.processIdentifier, SIGINT)
            usleep(5_000)
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
            _ = stdout.text()
            let errors = stderr.text()
            #expect(process.terminationReason == .exit && process.terminationStatus == 130,
                    "attempt \(attempt): \(process.terminationReason.rawValue) \(process.terminationStatus) \(errors)")
        }
    }

    /// A write that fails mid-run (here past a file-size limit, as on a full disk) ends the
    /// run with one line naming the file and the cause; no temporary file is left and the
    /// folder holds no half-written model or checkpoint.
    @Test func aWriteFailingMidRunIsOneLineAndLeavesNoPartialFile() throws {
        let root = try Self.temporary("efbig")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.makeDataset(root)
        let run = root.appendingPathComponent("run")
        // ResNet-18's checkpoint is ~90 MB: a 20 MB limit lets recipe.json through, not it.
        let command = "ulimit -f 20000; exec \"$0\" \"$@\""
        let result = try Self.graft(["-c", command, Self.binary.path, "train", root.appendingPathComponent("train").path,
                                     "--model", "resnet18", "--weights", "none", "--freeze", "none", "--epochs", "1",
                                     "--image-size", "32", "--batch-size", "6", "--out", run.path],
                                    executable: URL(fileURLWithPath: "/bin/bash"))
        #expect(result.status == 1, "\(result.stderr)")
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1 && errors[0].contains(run.path) && errors[0].contains("File too large"),
                "\(result.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: run.path)
        #expect(!left.contains { $0.hasSuffix(".tmp") || $0.hasSuffix(".safetensors") }, "\(left)")
    }

    /// A batch too large for the machine is refused before it runs, with the numbers,
    /// instead of growing until the kernel kills the process.
    @Test func aBatchTooLargeForMemoryIsRefusedWithTheNumbers() throws {
        let root = try Self.temporary("memory")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.makeDataset(root)
        let run = root.appendingPathComponent("run")
        let train = try Self.graft([
            "train", root.appendingPathComponent("train").path, "--model", "resnet18", "--weights", "none",
            "--freeze", "none", "--epochs", "1", "--image-size", "16384", "--batch-size", "64", "--out", run.path,
        ])
        #expect(train.status == 1, "\(train.stderr)")
        #expect(train.stderr.contains("training at 16384 px in batches of 18 needs about"), "\(train.stderr)")
        #expect(train.stderr.contains("(--image-size, --batch-size)"))
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("model.safetensors").path))
    }

    /// DINOv2-S from a timm safetensors file in a Hugging Face cache folder: headless (no
    /// `head.*` keys) and on its 518-px grid, as timm's file is; `--weights pretrained` finds
    /// it, the position embeddings are resampled to 224 px, a new head is grafted, and the
    /// whole network fine-tunes.
    @Test func dinov2FineTunesAt224FromAHuggingFaceCacheFolder() throws {
        let root = try Self.temporary("dinov2")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.makeDataset(root, perClass: 3, size: 40)
        let name = "vit_small_patch14_dinov2.lvd142m"
        let base = root.appendingPathComponent("hub/models--timm--\(name)")
        let snapshot = base.appendingPathComponent("snapshots/5a9f2c1")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: base.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data("5a9f2c1".utf8).write(to: base.appendingPathComponent("refs/main"))
        let model = try Torch.withManualSeed(3) { try Zoo.make(name) }
        let entries = try model.stateDict().filter { !$0.key.hasPrefix("head.") }
            .map { (key: $0.key, tensor: try $0.tensor.tensorData()) }
        #expect(entries.first { $0.key == "pos_embed" }?.tensor.shape == [1, 1370, 384])
        try SafeTensors.write(StateDict(entries: entries), to: snapshot.appendingPathComponent("model.safetensors"))
        let run = root.appendingPathComponent("run")
        let train = try Self.graft([
            "train", root.appendingPathComponent("train").path, "--val", root.appendingPathComponent("val").path,
            "--model", name, "--weights", "pretrained", "--image-size", "224", "--epochs", "1",
            "--fine-tune-epochs", "1", "--batch-size", "3", "--out", run.path, "--json",
        ], environment: ["HF_HUB_CACHE": root.appendingPathComponent("hub").path, "HF_ENDPOINT": "http://127.0.0.1:9"])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.jsonLines.last?["epochs"] as? Int == 2)
        let card = try ModelFile.card(at: run.appendingPathComponent("model.safetensors"))
        #expect(card.architecture == name && card.preprocessing.cropSize == 224 && card.sourceLicense == "Apache-2.0")
        #expect(card.sourceWeights == "model.safetensors" && card.classes.count == 3)
    }

    /// `graft predict --model convnext_tiny --weights FILE` on a real photo gives the
    /// probabilities torchvision gives on the same weights (the zoo fixtures' seeded fill)
    /// through torchvision's eval transform for its DEFAULT weights (resize 236, crop 224).
    @Test func predictGivesTorchvisionsProbabilitiesOnARealPhoto() throws {
        let root = try Self.temporary("photo")
        defer { try? FileManager.default.removeItem(at: root) }
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../VisionTests/Fixtures").standardized
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("models.json")))
        let entry = try #require((index as? [String: Any])?["convnext_tiny"] as? [String: Any])
        let seed = try #require(entry["seed"] as? Int), gain = try #require(entry["gain"] as? Double)
        let model = try Zoo.make("convnext_tiny")
        fill(model, seed: UInt64(seed), gain: gain)
        let weights = root.appendingPathComponent("convnext_tiny.safetensors")
        try model.saveWeights(to: weights)
        let expected = try #require(try SafeTensors.read(fixtures.appendingPathComponent("convnext_tiny.safetensors"))
            .tensors().first { $0.key == "photo_probs" }?.tensor).toArray(Double.self)
        let photo = URL(fileURLWithPath: ProcessInfo.processInfo.environment["GRAFT_CACHE"]
            ?? NSHomeDirectory() + "/.cache/graft").appendingPathComponent("data/photos/chelsea.png")
        // fp32: torchvision's probabilities are fp32 ones (bf16's are checked op by op in AutocastTests).
        let predict = try Self.graft(["predict", "--model", "convnext_tiny", "--weights", weights.path, photo.path,
                                      "--top", "5", "--json", "--precision", "fp32"])
        #expect(predict.status == 0, "\(predict.stderr)")
        let top = try #require(predict.jsonLines.first?["top"] as? [[String: Any]])
        let reference = expected.enumerated().sorted { $0.element > $1.element }.prefix(5)
        #expect(top.compactMap { $0["index"] as? Int } == reference.map(\.offset))
        for (ours, theirs) in zip(top.compactMap { $0["probability"] as? Double }, reference.map(\.element)) {
            #expect(abs(ours - theirs) < 2e-6 + 1e-3 * theirs, "\(ours) vs torchvision's \(theirs)")
        }
        // The default precision (bf16 on a CPU with avx512_bf16 or AMX): the same top class and
        // probabilities within bfloat16's reach of fp32's (8 bits of mantissa through 18 blocks).
        let auto = try Self.graft(["predict", "--model", "convnext_tiny", "--weights", weights.path, photo.path,
                                   "--top", "5", "--json"])
        let autoTop = try #require(auto.jsonLines.first?["top"] as? [[String: Any]])
        #expect(autoTop.first?["index"] as? Int == reference.first?.offset)
        #expect(abs((autoTop.first?["probability"] as? Double ?? 0) - (reference.first?.element ?? 1)) < 0.02)
    }

    /// `graft predict` takes folders as fastai's `get_image_files` does: every image under
    /// them, sorted; a folder without images is an error that names it.
    @Test func predictExpandsFolders() throws {
        let root = try Self.temporary("predict-folder")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try Self.fashionMNISTFolder(data, perClass: 1)
        let predict = try Self.graft(["predict", "--model", "efficientnet_lite0", "--weights", "imagenet", data.path,
                                      "--top", "1", "--json"])
        #expect(predict.status == 0, "\(predict.stderr)")
        let paths = predict.jsonLines.compactMap { $0["path"] as? String }
        #expect(paths.count == 10 && paths == paths.sorted() && paths.allSatisfy { $0.hasPrefix(data.path + "/") })
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let refused = try Self.graft(["predict", "--model", "efficientnet_lite0", "--weights", "imagenet", empty.path])
        #expect(refused.status == 1 && refused.stderr.contains(empty.path) && refused.stderr.contains("no images"))
    }

    /// `perClass` Fashion-MNIST training images per class (Debian's files) as an ImageFolder of PNGs.
    static func fashionMNISTFolder(_ folder: URL, perClass: Int, seed: UInt64 = 0) throws {
        let dir = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
        let full = try IDXDataset(images: dir.appendingPathComponent("train-images-idx3-ubyte.gz"),
                                  labels: dir.appendingPathComponent("train-labels-idx1-ubyte.gz"),
                                  classes: IDXDataset.fashionMNISTClasses, channels: 1)
        let few = full.nPerClass(perClass, seed: seed)
        for i in 0..<few.count {
            let classFolder = folder.appendingPathComponent(few.classes[few.labels[i]])
            try FileManager.default.createDirectory(at: classFolder, withIntermediateDirectories: true)
            try PNG.encode(try few.image(at: i)).write(to: classFolder.appendingPathComponent("\(i).png"))
        }
    }

    /// `--head-fit converged` (the tuned probe in one step) on real features does at least as
    /// well on held-out images as five SGD epochs of the head, and is one record long.
    @Test func aConvergedHeadBeatsFiveSGDEpochs() throws {
        let root = try Self.temporary("converged")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.fashionMNISTFolder(root.appendingPathComponent("data"), perClass: 8)
        func train(_ extra: [String], _ name: String) throws -> [String: Any] {
            let run = try Self.graft(["train", root.appendingPathComponent("data").path, "--val-split", "0.25",
                                      "--image-size", "128", "--out", root.appendingPathComponent(name).path, "--json"]
                                     + extra)
            #expect(run.status == 0, "\(run.stderr)")
            return try #require(run.jsonLines.last)
        }
        let converged = try train(["--head-fit", "converged", "--fine-tune-epochs", "0"], "converged")
        let sgd = try train(["--recipe", "classic"], "sgd")
        let (a, b) = (converged["val_accuracy"] as? Double ?? 0, sgd["val_accuracy"] as? Double ?? 1)
        #expect(a >= b, "converged head \(a) vs 5 SGD epochs \(b)")
        #expect(converged["epochs"] as? Int == 1)
        // The default recipe (auto): that converged head, then the whole network fine-tuned
        // while validation improves; the best of both phases is the model.
        let auto = try train([], "auto")
        #expect((auto["epochs"] as? Int ?? 0) > 1 && (auto["val_accuracy"] as? Double ?? 0) >= a)
        let metrics = try String(contentsOf: root.appendingPathComponent("auto/metrics.csv"), encoding: .utf8)
        #expect(metrics.contains("fine-tune") && metrics.contains("head"))
        let refused = try Self.graft(["train", root.appendingPathComponent("data").path, "--head-fit", "converged",
                                      "--augment", "light", "--out", root.appendingPathComponent("x").path])
        #expect(refused.status == 64 && refused.stderr.contains("--head-fit converged"))
    }

    /// `graft lr-find` on real weights and images: fastai's sweep of the head, its plot and its
    /// suggestion; `graft train --lr auto` trains the head at that very rate and says so.
    @Test func lrFindSuggestsTheRateTrainLrAutoUses() throws {
        let root = try Self.temporary("lrfind")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data").path
        try Self.fashionMNISTFolder(URL(fileURLWithPath: data), perClass: 8)
        let plot = root.appendingPathComponent("lr.png").path
        // The sweep of the recipe train runs below: classic's SGD has no weight decay (lr-find's auto preset 0.01).
        let find = try Self.graft(["lr-find", data, "--image-size", "96", "--out", plot, "--json", "--optimizer", "sgd",
                                   "--batch-size", "16", "--weight-decay", "0"])
        #expect(find.status == 0, "\(find.stderr)")
        let object = try #require(find.jsonLines.last)
        let suggestion = try #require(object["suggestion"] as? Double)
        let losses = try #require(object["smoothed_losses"] as? [Double])
        #expect(suggestion > 1e-7 && suggestion < 10 && losses.count > 20)
        #expect(try Data(contentsOf: URL(fileURLWithPath: plot)).starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let train = try Self.graft(["train", data, "--recipe", "classic", "--lr", "auto", "--epochs", "2",
                                    "--image-size", "96", "--batch-size", "16",
                                    "--out", root.appendingPathComponent("run").path])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("learning-rate finder suggests " + String(format: "%.3g", suggestion)), "\(train.stderr)")
        let metrics = try String(contentsOf: root.appendingPathComponent("run/metrics.csv"), encoding: .utf8)
        #expect(metrics.contains(String(format: "%.6g", suggestion)))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("run/lr_find_head.png").path))
        let bad = try Self.graft(["lr-find", data, "--start-lr", "1", "--end-lr", "0.1"])
        #expect(bad.status == 64 && bad.stderr.contains("--end-lr"))
        let badLR = try Self.graft(["train", data, "--lr", "fast", "--out", root.appendingPathComponent("x").path])
        #expect(badLR.status == 64 && badLR.stderr.contains("--lr"))
    }

    /// Multi-label end to end on real weights: images holding any of three coloured patches,
    /// listed in CSVs with space-separated labels. The converged per-class head and a
    /// fine-tuning epoch give a high mAP; the card carries per-class thresholds, eval
    /// reproduces the run's validation mAP from the images, predict names the patches.
    @Test func multiLabelTrainEvalPredict() throws {
        let root = try Self.temporary("multilabel")
        defer { try? FileManager.default.removeItem(at: root) }
        let colours: [(name: String, rgb: (UInt8, UInt8, UInt8), x: Int, y: Int)] = [
            ("red", (230, 30, 30), 4, 4), ("green", (30, 200, 30), 44, 44), ("blue", (30, 30, 230), 4, 44)]
        var state: UInt64 = 7
        func random() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        func write(_ split: String, count: Int) throws -> [(file: String, labels: [String])] {
            var rows: [(String, [String])] = []
            for i in 0..<count {
                let present = colours.indices.filter { _ in random() % 2 == 0 }
                var rgb = [UInt8](repeating: 0, count: 64 * 64 * 3)
                for p in 0..<(64 * 64) { for c in 0..<3 { rgb[p * 3 + c] = UInt8(100 + random() % 40) } }
                for k in present {
                    let colour = colours[k]
                    for y in colour.y..<(colour.y + 16) {
                        for x in colour.x..<(colour.x + 16) {
                            let p = (y * 64 + x) * 3
                            (rgb[p], rgb[p + 1], rgb[p + 2]) = colour.rgb
                        }
                    }
                }
                let file = "\(split)\(i).png"
                try PNG.encode(rgb: rgb, width: 64, height: 64).write(to: root.appendingPathComponent(file))
                rows.append((file, present.map { colours[$0].name }))
            }
            let csv = "path,labels\n" + rows.map { "\($0.0),\($0.1.joined(separator: " "))" }.joined(separator: "\n") + "\n"
            try Data(csv.utf8).write(to: root.appendingPathComponent("\(split).csv"))
            return rows
        }
        _ = try write("train", count: 40)
        let val = try write("val", count: 20)
        let run = root.appendingPathComponent("run").path
        let train = try Self.graft(["train", root.appendingPathComponent("train.csv").path, "--multi-label",
                                    "--val", root.appendingPathComponent("val.csv").path, "--image-size", "96",
                                    "--fine-tune-epochs", "1", "--out", run, "--json"])
        #expect(train.status == 0, "\(train.stderr)")
        let card = try #require(try ModelFile.cardIfPresent(at: URL(fileURLWithPath: run + "/model.safetensors")))
        #expect(card.multiLabel == true && card.thresholds?.count == 3 && card.temperature == nil)
        let map = try #require(card.metrics["val_map"])
        #expect(map > 0.9, "validation mAP \(map)")
        let eval = try Self.graft(["eval", run, root.appendingPathComponent("val.csv").path, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let metrics = try #require(eval.jsonLines.last)
        #expect(abs((metrics["map"] as? Double ?? 0) - map) < 1e-3, "eval mAP \(metrics["map"] ?? "-") vs the run's \(map)")
        #expect(abs((metrics["f1_micro"] as? Double ?? 0) - (card.metrics["val_f1_micro"] ?? -1)) < 0.051)
        let predicted = try Self.graft(["predict", run] + val.map { root.appendingPathComponent($0.file).path } + ["--json"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let answers = predicted.jsonLines.compactMap { $0["labels"] as? [String] }
        #expect(answers.count == val.count)
        let exact = zip(answers, val).filter { Set($0) == Set($1.labels) }.count
        #expect(exact >= val.count * 4 / 5, "\(exact) of \(val.count) images with exactly their patches: \(answers)")
        let report = try String(contentsOf: URL(fileURLWithPath: run + "/report.html"), encoding: .utf8)
        #expect(report.contains("Validation mAP") && report.contains("Average precision"))
        let folder = try Self.graft(["train", root.path, "--multi-label", "--out", root.appendingPathComponent("x").path])
        #expect(folder.status == 64 && folder.stderr.contains("multi-label set is a CSV"), "\(folder.stderr)")
        let mixed = try Self.graft(["train", root.appendingPathComponent("train.csv").path, "--multi-label", "--mixup",
                                    "0.2", "--out", root.appendingPathComponent("y").path])
        #expect(mixed.status == 64 && mixed.stderr.contains("--multi-label"), "\(mixed.stderr)")
    }

    /// `graft select` on a few-shot set from Fashion-MNIST (Debian's files): EfficientNet-Lite0
    /// and Lite2 with their real weights rank above the same architecture with random weights
    /// by k-NN accuracy and LogME; a rerun reads the features back from --out.
    @Test func selectRanksRealWeightsAboveRandomOnes() throws {
        let root = try Self.temporary("select")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.fashionMNISTFolder(root.appendingPathComponent("data"), perClass: 10)
        let arguments = ["select", root.appendingPathComponent("data").path, "--val-split", "0.25", "--models",
                         "efficientnet_lite0,efficientnet_lite2,efficientnet_lite0:none", "--image-size", "128",
                         "--out", root.appendingPathComponent("select").path, "--json"]
        let first = try Self.graft(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        let rows = first.jsonLines.filter { $0["rank"] != nil }
        #expect(rows.count == 3)
        func row(_ weights: String, _ model: String) -> [String: Any]? {
            rows.first { $0["model"] as? String == model && $0["weights"] as? String == weights }
        }
        let random = try #require(row("none", "efficientnet_lite0"))
        for model in ["efficientnet_lite0", "efficientnet_lite2"] {
            let real = try #require(row("imagenet", model))
            for measure in ["knn_accuracy", "logme"] {
                let (a, b) = (real[measure] as? Double ?? -.infinity, random[measure] as? Double ?? .infinity)
                #expect(a > b, "\(model) \(measure): \(a) vs random weights' \(b)")
            }
            // A linear probe on 70 images doesn't separate them on Fashion-MNIST: random convolutions
            // make fair features of 28-pixel garments (10 per class at 128 px, fp32: random weights 0.671,
            // Lite0 0.657, Lite2 0.614). It is there and well above chance (0.1).
            #expect((real["probe_accuracy"] as? Double ?? 0) > 0.3)
            #expect(real["leep"] is Double && real["nce"] is Double && real["validation_accuracy"] is Double)
        }
        #expect(random["leep"] == nil)
        #expect((first.jsonLines.last?["command"] as? String)?.hasPrefix("graft train ") == true)
        let page = try String(contentsOf: root.appendingPathComponent("select/select.html"), encoding: .utf8)
        #expect(page.contains("Linear-probe accuracy") && page.contains("data:image/png;base64,")
                && page.contains("graft train "))
        for r in rows { #expect((r["gflops"] as? Double ?? 0) > 0.05, "\(r["model"] ?? "?"): GFLOPs \(r["gflops"] ?? "none")") }
        // The rerun reads the features back; with --budget it also fine-tunes the three by
        // successive halving (two rounds), and the winner becomes the recommendation.
        let again = try Self.graft(arguments + ["--budget", "30"])
        #expect(again.status == 0, "\(again.stderr)")
        let raced = again.jsonLines.filter { $0["rank"] != nil }
        #expect(raced.allSatisfy { $0["cached"] as? Bool == true })
        #expect(raced.map { $0["probe_accuracy"] as? Double } == rows.map { $0["probe_accuracy"] as? Double })
        let fineTunes = raced.compactMap { $0["fine_tune"] as? [String: Any] }
        #expect(fineTunes.count == 3 && fineTunes.allSatisfy { ($0["epochs"] as? Int ?? 0) >= 1 })
        let winners = raced.filter { ($0["fine_tune"] as? [String: Any])?["dropped_after_round"] == nil }
        #expect(winners.count == 1)
        let winner = try #require(winners.first)
        #expect(winner["weights"] as? String == "imagenet", "random weights won the fine-tunes")
        let summary = try #require(again.jsonLines.last)
        #expect(summary["recommended"] as? String == winner["model"] as? String)
        #expect((summary["reason"] as? String)?.contains("fine-tunes") == true)
        let run = try #require((winner["fine_tune"] as? [String: Any])?["run"] as? String)
        #expect(FileManager.default.fileExists(atPath: run + "/model.safetensors"))
        let racedPage = try String(contentsOf: root.appendingPathComponent("select/select.html"), encoding: .utf8)
        #expect(racedPage.contains("Short fine-tunes") && racedPage.contains("GFLOPs") && racedPage.contains("winner"))
    }

    @Test func modelsListsTheZoo() throws {
        let models = try Self.graft(["models", "--json"])
        #expect(models.status == 0)
        let names = models.jsonLines.compactMap { $0["name"] as? String }
        #expect(names.count == 79 && names.contains("efficientnet_lite0") && names.contains("vit_h_14")
                && names.contains("vit_small_patch14_dinov2.lvd142m"))
        let vit = try #require(models.jsonLines.first { $0["name"] as? String == "vit_b_16" })
        let entries = try #require(vit["weights"] as? [[String: Any]])
        #expect(entries.map { $0["tag"] as? String } == ["IMAGENET1K_V1", "IMAGENET1K_SWAG_E2E_V1",
                                                         "IMAGENET1K_SWAG_LINEAR_V1"])
        #expect(entries.map { $0["license"] as? String } == ["BSD-3-Clause", "CC-BY-NC-4.0", "CC-BY-NC-4.0"])
        let all = try Self.graft(["models", "--all"])
        #expect(all.stdout.contains("IMAGENET1K_SWAG_E2E_V1") && all.stdout.contains("(non-commercial only)"))
        let tag = try Self.graft(["predict", "--model", "resnet18", "--weights", "IMAGENET1K_SWAG_E2E_V1", "x.png"])
        #expect(tag.status == 64 && tag.stderr.contains("resnet18 has no IMAGENET1K_SWAG_E2E_V1 weights; it has IMAGENET1K_V1"),
                "\(tag.stderr)")
        #expect(models.jsonLines.allSatisfy { $0["parameters"] is Int && $0["input_size"] is Int })
    }
}
