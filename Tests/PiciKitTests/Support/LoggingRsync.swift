import Foundation
import XCTest

extension XCTestCase {
    /// A fake rsync first on PATH that logs each call (its destination and the files it was
    /// given, one line), then runs the real one.
    func loggingRsync(_ env: [String: String], _ dir: String) throws -> (env: [String: String], log: String) {
        let bin = dir + "/../fakebin", log = dir + "/../rsync.log"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let real = ["/usr/bin/rsync", "/bin/rsync"].first { FileManager.default.isExecutableFile(atPath: $0) }!
        try """
            #!/usr/bin/env bash
            files=$(tr '\\0' ' ')
            echo "dest=${!#} files=$files" >> '\(log)'
            printf '%s\\0' $files | exec '\(real)' "$@"

            """.write(toFile: bin + "/rsync", atomically: true, encoding: .utf8)
        chmod(bin + "/rsync", 0o755)
        var e = env
        e["PATH"] = bin + ":" + (env["PATH"] ?? "")
        return (e, log)
    }

    /// The calls `loggingRsync` logged.
    func rsyncCalls(_ log: String) -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
