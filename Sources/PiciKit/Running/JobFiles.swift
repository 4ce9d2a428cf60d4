/// What a job's pico.sh is told beyond the seed's PICO_CI_JOB_ID, _REPO and _EVENT_TYPE: the
/// branch and commit it builds, where its event is, and a directory of its own whose files
/// pici-publish copies into the job's `artifacts/` when it ends.
public enum JobFiles {
    /// The directory in the workspace a job's steps leave their files in.
    public static let artifactsDirName = ".pici-artifacts"
    /// Beside the job's pages (rsync and the site leave `.pici-*` out): the absolute path of
    /// that directory, for pici-publish.
    public static let markerName = ".pici-artifacts-from"

    public static let variableNames = ["PICO_CI_BRANCH", "PICO_CI_COMMIT", "PICO_CI_EVENT", "PICO_CI_ARTIFACTS"]

    /// `PICO_CI_BRANCH`, `PICO_CI_COMMIT`, `PICO_CI_EVENT` (event.json) and `PICO_CI_ARTIFACTS`.
    public static func variables(event: Event, eventFile: String, artifactsDir: String) -> [String] {
        ["PICO_CI_BRANCH=\(event.branch)", "PICO_CI_COMMIT=\(event.commit)", "PICO_CI_EVENT=\(eventFile)",
         "PICO_CI_ARTIFACTS=\(artifactsDir)"]
    }

    /// The job's environment with these variables last, replacing any of the same name (an
    /// env file's PICO_CI_BRANCH does not win over the event's).
    public static func replacing(in environment: [String], with files: [String]) -> [String] {
        let names = Set(variableNames)
        return environment.filter { entry in
            guard let eq = entry.firstIndex(of: "=") else { return true }
            return !names.contains(String(entry[..<eq]))
        } + files
    }

    public static func markerPath(artifactDir: String, name: String, jobID: String) -> String {
        JobArtifacts.jobDir(artifactDir: artifactDir, name: name, jobID: jobID) + "/" + markerName
    }

    /// Makes the workspace's artifacts directory and records it for pici-publish; returns
    /// the job's variables.
    public static func prepare(event: Event, jobID: String, workspace: String, artifactDir: String) throws -> [String] {
        let dir = FileSystem.absolute(FileSystem.join(workspace, artifactsDirName))
        try FileSystem.makeDirectories(dir)
        try FileSystem.writeAtomically(markerPath(artifactDir: artifactDir, name: event.name, jobID: jobID), dir + "\n")
        let eventFile = FileSystem.absolute(JobArtifacts.artifactsDir(artifactDir: artifactDir, name: event.name, jobID: jobID) + "/event.json")
        return variables(event: event, eventFile: eventFile, artifactsDir: dir)
    }
}
