import Glibc

/// A committed terminal status, as the outbox keeps it: the status line, the job as
/// published, the exact text to print (and whether it is `--human` text), and where on
/// stdout it was to go.
struct OutboxEntry {
    var status: JSONObject
    var job: JobRecord
    var text: String
    var human: Bool
    var mark: StdoutMark?

    var bytes: [UInt8] {
        var o = JSONObject()
        o.append("status", .object(status))
        o.append("job", job.json)
        o.append("text", .string(text))
        o.append("human", .bool(human))
        if let mark { o.append("stdout", mark.json) }
        return JSONSerializer.bytes(.object(o)) + [0x0A]
    }

    struct Corrupt: Error, CustomStringConvertible {
        var reason: String
        var description: String { "not an outbox entry: \(reason)" }
    }

    static func read(_ path: String) throws -> OutboxEntry {
        let value: JSON
        do { value = try JSONParser.parse(try FileSystem.readFile(path, limit: 64 << 20)) } catch let e as JSONError {
            throw Corrupt(reason: "\(e)")
        }
        guard case .object(let o) = value, case .object(let status)? = o["status"], case .object(let job)? = o["job"],
              let text = o["text"]?.stringValue
        else { throw Corrupt(reason: "status, job or text missing") }
        do {
            return OutboxEntry(
                status: status, job: try JobRecord(json: job), text: text, human: o["human"]?.boolValue ?? false,
                mark: o["stdout"]?.objectValue.flatMap(StdoutMark.init))
        } catch let e as RecordError {
            throw Corrupt(reason: "\(e)")
        }
    }
}

/// Where on stdout a line was about to be written, when stdout is a regular file
/// (`pici-monitor >> status.jsonl`): after a crash the file itself shows whether the line
/// got there, which a pipe cannot.
struct StdoutMark: Equatable {
    var device: Int
    var inode: Int
    var offset: Int

    static func current() -> StdoutMark? {
        var st = stat()
        guard fstat(1, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        let append = fcntl(1, F_GETFL) & O_APPEND != 0
        let offset = append ? Int(st.st_size) : Int(lseek(1, 0, SEEK_CUR))
        guard offset >= 0 else { return nil }
        return StdoutMark(device: Int(truncatingIfNeeded: st.st_dev), inode: Int(truncatingIfNeeded: st.st_ino), offset: offset)
    }

    /// Whether stdout is still that file and holds `bytes` at that offset.
    func holds(_ bytes: [UInt8]) -> Bool {
        var st = stat()
        guard fstat(1, &st) == 0, st.st_mode & S_IFMT == S_IFREG,
              Int(truncatingIfNeeded: st.st_dev) == device, Int(truncatingIfNeeded: st.st_ino) == inode,
              Int(st.st_size) >= offset + bytes.count
        else { return false }
        // stdout is open for writing only; read the same file through a descriptor of our own.
        let fd = open("/proc/self/fd/1", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var found = [UInt8](repeating: 0, count: bytes.count)
        var got = 0
        while got < bytes.count {
            let n = found.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, bytes.count - got, off_t(offset + got)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            got += n
        }
        return found == bytes
    }

    var json: JSON {
        .object(JSONObject(["dev": .int(device), "ino": .int(inode), "offset": .int(offset)]))
    }

    init(device: Int, inode: Int, offset: Int) {
        self.device = device
        self.inode = inode
        self.offset = offset
    }

    init?(_ o: JSONObject) {
        guard let d = o["dev"]?.intValue, let i = o["ino"]?.intValue, let off = o["offset"]?.intValue else { return nil }
        self.init(device: d, inode: i, offset: off)
    }
}
