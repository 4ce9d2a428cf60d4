import Glibc

/// Keeps a regular file on stdout to whole lines, so that a consumer never reads a torn one.
///
/// A write cut short — the disk full, a file-size limit — leaves the head of a line in the
/// file, and whatever comes next would be appended to it: one invalid line. `cutBack` undoes
/// such a write at once; `cutPartialLastLine` removes the head a writer killed mid-line left,
/// before anything else is written. Through a pipe nothing can be taken back: there the line
/// that is written again starts on a new line (Publisher), so the reader sees the fragment as
/// a line of its own and can drop it.
public enum WholeLines {
    /// Whether `fd` is a regular file, and if so where its writes go now (its end when it is
    /// open for appending).
    static func position(_ fd: Int32) -> (size: Int, at: Int, append: Bool)? {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        let append = fcntl(fd, F_GETFL) & O_APPEND != 0
        let at = append ? Int(st.st_size) : Int(lseek(fd, 0, SEEK_CUR))
        guard at >= 0 else { return nil }
        return (Int(st.st_size), at, append)
    }

    /// After a failed write that had put `written` bytes into the regular file `fd`: cuts the
    /// file back to where that write began. Nothing for any other file.
    static func cutBack(_ fd: Int32, written: Int) {
        let saved = errno  // the caller reports the write's error, not ours
        defer { errno = saved }
        guard written > 0, let p = position(fd), p.at >= written else { return }
        let start = p.at - written
        guard ftruncate(fd, off_t(start)) == 0 else { return }
        if !p.append { lseek(fd, off_t(start), SEEK_SET) }
    }

    /// When the regular file on `fd` does not end in a newline, cuts it back to just after its
    /// last one (or to empty): the tail is the head of a line whose writer died. Returns how
    /// many bytes were cut; 0 for a file that ends whole, or for any other file.
    @discardableResult
    public static func cutPartialLastLine(_ fd: Int32 = 1) -> Int {
        guard let p = position(fd), p.size > 0, p.at == p.size else { return 0 }
        // stdout is open for writing only; read the same file through a descriptor of our own.
        let reader = open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else { return 0 }
        defer { close(reader) }
        var end = p.size
        var chunk = [UInt8](repeating: 0, count: 65536)
        var first = true
        while end > 0 {
            let from = max(0, end - chunk.count)
            let n = chunk.withUnsafeMutableBytes { pread(reader, $0.baseAddress!, end - from, off_t(from)) }
            guard n == end - from else { return 0 }
            if first && chunk[n - 1] == 0x0A { return 0 }
            first = false
            if let nl = chunk[0..<n].lastIndex(of: 0x0A) {
                end = from + nl + 1
                break
            }
            end = from
        }
        guard ftruncate(fd, off_t(end)) == 0 else { return 0 }
        if !p.append { lseek(fd, off_t(end), SEEK_SET) }
        return p.size - end
    }

    /// Whether `fd` is a regular file (where a torn write can be taken back).
    public static func isRegularFile(_ fd: Int32) -> Bool { position(fd) != nil }
}
