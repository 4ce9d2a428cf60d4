import Glibc

/// A job's working copy: a fresh `${TMPDIR:-/tmp}/pici-XXXXXX` directory filled from the
/// event's workspace, as the seed's WorkspaceRsync and WorkspaceTar did. A source ending in
/// `.tar` is fetched beside that directory, checksummed and extracted into it; anything else is
/// rsynced into it without its `.git`. The directory is kept: the job's sessions run in it.
public struct Workspace: Equatable, Sendable {
    public var dir: String
    /// `sha256:<hex>` of the tarball for a tar workspace; empty for a directory, as the seed.
    public var checksum: String

    public init(dir: String, checksum: String) {
        self.dir = dir
        self.checksum = checksum
    }

    public enum Kind: Equatable, Sendable {
        case directory, tarball
    }

    public static func kind(of source: String) -> Kind { source.hasSuffix(".tar") ? .tarball : .directory }

    /// How to reach a remote source, and how long rsync may take.
    public struct Options: Sendable {
        /// `-pk`: the ssh private key; `-ck`: its certificate.
        public var key: String?
        public var certificate: String?
        public var timeout: Double
        /// For `-F ~/.ssh/config`; rsync does not expand `~` in `-e`, so we do.
        public var home: String?

        public init(key: String? = nil, certificate: String? = nil, timeout: Double = 600, home: String? = FileSystem.environment("HOME")) {
            self.key = key
            self.certificate = certificate
            self.timeout = timeout
            self.home = home
        }
    }

    /// rsync's `-e` command for the key and certificate, or nil for rsync's default (ssh, or
    /// `$RSYNC_RSH`). The seed passed its options without `ssh` in front, so rsync tried to run
    /// `-F`, and passed `-o CertificateFile` even with no certificate; both are fixed here.
    public static func remoteShell(options: Options) throws -> String? {
        guard options.key != nil || options.certificate != nil else { return nil }
        var words = ["ssh"]
        if let home = options.home, !home.isEmpty, FileSystem.exists(home + "/.ssh/config") {
            words += ["-F", try rsyncWord(home + "/.ssh/config")]
        }
        if let key = options.key {
            words += ["-i", try rsyncWord(key), "-o", "IdentitiesOnly=yes"]
        }
        if let cert = options.certificate {
            words += ["-o", try rsyncWord("CertificateFile=" + cert)]
        }
        return words.joined(separator: " ")
    }

    /// rsync splits `-e` on spaces and honours quotes (not backslashes).
    static func rsyncWord(_ word: String) throws -> String {
        let special: Set<Character> = [" ", "\t", "'", "\"", "\\"]
        guard word.contains(where: { special.contains($0) }) else { return word }
        guard !word.contains("'") else { throw WorkspaceError.unquotable(word) }
        return "'" + word + "'"
    }

    /// The rsync command that fetches `source` to `destination` (the workspace dir for a
    /// directory, the tarball's path for a tar). `--exclude=/.git` without the seed's literal
    /// quotes, which made it exclude nothing.
    public static func rsyncArguments(source: String, destination: String, kind: Kind, options: Options) throws -> [String] {
        var argv = ["rsync"]
        if kind == .directory { argv += ["-r", "--exclude=/.git"] }
        if let shell = try remoteShell(options: options) { argv += ["-e", shell] }
        argv.append("--")
        switch kind {
        case .directory: argv += [source + "/", destination + "/"]
        case .tarball: argv += [source, destination]
        }
        return argv
    }

    /// Makes the workspace. Throws WorkspaceError, naming the rsync command and its stderr,
    /// or the tar member refused.
    /// `label` (the job id) goes into the name, `pici-<label>-XXXXXX`, so a copy whose path a
    /// crash kept from being recorded can still be found by its job.
    public static func prepare(source: String, options: Options, label: String = "") throws -> Workspace {
        let base = temporaryBase()
        let stem = base + "/" + namePrefix + (label.isEmpty ? "" : label + "-")
        let dir = try makeTemporaryDirectory(stem + "XXXXXX")
        do {
            return try fill(dir, from: source, stem: stem, options: options)
        } catch {
            // Nothing will run in it: do not leave a half-made workspace behind.
            remove(dir)
            throw error
        }
    }

    private static func fill(_ dir: String, from source: String, stem: String, options: Options) throws -> Workspace {
        switch kind(of: source) {
        case .directory:
            try rsync(try rsyncArguments(source: source, destination: dir, kind: .directory, options: options), timeout: options.timeout)
            return Workspace(dir: dir, checksum: "")
        case .tarball:
            // Beside the workspace, not in it: the job sees only what the archive holds.
            let tarball = try makeTemporaryFile(stem + "XXXXXX.tar", suffixLength: 4)
            defer { unlink(tarball) }
            try rsync(try rsyncArguments(source: source, destination: tarball, kind: .tarball, options: options), timeout: options.timeout)
            let digest: String
            do { digest = try SHA256.hexDigest(ofFileAt: tarball) } catch {
                throw WorkspaceError.checksum(path: tarball, reason: "\(error)")
            }
            do { _ = try TarExtractor.extract(archive: tarball, into: dir) } catch let e as TarError {
                throw WorkspaceError.tarball(source: source, error: e)
            }
            return Workspace(dir: dir, checksum: "sha256:" + digest)
        }
    }

    /// `$TMPDIR`, else `/tmp`, as Go's os.TempDir.
    public static func temporaryBase() -> String {
        var base = FileSystem.environment("TMPDIR") ?? ""
        if base.isEmpty { base = "/tmp" }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        // Absolute: pico.sh is named by its full path to a zmx run started in another cwd.
        return FileSystem.absolute(base)
    }

    static func makeTemporaryDirectory(_ template: String) throws -> String {
        var bytes = Array(template.utf8CString)
        guard bytes.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw WorkspaceError.temporary(path: template, errno: errno)
        }
        return String(cString: bytes)
    }

    static func makeTemporaryFile(_ template: String, suffixLength: Int32) throws -> String {
        var bytes = Array(template.utf8CString)
        let fd = bytes.withUnsafeMutableBufferPointer { FileSystem.mkostemps($0.baseAddress!, suffixLength, O_CLOEXEC) }
        guard fd >= 0 else { throw WorkspaceError.temporary(path: template, errno: errno) }
        close(fd)
        return String(cString: bytes)
    }

    static func rsync(_ argv: [String], timeout: Double) throws {
        let display = argv.joined(separator: " ")
        let result: Spawn.Result
        do {
            result = try Spawn.run(argv, stdout: .discard, stderr: .capture, timeout: timeout)
        } catch let e as Spawn.Failure {
            throw WorkspaceError.cannotRun(command: display, reason: e.description)
        }
        if result.timedOut { throw WorkspaceError.timedOut(command: display, seconds: timeout) }
        if result.status != 0 {
            throw WorkspaceError.rsync(command: display, status: result.status, stderr: result.stderrText)
        }
    }
}

/// Why the workspace could not be made; each case carries the command, path or member.
public enum WorkspaceError: Error, Equatable, CustomStringConvertible {
    case temporary(path: String, errno: Int32)
    case cannotRun(command: String, reason: String)
    case timedOut(command: String, seconds: Double)
    /// rsync ran and failed; `stderr` is its own message.
    case rsync(command: String, status: Int32, stderr: String)
    case checksum(path: String, reason: String)
    case tarball(source: String, error: TarError)
    /// A key or certificate path rsync's `-e` cannot carry (it holds a single quote).
    case unquotable(String)

    public var description: String {
        switch self {
        case .temporary(let path, let e): return "workspace: cannot create \(path): \(String(cString: strerror(e)))"
        case .cannotRun(let command, let reason): return "workspace: \(command): \(reason)"
        case .timedOut(let command, let seconds):
            return "workspace: \(command): timed out after \(TimeFormat.seconds(seconds)) and was killed (--sync-timeout)"
        case .rsync(let command, let status, let stderr):
            var text = "workspace: \(command): exit \(status)"
            var message = Substring(stderr)
            while message.last == "\n" { message.removeLast() }
            if !message.isEmpty { text += "\n" + message }
            return text
        case .checksum(let path, let reason): return "workspace: checksum of \(path): \(reason)"
        case .tarball(let source, let error): return "workspace: \(source): \(error)"
        case .unquotable(let word): return "workspace: cannot pass \(SafeName.quoted(word)) to rsync -e (it holds a single quote)"
        }
    }

    /// A refused or corrupt archive is bad input; the rest is rsync, or our disk.
    public var exitStatus: ExitStatus {
        switch self {
        case .temporary, .checksum: return .cannotCreate
        case .cannotRun, .timedOut, .rsync: return .unavailable
        case .tarball(_, let e):
            if case .io = e { return .cannotCreate }
            return .dataError
        case .unquotable: return .usage
        }
    }
}
