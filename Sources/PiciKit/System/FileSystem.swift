import Glibc

/// A file-system call that failed, with the path and the reason.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var errno: Int32
    public var operation: String
    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }

    public init(_ operation: String, _ path: String, _ errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }
}

/// The few file operations pici needs, on Glibc.
public enum FileSystem {
    /// glibc's mkostemp(3) and mkostemps, which the Glibc module leaves out: a temp file made
    /// close-on-exec at once, so that no child spawned meanwhile by another thread (pici-stage's
    /// `BackgroundPool`) inherits it.
    @_silgen_name("mkostemp")
    static func mkostemp(_ template: UnsafeMutablePointer<CChar>, _ flags: Int32) -> Int32
    @_silgen_name("mkostemps")
    static func mkostemps(_ template: UnsafeMutablePointer<CChar>, _ suffixLength: Int32, _ flags: Int32) -> Int32

    /// Writes a file that others read the way they must see it: whole or not at all. The bytes
    /// go to a temp file beside it, are synced, and the temp file is renamed over the target
    /// (with a `SyncBatch` open, at its commit). `modified` (unix seconds) sets its time.
    /// The secrets of `Masking.active` never reach it.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, modified: Int? = nil) throws {
        let bytes = Masking.active.isEmpty ? bytes : Masking.active.mask(bytes)
        let dir = dirname(path)
        let base = String(path[path.index(after: path.lastIndex(of: "/") ?? path.index(before: path.startIndex))...])
        var template = Array("\(dir)/\(TempFiles.prefix(for: base))XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkostemp($0.baseAddress!, O_CLOEXEC) }
        guard fd >= 0 else { throw FileError("create temp file for", path) }
        let tmp = String(cString: template)
        do {
            try Output.writeAll(fd: fd, bytes)
        } catch {
            let e = errno
            close(fd)
            unlink(tmp)
            throw FileError("write", path, e)
        }
        fchmod(fd, mode)
        if let modified {
            // UTIME_OMIT ((1 << 30) - 2), a macro Swift does not import: the access time stays.
            var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2), timespec(tv_sec: modified, tv_nsec: 0)]
            if futimens(fd, &times) != 0 {
                let e = errno
                close(fd)
                unlink(tmp)
                throw FileError("set the time of", path, e)
            }
        }
        if SyncBatch.hold(fd: fd, temp: tmp, path: path) { return }
        if fsync(fd) != 0 {
            let e = errno
            close(fd)
            unlink(tmp)
            throw FileError("sync", path, e)
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw FileError("rename into", path, e)
        }
    }

    public static func writeAtomically(_ path: String, _ text: String) throws {
        try writeAtomically(path, Array(text.utf8))
    }

    /// mkdir -p.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        if isDirectory(path) { return }
        let parent = dirname(path)
        if parent != path && parent != "." && parent != "/" { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw FileError("create directory", path) }
        guard isDirectory(path) else { throw FileError("create directory", path, ENOTDIR) }
    }

    public static func readFile(_ path: String, limit: Int = 64 << 20) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("open", path) }
        defer { close(fd) }
        return try read(fd: fd, untilAtLeast: limit, name: path)
    }

    /// What `fd` holds from where it is to its end, or until `limit` bytes or more were read
    /// (the read that reaches it is kept whole); `name` names it in an error.
    static func read(fd: Int32, untilAtLeast limit: Int = .max, name: String) throws -> [UInt8] {
        var out: [UInt8] = []
        try withScratch { chunk in
            while out.count < limit {
                let n = Glibc.read(fd, chunk.baseAddress!, chunk.count)
                if n < 0 { if errno == EINTR { continue }; throw FileError("read", name) }
                if n == 0 { break }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[..<n]))
            }
        }
        return out
    }

    /// Calls `body` with scratch memory that is not cleared first: most files read are small,
    /// and clearing a 64 KB buffer for each cost more than reading them.
    static func withScratch<R>(_ count: Int = 65536, _ body: (UnsafeMutableBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count, body)
    }

    public static func readText(_ path: String) throws -> String {
        String(decoding: try readFile(path), as: UTF8.self)
    }

    public struct Info: Sendable {
        public var size: Int
        public var modifiedNanoseconds: Int
        public var isDirectory: Bool
        public var isRegular: Bool
        public var isSymlink: Bool
        public var modifiedSeconds: Int { modifiedNanoseconds / 1_000_000_000 }
    }

    /// lstat: a symlink is reported as one, never followed.
    public static func info(_ path: String) -> Info? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        let type = st.st_mode & S_IFMT
        return Info(
            size: Int(st.st_size),
            modifiedNanoseconds: Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec),
            isDirectory: type == S_IFDIR, isRegular: type == S_IFREG, isSymlink: type == S_IFLNK)
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 || info(path) != nil }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in a directory, sorted, without `.` and `..`; empty when it cannot be read.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func move(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw FileError("rename", from) }
    }

    public static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw FileError("remove", path) }
    }

    public static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func join(_ parts: String...) -> String { join(parts) }

    public static func join(_ parts: [String]) -> String {
        var out = ""
        for p in parts where !p.isEmpty {
            if out.isEmpty || out.hasSuffix("/") { out += p } else { out += "/" + p }
        }
        return out
    }

    public static func currentDirectory() -> String {
        guard let p = getcwd(nil, 0) else { return "." }
        defer { free(p) }
        return String(cString: p)
    }

    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : join(currentDirectory(), path)
    }

    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

extension FileSystem {
    /// Everything a descriptor holds until EOF (stdin for `--input -`).
    public static func readAll(fd: Int32) throws -> [UInt8] {
        try read(fd: fd, name: "stdin")
    }
}
