import Foundation
import Transfer

extension Plots {
    /// fastai's `plot_lr_find`: the smoothed loss against the learning rate on a log axis,
    /// with the suggestion marked (a red dot and its value). The y axis covers the losses up
    /// to a little above the first one, as a sweep's last batches can blow up by orders of
    /// magnitude (fastai's plot drops the last 5).
    public static func learningRateFinder(_ finding: LearningRateFinding, width: Int = 900, height: Int = 560) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        let shown = max(1, finding.smoothedLosses.count - 5)
        let points = zip(finding.learningRates, finding.smoothedLosses).prefix(shown).filter { $0.0 > 0 && $0.1.isFinite }
        var legend: [(String, LegendMark)] = [("smoothed loss", .line(trainColor))]
        if let lr = finding.suggestion { legend.append(("valley " + String(format: "%.2e", lr), .dot(bestColor))) }
        drawLegend(legend, in: &canvas, centerX: width / 2, y: 14)
        let frame = Frame(x: 110, y: 84, width: width - 150, height: height - 164)
        let title = "Learning-rate finder"
        canvas.text(title, x: frame.x + (frame.width - Canvas.textSize(title, scale: textScale).width) / 2,
                    y: frame.y - 30, scale: textScale)
        guard let first = points.first, let last = points.last, last.0 > first.0 else {
            canvas.stroke(x: frame.x, y: frame.y, width: frame.width + 1, height: frame.height + 1, color: axisColor)
            return canvas
        }
        let losses = points.map(\.1)
        let ceiling = min(losses.max()!, (losses.first! + (losses.first! - losses.min()!)) * 1.1 + 1e-9)
        let yAxis = Axis(values: losses.filter { $0 <= ceiling }, within: 0...Double.infinity, percent: false)
        let lowX = log10(first.0), highX = log10(last.0)
        func px(_ lr: Double) -> Int { frame.x + Int(((log10(lr) - lowX) / (highX - lowX) * Double(frame.width)).rounded()) }
        func py(_ value: Double) -> Int {
            let clamped = min(max(value, yAxis.lower), yAxis.upper)
            return frame.bottom - Int((yAxis.fraction(clamped) * Double(frame.height)).rounded())
        }
        for tick in yAxis.ticks {
            let y = py(tick)
            canvas.fill(x: frame.x, y: y, width: frame.width, height: 1, color: gridColor)
            let label = yAxis.label(tick)
            canvas.text(label, x: frame.x - 10 - Canvas.textSize(label, scale: textScale).width, y: y - 7, scale: textScale)
        }
        for decade in stride(from: Int(lowX.rounded(.up)), through: Int(highX.rounded(.down)), by: 1) {
            let x = px(pow(10, Double(decade)))
            canvas.fill(x: x, y: frame.y, width: 1, height: frame.height, color: gridColor)
            canvas.fill(x: x, y: frame.bottom, width: 1, height: 6, color: axisColor)
            let label = "1e\(decade)"
            canvas.text(label, x: x - Canvas.textSize(label, scale: textScale).width / 2, y: frame.bottom + 10,
                        scale: textScale)
        }
        let axisLabel = "learning rate (log scale)"
        canvas.text(axisLabel, x: frame.x + (frame.width - Canvas.textSize(axisLabel, scale: textScale).width) / 2,
                    y: frame.bottom + 34, scale: textScale)
        for (a, b) in zip(points, points.dropFirst()) {
            canvas.line(x0: px(a.0), y0: py(a.1), x1: px(b.0), y1: py(b.1), color: trainColor, thickness: 2)
        }
        if let index = finding.suggestionIndex, index < finding.smoothedLosses.count {
            let x = px(finding.learningRates[index]), y = py(finding.smoothedLosses[index])
            canvas.fillCircle(x: x, y: y, radius: 8, color: .white)
            canvas.fillCircle(x: x, y: y, radius: 6, color: bestColor)
        }
        canvas.stroke(x: frame.x, y: frame.y, width: frame.width + 1, height: frame.height + 1, color: axisColor)
        return canvas
    }
}

extension Plots {
    /// A reliability diagram before and after temperature scaling, side by side: per
    /// confidence bin, a bar of the accuracy of its samples (the gap to the diagonal is the
    /// miscalibration), with the bin's mean confidence as a dot; empty bins are left out.
    public static func reliability(_ calibration: Calibration, width: Int = 1200, height: Int = 560) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        drawLegend([("accuracy of the bin", .line(trainColor)), ("mean confidence", .dot(validationColor)),
                    ("perfect calibration", .dashed(phaseColor))], in: &canvas, centerX: width / 2, y: 14)
        let panels = [(String(format: "Before (ECE %.3f)", calibration.eceBefore), calibration.binsBefore),
                      (String(format: "After, T = %.3f (ECE %.3f)", calibration.temperature, calibration.eceAfter),
                       calibration.binsAfter)]
        let axis = Axis(values: [0, 1], within: 0...1, percent: true)
        for (index, (title, bins)) in panels.enumerated() {
            let frame = Frame(x: index * width / 2 + 100, y: 84, width: width / 2 - 130, height: height - 164)
            func px(_ v: Double) -> Int { frame.x + Int((v * Double(frame.width)).rounded()) }
            func py(_ v: Double) -> Int { frame.bottom - Int((axis.fraction(v) * Double(frame.height)).rounded()) }
            canvas.text(title, x: frame.x + (frame.width - Canvas.textSize(title, scale: textScale).width) / 2,
                        y: frame.y - 30, scale: textScale)
            for tick in axis.ticks {
                canvas.fill(x: frame.x, y: py(tick), width: frame.width, height: 1, color: gridColor)
                let label = axis.label(tick)
                canvas.text(label, x: frame.x - 10 - Canvas.textSize(label, scale: textScale).width, y: py(tick) - 7,
                            scale: textScale)
                canvas.text(label, x: px(tick) - Canvas.textSize(label, scale: textScale).width / 2,
                            y: frame.bottom + 10, scale: textScale)
            }
            for bin in bins {
                let x0 = px(bin.lower) + 2, x1 = max(px(min(bin.upper, 1)) - 2, x0 + 3)
                let top = py(bin.accuracy)
                canvas.fill(x: x0, y: top, width: x1 - x0, height: max(1, frame.bottom - top), color: trainColor.mixed(with: .white, 0.35))
                canvas.fillCircle(x: (x0 + x1) / 2, y: py(bin.confidence), radius: 5, color: validationColor)
            }
            // The diagonal, dashed.
            for step in stride(from: 0, to: 100, by: 4) {
                let a = Double(step) / 100, b = Double(step + 2) / 100
                canvas.line(x0: px(a), y0: py(a), x1: px(b), y1: py(b), color: phaseColor, thickness: 2)
            }
            let label = "confidence (top-class probability)"
            canvas.text(label, x: frame.x + (frame.width - Canvas.textSize(label, scale: textScale).width) / 2,
                        y: frame.bottom + 34, scale: textScale)
            canvas.stroke(x: frame.x, y: frame.y, width: frame.width + 1, height: frame.height + 1, color: axisColor)
        }
        return canvas
    }
}
