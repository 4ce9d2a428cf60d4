import Glibc

/// Buffered writes to a file descriptor. A closed pipe is its own error, so that a filter
/// feeding `head -1` can stop quietly while a real write error still fails loudly.
public final class Output {
    public enum WriteError: Error, CustomStringConvertible {
        case closed
        case failed(errno: Int32)
        public var description: String {
            switch self {
            case .closed: return "output closed"
            case .failed(let e): return "write error: \(String(cString: strerror(e)))"
            }
        }
    }

    public static let standard = Output(fd: 1)

    private let fd: Int32
    private var buffer: [UInt8] = []
    private let limit: Int

    public init(fd: Int32, bufferSize: Int = 65536) {
        self.fd = fd
        limit = bufferSize
        buffer.reserveCapacity(bufferSize)
    }

    public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= limit { try flush() }
    }

    public func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= limit { try flush() }
    }

    /// Writes a record as one JSON line.
    public func writeLine(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0A)
        if buffer.count >= limit { try flush() }
    }

    /// Writes one line that `body` appends straight into the buffer, as a record's
    /// `write(into:)` does, so no array is made for it.
    public func writeLine(_ body: (inout [UInt8]) -> Void) throws {
        body(&buffer)
        buffer.append(0x0A)
        if buffer.count >= limit { try flush() }
    }

    public func flush() throws {
        defer { buffer.removeAll(keepingCapacity: true) }
        try Output.writeAll(fd: fd, buffer)
    }

    /// Flushes, then gives the reader its end of file while this process goes on: the
    /// descriptor is /dev/null from here on.
    public func end() throws {
        try flush()
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        guard null >= 0 else { return }
        _ = dup2(null, fd)
        _ = close(null)
    }

    /// One write(2) loop with no buffering: when it returns, the bytes are in the pipe. When
    /// it throws, a regular file holds none of them.
    /// The secrets of `Masking.active` never pass.
    public static func writeAll(fd: Int32, _ bytes: [UInt8]) throws {
        let bytes = Masking.active.isEmpty ? bytes : Masking.active.mask(bytes)
        try bytes.withUnsafeBufferPointer { try writeUnmasked(fd: fd, $0) }
    }

    /// The same for bytes in place (copied only when a secret is to be masked).
    public static func writeAll(fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) throws {
        if Masking.active.isEmpty { try writeUnmasked(fd: fd, bytes) } else { try writeAll(fd: fd, Array(bytes)) }
    }

    private static func writeUnmasked(fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EPIPE { throw WriteError.closed }
                // A regular file is cut back to before this write: no torn line stays.
                WholeLines.cutBack(fd, written: offset)
                throw WriteError.failed(errno: e)
            }
            offset += n
        }
    }
}

/// Messages on stderr, each prefixed with the program's name, written at once.
public enum Diagnostics {
    nonisolated(unsafe) public static var program = "pici"

    public static func error(_ message: String) {
        try? Output.writeAll(fd: 2, Array("\(program): \(message)\n".utf8))
    }
}
