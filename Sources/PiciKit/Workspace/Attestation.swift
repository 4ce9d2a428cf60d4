import Glibc

/// What pici-run records beside a job, as the seed did: `artifacts/event.json` (the event)
/// and `artifacts/attestation.json` (who ran it where, on what input), written atomically so
/// that pici-stage and pici-publish never read half of one.
public struct Attestation: Equatable, Sendable {
    public var repo: String
    public var branch: String
    public var commit: String
    public var hostname: String
    public var os: String
    public var arch: String
    /// `sha256:<hex>` of a tar workspace; empty for an rsynced directory, as in the seed.
    public var workspaceChecksum: String

    public init(
        repo: String, branch: String, commit: String, hostname: String, os: String, arch: String,
        workspaceChecksum: String
    ) {
        self.repo = repo
        self.branch = branch
        self.commit = commit
        self.hostname = hostname
        self.os = os
        self.arch = arch
        self.workspaceChecksum = workspaceChecksum
    }

    /// The attestation for an event run on this machine.
    public static func forEvent(_ event: Event, workspaceChecksum: String) -> Attestation {
        let host = RunnerHost.current
        return Attestation(
            repo: event.name, branch: event.branch, commit: event.commit, hostname: host.hostname,
            os: host.os, arch: host.arch, workspaceChecksum: workspaceChecksum)
    }

    /// The seed's json.Marshal of a map: keys sorted at every level.
    public var seedJSON: String {
        "{\"provenance\":{\"branch\":\(GoJSON.quote(branch)),\"commit\":\(GoJSON.quote(commit)),\"repo\":\(GoJSON.quote(repo))},"
            + "\"runner\":{\"arch\":\(GoJSON.quote(arch)),\"hostname\":\(GoJSON.quote(hostname)),\"os\":\(GoJSON.quote(os))},"
            + "\"workspace_checksum\":\(GoJSON.quote(workspaceChecksum))}"
    }

    /// Writes event.json and attestation.json into the job's artifacts dir, creating it.
    public static func write(event: Event, attestation: Attestation, artifactDir: String, jobID: String) throws {
        try writeEvent(event, artifactDir: artifactDir, jobID: jobID)
        let dir = JobArtifacts.artifactsDir(artifactDir: artifactDir, name: event.name, jobID: jobID)
        try FileSystem.writeAtomically(dir + "/attestation.json", attestation.seedJSON)
    }

    /// Writes event.json alone, creating the artifacts dir.
    public static func writeEvent(_ event: Event, artifactDir: String, jobID: String) throws {
        let dir = JobArtifacts.artifactsDir(artifactDir: artifactDir, name: event.name, jobID: jobID)
        try FileSystem.makeDirectories(dir)
        try FileSystem.writeAtomically(dir + "/event.json", event.seedJSON)
    }
}

/// Where a job's files live under the artifact dir: `<dir>/<name>/<job_id>/artifacts/`.
public enum JobArtifacts {
    public static func jobDir(artifactDir: String, name: String, jobID: String) -> String {
        FileSystem.join(artifactDir, name, jobID)
    }

    public static func artifactsDir(artifactDir: String, name: String, jobID: String) -> String {
        FileSystem.join(jobDir(artifactDir: artifactDir, name: name, jobID: jobID), "artifacts")
    }
}

/// This machine as Go's runtime names it (runtime.GOOS, runtime.GOARCH) and os.Hostname.
public struct RunnerHost: Sendable {
    public var hostname: String
    public var os: String
    public var arch: String

    public static var current: RunnerHost {
        var u = utsname()
        uname(&u)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        var name = [CChar](repeating: 0, count: 256)
        let hostname = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : text(u.nodename)
        return RunnerHost(hostname: hostname, os: text(u.sysname).lowercased(), arch: goArch(machine: text(u.machine)))
    }

    /// uname's machine name → GOARCH.
    public static func goArch(machine: String) -> String {
        switch machine {
        case "x86_64", "amd64": return "amd64"
        case "aarch64", "arm64", "aarch64_be": return "arm64"
        case "i386", "i486", "i586", "i686": return "386"
        case "loongarch64": return "loong64"
        case "mips64": return "mips64"
        default:
            if machine.hasPrefix("armv") || machine == "arm" { return "arm" }
            return machine
        }
    }
}

/// Strings the way Go's encoding/json writes them, so files the seed's readers parse compare
/// byte for byte: `<`, `>`, `&`, U+2028 and U+2029 as \u escapes, `\b \f \n \r \t` short,
/// other control characters as \u00XX, everything else (DEL included) as it is.
public enum GoJSON {
    public static func quote(_ s: String) -> String {
        var out = "\""
        let hex = Array("0123456789abcdef")
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if u.value < 0x20 {
                    out += "\\u00"
                    out.append(hex[Int(u.value >> 4)])
                    out.append(hex[Int(u.value & 0xF)])
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
