import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Blocking HTTP(S) download through URLSession, into a file.
enum Downloader {
    /// Returns the response's headers.
    @discardableResult
    static func download(_ url: URL, to destination: URL) throws -> [String: String] {
        final class Box: @unchecked Sendable {
            var result: Result<URL, Error>?
            var headers: [String: String] = [:]
        }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task = URLSession.shared.downloadTask(with: url) { location, response, error in
            defer { done.signal() }
            if let error { box.result = .failure(error); return }
            if let http = response as? HTTPURLResponse {
                for (key, value) in http.allHeaderFields { box.headers["\(key)"] = "\(value)" }
            }
            if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                box.result = .failure(WeightsError.download(url: url, reason: "HTTP \(http.statusCode)"))
                return
            }
            guard let location else { box.result = .failure(WeightsError.download(url: url, reason: "no data")); return }
            do {
                try? FileManager.default.removeItem(at: destination)
                try FileManager.default.moveItem(at: location, to: destination)
                box.result = .success(destination)
            } catch { box.result = .failure(error) }
        }
        task.resume()
        done.wait()
        switch box.result {
        case .success: return box.headers
        case .failure(let error as WeightsError): throw error
        case .failure(let error): throw WeightsError.download(url: url, reason: error.localizedDescription)
        case nil: throw WeightsError.download(url: url, reason: "no response")
        }
    }
}
