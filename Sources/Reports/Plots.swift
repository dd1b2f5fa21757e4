import Foundation
import ImageCodecs
import ImageData
import Optimizers
import Transfer

/// The charts of a run report, drawn on a ``Canvas``.
public enum Plots {
    typealias Color = Canvas.Color
    static let trainColor = Color(hex: 0x1F77B4)
    static let validationColor = Color(hex: 0xFF7F0E)
    static let bestColor = Color(hex: 0xD62728)
    static let phaseColor = Color(hex: 0x7F7F7F)
    static let gridColor = Color(hex: 0xE4E4E4)
    static let axisColor = Color(hex: 0x333333)
    static let heatColor = Color(hex: 0x08306B)
    /// Text scale of every label: the 5×8 font drawn at 10×16 pixels.
    static let textScale = 2

    // MARK: Training curves

    /// Loss and accuracy over the epochs of `history`, training and validation, in two
    /// panels side by side, with a legend, a dashed line where the fine-tuning phase starts
    /// and a red dot on the best epoch. Non-finite values leave gaps.
    public static func curves(_ history: [EpochRecord], width: Int = 1200, height: Int = 520) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        let best = history.last(where: \.isBest)
        let phaseChange = zip(history, history.dropFirst()).first { $0.phase == .head && $1.phase == .fineTune }?.1
        let hasValidation = history.contains { $0.valLoss != nil || $0.valAccuracy != nil }

        var legend: [(String, LegendMark)] = [("train", .line(trainColor))]
        if hasValidation { legend.append(("validation", .line(validationColor))) }
        if phaseChange != nil { legend.append(("fine-tuning starts", .dashed(phaseColor))) }
        if best != nil { legend.append(("best epoch", .dot(bestColor))) }
        drawLegend(legend, in: &canvas, centerX: width / 2, y: 14)

        let panels: [(title: String, train: KeyPath<EpochRecord, Double>, validation: KeyPath<EpochRecord, Double?>,
                      percent: Bool)] = [
            ("Loss", \.trainLoss, \.valLoss, false),
            ("Accuracy", \.trainAccuracy, \.valAccuracy, true),
        ]
        for (index, panel) in panels.enumerated() {
            let train = history.map { (Double($0.epoch + 1), $0[keyPath: panel.train]) }
            let validation = history.compactMap { r in r[keyPath: panel.validation].map { (Double(r.epoch + 1), $0) } }
            let bestPoint = best.map { r in (Double(r.epoch + 1), r[keyPath: panel.validation] ?? r[keyPath: panel.train]) }
            let frame = Frame(x: index * width / 2 + 100, y: 84, width: width / 2 - 130, height: height - 164)
            drawPanel(title: panel.title, series: [(train, trainColor), (validation, validationColor)],
                      epochs: history.map(\.epoch).max().map { $0 + 1 } ?? 1,
                      phaseChange: phaseChange.map { Double($0.epoch + 1) - 0.5 }, best: bestPoint,
                      yAxis: Axis(values: (train + validation).map { $0.1 },
                                  within: panel.percent ? 0...1 : 0...Double.infinity, percent: panel.percent),
                      frame: frame, on: &canvas)
        }
        return canvas
    }

    enum LegendMark {
        case line(Color), dashed(Color), dot(Color)
    }

    static func drawLegend(_ items: [(String, LegendMark)], in canvas: inout Canvas, centerX: Int, y: Int) {
        let markWidth = 34, gap = 10, spacing = 36
        let total = items.map { markWidth + gap + Canvas.textSize($0.0, scale: textScale).width }.reduce(0, +)
            + spacing * (items.count - 1)
        var x = centerX - total / 2
        let middle = y + 7
        for (label, mark) in items {
            switch mark {
            case .line(let color): canvas.line(x0: x, y0: middle, x1: x + markWidth, y1: middle, color: color, thickness: 3)
            case .dashed(let color): dashedLine(x0: x, y0: middle, x1: x + markWidth, y1: middle, color: color, on: &canvas)
            case .dot(let color): canvas.fillCircle(x: x + markWidth / 2, y: middle, radius: 6, color: color)
            }
            x += markWidth + gap
            canvas.text(label, x: x, y: y, scale: textScale)
            x += Canvas.textSize(label, scale: textScale).width + spacing
        }
    }

    /// A horizontal or vertical dashed line, 2 pixels wide.
    static func dashedLine(x0: Int, y0: Int, x1: Int, y1: Int, color: Color, on canvas: inout Canvas) {
        let length = max(abs(x1 - x0), abs(y1 - y0))
        for start in stride(from: 0, through: length, by: 10) {
            let end = min(start + 5, length)
            if y0 == y1 {
                canvas.fill(x: min(x0, x1) + start, y: y0 - 1, width: end - start + 1, height: 2, color: color)
            } else {
                canvas.fill(x: x0 - 1, y: min(y0, y1) + start, width: 2, height: end - start + 1, color: color)
            }
        }
    }

    /// A plot area on the canvas.
    struct Frame {
        var x, y, width, height: Int
        var bottom: Int { y + height }
    }

    /// A value axis with "nice" ticks (steps of 1, 2, 2.5 or 5 times a power of ten).
    struct Axis {
        var lower: Double
        var upper: Double
        var step: Double
        var percent: Bool

        /// Covers the finite `values`, clamped to `within`; 0…1 when there are none.
        init(values: [Double], within limits: ClosedRange<Double>, percent: Bool) {
            self.percent = percent
            let finite = values.filter(\.isFinite)
            var low = finite.min() ?? 0, high = finite.max() ?? 1
            if high - low < 1e-9 {
                let pad = max(abs(high) * 0.1, 0.05)
                (low, high) = (low - pad, high + pad)
            }
            (low, high) = (max(low, limits.lowerBound), min(high, limits.upperBound))
            step = Axis.niceStep((high - low) / 5)
            lower = (low / step).rounded(.down) * step
            upper = max((high / step).rounded(.up) * step, lower + step)
        }

        static func niceStep(_ rough: Double) -> Double {
            let magnitude = pow(10, (log10(rough)).rounded(.down))
            let fraction = rough / magnitude
            let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
            return nice * magnitude
        }

        var ticks: [Double] {
            let count = Int(((upper - lower) / step).rounded())
            return (0...count).map { lower + Double($0) * step }
        }

        /// `value` as a tick label: as many decimals as the step needs; percent for accuracy.
        func label(_ value: Double) -> String {
            let scale = percent ? 100.0 : 1.0
            let decimals = (0...4).first { digits in
                let shifted = step * scale * pow(10, Double(digits))
                return abs(shifted.rounded() - shifted) < 1e-6
            } ?? 4
            return String(format: "%.\(decimals)f", value * scale) + (percent ? "%" : "")
        }

        /// 0 at `lower`, 1 at `upper`.
        func fraction(_ value: Double) -> Double { (value - lower) / (upper - lower) }
    }

    static func drawPanel(title: String, series: [(points: [(Double, Double)], color: Color)], epochs: Int,
                          phaseChange: Double?, best: (Double, Double)?, yAxis: Axis, frame: Frame,
                          on canvas: inout Canvas) {
        func px(_ epoch: Double) -> Int { frame.x + Int(((epoch - 0.5) / Double(epochs) * Double(frame.width)).rounded()) }
        func py(_ value: Double) -> Int { frame.bottom - Int((yAxis.fraction(value) * Double(frame.height)).rounded()) }

        let titleWidth = Canvas.textSize(title, scale: textScale).width
        canvas.text(title, x: frame.x + (frame.width - titleWidth) / 2, y: frame.y - 30, scale: textScale)
        for tick in yAxis.ticks {
            let y = py(tick)
            canvas.fill(x: frame.x, y: y, width: frame.width, height: 1, color: gridColor)
            canvas.fill(x: frame.x - 6, y: y, width: 6, height: 1, color: axisColor)
            let label = yAxis.label(tick)
            canvas.text(label, x: frame.x - 10 - Canvas.textSize(label, scale: textScale).width, y: y - 7,
                        scale: textScale)
        }
        let xStep = max(1, Int(Axis.niceStep(Double(epochs) / 8).rounded(.up)))
        for epoch in Set([1] + Array(stride(from: xStep, through: epochs, by: xStep))).sorted() {
            let x = px(Double(epoch)), label = String(epoch)
            canvas.fill(x: x, y: frame.bottom, width: 1, height: 6, color: axisColor)
            canvas.text(label, x: x - Canvas.textSize(label, scale: textScale).width / 2, y: frame.bottom + 10,
                        scale: textScale)
        }
        let axisLabel = "epoch"
        canvas.text(axisLabel, x: frame.x + (frame.width - Canvas.textSize(axisLabel, scale: textScale).width) / 2,
                    y: frame.bottom + 34, scale: textScale)
        if let phaseChange {
            let x = px(phaseChange)
            dashedLine(x0: x, y0: frame.y, x1: x, y1: frame.bottom, color: phaseColor, on: &canvas)
        }
        for (points, color) in series {
            let visible = points.filter { $0.1.isFinite }
            for (a, b) in zip(points, points.dropFirst()) where a.1.isFinite && b.1.isFinite {
                canvas.line(x0: px(a.0), y0: py(a.1), x1: px(b.0), y1: py(b.1), color: color, thickness: 2)
            }
            if epochs <= 60 {
                for point in visible { canvas.fillCircle(x: px(point.0), y: py(point.1), radius: 3, color: color) }
            }
        }
        if let best, best.1.isFinite {
            canvas.fillCircle(x: px(best.0), y: py(best.1), radius: 8, color: .white)
            canvas.fillCircle(x: px(best.0), y: py(best.1), radius: 6, color: bestColor)
        }
        canvas.stroke(x: frame.x, y: frame.y, width: frame.width + 1, height: frame.height + 1, color: axisColor)
    }

    // MARK: Confusion matrix

    /// The longest class name drawn; longer ones are cut and end in `..`.
    static let maxLabelLength = 16
    /// Above this many classes the cells carry no counts.
    static let maxClassesWithCounts = 30

    /// A heat map of `confusion[true][predicted]`, each cell shaded by its share of the true
    /// class (so rows read as recall), with the counts in the cells while they fit (up to
    /// 30 classes) and the class names on both axes while the cells are tall enough.
    public static func confusionMatrix(_ confusion: [[Int]], classes: [String]) -> Canvas {
        let n = classes.count
        let cell = min(56, max(1, 720 / max(n, 1)))
        let labelScale = cell >= 20 ? 2 : cell >= 10 ? 1 : 0
        let labels = classes.map(shortLabel)
        let labelWidth = labelScale == 0 ? 0 : labels.map { Canvas.textSize($0, scale: labelScale).width }.max() ?? 0
        let largest = confusion.joined().max() ?? 0
        let countScale = n > maxClassesWithCounts ? nil : [2, 1].first { scale in
            let size = Canvas.textSize(String(largest), scale: scale)
            return size.width <= cell - 4 && size.height <= cell - 2
        }

        let pad = 16, lineHeight = BitmapFont.lineHeight * textScale
        let title = "Confusion matrix (validation)"
        let subtitle = "rows: true class, columns: predicted class; shade: share of the true class"
        let grid = n * cell
        let left = pad + lineHeight + 8 + labelWidth + 8
        let top = pad + 2 * lineHeight + 12
        let footer = top + grid + 8 + labelWidth + 12
        let width = max(left + grid + pad, pad + Canvas.textSize(subtitle, scale: textScale).width + pad)
        var canvas = Canvas(width: width, height: footer + lineHeight + pad)

        canvas.text(title, x: pad, y: pad, scale: textScale)
        canvas.text(subtitle, x: pad, y: pad + lineHeight, color: axisColor, scale: textScale)
        for (t, row) in confusion.enumerated() where t < n {
            let total = row.reduce(0, +)
            for (p, count) in row.enumerated() where p < n {
                let share = total > 0 ? Double(count) / Double(total) : 0
                let x = left + p * cell, y = top + t * cell
                canvas.fill(x: x, y: y, width: cell, height: cell, color: Color.white.mixed(with: heatColor, share))
                if cell >= 6 { canvas.stroke(x: x, y: y, width: cell + 1, height: cell + 1, color: gridColor) }
                if let countScale {
                    let text = String(count), size = Canvas.textSize(text, scale: countScale)
                    let ink: Color = count == 0 ? Color(hex: 0xB0B0B0) : share > 0.5 ? .white : .black
                    canvas.text(text, x: x + (cell - size.width) / 2 + 1, y: y + (cell - 7 * countScale) / 2,
                                color: ink, scale: countScale)
                }
            }
        }
        canvas.stroke(x: left - 1, y: top - 1, width: grid + 2, height: grid + 2, color: axisColor)
        if labelScale > 0 {
            for (index, label) in labels.enumerated() {
                let size = Canvas.textSize(label, scale: labelScale)
                let offset = index * cell + (cell - 7 * labelScale) / 2
                canvas.text(label, x: left - 8 - size.width, y: top + offset, scale: labelScale)
                canvas.text(label, x: left + offset, y: top + grid + 8 + size.width, scale: labelScale, rotated: true)
            }
        }
        let trueLabel = "true class", predictedLabel = "predicted class"
        canvas.text(trueLabel, x: pad, y: top + (grid + Canvas.textSize(trueLabel, scale: textScale).width) / 2,
                    color: axisColor, scale: textScale, rotated: true)
        canvas.text(predictedLabel, x: left + (grid - Canvas.textSize(predictedLabel, scale: textScale).width) / 2,
                    y: footer, color: axisColor, scale: textScale)
        return canvas
    }

    /// A class name for an axis: accents removed, at most ``maxLabelLength`` characters.
    static func shortLabel(_ name: String) -> String {
        let plain = name.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
        return plain.count <= maxLabelLength ? plain : plain.prefix(maxLabelLength - 2) + ".."
    }
}
