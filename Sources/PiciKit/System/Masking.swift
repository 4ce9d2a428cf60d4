import Glibc

/// Secrets that must never reach a file pici writes or a line it prints: every occurrence
/// becomes `***`, in the plain form and in the forms HTML and JSON give it (`&amp;`, `\"`),
/// so the same secret is caught in a `.txt`, an `.html` page and a status line alike.
///
/// A secret shorter than `minimumLength` bytes is refused: it would mask half of every log.
public struct Masker: Sendable, Equatable {
    public static let replacement: [UInt8] = Array("***".utf8)
    public static let minimumLength = 4

    /// Every form of every secret, longest first, so that a secret holding another is
    /// replaced whole.
    public private(set) var patterns: [[UInt8]] = []
    /// The secrets as given.
    public private(set) var secrets: [String] = []

    public init() {}

    public init(secrets: [String]) throws {
        for s in secrets { try add(s) }
    }

    public var isEmpty: Bool { patterns.isEmpty }
    /// The longest pattern, for callers that mask a stream in pieces.
    public var longest: Int { patterns.first?.count ?? 0 }

    public struct TooShort: Error, CustomStringConvertible, Equatable {
        public var origin: String
        public var length: Int
        public var description: String {
            "\(origin): a secret of \(length) byte\(length == 1 ? "" : "s") is refused: "
                + "at least \(Masker.minimumLength) are needed (a shorter one would mask most of every log)"
        }
    }

    /// Adds a secret; `origin` names where it came from, for the error.
    public mutating func add(_ secret: String, origin: String = "secret") throws {
        guard secret.utf8.count >= Masker.minimumLength else { throw TooShort(origin: origin, length: secret.utf8.count) }
        if secrets.contains(secret) { return }
        secrets.append(secret)
        var forms: [String] = [secret, HTML.escape(secret)]
        // The other spellings of ' and " that HTML writers use.
        forms.append(HTML.escape(secret).replacingAll("&#39;", with: "&apos;"))
        forms.append(HTML.escape(secret).replacingAll("&#39;", with: "&#x27;").replacingAll("&quot;", with: "&#34;"))
        var json: [UInt8] = []
        JSONSerializer.writeString(secret, into: &json)
        forms.append(String(decoding: json.dropFirst().dropLast(), as: UTF8.self))
        for f in forms where !patterns.contains(Array(f.utf8)) { patterns.append(Array(f.utf8)) }
        patterns.sort { $0.count > $1.count }
    }

    /// The bytes with every occurrence of a secret replaced.
    public func mask(_ bytes: [UInt8]) -> [UInt8] {
        if patterns.isEmpty || bytes.count < Masker.minimumLength { return bytes }
        var current = bytes
        for p in patterns { current = Masker.replace(p, in: current) }
        return current
    }

    public func mask(_ text: String) -> String {
        if patterns.isEmpty { return text }
        let bytes = Array(text.utf8)
        let masked = mask(bytes)
        return masked == bytes ? text : String(decoding: masked, as: UTF8.self)
    }

    /// Whether the text holds a secret in any form.
    public func reveals(_ text: String) -> Bool {
        if patterns.isEmpty { return false }
        let bytes = Array(text.utf8)
        return patterns.contains { Masker.find($0, in: bytes, from: 0) != nil }
    }

    static func replace(_ pattern: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        guard var at = find(pattern, in: bytes, from: 0) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var from = 0
        while true {
            out.append(contentsOf: bytes[from..<at])
            out.append(contentsOf: replacement)
            from = at + pattern.count
            guard let next = find(pattern, in: bytes, from: from) else { break }
            at = next
        }
        out.append(contentsOf: bytes[from...])
        return out
    }

    static func find(_ pattern: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard start <= bytes.count, bytes.count - start >= pattern.count else { return nil }
        guard let first = pattern.first else { return start }
        // memchr to the next candidate first byte, then memcmp (Glibc's memmem is not imported).
        return bytes.withUnsafeBytes { hay in
            pattern.withUnsafeBytes { needle in
                let base = hay.baseAddress!
                var at = start
                let last = hay.count - needle.count
                while at <= last {
                    guard let p = memchr(base + at, Int32(first), last - at + 1) else { return nil }
                    let i = base.distance(to: UnsafeRawPointer(p))
                    if memcmp(base + i, needle.baseAddress!, needle.count) == 0 { return i }
                    at = i + 1
                }
                return nil
            }
        }
    }
}

/// The secrets of a run: `--mask-file FILE` or `PICI_MASK_FILE`, plus whatever a command adds
/// (pici-run's `--secret-env-file`). Once `active` is set, every file written with
/// `FileSystem.writeAtomically` and every byte written with `Output` is masked: the net
/// under the places that mask line by line (a secret split by a wrapped row is caught there).
public enum Masking {
    nonisolated(unsafe) public static var active = Masker()

    /// Where `active`'s secrets came from: each file as it was just before it was read (path,
    /// device, inode, size, change and modification times). pici-stage's snapshot prints
    /// cover these rather than the values, so that a page is masked again once a secret
    /// changes, and no function of a value is written anywhere.
    nonisolated(unsafe) public private(set) static var sources: [String] = []

    /// Before the read: a file changed between the two is taken for changed on the next pass.
    private static func noteSource(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return sources.append(path) }
        sources.append(
            "\(path)\t\(st.st_dev):\(st.st_ino)\t\(st.st_size)\t\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)\t\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)")
    }

    public struct FileProblem: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "mask file \(path): \(reason)" }
    }

    /// Reads a mask file: each non-empty line is a secret, or `NAME=VALUE` (an env file)
    /// whose VALUE is one. A CR before the newline is dropped.
    public static func secrets(inFile path: String) throws -> [(secret: String, line: Int)] {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path, limit: 1 << 20) } catch let e as FileError {
            throw FileProblem(path: path, reason: String(cString: strerror(e.errno)))
        }
        var out: [(String, Int)] = []
        for (i, raw) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            var line = String(decoding: raw, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty { continue }
            out.append((EnvFile.assignment(line)?.value ?? line, i + 1))
        }
        return out
    }

    /// Where pici-run names the `--secret-env-file`s of each job it starts, one path a line in
    /// `<name>.<job_id>`, so that pici-stage and pici-publish mask their values too without
    /// being told: the values themselves are never written under the artifact dir.
    public static func jobMasksDirectory(artifactDir: String) -> String { artifactDir + "/.pici/masks" }

    public static func recordJobMasks(artifactDir: String, name: String, jobID: String, files: [String]) throws {
        guard !files.isEmpty else { return }
        let dir = jobMasksDirectory(artifactDir: artifactDir)
        try FileSystem.makeDirectories(dir)
        try FileSystem.writeAtomically(dir + "/\(name).\(jobID)", files.map { FileSystem.absolute($0) + "\n" }.joined())
    }

    /// Adds the values of every secret env file the jobs of `artifactDir` were started with.
    public static func loadJobMasks(artifactDir: String) throws {
        let dir = jobMasksDirectory(artifactDir: artifactDir)
        for entry in FileSystem.list(dir) where !entry.hasPrefix(".") {
            let listing = dir + "/" + entry
            noteSource(listing)
            let paths: [UInt8]
            do { paths = try FileSystem.readFile(listing, limit: 1 << 16) } catch let e as FileError {
                throw FileProblem(path: listing, reason: String(cString: strerror(e.errno)))
            }
            for raw in paths.split(separator: 0x0A) {
                let path = String(decoding: raw, as: UTF8.self)
                let pairs: [(name: String, value: String)]
                noteSource(path)
                do { pairs = try EnvFile.read(path) } catch let e as FileError {
                    throw FileProblem(path: path, reason: "\(String(cString: strerror(e.errno))) (a --secret-env-file of job \(entry))")
                }
                for p in pairs { try active.add(p.value, origin: "\(path): \(p.name)") }
            }
        }
    }

    /// Loads `--mask-file` (else `PICI_MASK_FILE`) into `active`. A missing or unreadable
    /// file, or a secret that is too short, is thrown: the command must stop before it
    /// writes anything, since publishing unmasked is worse than publishing nothing.
    public static func load(flag: String?) throws {
        guard let path = flag ?? FileSystem.environment("PICI_MASK_FILE").flatMap({ $0.isEmpty ? nil : $0 }) else { return }
        noteSource(path)
        for (secret, line) in try secrets(inFile: path) {
            try active.add(secret, origin: "mask file \(path): line \(line)")
        }
    }
}

/// `NAME=VALUE` lines, as env files, mask files and `--pass-env` use them.
public enum EnvFile {
    /// The name and value of a `NAME=VALUE` line whose NAME is a shell variable name.
    public static func assignment(_ line: String) -> (name: String, value: String)? {
        guard let eq = line.firstIndex(of: "="), eq != line.startIndex else { return nil }
        let name = line[..<eq]
        guard isName(name) else { return nil }
        return (String(name), String(line[line.index(after: eq)...]))
    }

    public static func isName<S: StringProtocol>(_ s: S) -> Bool {
        guard let first = s.utf8.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return false }
        return s.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_")
        }
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var text: String
        public var description: String { "\(path): line \(line): not NAME=VALUE: \(SafeName.quoted(text))" }
    }

    /// The assignments of an env file: `NAME=VALUE` lines, taken literally (no quotes, no
    /// expansion); blank lines and lines starting with `#` are skipped.
    public static func read(_ path: String) throws -> [(name: String, value: String)] {
        let bytes = try FileSystem.readFile(path, limit: 1 << 20)
        var out: [(String, String)] = []
        for (i, raw) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            var line = String(decoding: raw, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.hasPrefix("#") { continue }
            guard let a = assignment(line) else { throw Malformed(path: path, line: i + 1, text: line) }
            out.append(a)
        }
        return out
    }
}

extension String {
    /// Every occurrence of `target` replaced (Foundation's replacingOccurrences, without it).
    func replacingAll(_ target: String, with replacement: String) -> String {
        let t = Array(target.utf8)
        let bytes = Array(utf8)
        guard !t.isEmpty, Masker.find(t, in: bytes, from: 0) != nil else { return self }
        var out: [UInt8] = []
        var from = 0
        while let at = Masker.find(t, in: bytes, from: from) {
            out.append(contentsOf: bytes[from..<at])
            out.append(contentsOf: replacement.utf8)
            from = at + t.count
        }
        out.append(contentsOf: bytes[from...])
        return String(decoding: out, as: UTF8.self)
    }
}
