import Foundation
import ImageData
import Torch

/// Short fine-tunes of the best few candidates, by successive halving (Jamieson &
/// Talwalkar 2016): each round splits its share of the time budget evenly among the
/// candidates still in, each trains (resuming where its last round stopped) until its
/// share is spent, and the better half by validation accuracy goes on. The only ground
/// truth `graft select` has: what fine-tuning reaches on held-out images, beside what the
/// frozen features predict.
public struct FineTuneRace {
    /// One round of one candidate.
    public struct Round: Sendable {
        public var round: Int
        /// Fine-tuning epochs run so far (the head epochs before them not counted).
        public var fineTuneEpochs: Int
        /// The best validation accuracy so far (its epoch's model is the run folder's).
        public var validationAccuracy: Double
        public var validationLoss: Double?
        /// Seconds this round took, model loading and feature caching included.
        public var seconds: Double
    }

    /// A candidate's race.
    public struct Entry: Sendable {
        public var candidate: ModelSelection.Candidate
        public var rounds: [Round] = []
        /// The round after which it was dropped (1-based); nil for the winner.
        public var droppedAfter: Int?
        /// Why it could not train (it is dropped then), in one line.
        public var failure: String?
        /// Its run folder (recipe, checkpoint, best model).
        public var runDirectory: URL

        public var validationAccuracy: Double? { rounds.last?.validationAccuracy }
        public var fineTuneEpochs: Int { rounds.last?.fineTuneEpochs ?? 0 }
        public var seconds: Double { rounds.map(\.seconds).reduce(0, +) }
    }

    /// Seconds for the whole race.
    public var budget: TimeInterval
    public var imageSize: Int?
    public var batchSize = 32
    public var device: Device = .cpu
    /// The fine-tunes' precision (nil: auto, as `graft train`).
    public var precision: PrecisionChoice?
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    public var badFiles: BadFilePolicy = .fail

    public init(budget: TimeInterval) { self.budget = budget }

    /// The number of rounds for `count` candidates: halving until one is left.
    public static func rounds(for count: Int) -> Int {
        var rounds = 0, left = count
        while left > 1 { left = (left + 1) / 2; rounds += 1 }
        return max(rounds, 1)
    }

    /// The short fine-tune is `graft train`'s default recipe (``Recipe/Preset/auto``): the
    /// head fitted to convergence on cached features, then the whole network, for as many
    /// epochs as the time allows instead of until validation stops improving (its rate is
    /// constant, so a later round resumes exactly where the last stopped). What the race
    /// measures is what the recommended `graft train` line would start from.
    public func recipe(for candidate: ModelSelection.Candidate) -> Recipe {
        var recipe = Recipe.preset(.auto, model: candidate.model, validated: true)
        recipe.weights = candidate.weights
        recipe.imageSize = imageSize
        recipe.batchSize = batchSize
        recipe.device = device
        recipe.precision = precision
        recipe.fineTuneEpochs = 1000
        recipe.earlyStoppingPatience = nil
        return recipe
    }

    /// Races `candidates` (best estimate first) on `train`, scored on `validation`, each in
    /// a run folder under `directory`. `onEvent` sees every candidate's training events.
    public func run(_ candidates: [ModelSelection.Candidate], train: any Dataset, validation: any Dataset,
                    directory: URL,
                    onEvent: ((ModelSelection.Candidate, Int, TrainingEvent) throws -> Void)? = nil) throws -> [Entry] {
        let total = Self.rounds(for: candidates.count)
        var entries = candidates.map { candidate in
            Entry(candidate: candidate, runDirectory: directory.appendingPathComponent(
                "\(candidate)".replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ":", with: "-")))
        }
        var alive = Array(entries.indices)
        for round in 1...total {
            let share = budget / Double(total) / Double(alive.count)
            for i in alive {
                let started = Date()
                var session = TrainingSession(recipe: recipe(for: entries[i].candidate), train: train,
                                              validation: validation, runDirectory: entries[i].runDirectory)
                session.workers = workers
                session.badFiles = badFiles
                session.overwrite = true
                session.callbacks = [TimeLimit(seconds: share, from: started)]
                let candidate = entries[i].candidate
                do {
                    let outcome = try session.run(onEvent: { event in try onEvent?(candidate, round, event) },
                                                  resume: round > 1)
                    let best = outcome.trainer.bestRecord()
                    entries[i].rounds.append(Round(
                        round: round, fineTuneEpochs: outcome.result.history.filter { $0.phase == .fineTune }.count,
                        validationAccuracy: best?.valAccuracy ?? 0, validationLoss: best?.valLoss,
                        seconds: Date().timeIntervalSince(started)))
                } catch let error as CancellationError {
                    throw error
                } catch {
                    entries[i].failure = "\(error)"
                    entries[i].droppedAfter = round
                }
            }
            alive.removeAll { entries[$0].failure != nil }
            // The better half goes on (accuracy, then the lower loss); the rest stop here.
            alive.sort { a, b in
                let (x, y) = (entries[a].rounds.last!, entries[b].rounds.last!)
                return x.validationAccuracy != y.validationAccuracy ? x.validationAccuracy > y.validationAccuracy
                    : (x.validationLoss ?? .infinity) < (y.validationLoss ?? .infinity)
            }
            let keep = round == total ? 1 : (alive.count + 1) / 2
            for i in alive.dropFirst(keep) { entries[i].droppedAfter = round }
            alive = Array(alive.prefix(keep))
            if alive.isEmpty { break }
        }
        // The winner first, then by the round each lasted to and its accuracy there.
        return entries.sorted { a, b in
            let (ra, rb) = (a.droppedAfter ?? .max, b.droppedAfter ?? .max)
            if (a.failure == nil) != (b.failure == nil) { return a.failure == nil }
            if ra != rb { return ra > rb }
            return (a.validationAccuracy ?? -1) > (b.validationAccuracy ?? -1)
        }
    }
}
