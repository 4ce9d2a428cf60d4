import Glibc

/// Splits a file descriptor into lines without holding more than one line in memory, so a
/// stream of any length and a line of any length are both safe to read.
public struct LineReader {
    /// Longer lines are reported and skipped as they stream past, never buffered whole.
    public static let maxLineLength = 16 << 20

    public enum Line: Equatable {
        /// The line's bytes, without the `\n` and without a trailing `\r`.
        case text([UInt8])
        case tooLong(length: Int)
    }

    public struct ReadError: Error, CustomStringConvertible {
        public var errno: Int32
        public var description: String { "read error: \(String(cString: strerror(errno)))" }
    }

    private let fd: Int32
    private let maxLength: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEOF = false
    private var bytesRead = 0
    /// The number of the line `next()` returned last, counting from 1.
    public private(set) var lineNumber = 0
    /// How many bytes the lines returned so far took, from where the reader began.
    public var offset: Int { bytesRead - (buffer.count - start) }

    public init(fd: Int32, maxLength: Int = LineReader.maxLineLength) {
        self.fd = fd
        self.maxLength = maxLength
        buffer.reserveCapacity(65536)
    }

    public mutating func next() throws -> Line? {
        switch try nextFound() {
        case .text(let range)?: return .text(Array(buffer[range]))
        case .tooLong(let length)?: return .tooLong(length: length)
        case nil: return nil
        }
    }

    /// A line as `withNext` shows it: its bytes in place, or the length of one too long.
    public enum LineBytes {
        case text(UnsafeBufferPointer<UInt8>)
        case tooLong(length: Int)
    }

    /// Like `next()` without copying the line: `body` reads it in place, during the call only.
    /// Nil at the end.
    public mutating func withNext<R>(_ body: (LineBytes) -> R) throws -> R? {
        switch try nextFound() {
        case .text(let range)?: return buffer.withUnsafeBufferPointer { body(.text(UnsafeBufferPointer(rebasing: $0[range]))) }
        case .tooLong(let length)?: return body(.tooLong(length: length))
        case nil: return nil
        }
    }

    private enum Found {
        case text(Range<Int>)
        case tooLong(Int)
    }

    /// The next line, where it is in `buffer` (valid until the next read).
    private mutating func nextFound() throws -> Found? {
        var skipped = 0  // bytes of an over-long line already thrown away
        var scanFrom = start
        while true {
            if let nl = newline(from: scanFrom) {
                lineNumber += 1
                let lineStart = start
                start = nl + 1
                if skipped > 0 || nl - lineStart > maxLength {
                    return .tooLong(skipped + nl - lineStart)
                }
                var end = nl
                if end > lineStart && buffer[end - 1] == 0x0D { end -= 1 }
                return .text(lineStart..<end)
            }
            if atEOF {
                guard start < buffer.count || skipped > 0 else { return nil }
                lineNumber += 1
                let lineStart = start
                start = buffer.count
                if skipped > 0 || buffer.count - lineStart > maxLength {
                    return .tooLong(skipped + buffer.count - lineStart)
                }
                var end = buffer.count
                if end > lineStart && buffer[end - 1] == 0x0D { end -= 1 }
                return .text(lineStart..<end)
            }
            // Compact before reading more, and drop the head of a line already too long.
            if buffer.count - start > maxLength {
                skipped += buffer.count - start
                buffer.removeAll(keepingCapacity: true)
                start = 0
            } else if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            scanFrom = buffer.count
            try fill()
        }
    }

    /// Where the first `\n` at or after `from` is.
    private func newline(from: Int) -> Int? {
        buffer.withUnsafeBytes { b in
            guard from < b.count, let base = b.baseAddress, let hit = memchr(base + from, 0x0A, b.count - from) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
    }

    private mutating func fill() throws {
        let chunk = 65536
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        var n: Int
        repeat {
            n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + old, chunk) }
        } while n < 0 && errno == EINTR
        if n < 0 {
            let e = errno
            buffer.removeSubrange(old...)
            throw ReadError(errno: e)
        }
        buffer.removeSubrange((old + n)...)
        bytesRead += n
        if n == 0 { atEOF = true }
    }
}

/// Reads records from a JSON Lines stream. A line that is not a record is reported on stderr
/// with its number and skipped; blank lines are skipped silently.
public struct RecordReader {
    private var lines: LineReader
    /// How many lines were reported as malformed.
    public private(set) var malformed = 0

    public init(fd: Int32 = 0) { lines = LineReader(fd: fd) }

    public mutating func next() -> Record? {
        while true {
            let line: LineReader.Line?
            do { line = try lines.next() } catch {
                Diagnostics.error("stdin: \(error)")
                malformed += 1
                return nil
            }
            guard let line else { return nil }
            switch line {
            case .tooLong(let length):
                report("line is \(length) bytes, longer than \(LineReader.maxLineLength)")
            case .text(let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                do { return try Record.decode(bytes) } catch { report("\(error)") }
            }
        }
    }

    private mutating func report(_ what: String) {
        malformed += 1
        Diagnostics.error("line \(lines.lineNumber): \(what)")
    }
}
