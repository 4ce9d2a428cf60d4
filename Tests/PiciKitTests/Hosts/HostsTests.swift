import Foundation
import XCTest
@testable import PiciKit

/// The hosts file (pici(7) "Several hosts"), the words sent to a remote shell, and where a new
/// job is placed.
final class HostsTests: XCTestCase {
    func testAHostALineWithCommentsOptionsAndSlots() throws {
        let hosts = try Hosts.parse("""
            # build farm
            build1  ci@build1.example.com
            build2  ci@build2.example.com -p 2222 -i /etc/pici/id_ed25519   # the fast one
            here    -   slots=2

            """)
        XCTAssertTrue(hosts.configured)
        XCTAssertEqual(hosts.hosts.map(\.name), ["build1", "build2", "here"])
        XCTAssertEqual(hosts["build2"]?.sshOptions, ["-p", "2222", "-i", "/etc/pici/id_ed25519"])
        XCTAssertEqual(hosts["build2"]?.sshWords, ["ssh", "-o", "BatchMode=yes", "-p", "2222", "-i", "/etc/pici/id_ed25519", "--", "ci@build2.example.com"])
        XCTAssertNil(hosts["here"]?.destination)
        XCTAssertEqual(hosts["here"]?.slots, 2)
        XCTAssertNil(hosts["build1"]?.slots)
        XCTAssertTrue(hosts["here"]!.isLocal)
    }

    func testWithoutAFileThereIsOneLocalHost() throws {
        let hosts = try Hosts.load(flag: nil, environment: { _ in nil })
        XCTAssertEqual(hosts, .implicit)
        XCTAssertFalse(hosts.configured)
        XCTAssertEqual(hosts.hosts.map(\.name), ["local"])
    }

    func testBadLinesAreRefusedWithTheirNumber() {
        let cases: [(String, String)] = [
            ("a", "line 1: want NAME DESTINATION"),
            ("ok -\n-bad host", "line 2: host name \"-bad\""),
            ("a -oProxyCommand=x", "line 1: destination \"-oProxyCommand=x\""),
            ("a h;rm", "destination \"h;rm\""),
            ("a h\na h2", "line 2: host a is named twice"),
            ("a h slots=0", "slots must be a whole number"),
            ("a h slots=x", "slots must be a whole number"),
            ("a - -p 22", "ssh options for this machine"),
            ("a h port", "ssh options start with -"),
            ("a h\u{1b}[2J", "control character"),
            ("# nothing\n", "no hosts"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try Hosts.parse(text, file: "hosts"), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text): \(error)")
            }
        }
    }

    func testAnUnreadableHostsFileIsAnError() {
        XCTAssertThrowsError(try Hosts.load(flag: "/nonexistent/hosts")) { error in
            XCTAssertTrue("\(error)".hasPrefix("hosts file:"), "\(error)")
        }
        XCTAssertThrowsError(try Hosts.load(flag: nil, environment: { $0 == "PICI_HOSTS" ? "/nonexistent/h" : nil }))
    }

    func testRemoteWordsReachTheRemoteShellAsTheyWere() throws {
        let words = ["plain", "a b", "it's", "$(touch /tmp/pwned)", "`x`", "a;b|c&d", "*", "~", "", "-d", "é", "x\ny"]
        let line = RemoteShell.line(["printf", "[%s]\\n"] + words, cwd: "/tmp", environment: ["A=1 2"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", line]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(text, words.map { "[\($0)]\n" }.joined())
        XCTAssertTrue(line.hasPrefix("cd /tmp && env 'A=1 2' printf"), line)
        XCTAssertEqual(RemoteShell.quote("ci.repo.abcd1234.runner"), "ci.repo.abcd1234.runner")
    }

    func testAJobGoesToTheLeastLoadedHostWithAFreeSlot() throws {
        let hosts = try Hosts.parse("a h1\nb h2\nc -")
        func load(_ sessions: Int, _ jobs: Int, _ slots: Int) -> Placement.Load { .init(runningSessions: sessions, runningJobs: jobs, slots: slots) }
        XCTAssertEqual(try Placement.choose(hosts, requested: nil, loads: ["a": load(3, 1, 4), "b": load(1, 1, 4), "c": load(1, 1, 4)]), .run(hosts["b"]!))
        XCTAssertEqual(try Placement.choose(hosts, requested: nil, loads: ["a": load(0, 0, 4), "b": load(0, 0, 4), "c": load(0, 0, 4)]), .run(hosts["a"]!), "ties: first in the file")
        XCTAssertEqual(try Placement.choose(hosts, requested: nil, loads: ["a": load(0, 1, 1), "b": load(9, 1, 4), "c": load(5, 1, 1)]), .run(hosts["b"]!), "a full host takes none")
        XCTAssertEqual(try Placement.choose(hosts, requested: nil, loads: ["a": load(1, 1, 1), "b": load(1, 1, 1), "c": load(1, 1, 1)]), .queue)
        XCTAssertEqual(try Placement.choose(hosts, requested: nil, loads: ["c": load(5, 0, 1)]), .run(hosts["c"]!), "a host that did not answer is not chosen")
        XCTAssertEqual(try Placement.choose(hosts, requested: "b", loads: ["a": load(0, 0, 1), "b": load(5, 1, 9)]), .run(hosts["b"]!))
        XCTAssertEqual(try Placement.choose(hosts, requested: "a", loads: ["a": load(1, 1, 1)]), .queue)
        XCTAssertThrowsError(try Placement.choose(hosts, requested: "zz", loads: [:]))
    }

    func testLoadCountsRunningCISessionsAndJobsByTheirRunner() {
        let list = ZmxList.parse(Array("""
              name=ci.r.aaaaaaaa.runner\tpid=1\tclients=0\tcreated=1795823657
              name=ci.r.aaaaaaaa.step.test\tpid=2\tclients=0\tcreated=1795823657
              name=ci.r.bbbbbbbb.runner\tpid=3\tclients=0\tcreated=1795823657\tended=1795823660\texit_code=0
              name=other\tpid=4\tclients=0\tcreated=1795823657

            """.utf8))
        let load = Placement.load(of: list.sessions, slots: 2)
        XCTAssertEqual(load, .init(runningSessions: 2, runningJobs: 1, slots: 2))
        XCTAssertFalse(load.isFull)
    }
}
