/// A JSON value that keeps what it read: numbers stay as their literal text and objects keep
/// their key order, so a filter can pass on fields it does not know byte for byte in meaning.
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's literal text, already checked against JSON's grammar.
    case number(String)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    public static func int(_ value: Int) -> JSON { .number(String(value)) }
    public static func optionalInt(_ value: Int?) -> JSON { value.map { .int($0) } ?? .null }
    public static func optionalString(_ value: String?) -> JSON { value.map { .string($0) } ?? .null }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value as a whole number, if it is one that fits in an Int (`3`, `-1`, not `3.5`).
    public var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        return Int(text)
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isNull: Bool { self == .null }
}

/// A JSON object as an ordered list of members; lookups are linear, which is faster than
/// hashing for the dozen keys a record has.
public struct JSONObject: Equatable, Sendable {
    public var members: [Member]

    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: JSON
        public init(_ key: String, _ value: JSON) {
            self.key = key
            self.value = value
        }
    }

    public init(_ members: [Member] = []) { self.members = members }

    public init(_ pairs: KeyValuePairs<String, JSON>) {
        members = pairs.map { Member($0.key, $0.value) }
    }

    /// The last member with the key wins, as in most JSON readers.
    public subscript(key: String) -> JSON? {
        get { members.last(where: { $0.key == key })?.value }
        set {
            if let value = newValue {
                if let i = members.lastIndex(where: { $0.key == key }) {
                    members[i].value = value
                } else {
                    members.append(Member(key, value))
                }
            } else {
                members.removeAll { $0.key == key }
            }
        }
    }

    public mutating func append(_ key: String, _ value: JSON) { members.append(Member(key, value)) }
}

/// Why a JSON text was refused, with the byte offset where reading stopped.
public struct JSONError: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "invalid JSON at byte \(offset + 1): \(reason)" }
}
