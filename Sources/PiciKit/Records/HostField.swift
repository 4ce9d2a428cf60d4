/// `"host"`: which build host a session or job is on, present only when a hosts file is in use
/// (so a single machine's records stay byte for byte as they were). It travels as a member of
/// the record's own, after the fields every version knows, which is also how a reader that
/// predates hosts passes it on unchanged.
extension SessionRecord {
    public var host: String? {
        get { extra.hostValue }
        set { extra.setHost(newValue) }
    }
}

extension JobRecord {
    public var host: String? {
        get { extra.hostValue }
        set { extra.setHost(newValue) }
    }
}

extension ListingRecord {
    /// Per host, whether its listing was complete (`"hosts":{"build1":true,"build2":false}`);
    /// empty without a hosts file. `complete` is then whether every host's was.
    public var hosts: [(name: String, complete: Bool)] {
        get {
            guard case .object(let o)? = extra.first(where: { $0.key == "hosts" })?.value else { return [] }
            return o.members.compactMap { m in
                if case .bool(let b) = m.value { return (m.key, b) }
                return nil
            }
        }
        set {
            extra.removeAll { $0.key == "hosts" }
            if !newValue.isEmpty {
                extra.append(JSONObject.Member("hosts", .object(JSONObject(newValue.map { JSONObject.Member($0.name, .bool($0.complete)) }))))
            }
        }
    }

    /// Whether the listing proves absence on `host`: that host's own listing was complete. A
    /// record without a host, or a listing without hosts, goes by `complete`.
    public func isComplete(forHost host: String?) -> Bool {
        guard let host, !hosts.isEmpty else { return complete }
        return hosts.first(where: { $0.name == host })?.complete ?? false
    }
}

extension Array where Element == JSONObject.Member {
    fileprivate var hostValue: String? {
        if case .string(let s)? = first(where: { $0.key == "host" })?.value { return s }
        return nil
    }

    fileprivate mutating func setHost(_ host: String?) {
        removeAll { $0.key == "host" }
        if let host { append(JSONObject.Member("host", .string(host))) }
    }
}
