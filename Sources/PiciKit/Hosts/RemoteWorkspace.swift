/// A job's working copy on another host. pici-run makes the workspace here as always (so a tar
/// workspace is checked and extracted by pici's own extractor, never by the host), then copies
/// it to a fresh `/tmp/pici-XXXXXX` on the host over the host's own ssh, and removes the local
/// copy. Removing the host's copy is the same ssh call, quoted for the remote shell.
public enum RemoteWorkspace {
    /// Makes a directory on `host` and copies `local`'s contents into it; returns its path.
    public static func copy(_ local: String, to host: Host, timeout: Double) throws -> String {
        guard let ssh = host.sshWords else { return local }
        let made = try run(ssh + [RemoteShell.line(["mktemp", "-d", "/tmp/pici-XXXXXX"])], timeout: 60)
        let dir = String(made.stdoutText.split(separator: "\n").first ?? "")
        guard dir.hasPrefix("/tmp/pici-"), SafeName.isSafe(String(dir.dropFirst(5))), dir.utf8.count == 16 else {
            throw WorkspaceError.cannotRun(command: "mktemp on \(host.name)", reason: "said \(SafeName.quoted(made.stdoutText))")
        }
        let argv = ["rsync", "-r", "-l", "-p", "-t", "--protect-args", "-e", try rsyncShell(host), "--", local + "/",
                    host.destination! + ":" + dir + "/"]
        do {
            _ = try run(argv, timeout: timeout)
        } catch {
            remove(dir, on: host)
            throw error
        }
        return dir
    }

    /// Removes a workspace copy on `host` (best effort: gc removes what is left).
    public static func remove(_ dir: String, on host: Host) {
        guard dir.hasPrefix("/tmp/pici-"), !dir.contains("/..") else { return }
        let words = host.sshWords.map { $0 + [RemoteShell.line(["rm", "-rf", "--", dir])] } ?? ["rm", "-rf", "--", dir]
        _ = try? Spawn.run(words, stdout: .discard, stderr: .discard, timeout: 60)
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
