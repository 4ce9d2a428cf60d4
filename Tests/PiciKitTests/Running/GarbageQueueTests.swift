import Foundation
import XCTest
@testable import PiciKit

/// pici-run(1), --gc: only the workspace copies of jobs that are over are removed; a queued
/// event that `--dispatch` is starting is not over, whatever became of the pici-run that
/// queued it.
final class GarbageQueueTests: XCTestCase {
    func testGCLeavesTheWorkspaceADispatchIsFilling() throws {
        let base = Support.tempDir(self, "gcq")
        let tmp = base + "/tmp", slow = base + "/slow", art = base + "/D", ws = base + "/ws"
        for dir in [tmp, slow, ws, art + "/.pici"] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        XCTAssertTrue(FileManager.default.createFile(atPath: art + "/.pici/lock", contents: nil))
        try "here - slots=1\n".write(toFile: base + "/hosts", atomically: true, encoding: .utf8)
        try "zmx run build -d sleep 60\nzmx wait '*'\n".write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        // An rsync that copies only once the test lets it: the dispatch is held mid-copy.
        let rsync = Support.sh("command -v rsync", env: ProcessInfo.processInfo.environment).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try "#!/bin/sh\nuntil [ -e '\(base)/copy' ] || [ ! -d '\(base)' ]; do sleep 0.05; done\nexec '\(rsync)' \"$@\"\n".write(toFile: slow + "/rsync", atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(slow + "/rsync", 0o755), 0)
        let zmx = Support.ZmxWorld(self, extra: ["PICI_HOSTS": base + "/hosts", "TMPDIR": tmp])
        func push(_ name: String) -> String {
            zmx.sh("pici-run --artifact-dir '\(art)' --event '{\"type\":\"push\",\"name\":\"\(name)\",\"workspace\":\"\(ws)\"}'").stdout
        }
        XCTAssertTrue(push("a").contains("starting job ci.a."))
        let queued = push("b")
        XCTAssertTrue(queued.contains("queued job ci.b."), queued)
        let b = queued.split(separator: "\n").first { $0.hasPrefix("queued job ci.b.") }.map { String($0.split(separator: ":")[0].suffix(8)) } ?? "none"
        zmx.sh("zmx kill 'ci.a.*' >/dev/null")  // a slot is free: the next dispatch starts b

        let ran = zmx.sh("""
            PATH='\(slow)':$PATH pici-run --dispatch --artifact-dir '\(art)' > '\(base)/dispatch.out' 2>&1 &
            dispatch=$!
            for _ in $(seq 1 300); do ls '\(tmp)' | grep -q '^pici-\(b)-' && break; sleep 0.05; done
            pici-run --gc --artifact-dir '\(art)'
            touch '\(base)/copy'
            wait "$dispatch"; echo "dispatch exit $?"
            """)
        XCTAssertFalse(ran.stdout.contains("removed workspace \(tmp)/pici-\(b)-"), "gc removed the workspace being filled: \(ran.stdout)")
        XCTAssertTrue(ran.stdout.hasSuffix("dispatch exit 0\n"), ran.stdout + ran.stderr)
        var listed = ""
        for _ in 0..<100 where !listed.contains("name=ci.b.\(b).step.build\t") {
            listed = zmx.sh("zmx list").stdout
            usleep(100_000)
        }
        XCTAssertTrue(listed.contains("name=ci.b.\(b).step.build\t"), "b runs its pico.sh: \(listed)")
        // Once b is over, gc removes its copy as any other.
        zmx.sh("zmx kill 'ci.b.*' >/dev/null")
        let later = zmx.sh("pici-run --gc --artifact-dir '\(art)'")
        XCTAssertTrue(later.stdout.contains("removed workspace \(tmp)/pici-\(b)-"), later.stdout + later.stderr)
    }
}
