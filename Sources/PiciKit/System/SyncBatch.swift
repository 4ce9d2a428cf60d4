import Glibc

/// The atomic writes of a pici-stage pass, synced together in a few batches. `FileSystem.writeAtomically`
/// and `AtomicFile` write each file to its temp file as always, but with a batch open they
/// only start its write-out (`sync_file_range`) and hold its rename; `commit` then fsyncs
/// every held file and only then renames each over its name, in the order written.
///
/// A pass that rewrites the logs of 189 running sessions writes ~600 files: one fsync and
/// rename after another costs one journal commit and disk flush each (~1.5 s a pass on this
/// VM's disk); written out side by side and synced before any rename, most fsyncs find their
/// data already on disk and the journal already committed. Each file is still whole and
/// synced before it can be read under its name, and a file's rename still follows those
/// written before it (a job's `.pici-staged.json` after its logs), so a kill -9 anywhere
/// leaves what it left before: temp files (`TempFiles` removes them) and no name pointing at
/// less than a whole file. pici-stage hands a job's record on only after its files are
/// committed.
public enum SyncBatch {
    /// Temp file, target and (while it is kept open) descriptor of each held write, in
    /// order; nil while no batch is open.
    nonisolated(unsafe) private static var held: [(temp: String, path: String, fd: Int32)]? = nil

    /// Held writes whose descriptors stay open until the commit syncs them, rather than
    /// each temp file opened again only to be synced (~440 opens of a pass over 189
    /// histories, bench/README.md, session 14). The rest are closed and opened again then,
    /// so that a batch never nears the fd limit.
    static let openLimit = 128
    nonisolated(unsafe) private static var openCount = 0

    /// glibc's sync_file_range(2), which the Glibc module leaves out (it is a GNU extension),
    /// and its SYNC_FILE_RANGE_WRITE: start writing the dirty pages out, wait for nothing.
    @_silgen_name("sync_file_range")
    private static func syncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
    private static let syncFileRangeWrite: UInt32 = 2

    /// Opens a batch: the writes of this process hold their renames until `commit`.
    public static func begin() { locked { if held == nil { held = [] } } }

    /// Commits what is held and closes the batch.
    public static func end() -> [FileError] { commit(closing: true) }

    /// Whether a batch is open: writes are renamed only at its commits.
    public static var isOpen: Bool { locked { held != nil } }

    /// How many writes are held.
    public static var count: Int { locked { held?.count ?? 0 } }

    /// For the writers: with a batch open, starts the write-out of `fd` (the finished temp
    /// file), keeps it open for the commit's fsync (the first `openLimit` of a commit; the
    /// rest are closed and opened again then) and holds its rename. False without a batch:
    /// sync and rename now.
    static func hold(fd: Int32, temp: String, path: String) -> Bool {
        locked {
            guard held != nil else { return false }
            _ = syncFileRange(fd, 0, 0, syncFileRangeWrite)
            if openCount < openLimit {
                openCount += 1
                held!.append((temp, path, fd))
            } else {
                close(fd)
                held!.append((temp, path, -1))
            }
            return true
        }
    }

    /// Writers may be threads of one pass (`Staging.writeFollowedAhead`); a file's rename
    /// still follows those its own thread wrote before it.
    private static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    private static func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Syncs every held file, then renames each over its name, in order. A file that cannot
    /// be synced or renamed is not, nor is any held after it (a later file may record that an
    /// earlier one was written): their temp files are removed and each is returned. A temp
    /// file that is gone went with its directory (a finished follower's), as the file would
    /// have: skipped. The batch stays open.
    public static func commit() -> [FileError] { commit(closing: false) }

    /// What is held is taken and the batch closed (or emptied) in one step under the lock: a
    /// writer's file is either in this commit or, with the batch still open, in the next.
    private static func commit(closing: Bool) -> [FileError] {
        let files: [(temp: String, path: String, fd: Int32)] = locked {
            let files = held ?? []
            held = closing || held == nil ? nil : []
            openCount = 0
            return files
        }
        guard !files.isEmpty else { return [] }
        var failures: [FileError] = []
        var cut = files.count  // the first file not renamed
        for (i, (temp, path, heldFD)) in files.enumerated() {
            if cut < files.count {
                if heldFD >= 0 { close(heldFD) }
                continue
            }
            let fd = heldFD >= 0 ? heldFD : open(temp, O_RDONLY | O_CLOEXEC)
            if fd < 0 && errno == ENOENT { continue }
            if fd < 0 || fsync(fd) != 0 {
                failures.append(FileError("sync", path))
                if fd >= 0 { close(fd) }
                cut = i
                continue
            }
            close(fd)
        }
        for (i, (temp, path, _)) in files.enumerated() {
            if i < cut {
                if rename(temp, path) == 0 { continue }
                let e = errno
                if e == ENOENT && !FileSystem.exists(temp) { continue }
                failures.append(FileError("rename into", path, e))
                cut = i
            } else if i > cut {
                failures.append(FileError("sync", path, ECANCELED))
            }
            unlink(temp)
        }
        return failures
    }
}
