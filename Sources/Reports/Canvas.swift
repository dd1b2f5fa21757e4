import Foundation
import ImageCodecs
import ImageData
import Optimizers
import Transfer

/// An RGB raster to draw charts on: rectangles, lines, dots and text in a small bitmap
/// font (ASCII 32…126, scalable by whole factors). Drawing outside the canvas is clipped.
///
/// ```swift
/// var canvas = Canvas(width: 200, height: 60)
/// canvas.line(x0: 10, y0: 50, x1: 190, y1: 10, color: .blue, thickness: 2)
/// canvas.text("loss 0.25", x: 10, y: 10, scale: 2)
/// try PNG.write(canvas.pngData(), to: url)
/// ```
public struct Canvas: Sendable {
    /// An 8-bit RGB color.
    public struct Color: Sendable, Equatable {
        public var red: UInt8
        public var green: UInt8
        public var blue: UInt8

        public init(red: UInt8, green: UInt8, blue: UInt8) {
            (self.red, self.green, self.blue) = (red, green, blue)
        }

        /// A color from `0xRRGGBB`.
        public init(hex: UInt32) {
            self.init(red: UInt8(hex >> 16 & 0xFF), green: UInt8(hex >> 8 & 0xFF), blue: UInt8(hex & 0xFF))
        }

        /// The color `fraction` of the way from this one to `other` (0 = this, 1 = other).
        public func mixed(with other: Color, _ fraction: Double) -> Color {
            let t = min(max(fraction, 0), 1)
            func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded()) }
            return Color(red: mix(red, other.red), green: mix(green, other.green), blue: mix(blue, other.blue))
        }

        public static let white = Color(hex: 0xFFFFFF)
        public static let black = Color(hex: 0x000000)
    }

    public let width: Int
    public let height: Int
    /// The pixels, `height` rows of `width` RGB triples.
    public private(set) var pixels: [UInt8]

    /// A canvas filled with `background`; both sides must be at least 1.
    public init(width: Int, height: Int, background: Color = .white) {
        precondition(width > 0 && height > 0, "Canvas: width and height must be at least 1")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, color: background)
    }

    /// The color at (`x`, `y`), which must be on the canvas.
    public subscript(x: Int, y: Int) -> Color {
        let i = (y * width + x) * 3
        return Color(red: pixels[i], green: pixels[i + 1], blue: pixels[i + 2])
    }

    /// Sets one pixel; does nothing outside the canvas.
    public mutating func setPixel(x: Int, y: Int, color: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = color.red
        pixels[i + 1] = color.green
        pixels[i + 2] = color.blue
    }

    /// Fills the rectangle with top-left corner (`x`, `y`).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: Color) {
        let x0 = max(x, 0), x1 = min(x + w, width), y0 = max(y, 0), y1 = min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            for column in x0..<x1 { setPixel(x: column, y: row, color: color) }
        }
    }

    /// Draws the rectangle's outline, one pixel wide, inside its bounds.
    public mutating func stroke(x: Int, y: Int, width w: Int, height h: Int, color: Color) {
        fill(x: x, y: y, width: w, height: 1, color: color)
        fill(x: x, y: y + h - 1, width: w, height: 1, color: color)
        fill(x: x, y: y, width: 1, height: h, color: color)
        fill(x: x + w - 1, y: y, width: 1, height: h, color: color)
    }

    /// A straight line from (`x0`, `y0`) to (`x1`, `y1`), both ends included (Bresenham),
    /// drawn with a square pen `thickness` pixels wide.
    public mutating func line(x0: Int, y0: Int, x1: Int, y1: Int, color: Color, thickness: Int = 1) {
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        let offset = (thickness - 1) / 2
        var x = x0, y = y0, error = dx + dy
        while true {
            fill(x: x - offset, y: y - offset, width: thickness, height: thickness, color: color)
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy {
                error += dy
                x += sx
            }
            if e2 <= dx {
                error += dx
                y += sy
            }
        }
    }

    /// A filled disc centred on (`x`, `y`).
    public mutating func fillCircle(x: Int, y: Int, radius: Int, color: Color) {
        for dy in -radius...radius {
            let half = Int((Double(radius * radius - dy * dy) + 0.5).squareRoot())
            fill(x: x - half, y: y + dy, width: 2 * half + 1, height: 1, color: color)
        }
    }

    /// The size of `string` drawn at `scale`, unrotated: 6 × `scale` pixels a character
    /// (less the last one's spacing) by 8 × `scale` (descenders included).
    public static func textSize(_ string: String, scale: Int = 1) -> (width: Int, height: Int) {
        let count = string.count
        return (count == 0 ? 0 : (count * BitmapFont.advance - 1) * scale, BitmapFont.glyphHeight * scale)
    }

    /// Draws `string` on one line, each font pixel a `scale`×`scale` square. Unrotated,
    /// (`x`, `y`) is the text's top-left corner. `rotated` turns it a quarter turn
    /// counter-clockwise to read upwards: (`x`, `y`) is then its bottom-left corner.
    /// Characters outside ASCII 32…126 are drawn as `?`.
    public mutating func text(_ string: String, x: Int, y: Int, color: Color = .black, scale: Int = 1,
                              rotated: Bool = false) {
        for (index, character) in string.enumerated() {
            let rows = BitmapFont.rows(of: character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits >> (BitmapFont.glyphWidth - 1 - column) & 1 == 1 {
                    let along = (index * BitmapFont.advance + column) * scale, across = row * scale
                    if rotated {
                        fill(x: x + across, y: y - along - scale + 1, width: scale, height: scale, color: color)
                    } else {
                        fill(x: x + along, y: y + across, width: scale, height: scale, color: color)
                    }
                }
            }
        }
    }

    /// The canvas as a PNG file.
    public func pngData() throws(PNGError) -> Data {
        try PNG.encode(rgb: pixels, width: width, height: height)
    }
}
