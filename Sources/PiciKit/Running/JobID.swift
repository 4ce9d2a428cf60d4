/// A job's id, exactly as the seed's jobIDFor makes it: the first four bytes of the SHA-256 of
/// name + workspace + the start time in decimal nanoseconds, as eight hex digits.
public enum JobID {
    public static func make(name: String, workspace: String, nanoseconds: Int) -> String {
        let digest = SHA256.hash(Array((name + workspace + String(nanoseconds)).utf8))
        return SHA256.hex(digest.prefix(4))
    }

    /// A fresh id for a job starting now (the seed's generateJobID).
    public static func new(name: String, workspace: String) -> String {
        make(name: name, workspace: workspace, nanoseconds: Clock.nowNanoseconds())
    }
}
