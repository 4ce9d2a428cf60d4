import Glibc

/// The destination directory, held open so every member is resolved from this descriptor
/// rather than from a path string that a symlink could redirect.
final class TarDestination {
    enum EntryKind { case missing, directory, symlink, other, failed(Int32) }

    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        try TarDestination.makeDirectories(path)
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw TarError.io(path: path, errno: errno) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// The destination itself is trusted input, so plain mkdir -p is fine here.
    private static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw TarError.io(path: prefix, errno: errno) }
        }
    }

    func error(_ relative: String, _ code: Int32) -> TarError {
        .io(path: path + "/" + relative, errno: code)
    }

    func kind(_ dirfd: Int32, _ name: String) -> EntryKind {
        var st = stat()
        if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            return errno == ENOENT ? .missing : .failed(errno)
        }
        switch st.st_mode & 0o170000 {
        case 0o040000: return .directory
        case 0o120000: return .symlink
        default: return .other
        }
    }

    /// Opens the directory `parts` (relative to the destination), creating missing ones with
    /// 0755 when asked. Each step is lstat-checked and opened with O_NOFOLLOW, so no component
    /// can be a symlink. The caller closes the returned descriptor.
    func openDirectory(_ parts: ArraySlice<String>, member: String, create: Bool) throws -> Int32 {
        var current = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard current >= 0 else { throw TarError.io(path: path, errno: errno) }
        var relative = ""
        for part in parts {
            relative += (relative.isEmpty ? "" : "/") + part
            switch kind(current, part) {
            case .missing where create:
                if mkdirat(current, part, 0o755) != 0 && errno != EEXIST {
                    let e = errno
                    close(current)
                    throw error(relative, e)
                }
            case .missing:
                close(current)
                throw error(relative, ENOENT)
            case .directory:
                break
            case .symlink:
                close(current)
                throw TarError.unsafeMember(name: member, reason: "path passes through symlink \"\(relative)\"")
            case .other:
                close(current)
                throw error(relative, ENOTDIR)
            case .failed(let e):
                close(current)
                throw error(relative, e)
            }
            let next = openat(current, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let e = errno
            close(current)
            guard next >= 0 else {
                // ELOOP: it became a symlink after the lstat above.
                if e == ELOOP {
                    throw TarError.unsafeMember(name: member, reason: "path passes through symlink \"\(relative)\"")
                }
                throw error(relative, e)
            }
            current = next
        }
        return current
    }

    /// Clears the way for a new file or link: an existing file or symlink is unlinked (never
    /// followed); a directory is left alone and reported.
    func removeNonDirectory(_ dirfd: Int32, _ name: String, relative: String) throws {
        switch kind(dirfd, name) {
        case .missing: return
        case .directory: throw error(relative, EISDIR)
        case .failed(let e): throw error(relative, e)
        case .symlink, .other:
            if unlinkat(dirfd, name, 0) != 0 && errno != ENOENT { throw error(relative, errno) }
        }
    }
}
