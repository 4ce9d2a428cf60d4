/// Why a job ended the way it did when something other than its own steps decided it: it
/// failed before launch, hit its deadline, or was cancelled. Kept as the job record's
/// `"reason"` field, so it travels through the open-job file and the outbox unchanged and comes
/// out in the status line and on the job's page.
extension JobRecord {
    public var reason: String? {
        get {
            guard case .string(let text)? = extra.last(where: { $0.key == "reason" })?.value, !text.isEmpty else { return nil }
            return text
        }
        set {
            extra.removeAll { $0.key == "reason" }
            if let newValue, !newValue.isEmpty { extra.append(JSONObject.Member("reason", .string(newValue))) }
        }
    }
}
