/// Removing a job's working copy once nothing will run in it: at once when pici-run fails
/// after making it, after `--keep` once the job is published, and by gc when a crash left it.
extension Workspace {
    /// The start of every workspace copy's name, as `prepare` makes them.
    public static let namePrefix = "pici-"

    /// Whether `path` has the shape of a copy `prepare` made: absolute, free of `..` and of
    /// control characters, its last component `pici-…`. The paths come from state files, so
    /// nothing else is ever handed to `rm -rf`.
    public static func isWorkspacePath(_ path: String) -> Bool {
        guard path.hasPrefix("/"), !path.hasSuffix("/") else { return false }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard let last = parts.last, last.hasPrefix(namePrefix), last.count > namePrefix.count else { return false }
        return !parts.contains { $0.isEmpty || $0 == "." || $0 == ".." }
            && !path.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// `rm -rf` of a workspace copy; one already gone is removed. False when the path is not
    /// a workspace's or rm failed.
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        guard isWorkspacePath(path) else { return false }
        guard FileSystem.info(path) != nil else { return true }
        guard let result = try? Spawn.run(["rm", "-rf", "--", path], stdout: .discard, stderr: .discard, timeout: 120) else { return false }
        return result.status == 0 && FileSystem.info(path) == nil
    }
}
