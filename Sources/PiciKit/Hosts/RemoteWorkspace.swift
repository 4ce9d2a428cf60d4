/// A job's working copy on another host. pici-run makes the workspace here as always (so a tar
/// workspace is checked and extracted by pici's own extractor, never by the host), then copies
/// it to a fresh `/tmp/pici-XXXXXX` on the host over the host's own ssh, and removes the local
/// copy. Removing the host's copy is the same ssh call, quoted for the remote shell.
public enum RemoteWorkspace {
    /// Makes a directory on `host` and copies `local`'s contents into it; returns its path.
    /// `made` learns the path before anything is copied (the launch record keeps it, so the
    /// copy is removed whatever happens to pici-run from here).
    public static func copy(_ local: String, to host: Host, timeout: Double, made: (String) throws -> Void = { _ in }) throws -> String {
        guard let ssh = host.sshWords else { return local }
        let mktemp = try run(ssh + [RemoteShell.line(["mktemp", "-d", root + "/" + Workspace.namePrefix + "XXXXXX"])], timeout: 60)
        let dir = String(mktemp.stdoutText.split(separator: "\n").first ?? "")
        guard isCopyPath(dir) else {
            throw WorkspaceError.cannotRun(command: "mktemp on \(host.name)", reason: "said \(SafeName.quoted(mktemp.stdoutText))")
        }
        let argv = ["rsync", "-r", "-l", "-p", "-t", "--protect-args", "-e", try rsyncShell(host), "--", local + "/",
                    host.destination! + ":" + dir + "/"]
        do {
            try made(dir)
            _ = try run(argv, timeout: timeout)
        } catch {
            remove(dir, on: host)
            throw error
        }
        return dir
    }

    /// Where the copies are made on every host.
    public static let root = "/tmp"

    /// Whether `path` is a copy `copy` made: `/tmp/pici-` and mktemp's six letters or
    /// digits, nothing else. The paths come back from state files, so nothing else is ever
    /// sent to a host's `rm -rf`.
    public static func isCopyPath(_ path: String) -> Bool {
        let prefix = root + "/" + Workspace.namePrefix
        guard path.hasPrefix(prefix) else { return false }
        let rest = path.utf8.dropFirst(prefix.utf8.count)
        return rest.count == 6 && rest.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
    }

    /// Removes a workspace copy on `host` (best effort: the reaper and gc remove what is left).
    public static func remove(_ dir: String, on host: Host) {
        _ = try? remove([dir], on: host, timeout: 60)
    }

    /// Removes copies on `host` with one `rm -rf`, every word quoted for the host's shell.
    /// Throws when a path is not a copy's (nothing is run) or the host cannot be reached or
    /// rm fails; a copy already gone counts as removed.
    public static func remove(_ dirs: [String], on host: Host, timeout: Double) throws {
        if dirs.isEmpty { return }
        if let bad = dirs.first(where: { !isCopyPath($0) }) {
            throw WorkspaceError.cannotRun(command: "rm on \(host.name)", reason: "\(SafeName.quoted(bad)) is not a workspace copy under \(root)")
        }
        guard let destination = host.destination else {
            for dir in dirs where !Workspace.remove(dir) { throw WorkspaceError.cannotRun(command: "rm -rf -- \(dir)", reason: "failed") }
            return
        }
        // A host that does not answer costs seconds, not the whole timeout of every pass.
        let ssh = ["ssh", "-o", "BatchMode=yes"] + host.sshOptions + ["-o", "ConnectTimeout=10", "--", destination]
        try run(ssh + [RemoteShell.line(["rm", "-rf", "--"] + dirs)], timeout: timeout)
    }

    /// rsync's `-e`: the host's ssh command without its destination, each word as rsync
    /// splits them (spaces, and quotes that keep spaces).
    static func rsyncShell(_ host: Host) throws -> String {
        let words = ["ssh", "-o", "BatchMode=yes"] + host.sshOptions
        return try words.map { try Workspace.rsyncWord($0) }.joined(separator: " ")
    }

    @discardableResult
    static func run(_ argv: [String], timeout: Double) throws -> Spawn.Result {
        let display = argv.joined(separator: " ")
        let result: Spawn.Result
        do {
            result = try Spawn.run(argv, stderr: .capture, timeout: timeout)
        } catch let e as Spawn.Failure {
            throw WorkspaceError.cannotRun(command: display, reason: e.description)
        }
        if result.timedOut { throw WorkspaceError.timedOut(command: display, seconds: timeout) }
        if result.status != 0 { throw WorkspaceError.rsync(command: display, status: result.status, stderr: result.stderrText) }
        return result
    }
}
