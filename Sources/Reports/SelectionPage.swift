import Foundation
import Transfer

extension Plots {
    /// Horizontal bars, one per label, with optional ± whiskers; negative values (LogME,
    /// LEEP, NCE) extend left of a zero line. The first bar (the recommended candidate) is
    /// drawn in the highlight colour.
    public static func bars(title: String, labels: [String], values: [Double], errors: [Double]? = nil,
                            width: Int = 900) -> Canvas {
        let scale = textScale
        let rowHeight = 22 * scale / 2 + 10
        let labelWidth = (labels.map { Canvas.textSize($0, scale: scale).width }.max() ?? 0) + 20
        let top = 40, height = top + rowHeight * labels.count + 20
        var canvas = Canvas(width: width, height: height)
        canvas.text(title, x: 10, y: 10, color: axisColor, scale: scale)
        let finite = values.enumerated().map { i, v in (v, errors?[i] ?? 0) }.filter { $0.0.isFinite }
        let low = min(0, finite.map { $0.0 - $0.1 }.min() ?? 0), high = max(0, finite.map { $0.0 + $0.1 }.max() ?? 1)
        let span = max(high - low, 1e-12)
        let plotLeft = labelWidth, plotWidth = width - labelWidth - 90
        func x(_ v: Double) -> Int { plotLeft + Int((v - low) / span * Double(plotWidth)) }
        for (i, label) in labels.enumerated() {
            let y = top + i * rowHeight
            canvas.text(label, x: 10, y: y + 2, color: axisColor, scale: scale)
            let v = values[i]
            guard v.isFinite else { continue }
            let (a, b) = (min(x(0), x(v)), max(x(0), x(v)))
            canvas.fill(x: a, y: y, width: max(1, b - a), height: rowHeight - 8, color: i == 0 ? bestColor : trainColor)
            if let e = errors?[i], e > 0 {
                let mid = y + (rowHeight - 8) / 2
                canvas.line(x0: x(v - e), y0: mid, x1: x(v + e), y1: mid, color: axisColor, thickness: 2)
            }
            canvas.text(String(format: "%.3f", v), x: b + 6, y: y + 2, color: axisColor, scale: scale)
        }
        canvas.line(x0: x(0), y0: top - 4, x1: x(0), y1: height - 14, color: axisColor)
        return canvas
    }
}

/// The page `graft select --out` writes: the ranking, a bar chart per measure, and the
/// `graft train` command to run next.
public struct SelectionPage: Sendable {
    public var data: String
    public var images: Int
    public var classes: Int
    public var ranked: [ModelSelection.Report]
    /// The candidate to train and why (``ModelSelection/recommendation(_:)``).
    public var recommended: String
    public var reason: String
    public var command: String
    public var disagreements: [String]
    public var created: String

    public init(data: String, images: Int, classes: Int, ranked: [ModelSelection.Report], recommended: String,
                reason: String, command: String, disagreements: [String], created: String) {
        (self.data, self.images, self.classes, self.ranked) = (data, images, classes, ranked)
        (self.recommended, self.reason) = (recommended, reason)
        (self.command, self.disagreements, self.created) = (command, disagreements, created)
    }

    public func html() throws -> String {
        let names = ranked.map(\.candidate.description)
        func f(_ v: Double?, _ format: String = "%.3f") -> String { v.map { String(format: format, $0) } ?? "–" }
        var rows = ""
        for (i, r) in ranked.enumerated() {
            let cells = [String(i + 1), escape(r.candidate.description), f(r.probeAccuracy) + " ± " + f(r.probeSD),
                         f(r.validationAccuracy), f(r.knnAccuracy), f(r.logME) + (r.logMEReducedTo.map { " (PCA \($0))" } ?? ""), f(r.leep),
                         f(r.nce), f(r.firstShare * 100, "%.0f %%"), f(r.imagenetTop1, "%.1f %%"),
                         String(format: "%.1f M", Double(r.parameters) / 1e6),
                         f(r.multiplyAdds.map { Double($0) / 1e9 }, "%.2f"),
                         r.fromCache ? "cached" : f(r.imagesPerSecond, "%.1f")]
            rows += "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        var charts: [(String, [Double], [Double]?)] = [
            ("Linear-probe accuracy (5-fold CV, ± sd)", ranked.map(\.probeAccuracy), ranked.map(\.probeSD)),
            ("k-NN accuracy (cosine, 5 neighbours)", ranked.map(\.knnAccuracy), ranked.map(\.knnSD)),
            ("LogME (log evidence per sample)", ranked.map(\.logME), nil),
        ]
        if ranked.contains(where: { $0.leep != nil }) {
            charts.append(("LEEP (source head)", ranked.map { $0.leep ?? .nan }, nil))
            charts.append(("NCE (source head)", ranked.map { $0.nce ?? .nan }, nil))
        }
        charts.append(("First place over 1000 bootstrap resamples", ranked.map(\.firstShare), nil))
        var chartHTML = ""
        for (title, values, errors) in charts {
            let png = try Plots.bars(title: title, labels: names, values: values, errors: errors).pngData()
            chartHTML += "<img alt=\"\(escape(title))\" src=\"data:image/png;base64,\(png.base64EncodedString())\">\n"
        }
        var raceHTML = ""
        let raced = ranked.compactMap(\.fineTune).sorted { ($0.droppedAfter ?? .max) > ($1.droppedAfter ?? .max) }
        if !raced.isEmpty {
            var raceRows = ""
            for entry in raced {
                let outcome = entry.failure.map { "failed: " + escape($0) }
                    ?? entry.droppedAfter.map { "dropped after round \($0)" } ?? "winner"
                let rounds = entry.rounds.map { String(format: "%.3f (%d ep.)", $0.validationAccuracy, $0.fineTuneEpochs) }
                raceRows += "<tr><td>\(escape(entry.candidate.description))</td><td>\(rounds.joined(separator: " → "))</td>"
                    + "<td>\(f(entry.seconds, "%.0f s"))</td><td>\(outcome)</td></tr>\n"
            }
            raceHTML = """
            <section>
            <h2>Short fine-tunes (successive halving)</h2>
            <p>Validation accuracy of the best epoch after each round (fine-tuning epochs so far), with graft train's default recipe: the head fitted to convergence on cached features, then the whole network.</p>
            <table>
            <tr><th>Model</th><th>Rounds</th><th>Time</th><th>Outcome</th></tr>
            \(raceRows)</table>
            </section>

            """
        }
        let warnings = disagreements.map { "<p class=\"warn\">The measures disagree: \(escape($0)).</p>\n" }.joined()
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Graft model selection: \(escape(data))</title>
        <style>\(ReportPage.style)</style>
        </head>
        <body>
        <h1>Graft model selection</h1>
        <p class="meta">\(escape(data)): \(images) images in \(classes) classes · \(escape(created)) · Graft \(escape(GraftInfo.version))</p>
        <section>
        <h2>Recommendation</h2>
        <p><b>\(escape(recommended))</b>: \(escape(reason)).</p>
        <pre><code>\(escape(command))</code></pre>
        \(warnings)</section>
        <section>
        <h2>Ranking</h2>
        <table>
        <tr><th>#</th><th>Model</th><th>Probe ± sd</th><th>Probe on validation</th><th>k-NN</th><th>LogME</th><th>LEEP</th><th>NCE</th><th>First</th><th>ImageNet top-1</th><th>Parameters</th><th>GFLOPs</th><th>Images/s</th></tr>
        \(rows)</table>
        </section>
        \(raceHTML)<section>
        <h2>Measures</h2>
        \(chartHTML)</section>
        </body>
        </html>

        """
    }
}
