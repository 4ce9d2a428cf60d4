import Glibc

/// Posting a commit status to a forge through curl. The request is built here (pure) and
/// handed to curl as a config on its standard input, so the token is never in an argument
/// list that `ps` shows, and never in a file of ours.
public struct ForgeClient: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case gitea, github
    }

    public var kind: Kind
    /// The API root: `https://codeberg.org/api/v1`, `https://api.github.com`.
    public var api: String
    public var token: String
    /// Seconds one request may take, connecting included.
    public var timeout: Double

    public static let defaultTimeout = 10.0

    public init(kind: Kind, api: String, token: String, timeout: Double = ForgeClient.defaultTimeout) {
        var api = api
        while api.hasSuffix("/") { api.removeLast() }
        self.kind = kind
        self.api = api
        self.token = token
        self.timeout = timeout
    }

    /// Why a flag's value cannot be used.
    public struct Refused: Error, Equatable, CustomStringConvertible {
        public var what: String
        public var reason: String
        public var description: String { "\(what): \(reason)" }
    }

    /// An API root curl will take as a URL and nothing else.
    public static func checkAPI(_ api: String) throws {
        guard api.hasPrefix("https://") || api.hasPrefix("http://") else {
            throw Refused(what: "--api \(SafeName.quoted(api))", reason: "not an http:// or https:// URL")
        }
        if api.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "\"" || $0 == "\\" }) {
            throw Refused(what: "--api \(SafeName.quoted(api))", reason: "holds white space, a quote, a backslash or a control character")
        }
    }

    /// The token as the file holds it, without the trailing newline; one that would end a
    /// header line early is refused. The message never shows it.
    public static func token(fromFile path: String) throws -> String {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path, limit: 64 << 10) } catch let e as FileError {
            throw Refused(what: "--token-file \(path)", reason: String(cString: strerror(e.errno)))
        }
        var text = String(decoding: bytes, as: UTF8.self)
        while let last = text.unicodeScalars.last, last == "\n" || last == "\r" || last == " " || last == "\t" {
            text.unicodeScalars.removeLast()
        }
        while let first = text.unicodeScalars.first, first == " " || first == "\t" { text.unicodeScalars.removeFirst() }
        if text.isEmpty { throw Refused(what: "--token-file \(path)", reason: "empty") }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw Refused(what: "--token-file \(path)", reason: "the token holds a line break or a control character")
        }
        return text
    }

    /// `POST {api}/repos/{owner}/{repo}/statuses/{sha}`: the same path on GitHub and Gitea.
    public func url(for status: CommitStatus) -> String {
        api + "/repos/" + status.repo + "/statuses/" + status.sha
    }

    public static func body(for status: CommitStatus) -> [UInt8] {
        var o = JSONObject()
        o.append("state", .string(status.state.rawValue))
        if let url = status.targetURL { o.append("target_url", .string(url)) }
        o.append("description", .string(String(status.description.prefix(140))))
        o.append("context", .string(status.context))
        return JSONSerializer.bytes(.object(o))
    }

    /// The headers: GitHub wants `Bearer` and its media type, Gitea `token`.
    public func headers() -> [String] {
        switch kind {
        case .github:
            return ["Authorization: Bearer \(token)", "Accept: application/vnd.github+json",
                    "X-GitHub-Api-Version: 2022-11-28", "Content-Type: application/json"]
        case .gitea:
            return ["Authorization: token \(token)", "Accept: application/json", "Content-Type: application/json"]
        }
    }

    /// The marker curl writes after the body, so the HTTP code can be told from it.
    static let codeMarker = "\npici-http-code:"

    /// curl's config (`--config -`): every option, the token and the body as quoted strings.
    public func curlConfig(for status: CommitStatus) -> String {
        func q(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\\": out += "\\\\"
                case "\"": out += "\\\""
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        var lines = [
            "silent", "show-error", "proto = \"=http,https\"", "max-time = \(timeout)",
            "request = \"POST\"", "url = \(q(url(for: status)))",
        ]
        for h in headers() { lines.append("header = \(q(h))") }
        lines.append("data-binary = \(q(String(decoding: ForgeClient.body(for: status), as: UTF8.self)))")
        lines.append("write-out = \(q(ForgeClient.codeMarker + "%{http_code}"))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// How one request went.
    public enum Outcome: Equatable, Sendable {
        case delivered(code: Int)
        /// Worth another try later: 408, 429 or a 5xx (`answered`), or no answer at all.
        case retry(reason: String, answered: Bool)
        /// The forge said no for good (401, 404, 422 …): retrying would not help.
        case rejected(reason: String)
    }

    /// Posts `status`. Never throws: an outcome says what happened, its reason without the token.
    public func post(_ status: CommitStatus) -> Outcome {
        let result: Spawn.Result
        do {
            result = try Spawn.run(
                // -q first: a user's ~/.curlrc (`verbose`, `trace-ascii`) would print or
                // write the Authorization header.
                ["curl", "-q", "--config", "-"], input: Array(curlConfig(for: status).utf8),
                stdout: .capture, stderr: .capture, timeout: timeout + 5)
        } catch {
            return .retry(reason: "\(error)", answered: false)
        }
        if result.timedOut { return .retry(reason: "curl: no answer in \(TimeFormat.seconds(timeout))", answered: false) }
        // The body, then the marker and the code (curl's --write-out, last).
        let out = result.stdout
        let marker = Array(ForgeClient.codeMarker.utf8)
        var code = 0, said = out
        if let at = ForgeClient.lastIndex(of: marker, in: out) {
            code = Int(String(decoding: out[(at + marker.count)...], as: UTF8.self)) ?? 0
            said = Array(out[..<at])
        }
        let saidText = masked(String(decoding: said, as: UTF8.self))
        if result.status != 0 || code == 0 {
            let why = masked(result.stderrText.split(separator: "\n").first.map(String.init) ?? "exit \(result.status)")
            return .retry(reason: why, answered: false)
        }
        if (200..<300).contains(code) { return .delivered(code: code) }
        let reason = "HTTP \(code)" + (saidText.isEmpty ? "" : ": " + ForgeClient.oneLine(saidText))
        if code == 408 || code == 429 || code >= 500 { return .retry(reason: reason, answered: true) }
        return .rejected(reason: reason)
    }

    /// Whatever a forge or curl says is shown with the token blanked out, in case it echoes it.
    func masked(_ text: String) -> String {
        token.isEmpty ? text : text.replacingAll(token, with: "***")
    }

    static func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var i = haystack.count - needle.count
        while i >= 0 {
            if haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i -= 1
        }
        return nil
    }

    static func oneLine(_ text: String) -> String {
        let flat = text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : String($0) }.joined()
        return flat.count > 200 ? String(flat.prefix(200)) + "…" : flat
    }
}
