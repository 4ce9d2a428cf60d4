import Glibc

/// Buffered sequential reader over the archive; tracks the byte offset for error reports.
final class ArchiveReader {
    let path: String
    let fd: Int32
    /// Known for regular files, so a size running past EOF is caught before anything is written.
    let fileSize: Int?
    private let capacity = 64 * 1024
    private let buffer: UnsafeMutableRawPointer
    private var start = 0
    private var end = 0
    private(set) var offset = 0

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TarError.io(path: path, errno: errno) }
        var st = stat()
        if fstat(fd, &st) == 0 && st.st_mode & 0o170000 == 0o100000 {
            fileSize = Int(st.st_size)
        } else {
            fileSize = nil
        }
        self.fd = fd
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// Refills an empty buffer; false at EOF.
    private func fill() throws -> Bool {
        while true {
            let n = Glibc.read(fd, buffer, capacity)
            if n < 0 {
                if errno == EINTR { continue }
                throw TarError.io(path: path, errno: errno)
            }
            start = 0
            end = n
            return n > 0
        }
    }

    func ensureAvailable(_ count: Int, headerOffset: Int) throws {
        guard let fileSize else { return }
        if count > fileSize - offset {
            throw TarError.corrupt(offset: headerOffset, reason: "member size runs past the end of the archive")
        }
    }

    /// The next 512-byte block; nil at a clean EOF.
    func readBlock() throws -> [UInt8]? {
        let blockOffset = offset
        var block = [UInt8]()
        block.reserveCapacity(TarHeader.blockSize)
        while block.count < TarHeader.blockSize {
            if start == end {
                guard try fill() else {
                    if block.isEmpty { return nil }
                    throw TarError.corrupt(offset: blockOffset, reason: "archive ends inside a header block")
                }
            }
            let n = min(TarHeader.blockSize - block.count, end - start)
            block.append(contentsOf: UnsafeRawBufferPointer(start: buffer + start, count: n))
            start += n
            offset += n
        }
        return block
    }

    /// Hands the next `count` bytes to `body` in buffer-sized chunks.
    func stream(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var left = count
        while left > 0 {
            if start == end {
                guard try fill() else {
                    throw TarError.corrupt(offset: offset, reason: "member data runs past the end of the archive")
                }
            }
            let n = min(left, end - start)
            try body(UnsafeRawBufferPointer(start: buffer + start, count: n))
            start += n
            offset += n
            left -= n
        }
    }

    func read(_ count: Int) throws -> [UInt8] {
        var data = [UInt8]()
        data.reserveCapacity(count)
        try stream(count) { data.append(contentsOf: $0) }
        return data
    }

    func skip(_ count: Int) throws {
        try stream(count) { _ in }
    }
}
