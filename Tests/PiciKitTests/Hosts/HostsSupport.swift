import Foundation
import XCTest

/// Build hosts for a test: sshd instances on 127.0.0.1 (Tests/Support/bin/sshd-hosts), each
/// with its own zmx socket dir, plus this machine as `here`. Stopped when the test ends.
final class SSHHosts {
    let dir: String
    let hostsFile: String
    let count: Int

    /// nil (and the test skipped) where sshd is not installed.
    init(_ test: XCTestCase, count: Int, local: Bool = true, slots: [Int?] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else {
            throw XCTSkip("sshd is not installed (apt-get install openssh-server)")
        }
        dir = Support.tempDir(test, "hosts")
        self.count = count
        hostsFile = dir + "/hosts"
        let ran = Support.sh("'\(Support.standInDir)/sshd-hosts' '\(dir)/ssh' \(count) \(local ? "here" : "")", env: ProcessInfo.processInfo.environment)
        let dir = self.dir
        test.addTeardownBlock {
            Support.sh("'\(Support.standInDir)/sshd-hosts' '\(dir)/ssh' stop", env: ProcessInfo.processInfo.environment)
        }
        guard ran.status == 0 else { throw XCTSkip("sshd-hosts could not start sshd: \(ran.stderr)") }
        var lines = try String(contentsOfFile: dir + "/ssh/hosts", encoding: .utf8).split(separator: "\n").map(String.init)
        for (i, s) in slots.enumerated() where i < lines.count { if let s { lines[i] += " slots=\(s)" } }
        try (lines.joined(separator: "\n") + "\n").write(toFile: hostsFile, atomically: true, encoding: .utf8)
    }

    /// The ZMX_DIR of host `i` (1-based).
    func zmxDir(_ i: Int) -> String { dir + "/ssh/host\(i)/zmx" }

    func stop(_ i: Int) { Support.sh("'\(Support.standInDir)/sshd-hosts' '\(dir)/ssh' stop \(i)", env: ProcessInfo.processInfo.environment) }
    func start(_ i: Int) { Support.sh("'\(Support.standInDir)/sshd-hosts' '\(dir)/ssh' start \(i)", env: ProcessInfo.processInfo.environment) }

    /// Runs `script` on host `i` as its zmx sees it (its ZMX_DIR, the stand-in first on PATH).
    @discardableResult
    func on(_ i: Int, _ script: String) -> Support.Ran {
        Support.sh(script, env: Support.environment(zmxDir: zmxDir(i)))
    }
}
