import Glibc

/// An exclusive flock(2) on a lock file, held until `release()` or the process ends (the
/// kernel drops it then, so a killed holder never leaves the lock stuck). Two pici-publish
/// processes on one artifact dir take turns through it.
public final class FileLock {
    public let path: String
    private var fd: Int32

    /// Opens (creating) `path` and waits until the lock is ours.
    public init(path: String) throws {
        self.path = path
        // Close-on-exec: an rsync or zmx daemon started while we hold it must not inherit it.
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open lock file", path) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = errno
            close(fd)
            fd = -1
            throw FileError("lock", path, e)
        }
    }

    /// Takes the lock only if it is free now; nil when another process holds it.
    public static func tryLock(path: String) throws -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open lock file", path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            close(fd)
            if e == EWOULDBLOCK { return nil }
            throw FileError("lock", path, e)
        }
        return FileLock(path: path, fd: fd)
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}
