import Glibc

/// The temp files of `FileSystem.writeAtomically`: `.<name>.tmp.<pid>.XXXXXX` beside the file.
///
/// A writer killed between creating one and renaming it over its target leaves it behind
/// (kill -9 leaves several a run). Carrying the writer's pid lets a later pass tell a
/// leftover (its writer is gone) from a write still going in another process (pici-stage
/// runs beside pici-publish), and the pattern keeps every one of them out of rsync.
public enum TempFiles {
    /// For rsync's `--exclude`.
    public static let pattern = ".*.tmp.*"

    static func prefix(for base: String) -> String { ".\(base).tmp.\(getpid())." }

    /// Removes the leftovers in `dir` (not below it): temp files whose writer is no longer
    /// running, and ones of the older form without a pid that are over an hour old. Returns
    /// how many were removed.
    @discardableResult
    public static func removeLeftovers(in dir: String, now: Int = Clock.nowSeconds()) -> Int {
        sweep(in: dir, now: now).removed
    }

    /// `removeLeftovers`, and how many temp files it left: those of writes still going.
    static func sweep(in dir: String, now: Int = Clock.nowSeconds()) -> (removed: Int, left: Int) {
        var removed = 0, left = 0
        for name in FileSystem.list(dir) where name.hasPrefix(".") {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            guard let tmp = parts.lastIndex(of: "tmp"), tmp >= 2 else { continue }
            let tail = parts[(tmp + 1)...]
            let leftover: Bool
            if tail.count == 2, tail.last!.count == 6, let pid = Int32(tail.first!), pid > 0 {
                leftover = kill(pid, 0) != 0 && errno == ESRCH
            } else if tail.count == 1, tail.first!.count == 6 {
                leftover = (FileSystem.info(dir + "/" + name)?.modifiedNanoseconds ?? Int.max) / 1_000_000_000 < now - 3600
            } else {
                leftover = false
            }
            if leftover && unlink(dir + "/" + name) == 0 { removed += 1 } else { left += 1 }
        }
        return (removed, left)
    }
}
