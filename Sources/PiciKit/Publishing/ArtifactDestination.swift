/// Where a job's pages go: the event's `artifact_dest`, in which `{name}`, `{job_id}`,
/// `{branch}` and `{commit}` stand for the job's, so that many repositories can share one
/// destination without overwriting each other's pages. A destination without them is used as
/// it is, as the original did. The branch and commit come from whoever sent the event, so
/// each must be a plain path before it is put into one.
public enum ArtifactDestination {
    public static let placeholders = ["{name}", "{job_id}", "{branch}", "{commit}"]

    public static func isTemplate(_ destination: String) -> Bool {
        placeholders.contains { destination.contains($0) }
    }

    /// The destination for one job. Throws ArtifactSync.Failure.refused naming the value
    /// that cannot be a part of a path.
    public static func expand(_ template: String, name: String, jobID: String, branch: String, commit: String) throws -> String {
        guard isTemplate(template) else { return template }
        try check(template, branch: branch, commit: commit)
        for part in [name, jobID] {
            do { try SafeName.check(part) } catch { throw ArtifactSync.Failure.refused(value: part, reason: "\(error)") }
        }
        return template.replacingAll("{name}", with: name).replacingAll("{job_id}", with: jobID)
            .replacingAll("{branch}", with: branch).replacingAll("{commit}", with: commit)
    }

    /// Whether the branch and commit can fill the template's `{branch}` and `{commit}`:
    /// pici-run refuses an event whose cannot, rather than leave it to fail at every sync.
    public static func check(_ template: String, branch: String, commit: String) throws {
        if template.contains("{branch}") { try checkBranch(branch) }
        if template.contains("{commit}") {
            guard (7...64).contains(commit.utf8.count), commit.utf8.allSatisfy(isHexDigit)
            else { throw ArtifactSync.Failure.refused(value: commit, reason: "the commit for {commit} is not a hex sha") }
        }
    }

    /// A branch as a relative path: `main`, `feature/x`; letters, digits, `.`, `_`, `-` and
    /// `/` between parts that are not empty and do not start with `-` or `.` (so no `..`).
    static func checkBranch(_ branch: String) throws {
        func refuse(_ why: String) -> ArtifactSync.Failure { .refused(value: branch, reason: "the branch for {branch} \(why)") }
        if branch.isEmpty { throw refuse("is empty") }
        if branch.utf8.count > 200 { throw refuse("is longer than 200 bytes") }
        for b in branch.utf8 {
            let ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: "/")
            if !ok { throw refuse("holds a character other than letters, digits, ., _, - and /") }
        }
        for part in branch.split(separator: "/", omittingEmptySubsequences: false) {
            if part.isEmpty || part.hasPrefix(".") || part.hasPrefix("-") {
                throw refuse("has an empty part or one starting with . or -")
            }
        }
    }

    static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
    }
}
