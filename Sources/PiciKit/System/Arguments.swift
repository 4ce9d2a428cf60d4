/// Command-line flags the way pici's users type them: `--flag`, the seed's Go-style `-flag`,
/// `--flag value` or `--flag=value`, and `--` to end the flags.
public struct Arguments {
    public struct Option: Sendable {
        public var names: [String]
        public var takesValue: Bool
        public init(_ names: String..., value: Bool = false) {
            self.names = names
            takesValue = value
        }
        var key: String { names[0] }
    }

    public struct UsageError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public private(set) var values: [String: String] = [:]
    public private(set) var flags: Set<String> = []
    public private(set) var positionals: [String] = []
    /// Every value of an option given more than once, in order (`values` keeps the last).
    public private(set) var lists: [String: [String]] = [:]

    /// Parses `args` against `options`; `--help`, `-h` and `--version` are always known.
    public init(_ args: [String], options: [Option]) throws {
        let all = options + [Option("help", "h"), Option("version")]
        var byName: [String: Option] = [:]
        for o in all { for n in o.names { byName[n] = o } }
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("-") || arg == "-" {
                positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            var body = arg.dropFirst(arg.hasPrefix("--") ? 2 : 1)
            var inline: String? = nil
            if let eq = body.firstIndex(of: "=") {
                inline = String(body[body.index(after: eq)...])
                body = body[..<eq]
            }
            guard let option = byName[String(body)] else { throw UsageError(message: "unknown option \(arg)") }
            if option.takesValue {
                if let inline {
                    values[option.key] = inline
                } else {
                    guard i < args.count else { throw UsageError(message: "option \(arg) needs a value") }
                    values[option.key] = args[i]
                    i += 1
                }
                lists[option.key, default: []].append(values[option.key]!)
            } else {
                // `--once=false` must not read as `--once`, nor as its opposite: a flag that
                // takes no value takes none at all, so a typo cannot flip what a script meant.
                if inline != nil { throw UsageError(message: "option \(String(arg.prefix(while: { $0 != "=" }))) takes no value") }
                flags.insert(option.key)
            }
        }
    }

    public func has(_ name: String) -> Bool { flags.contains(name) }
    public func value(_ name: String) -> String? { values[name] }
    public func all(_ name: String) -> [String] { lists[name] ?? [] }

    /// A duration flag (`5s`, `10m`, `500ms`), with the flag named in the error. At most
    /// `FieldRange.seconds.upperBound` seconds (285 years), so that every deadline, age and
    /// timeout made from it fits an Int (in nanoseconds too); a longer one is a usage error.
    public func duration(_ name: String, default fallback: Double) throws -> Double {
        guard let text = values[name] else { return fallback }
        guard let seconds = TimeFormat.parseDuration(text) else {
            throw UsageError(message: "--\(name): \(SafeName.quoted(text)) is not a duration (like 5s, 10m, 3h)")
        }
        guard seconds.isFinite, seconds <= Double(FieldRange.seconds.upperBound) else {
            throw UsageError(message: "--\(name): \(SafeName.quoted(text)) is longer than \(FieldRange.seconds.upperBound)s")
        }
        return seconds
    }

    /// A count flag (`--jobs 4`): a whole number from 1 to 1024, with the flag named in the error.
    public func count(_ name: String, default fallback: Int) throws -> Int {
        guard let text = values[name] else { return fallback }
        guard let n = Int(text), (1...1024).contains(n) else {
            throw UsageError(message: "--\(name): \(SafeName.quoted(text)) is not a count from 1 to 1024")
        }
        return n
    }
}
