/// Exit statuses shared by every pici command (sysexits.h numbers, so shells and systemd
/// can tell a bad line from a missing zmx).
public enum ExitStatus: Int32, Sendable {
    case ok = 0
    /// `pici-run --wait`: the job failed; the job's own code is used where it has one.
    case failure = 1
    case usage = 64
    /// Some input line was malformed: reported, skipped, the rest processed.
    case dataError = 65
    /// An input that must be there is not: pici-run's pico.sh, pici-list's --input file.
    case noInput = 66
    /// zmx or rsync could not be run, failed, or timed out.
    case unavailable = 69
    case software = 70
    /// An artifact or state file could not be written.
    case cannotCreate = 73
    /// Standard output could not be written (not a closed pipe: that ends us quietly).
    case ioError = 74
    /// Another process holds the artifact dir's lock and we were told not to wait.
    case tempFail = 75
    case interrupted = 130
    /// pici-publish: stdout is a pipe no one reads any more (128 + SIGPIPE, as a shell says).
    case readerGone = 141
}

/// The package version every `--version` prints.
public enum PiciVersion {
    public static let string = "0.1.0"
}
