/// The build hosts pici runs jobs on, from a hosts file (`--hosts FILE`, `PICI_HOSTS`): a host
/// a line, `NAME DESTINATION [ssh options...] [slots=N]`, `#` comments and blank lines
/// ignored, `-` as DESTINATION for this machine. Without a file there is one implicit host,
/// `local`, that calls zmx as `$PICI_ZMX` says; every command then behaves as it always did.
public struct Hosts: Sendable, Equatable {
    public var hosts: [Host]
    /// Whether the hosts came from a file; records carry `host` only then.
    public var configured: Bool

    public static let implicit = Hosts(hosts: [Host(name: "local", destination: nil, sshOptions: [], slots: nil)], configured: false)

    public init(hosts: [Host], configured: Bool) {
        self.hosts = hosts
        self.configured = configured
    }

    public subscript(name: String) -> Host? { hosts.first { $0.name == name } }

    /// The hosts of `--hosts FILE`, else of `$PICI_HOSTS`, else the implicit local one.
    public static func load(flag: String?, environment: (String) -> String? = FileSystem.environment) throws -> Hosts {
        guard let path = flag ?? environment("PICI_HOSTS").flatMap({ $0.isEmpty ? nil : $0 }) else { return .implicit }
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path, limit: 1 << 20)
        } catch {
            throw HostsError.unreadable(path: path, reason: "\(error)")
        }
        return try parse(String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// Parses a hosts file's text; `file` names it in errors.
    public static func parse(_ text: String, file: String = "hosts") throws -> Hosts {
        var hosts: [Host] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            func bad(_ reason: String) -> HostsError { .badLine(file: file, line: number, reason: reason) }
            if let c = raw.unicodeScalars.first(where: { ($0.value < 0x20 && $0 != "\t" && $0 != "\r") || $0.value == 0x7F }) {
                throw bad("control character \\x\(String(c.value, radix: 16))")
            }
            guard words.count >= 2 else { throw bad("want NAME DESTINATION [ssh options...] [slots=N]") }
            let name = words[0]
            guard Host.isValidName(name) else {
                throw bad("host name \(SafeName.quoted(name)): use letters, digits, . _ - (not first: . -)")
            }
            if hosts.contains(where: { $0.name == name }) { throw bad("host \(name) is named twice") }
            let destination = words[1]
            guard destination == "-" || Host.isValidDestination(destination) else {
                throw bad("destination \(SafeName.quoted(destination)): want [user@]host or -")
            }
            var options = Array(words.dropFirst(2))
            var slots: Int? = nil
            if let last = options.last, last.hasPrefix("slots=") {
                guard let n = Int(last.dropFirst(6)), n >= 1, n <= 4096 else {
                    throw bad("\(last): slots must be a whole number from 1 to 4096")
                }
                slots = n
                options.removeLast()
            }
            if destination == "-" && !options.isEmpty { throw bad("ssh options for this machine (-)") }
            if let first = options.first, !first.hasPrefix("-") {
                throw bad("\(SafeName.quoted(first)): ssh options start with -")
            }
            hosts.append(Host(name: name, destination: destination == "-" ? nil : destination, sshOptions: options, slots: slots))
        }
        guard !hosts.isEmpty else { throw HostsError.empty(file: file) }
        return Hosts(hosts: hosts, configured: true)
    }
}

/// One build host: where its zmx runs and how many jobs it may run at once.
public struct Host: Sendable, Equatable {
    public var name: String
    /// `[user@]host` for ssh; nil for this machine.
    public var destination: String?
    public var sshOptions: [String]
    /// The most jobs it runs at once; nil: its CPU count.
    public var slots: Int?

    public init(name: String, destination: String?, sshOptions: [String], slots: Int?) {
        self.name = name
        self.destination = destination
        self.sshOptions = sshOptions
        self.slots = slots
    }

    public var isLocal: Bool { destination == nil }

    /// The ssh command line up to and including the destination; nil for this machine.
    /// BatchMode: a host that asks for a password must fail, not hang a monitor pass.
    public var sshWords: [String]? {
        guard let destination else { return nil }
        return ["ssh", "-o", "BatchMode=yes"] + sshOptions + ["--", destination]
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "-"), first != UInt8(ascii: "."), name.utf8.count <= 64 else { return false }
        return name.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// `[user@]host`, where host may be a name, an IPv4 address or a bracketed IPv6 one: no
    /// leading `-` (ssh would take it for an option), nothing a shell or ssh would interpret.
    static func isValidDestination(_ d: String) -> Bool {
        guard let first = d.utf8.first, first != UInt8(ascii: "-"), d.utf8.count <= 255 else { return false }
        return d.utf8.allSatisfy {
            isAlnum($0) || "._-@:[]%".utf8.contains($0)
        }
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
}

/// Why a hosts file cannot be used; each names the file and, for a bad line, its number.
public enum HostsError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case badLine(file: String, line: Int, reason: String)
    case empty(file: String)

    public var description: String {
        switch self {
        case .unreadable(_, let reason): return "hosts file: \(reason)"
        case .badLine(let file, let line, let reason): return "\(file): line \(line): \(reason)"
        case .empty(let file): return "\(file): no hosts"
        }
    }
}

extension ZmxCommand {
    /// zmx on `host`: `local` (from `$PICI_ZMX` or `--zmx`) on this machine, else
    /// `ssh -o BatchMode=yes [options] -- DESTINATION zmx ARGS`, with the same timeout.
    public static func on(_ host: Host, local: ZmxCommand) -> ZmxCommand {
        guard let ssh = host.sshWords else { return local }
        var command = local
        command.words = ssh
        command.remote = true
        return command
    }
}
