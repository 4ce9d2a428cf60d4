/// Why a JSON line is not a record pici can use; the message names the field.
public enum RecordError: Error, Equatable, CustomStringConvertible {
    case notAnObject
    case missingType
    case missingField(type: String, field: String)
    case badField(type: String, field: String, reason: String)

    public var description: String {
        switch self {
        case .notAnObject: return "not a JSON object"
        case .missingType: return "no \"type\" field"
        case .missingField(let type, let field): return "\(type) record has no \"\(field)\""
        case .badField(let type, let field, let reason): return "\(type) record: \"\(field)\": \(reason)"
        }
    }
}

/// Reads typed fields out of a record's object, turning each mismatch into a RecordError.
struct FieldReader {
    let object: JSONObject
    let type: String

    func expectType() throws {
        guard object["type"]?.stringValue == type else {
            throw RecordError.badField(type: type, field: "type", reason: "expected \"\(type)\"")
        }
    }

    func string(_ key: String) throws -> String {
        guard let v = object[key] else { throw RecordError.missingField(type: type, field: key) }
        guard case .string(let s) = v else { throw RecordError.badField(type: type, field: key, reason: "not a string") }
        return s
    }

    func optionalString(_ key: String) throws -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw RecordError.badField(type: type, field: key, reason: "not a string or null")
        }
    }

    /// A whole number in the field's range (FieldRange).
    func int<F: RecordField>(_ field: F) throws -> Int {
        let key = field.key
        guard let v = object[key] else { throw RecordError.missingField(type: type, field: key) }
        guard let i = v.intValue else { throw RecordError.badField(type: type, field: key, reason: "not a whole number") }
        return try inRange(i, field)
    }

    func optionalInt<F: RecordField>(_ field: F) throws -> Int? {
        let key = field.key
        switch object[key] {
        case nil, .null?: return nil
        case let v?:
            guard let i = v.intValue else {
                throw RecordError.badField(type: type, field: key, reason: "not a whole number or null")
            }
            return try inRange(i, field)
        }
    }

    private func inRange<F: RecordField>(_ value: Int, _ field: F) throws -> Int {
        guard let range = field.range, !range.contains(value) else { return value }
        throw RecordError.badField(
            type: type, field: field.key, reason: "\(value) is out of range (\(FieldRange.describe(range)))")
    }

    func bool(_ key: String) throws -> Bool {
        guard let v = object[key] else { throw RecordError.missingField(type: type, field: key) }
        guard let b = v.boolValue else { throw RecordError.badField(type: type, field: key, reason: "not true or false") }
        return b
    }
}
