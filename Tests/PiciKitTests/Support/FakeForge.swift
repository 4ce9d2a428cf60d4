import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A forge of the test's own on 127.0.0.1, on a port the kernel picks: it answers every
/// request with 201 (or 500 for the first `failFirst`, or 401 for a wrong token) and keeps
/// what it was sent, so a test can check method, path, headers and body.
final class FakeForge: @unchecked Sendable {
    struct Request {
        var method: String
        var path: String
        var headers: [String: String]
        var body: Data
        var answered: Int
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var state: String { json["state"] as? String ?? "" }
    }

    let port: Int
    let token: String
    private let listener: Int32
    private let lock = NSLock()
    private var _requests: [Request] = []
    private var _failFirst: Int
    private var thread: Thread?

    var url: String { "http://127.0.0.1:\(port)/api/v1" }

    var requests: [Request] { lock.lock(); defer { lock.unlock() }; return _requests }

    /// The requests the forge took (answered 2xx).
    var accepted: [Request] { requests.filter { (200..<300).contains($0.answered) } }

    init(token: String, failFirst: Int = 0) {
        self.token = token
        _failFirst = failFirst
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(listener, 16)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let t = Thread { [unowned self] in self.serve() }
        thread = t
        t.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        usleep(50_000)
    }

    private func serve() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(fd)
            close(fd)
        }
    }

    private func handle(_ fd: Int32) {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Range<Data.Index>? = nil
        var contentLength = 0
        while true {
            if let end = headerEnd, data.count - end.upperBound >= contentLength { break }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return }
            data.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let end = data.range(of: Data("\r\n\r\n".utf8)) {
                headerEnd = end
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                for line in head.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        let end = headerEnd!
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = head[0].split(separator: " ")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = data[end.upperBound..<(end.upperBound + contentLength)]
        lock.lock()
        let code: Int
        if headers["authorization"] != "token \(token)" && headers["authorization"] != "Bearer \(token)" {
            code = 401
        } else if _failFirst > 0 {
            _failFirst -= 1
            code = 500
        } else {
            code = 201
        }
        _requests.append(Request(
            method: requestLine.count > 0 ? String(requestLine[0]) : "", path: requestLine.count > 1 ? String(requestLine[1]) : "",
            headers: headers, body: Data(body), answered: code))
        lock.unlock()
        let reply = code == 201 ? #"{"id":1}"# : #"{"message":"down"}"#
        let text = "HTTP/1.1 \(code) X\r\nContent-Type: application/json\r\nContent-Length: \(reply.utf8.count)\r\nConnection: close\r\n\r\n\(reply)"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }
}
