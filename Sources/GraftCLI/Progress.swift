import Foundation
import Graft

/// Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise (logs, CI).
final class ProgressReporter {
    let isTerminal = isatty(STDERR_FILENO) == 1
    var lastDraw = Date.distantPast
    let quiet: Bool
    /// For messages that name classes.
    var classNames: [String] = []

    init(quiet: Bool = false) { self.quiet = quiet }

    func line(_ text: String) {
        guard !quiet else { return }
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func bar(_ done: Int, _ total: Int, _ suffix: String) {
        guard !quiet, isTerminal, Date().timeIntervalSince(lastDraw) > 0.1 || done == total else { return }
        lastDraw = Date()
        let width = 24
        let filled = total > 0 ? width * done / total : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\u{1B}[K\(bar) \(done)/\(total) \(suffix)".utf8))
    }

    /// Renders trainer events.
    func handle(_ event: TrainingEvent) {
        switch event {
        case .phaseStarted(let phase, let trainable, let cached):
            line("phase \(phase.rawValue): \(trainable) trainable parameters\(cached ? ", cached trunk features" : "")")
        case .featuresCached(let samples, let seconds):
            line(String(format: "cached features of %d images in %.1f s", samples, seconds))
        case .classWeights(let weights):
            line("class weights: " + zip(classNames, weights).map { "\($0.0) " + String(format: "%.3f", $0.1) }
                .joined(separator: ", "))
        case .epochStarted: epochStart = Date()
        case .batchFinished(let epoch, let batch, let of, let loss, let accuracy, let rate):
            let remaining = rate > 0 ? Double(of - batch) * (Date().timeIntervalSince(epochStart) / Double(batch)) : 0
            bar(batch, of, String(format: "epoch %d  loss %.4f  acc %.3f  %.0f img/s  ETA %.0fs", epoch + 1, loss, accuracy,
                                  rate, remaining))
        case .epochFinished(let r):
            var text = String(format: "epoch %d/%@ %@  train loss %.4f acc %.4f", r.epoch + 1, totalEpochs, r.phase.rawValue,
                              r.trainLoss, r.trainAccuracy)
            if let loss = r.valLoss, let acc = r.valAccuracy { text += String(format: "  val loss %.4f acc %.4f", loss, acc) }
            if let map = r.valMAP { text += String(format: " mAP %.4f", map) }
            text += String(format: "  %.1fs%@", r.seconds, r.isBest ? "  *best" : "")
            line(text)
        case .checkpointSaved: break
        case .learningRateFound(let phase, let finding):
            if let lr = finding.suggestion {
                line("\(phase.rawValue) phase: the learning-rate finder suggests " + String(format: "%.3g", lr)
                     + " (valley of \(finding.losses.count) batches\(finding.diverged ? ", stopped at divergence" : ""))")
            }
        }
    }
    var epochStart = Date()
    var totalEpochs = "?"
}
