import ArgumentParser
import Foundation
import Graft

struct Select: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank pretrained models for this data by how well their frozen features fit it.",
        discussion: """
            For each candidate: one eval-mode pass over the training images (features kept in \
            --out, so a rerun is instant), then linear-probe accuracy (logistic regression, L2 by \
            stratified 5-fold cross-validation; the ranking's key) ± its sd over folds, k-NN \
            accuracy (cosine, 5 neighbours, same folds), LogME (exact evidence; PCA first when \
            there are fewer images than feature dimensions), LEEP and NCE where the weights keep \
            their ImageNet head, the weights' ImageNet top-1, parameters and measured images/s, \
            and how often each candidate comes out first over 1000 bootstrap resamples.

            --budget SECONDS then fine-tunes the best three for about that long by successive \
            halving (each round's time split among those still in, the better half going on) with \
            graft train's default recipe (the converged head, then the whole network), scored on --val / --val-split \
            (or, without them, on a stratified fifth of the training images held out for it). \
            The winner becomes the recommendation; its run folder is under --out/fine-tunes.

            Candidates: --models a,b,c (NAME or NAME:WEIGHTS, e.g. resnet50:IMAGENET1K_V1 or \
            resnet50:none), --local (every model whose weights are on this machine; the default), \
            or --all (every model in the zoo, downloading weights).

            Examples:
              graft select photos --out runs/select
              graft select photos --models efficientnet_lite0,efficientnet_lite2,resnet50 --image-size 160
              graft select photos --json | jq -r 'select(.recommended) | .model'
              graft select photos --val-split 0.2 --budget 600 --out runs/select
            """
    )

    @Argument(help: "Training images: a folder with one sub-folder per class, or a CSV of path,label.")
    var trainData: String
    @Option(help: "Validation images, scored by the probe fitted on all training images (never seen by its CV).")
    var val: String?
    @Option(help: "Hold out this fraction of the training images (stratified) as the validation set.") var valSplit: Double?
    @Option(help: "Comma-separated candidates: NAME or NAME:WEIGHTS.") var models: String?
    @Flag(help: "Every model whose weights are on this machine (the default).") var local = false
    @Flag(help: "Every model in the zoo (weights found or downloaded).") var all = false
    @Option(help: "Square input size for every candidate (default: each weights' own).") var imageSize: Int?
    @Option(help: "Batch size of the feature passes (and the fine-tunes).") var batchSize: Int = 32
    @Option(help: "Seconds for short fine-tunes of the best three (successive halving).") var budget: Double?
    @Option(help: "Folder for the feature cache, results.jsonl and select.html (default: nothing kept).")
    var out: String?
    @OptionGroup(title: "Runtime") var runtime: RuntimeOptions
    @Flag(help: "One JSON object per candidate, best first, then the recommendation.") var json = false

    func validate() throws {
        try requireExists(trainData, "TRAIN_DIR")
        if [models != nil, local, all].filter({ $0 }).count > 1 { throw ValidationError("give one of --models, --local or --all") }
        if let val { try requireExists(val, "--val") }
        if val != nil && valSplit != nil { throw ValidationError("give --val or --val-split, not both") }
        try check("--val-split", valSplit, in: 0...1, open: true)
        try check("--batch-size", batchSize, in: 1...65_536)
        try check("--budget", budget, in: 1...604_800)
        for candidate in try candidates() {
            try checkImageSize(imageSize, model: candidate.model, training: false)
            try checkWeightsTag(candidate.weights, model: candidate.model)
            if case .file(let path) = candidate.weights { try requireExists(path, "--models \(candidate)") }
        }
        if let out, out.isEmpty { throw ValidationError("--out must name a folder") }
    }

    func candidates() throws -> [ModelSelection.Candidate] {
        if let models {
            let list = models.split(separator: ",").map { ModelSelection.Candidate(parsing: String($0)) }
            guard !list.isEmpty else { throw ValidationError("--models is empty: name at least one model") }
            for c in list where Zoo.entry(c.model) == nil {
                throw ValidationError("--models: \(ZooError.unknownModel(c.model))")
            }
            return list
        }
        let store = WeightsStore()
        let chosen = Zoo.entries.filter { entry in
            all || PretrainedWeights.forModel(entry.name).flatMap { store.locate($0) } != nil
        }
        guard !chosen.isEmpty else {
            throw ValidationError("no model's weights are on this machine (graft models); name candidates with --models")
        }
        return chosen.map { ModelSelection.Candidate(model: $0.name) }
    }

    func run() throws {
        try runtime.apply()
        let precision = try runtime.resolvedPrecision()
        let progress = ProgressReporter(quiet: json)
        var dataset: any Dataset = try openDataset(trainData)
        var validation: (any Dataset)?
        if let val {
            validation = try openDataset(val, classes: dataset.classes)
        } else if let valSplit {
            let parts = dataset.split(validationFraction: valSplit, seed: 0)
            (dataset, validation) = (parts.train, parts.validation)
        }
        guard dataset.classes.count >= 2 else { throw TrainingError.tooFewClasses(dataset.classes) }
        let labels = dataset.labels
        let digest = ModelSelection.datasetDigest(dataset)
        let outURL = out.map { URL(fileURLWithPath: $0) }
        var reports: [ModelSelection.Report] = []
        let candidates = try candidates()
        progress.line("selecting among \(candidates.count) models on \(dataset.count) images, \(dataset.classes.count) classes")
        progress.line("precision \(precision)")
        for candidate in candidates {
            let loaded = try Torch.withManualSeed(0) { try LoadedModel.load(architecture: candidate.model, weights: candidate.weights) }
            let size = imageSize ?? loaded.preprocessing.cropSize
            // Features made in another precision are other features: the precision is in the cache's name.
            let key = "\(candidate)".replacingOccurrences(of: "/", with: "_")
                + (precision.precision == .fp32 ? "" : "-\(precision.precision)")
            let cache = outURL?.appendingPathComponent("features/\(key)-\(size)px-\(digest).safetensors")
            let (features, probabilities, seconds, cached) = try ModelSelection.features(
                of: loaded, dataset: dataset, imageSize: imageSize, batchSize: batchSize, workers: runtime.workerCount,
                device: runtime.device, precision: precision.precision, cache: cache,
                onBatch: { done, total in progress.bar(done, total, "\(candidate) images") })
            progress.line("")
            let measured = try ModelSelection.measure(
                candidate, features: features, probabilities: probabilities, labels: labels, seconds: seconds,
                fromCache: cached, imageSize: size, parameters: loaded.model.parameterCount(),
                imagenetTop1: loaded.catalogueEntry?.accuracy, multiplyAdds: try? loaded.model.multiplyAdds(imageSize: size))
            var report = measured
            if let validation {
                let valCache = outURL?.appendingPathComponent(
                    "features/\(key)-\(size)px-\(ModelSelection.datasetDigest(validation)).safetensors")
                let (valFeatures, _, _, _) = try ModelSelection.features(
                    of: loaded, dataset: validation, imageSize: imageSize, batchSize: batchSize,
                    workers: runtime.workerCount, device: runtime.device, precision: precision.precision,
                    cache: valCache)
                report.validationAccuracy = ModelSelection.validationAccuracy(
                    features: features, labels: labels, validation: valFeatures, validationLabels: validation.labels,
                    classes: dataset.classes.count, l2: report.probeL2)
            }
            progress.line("\(candidate): probe \(String(format: "%.3f", report.probeAccuracy)) ± "
                          + String(format: "%.3f", report.probeSD)
                          + (report.validationAccuracy.map { String(format: ", on the validation set %.3f", $0) } ?? "")
                          + (cached ? " (cached features)" : ""))
            reports.append(report)
        }
        var ranked = ModelSelection.rank(reports)
        let featureSeconds = ranked.map(\.featureSeconds).reduce(0, +)
        let measureSeconds = ranked.map(\.measureSeconds).reduce(0, +)
        progress.line(String(format: "measures: %.2f s", measureSeconds)
                      + (featureSeconds > 0 ? String(format: ", %.1f %% of the %.1f s of feature passes",
                                                      100 * measureSeconds / featureSeconds, featureSeconds) : ""))
        if let budget {
            ranked = try race(ranked, budget: budget, train: dataset, validation: validation, out: outURL, progress: progress)
        }
        guard let (best, reason) = ModelSelection.recommendation(ranked) else { return }
        var command = "graft train \(trainData) --model \(best.candidate.model)"
        if best.candidate.weights != .pretrained { command += " --weights \(best.candidate.weights)" }
        if let val { command += " --val \(val)" } else if let valSplit { command += " --val-split \(valSplit)" }
        if let imageSize { command += " --image-size \(imageSize)" }
        command += " --out runs/\(best.candidate.model)"
        let disagreements = ModelSelection.disagreements(ranked)
        if json {
            for (i, r) in ranked.enumerated() { print(try jsonLine(jsonObject(r, rank: i + 1))) }
            print(try jsonLine(["recommended": best.candidate.description, "reason": reason, "command": command,
                                "disagreements": disagreements, "measure_seconds": measureSeconds,
                                "feature_seconds": featureSeconds]))
        } else {
            printTable(ranked)
            for r in ranked where r.logMEReducedTo != nil {
                print("note: \(r.candidate): LogME on \(r.logMEReducedTo!) PCA dimensions "
                      + "(\(dataset.count) images ≤ \(r.featureDimension) feature dimensions)")
            }
            for d in disagreements { print("warning: the measures disagree: \(d)") }
            print("recommended: \(best.candidate): \(reason)")
            print("next: \(command)")
        }
        if let outURL {
            try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
            let lines = try ranked.enumerated().map { try jsonLine(jsonObject($1, rank: $0 + 1)) }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: outURL.appendingPathComponent("results.jsonl"),
                                                                        options: .atomic)
            let page = SelectionPage(data: trainData, images: dataset.count, classes: dataset.classes.count,
                                     ranked: ranked, recommended: best.candidate.description, reason: reason,
                                     command: command, disagreements: disagreements,
                                     created: ISO8601DateFormatter().string(from: Date()))
            let html = outURL.appendingPathComponent("select.html")
            try Data(try page.html().utf8).write(to: html, options: .atomic)
            if !json { print("report: \(html.path)") }
        }
    }

    func jsonObject(_ r: ModelSelection.Report, rank: Int) -> [String: Any] {
        var o: [String: Any] = [
            "rank": rank, "model": r.candidate.model, "weights": r.candidate.weights.description,
            "probe_accuracy": r.probeAccuracy, "probe_sd": r.probeSD, "probe_l2": r.probeL2,
            "knn_accuracy": r.knnAccuracy, "knn_sd": r.knnSD, "logme": r.logME, "parameters": r.parameters,
            "feature_dimension": r.featureDimension, "image_size": r.imageSize, "first_share": r.firstShare,
            "images_per_s": r.imagesPerSecond, "feature_seconds": r.featureSeconds, "cached": r.fromCache,
        ]
        if let v = r.logMEReducedTo { o["logme_pca_dimensions"] = v }
        if let v = r.leep { o["leep"] = v }
        if let v = r.nce { o["nce"] = v }
        if let v = r.imagenetTop1 { o["imagenet_top1"] = v }
        if let v = r.validationAccuracy { o["validation_accuracy"] = v }
        if let v = r.multiplyAdds { o["gflops"] = Double(v) / 1e9 }
        o["measure_seconds"] = r.measureSeconds
        if let race = r.fineTune {
            var f: [String: Any] = ["epochs": race.fineTuneEpochs, "seconds": race.seconds]
            if out != nil { f["run"] = race.runDirectory.path }
            if let v = race.validationAccuracy { f["validation_accuracy"] = v }
            if let v = race.droppedAfter { f["dropped_after_round"] = v }
            if let v = race.failure { f["failure"] = v }
            o["fine_tune"] = f
        }
        return o
    }

    func printTable(_ ranked: [ModelSelection.Report]) {
        let raced = ranked.contains { $0.fineTune != nil }
        let width = max(5, ranked.map { $0.candidate.description.count }.max() ?? 5)
        func cell(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "-" }
        print("#  " + "model".padding(toLength: width, withPad: " ", startingAt: 0)
              + "  probe ± sd      k-NN    LogME     LEEP     NCE  first  ImageNet  params  GFLOPs    img/s"
              + (raced ? "  fine-tune" : ""))
        for (i, r) in ranked.enumerated() {
            let probe = String(format: "%.3f ± %.3f", r.probeAccuracy, r.probeSD)
            let columns: [(String, Int)] = [
                (probe, 13), (cell(r.knnAccuracy, "%.3f"), 7), (cell(r.logME, "%.3f"), 8), (cell(r.leep, "%.3f"), 8),
                (cell(r.nce, "%.3f"), 7), (String(format: "%.0f%%", r.firstShare * 100), 6),
                (cell(r.imagenetTop1, "%.1f%%"), 9), (String(format: "%.1fM", Double(r.parameters) / 1e6), 7),
                (cell(r.multiplyAdds.map { Double($0) / 1e9 }, "%.2f"), 7),
                (r.fromCache ? "cached" : String(format: "%.1f", r.imagesPerSecond), 8),
            ] + (raced ? [(r.fineTune.map { f in f.failure != nil ? "failed" : cell(f.validationAccuracy, "%.3f") } ?? "-", 10)] : [])
            let row = columns.map { String(repeating: " ", count: max(0, $0.1 - $0.0.count)) + $0.0 }.joined(separator: " ")
            print(String(i + 1).padding(toLength: 3, withPad: " ", startingAt: 0)
                  + r.candidate.description.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + row)
        }
    }

    /// The short fine-tunes of the best three, their outcome put on their reports.
    func race(_ ranked: [ModelSelection.Report], budget: Double, train: any Dataset, validation: (any Dataset)?,
              out: URL?, progress: ProgressReporter) throws -> [ModelSelection.Report] {
        var (trainSet, valSet): (any Dataset, any Dataset)
        if let validation {
            (trainSet, valSet) = (train, validation)
        } else {
            let parts = train.split(validationFraction: 0.2, seed: 0)
            (trainSet, valSet) = (parts.train, parts.validation)
            progress.line("fine-tunes: \(parts.validation.count) of the training images held out to score them "
                          + "(give --val or --val-split to choose)")
        }
        let finalists = Array(ranked.prefix(3).map(\.candidate))
        var race = FineTuneRace(budget: budget)
        race.imageSize = imageSize
        race.batchSize = batchSize
        race.device = runtime.device
        race.precision = runtime.precision.recipeValue
        race.workers = runtime.workerCount
        let temporary = out == nil
            ? FileManager.default.temporaryDirectory.appendingPathComponent("graft-select-\(UUID().uuidString)") : nil
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        let directory = out?.appendingPathComponent("fine-tunes") ?? temporary!
        progress.line(String(format: "fine-tuning %@ for %.0f s in %d round%@ of successive halving",
                             finalists.map(\.description).joined(separator: ", "), budget,
                             FineTuneRace.rounds(for: finalists.count), FineTuneRace.rounds(for: finalists.count) == 1 ? "" : "s"))
        let entries = try race.run(finalists, train: trainSet, validation: valSet, directory: directory) { candidate, round, event in
            switch event {
            case .batchFinished(let epoch, let batch, let of, _, _, _):
                progress.bar(batch + 1, of, "round \(round) \(candidate) epoch \(epoch + 1)")
            case .phaseStarted(.fineTune, _, _) where round == 1:
                progress.line("round \(round) \(candidate): the head trained on cached features, now the whole network")
            case .epochFinished(let record) where record.phase == .fineTune:
                progress.line("round \(round) \(candidate) epoch \(record.epoch + 1) (\(record.phase.rawValue)): "
                              + String(format: "validation accuracy %.3f, %.1f s", record.valAccuracy ?? 0, record.seconds))
            default: break
            }
        }
        var out = ranked
        for entry in entries {
            guard let i = out.firstIndex(where: { $0.candidate == entry.candidate }) else { continue }
            out[i].fineTune = entry
            if let failure = entry.failure { progress.line("fine-tune of \(entry.candidate) failed: \(failure)") }
        }
        return out
    }
}
