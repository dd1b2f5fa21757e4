extension DecodedImage {
    /// Applies EXIF orientation `orientation` (1...8) as Pillow's `ImageOps.exif_transpose` does:
    /// 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse,
    /// 8 rotate 90° counter-clockwise.
    func oriented(_ orientation: Int) -> DecodedImage {
        guard (2...8).contains(orientation) else { return self }
        let (w, h) = (width, height)
        // Source pixel index of output pixel (x, y) is start + x * stepX + y * stepY.
        let (start, stepX, stepY): (Int, Int, Int) = switch orientation {
        case 2: (w - 1, -1, w)
        case 3: (h * w - 1, -1, -w)
        case 4: ((h - 1) * w, 1, -w)
        case 5: (0, w, 1)
        case 6: ((h - 1) * w, -w, 1)
        case 7: (h * w - 1, -w, -1)
        default: (w - 1, w, -1)
        }
        let (outWidth, outHeight) = orientation >= 5 ? (h, w) : (w, h)
        let pixelSize = channels * bitDepth / 8
        let out = [UInt8](unsafeUninitializedCapacity: pixels.count) { buffer, count in
            pixels.withUnsafeBytes { source in
                guard let from = source.baseAddress, let to = buffer.baseAddress else { return }
                var destination = to
                for y in 0..<outHeight {
                    var index = start + y * stepY
                    for _ in 0..<outWidth {
                        destination.update(from: from.advanced(by: index * pixelSize)
                            .assumingMemoryBound(to: UInt8.self), count: pixelSize)
                        destination += pixelSize
                        index += stepX
                    }
                }
            }
            count = pixels.count
        }
        return DecodedImage(width: outWidth, height: outHeight, channels: channels, bitDepth: bitDepth, pixels: out)
    }

    /// Converts between 1 and 3 channels: gray is repeated into RGB, RGB becomes Pillow's
    /// luminance `(19595 R + 38470 G + 7471 B + 32768) >> 16`, at either bit depth.
    func converted(toChannels target: Int) -> DecodedImage {
        guard target != channels else { return self }
        let out = bitDepth == 16
            ? mapPixels(UInt16.self, outChannels: target, target == 3 ? Self.grayToRGB : Self.rgbToGray)
            : mapPixels(UInt8.self, outChannels: target, target == 3 ? Self.grayToRGB : Self.rgbToGray)
        return DecodedImage(width: width, height: height, channels: target, bitDepth: bitDepth, pixels: out)
    }

    private static func grayToRGB<T: FixedWidthInteger>(_ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>) {
        for i in input.indices { output[3 * i] = input[i]; output[3 * i + 1] = input[i]; output[3 * i + 2] = input[i] }
    }

    private static func rgbToGray<T: FixedWidthInteger>(_ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>) {
        for i in output.indices {
            let luma = 19595 * Int(input[3 * i]) + 38470 * Int(input[3 * i + 1]) + 7471 * Int(input[3 * i + 2])
            output[i] = T(truncatingIfNeeded: (luma + 0x8000) >> 16)
        }
    }

    /// Runs `body` over the samples viewed as `T` and returns its output, `outChannels` per pixel.
    private func mapPixels<T: FixedWidthInteger>(
        _: T.Type, outChannels: Int, _ body: (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void
    ) -> [UInt8] {
        let outBytes = width * height * outChannels * MemoryLayout<T>.size
        return [UInt8](unsafeUninitializedCapacity: outBytes) { buffer, count in
            pixels.withUnsafeBufferPointer { input in
                input.withMemoryRebound(to: T.self) { input in
                    UnsafeMutableBufferPointer(rebasing: buffer[..<outBytes])
                        .withMemoryRebound(to: T.self) { body(input, $0) }
                }
            }
            count = outBytes
        }
    }

    /// Converts 4-channel CMYK as an Adobe JPEG stores it (inverted) to RGB exactly as Pillow
    /// does (Pillow assumes Adobe inversion for every CMYK JPEG): with `n = 255 - K`,
    /// `R = n - (C * n) / 255` rounded as Pillow's `MULDIV255`, and the same for G and B.
    func cmykToRGB() -> DecodedImage {
        let pixelCount = width * height
        let out = [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { buffer, count in
            pixels.withUnsafeBufferPointer { cmyk in
                for i in 0..<pixelCount {
                    let n = Int(cmyk[4 * i + 3])  // stored inverted: 255 - K
                    for c in 0..<3 {
                        let product = (255 - Int(cmyk[4 * i + c])) * n + 128
                        buffer[3 * i + c] = UInt8(truncatingIfNeeded: n - (((product >> 8) + product) >> 8))
                    }
                }
            }
            count = pixelCount * 3
        }
        return DecodedImage(width: width, height: height, channels: 3, bitDepth: 8, pixels: out)
    }
}
