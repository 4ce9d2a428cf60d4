/// The file name a job's state files have in `.pici/open`, `.pici/outbox` and `.pici/sync`:
/// `<name>.<job_id>` while that is short enough, else `sha256-<hex>` of the two.
///
/// Names and job ids come from outside and are checked one component at a time (up to 200
/// bytes each), so together they can be longer than a file name may be (255 bytes, and
/// `writeAtomically` adds `.` and `.tmp.XXXXXX`): such a job's state could never be written
/// and its line would never come. The hashed form always fits, and cannot be taken for the
/// readable one, which has a `.` between name and job id that a hex digest has not. Nothing
/// reads a name or job id back from a state file's name: each file holds its job.
public enum StateFileName {
    /// The longest readable form; with the suffix and the temp file's additions it fits.
    static let maxReadable = 200

    public static func of(name: String, jobID: String) -> String {
        let readable = name + "." + jobID
        if readable.utf8.count <= maxReadable { return readable }
        let digest = SHA256.hash(Array(name.utf8) + [0] + Array(jobID.utf8))
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        return "sha256-" + String(decoding: digest.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xF)]] }, as: UTF8.self)
    }
}
