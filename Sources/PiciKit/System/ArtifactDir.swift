import Glibc

/// Where a command keeps artifacts and state: `--artifact-dir DIR`, else `$PICI_ARTIFACT_DIR`,
/// else `/tmp/pici-artifacts`. pici-run and the monitor must agree on it (the monitor finds a
/// job's event, its cancelled.json and the open set there), so every command reads the same
/// variable, and a flag still wins for the one call that means another dir.
public enum ArtifactDir {
    public static let fallback = "/tmp/pici-artifacts"
    public static let variable = "PICI_ARTIFACT_DIR"

    /// The dir for a command's flags; an empty variable counts as unset.
    public static func resolve(_ args: Arguments, environment: (String) -> String? = FileSystem.environment) -> String {
        if let flag = args.value("artifact-dir") { return flag }
        if let env = environment(variable), !env.isEmpty { return env }
        return fallback
    }

    /// Whether this process may create files in `dir` (made first when missing): EROFS and
    /// EACCES show here, before anything slow is done for nothing. Throws the FileError.
    public static func checkWritable(_ dir: String) throws {
        try FileSystem.makeDirectories(dir)
        if access(dir, W_OK | X_OK) != 0 { throw FileError("cannot write to", dir) }
    }

    /// Whether a monitor has ever made a pass over `dir`: pici-publish leaves its lock file.
    public static func hasMonitorState(_ dir: String) -> Bool {
        FileSystem.exists(dir + "/.pici/lock")
    }
}
