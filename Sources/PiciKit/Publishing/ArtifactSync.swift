import Glibc

/// Copies a job's artifact directory to the event's `artifact_dest` with rsync, as the seed's
/// syncJobArtifacts, with the holes closed: the destination can never be read as an option,
/// and the ssh key and certificate paths must survive rsync's splitting of `-e` intact.
public struct ArtifactSync: Sendable {
    /// The ssh private key (`-pk`) and certificate (`-ck`), nil for rsync's default transport.
    public var key: String?
    public var certificate: String?
    /// Seconds one rsync may take before it is killed and reported.
    public var timeout: Double
    /// Whose `~/.ssh/config` ssh is pointed at, as the seed's `-F ~/.ssh/config` meant.
    public var home: String?

    public static let defaultTimeout = 300.0

    public init(
        key: String? = nil, certificate: String? = nil, timeout: Double = ArtifactSync.defaultTimeout,
        home: String? = FileSystem.environment("HOME")
    ) {
        self.key = key.flatMap { $0.isEmpty ? nil : $0 }
        self.certificate = certificate.flatMap { $0.isEmpty ? nil : $0 }
        self.timeout = timeout
        self.home = home
    }

    /// Why a sync did not happen or did not succeed.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// A destination or path rsync or ssh would misread; the value is the offending input.
        case refused(value: String, reason: String)
        case notFound
        case failed(command: String, status: Int32, message: String)
        case timedOut(command: String, seconds: Double)

        public var description: String {
            switch self {
            case .refused(let value, let reason): return "refusing \(SafeName.quoted(value)): \(reason)"
            case .notFound: return "rsync: command not found"
            case .failed(let command, let status, let message):
                return "\(command): exit \(status)" + (message.isEmpty ? "" : ": \(message)")
            case .timedOut(let command, let seconds): return "\(command): timed out after \(TimeFormat.seconds(seconds)) and was killed"
            }
        }
    }

    /// The ssh command rsync gets with `-e`, or nil without a key. rsync splits it on spaces
    /// and honours quotes (not backslashes), with no shell: a path holding either would be cut
    /// or re-joined, so such a path is refused rather than guessed at.
    public func sshCommand() throws -> String? {
        guard let key else { return nil }
        try ArtifactSync.checkWord(key, what: "-pk key path")
        if let certificate { try ArtifactSync.checkWord(certificate, what: "-ck certificate path") }
        // The same ssh command the workspace rsync uses: neither rsync nor ssh expands the
        // seed's `~`, so the config is named by $HOME, and only when it exists.
        do {
            return try Workspace.remoteShell(options: Workspace.Options(key: key, certificate: certificate, home: home))
        } catch {
            throw Failure.refused(value: home ?? "", reason: "\(error)")
        }
    }

    static func checkWord(_ value: String, what: String) throws {
        if value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0 == "'" || $0 == "\"" }) {
            throw Failure.refused(value: value, reason: "\(what) holds white space or a quote, which rsync -e cannot pass to ssh")
        }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw Failure.refused(value: value, reason: "\(what) holds a control character")
        }
    }

    /// The rsync command line for a batch: `rsync -r --from0 --files-from=- [-e SSH]
    /// --exclude=.pici-* -- SOURCE/ DEST/`, the files (paths under SOURCE, which they keep
    /// under DEST) given on stdin, NUL-separated, so any file name is read as it is. With
    /// `makePath`, `--mkpath` makes DEST's missing parents (rsync 3.2.3 or later on the
    /// receiving side): a templated destination's `{name}/{job_id}` do not exist yet.
    public func arguments(source: String, destination: String, makePath: Bool = false) throws -> [String] {
        if destination.isEmpty { throw Failure.refused(value: destination, reason: "empty artifact_dest") }
        // `--` already stops option parsing; refusing keeps a hostile event visible.
        if destination.hasPrefix("-") { throw Failure.refused(value: destination, reason: "artifact_dest starts with -") }
        if destination.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw Failure.refused(value: destination, reason: "artifact_dest holds a control character")
        }
        var argv = ["rsync", "-r", "--from0", "--files-from=-"]
        if makePath { argv.append("--mkpath") }
        if let ssh = try sshCommand() { argv += ["-e", ssh] }
        // The trailing slashes put the files under the destination, not under a directory
        // named after the source, as the seed did.
        let src = source.hasSuffix("/") ? source : source + "/"
        let dest = destination.hasSuffix("/") ? destination : destination + "/"
        argv += ["--exclude=.pici-*", "--exclude=\(TempFiles.pattern)", "--", src, dest]
        return argv
    }

    /// Starts one rsync of `files` (paths under `source`) for a `ChildPool`. Its chatter is
    /// dropped: stdout carries status lines only.
    public func start(source: String, destination: String, files: [String], makePath: Bool = false) throws -> Child {
        let argv = try arguments(source: source, destination: destination, makePath: makePath)
        var list: [UInt8] = []
        for f in files { list += Array(f.utf8) + [0] }
        do {
            return try Spawn.start(argv, input: list, stdout: .discard, stderr: .capture, timeout: timeout)
        } catch let e as Spawn.Failure where e.errno == ENOENT {
            throw Failure.notFound
        }
    }

    /// How one rsync ended, as a Failure when it did not succeed.
    public func check(_ result: Spawn.Result, source: String, destination: String) throws {
        let display = "rsync \(source)/ \(destination)"
        if result.timedOut { throw Failure.timedOut(command: display, seconds: timeout) }
        if result.status != 0 {
            let message = result.stderrText.split(separator: "\n").first.map(String.init) ?? ""
            throw Failure.failed(command: display, status: result.status, message: message)
        }
    }
}
