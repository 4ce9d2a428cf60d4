import Glibc

/// The running lines a `--human --include-running` pass leaves at a terminal, redrawn by the
/// next pass: how many there are (`.pici/human-lines`), their text (`.pici/human-running`),
/// and the lock under which they are drawn, erased, or have something printed above them.
///
/// The next pass erases them by moving the cursor up over as many lines. Whatever a monitor's
/// other processes print meanwhile (a stage's diagnostic, a sync that failed) lands below
/// them, so that erase would take it instead, and leave the first running lines on the
/// screen, stale. `printAbove` is how such lines reach the terminal: it erases the running
/// lines, prints, and draws them again below.
public enum RunningLines {
    static func countPath(stateDir: String) -> String { stateDir + "/human-lines" }
    static func textPath(stateDir: String) -> String { stateDir + "/human-running" }
    static func lockPath(stateDir: String) -> String { stateDir + "/human-lines.lock" }

    /// How many lines the last pass left on the screen; 0 when none, or none to erase.
    static func count(stateDir: String) -> Int {
        (try? FileSystem.readText(countPath(stateDir: stateDir))).flatMap { Int($0.split(separator: "\n").first ?? "") } ?? 0
    }

    static func setCount(_ count: Int, stateDir: String) throws {
        try FileSystem.writeAtomically(countPath(stateDir: stateDir), "\(count)\n")
    }

    /// Counts `text`, just drawn: the text first, so that a count is never of other lines.
    static func setDrawn(_ text: String, count: Int, stateDir: String) throws {
        try FileSystem.writeAtomically(textPath(stateDir: stateDir), text)
        try setCount(count, stateDir: stateDir)
    }

    /// `body` under the lock, with stops held off: what is on the screen and its count never
    /// part. Without a state directory there is nothing on the screen to guard, and `body`
    /// runs alone.
    static func locked<R>(stateDir: String, _ body: () throws -> R) rethrows -> R {
        let lock = try? FileLock(path: lockPath(stateDir: stateDir))
        defer { lock?.release() }
        let saved = Signals.blockStops()
        defer { Signals.restore(saved) }
        return try body()
    }

    /// `pici-publish --above-running`: copies standard input to standard error a run of whole
    /// lines at a time, each run printed above the running lines (erased first, then drawn
    /// again below) when standard error is the terminal standard output is; otherwise as it
    /// comes. Ends at end of input, not at SIGINT or SIGTERM: what the monitor prints as it
    /// stops still gets out. Should standard error fail, the rest is read and dropped: its
    /// writers never meet a closed pipe.
    public static func printAbove(artifactDir: String) -> ExitStatus {
        for s in [SIGINT, SIGTERM, SIGHUP] { signal(s, SIG_IGN) }
        let stateDir = artifactDir + "/.pici"
        let shared = Terminal.isTerminal(1) && Terminal.isTerminal(2) && Terminal.sameFile(1, 2)
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var failed = false
        func put(_ bytes: ArraySlice<UInt8>) {
            guard !failed else { return }
            do {
                if !shared { return try Output.writeAll(fd: 2, Array(bytes)) }
                try locked(stateDir: stateDir) {
                    let lines = count(stateDir: stateDir)
                    guard lines > 0 else { return try Output.writeAll(fd: 2, Array(bytes)) }
                    // The running lines as they were drawn, to draw again below.
                    let drawn = try? FileSystem.readFile(textPath(stateDir: stateDir), limit: 1 << 20)
                    try Output.writeAll(fd: 2, Array(HumanOutput.erase(lines: lines).utf8) + Array(bytes))
                    if let drawn, drawn.withUnsafeBufferPointer({ ByteScan.scan($0).newlines }) == lines {
                        try Output.writeAll(fd: 2, drawn)
                    } else {
                        try? setCount(0, stateDir: stateDir)
                    }
                }
            } catch {
                failed = true
            }
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending += chunk[0..<n]
            // Whole lines only, so the next pass's running lines start on a line of their own;
            // a line longer than the chunk goes as it is.
            guard let end = pending.lastIndex(of: 0x0A) ?? (pending.count >= chunk.count ? pending.count - 1 : nil) else { continue }
            put(pending[...end])
            pending.removeFirst(end + 1)
        }
        if !pending.isEmpty { put(pending[...]) }
        return failed ? .ioError : .ok
    }
}
